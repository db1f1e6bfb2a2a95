"""The window fits the screens of consultation rooms (issue 13 item 1), in Dutch and in English.

Each screen runs `fit_probe.py` in its own process (Qt reads a simulated screen's size and scale
only at start). The sizes are the physical screen minus a 40 px Windows taskbar, at the display
scales those screens are sold with: 1366×768 at 100 % and 125 %, 1920×1080 at 150 %.
Set BUNDELASSISTENT_SCREENSHOTS=folder to keep a picture of every step.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("PySide6")

from PySide6.QtWidgets import QLabel, QWidget

import fit_probe

PROBE = Path(fit_probe.__file__)
TASKBAR = 40
SCREENS = [(1366, 768, 1.0), (1366, 768, 1.25), (1920, 1080, 1.5)]


def probe(width: int, height: int, scale: float, language: str) -> dict:
    command = [sys.executable, str(PROBE), str(width), str(height - TASKBAR), str(scale), language]
    if os.environ.get("BUNDELASSISTENT_SCREENSHOTS"):
        command.append(os.environ["BUNDELASSISTENT_SCREENSHOTS"])
    done = subprocess.run(command, capture_output=True, text=True, timeout=240, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("language", ["nl", "en"])
@pytest.mark.parametrize("width,height,scale", SCREENS, ids=["1366x768@100", "1366x768@125", "1920x1080@150"])
def test_every_step_fits_the_screen_without_clipping_or_overlap(width, height, scale, language):
    result = probe(width, height, scale, language)
    screen_width, screen_height = result["screen"]
    x, y, frame_width, frame_height = result["window"]
    assert screen_width == round(width / scale) and screen_height == round((height - TASKBAR) / scale)
    assert x >= 0 and y >= 0 and x + frame_width <= screen_width and y + frame_height <= screen_height, result
    assert len(result["steps"]) == 6
    problems = [problem for step in result["steps"].values() for problem in step["problems"]]
    assert problems == []


# -- the probe itself finds what it looks for ------------------------------------------------------
def test_the_probe_sees_overlapping_and_clipped_text(qtbot):
    page = QWidget()
    qtbot.addWidget(page)
    page.resize(400, 200)
    first, second = QLabel("Inclusie registreren", page), QLabel("Handout meegegeven", page)
    first.setGeometry(10, 10, 200, 20)
    second.setGeometry(60, 15, 200, 20)  # on top of the first
    cut = QLabel("Een lange zin die niet past in zijn vakje", page)
    cut.setGeometry(10, 100, 60, 20)  # narrower than its text
    page.show()
    qtbot.waitExposed(page)
    problems = fit_probe.measure_step(page, page, "x")["problems"]
    assert any("overlaps" in problem and "Inclusie registreren" in problem for problem in problems)
    assert any("Een lange zin" in problem and "has 60" in problem for problem in problems)


def test_the_probe_finds_nothing_on_a_tidy_page(qtbot):
    page = QWidget()
    qtbot.addWidget(page)
    page.resize(400, 200)
    for row, text in enumerate(("Patiënt", "Verzekering")):
        QLabel(text, page).setGeometry(10, 10 + 30 * row, 200, 20)
    page.show()
    qtbot.waitExposed(page)
    assert fit_probe.measure_step(page, page, "x")["problems"] == []
