"""Open the window on one simulated screen and measure every step: run as its own process.

    python fit_probe.py WIDTH HEIGHT SCALE LANGUAGE [SCREENSHOT_FOLDER]

WIDTH×HEIGHT are the screen's physical pixels minus a taskbar, SCALE the Windows display scale
(1.25 = 125 %). Qt's offscreen platform takes a screen of that logical size and pixel ratio from
a config file, which must be set before the QApplication exists — hence one process per screen.
Prints one JSON object: the screen, the window, and per step what does not fit.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import tempfile
import time
from pathlib import Path

TESTS = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(TESTS.parent), str(TESTS)]


def configure_screen(width: int, height: int, scale: float) -> None:
    config = Path(tempfile.mkdtemp()) / "screen.json"
    config.write_text(json.dumps({"screens": [{
        "name": "probe", "x": 0, "y": 0, "width": round(width / scale), "height": round(height / scale),
        "logicalDpi": 96, "logicalBaseDpi": 96, "dpr": scale}]}))
    os.environ["QT_QPA_PLATFORM"] = f"offscreen:configfile={config}"


def settle(app, seconds: float = 0.3) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.02)


def rect(widget, window):
    """The part of `widget` one can see, in window coordinates (scrolled-away parts left out)."""
    visible = widget.visibleRegion().boundingRect()
    if visible.isEmpty():
        return None
    top_left = widget.mapTo(window, visible.topLeft())
    return (top_left.x(), top_left.y(), visible.width(), visible.height())


def overlaps(a, b) -> bool:
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


def measure_step(window, page, name: str) -> dict:
    from PySide6.QtWidgets import (
        QAbstractButton,
        QAbstractItemView,
        QComboBox,
        QLabel,
        QLineEdit,
        QScrollArea,
        QTextEdit,
        QWidget,
    )

    problems = []
    for scroll in page.findChildren(QScrollArea) + ([page] if isinstance(page, QScrollArea) else []):
        bar = scroll.horizontalScrollBar()
        if scroll.isVisible() and bar.maximum() > 0:
            problems.append(f"{name}: scrolls sideways by {bar.maximum()} px ({scroll.accessibleName() or 'page'})")
    controls = (QLabel, QAbstractButton, QLineEdit, QComboBox, QAbstractItemView, QTextEdit)

    def is_control(widget) -> bool:
        """A control, or one of our own painted widgets (a chart, an icon array): something one reads."""
        painted = not type(widget).__module__.startswith("PySide6") and not widget.findChildren(QWidget)
        return isinstance(widget, controls) or painted

    shown = []
    for widget in page.findChildren(QWidget):
        if not widget.isVisible() or not is_control(widget):
            continue
        if any(is_control(parent) for parent in ancestors(widget, page)):
            continue  # a part of a control (a combo's line edit, a table's viewport) is not a control
        where = rect(widget, window)
        if where is None:
            continue
        shown.append((widget, where))
        text = widget.text() if hasattr(widget, "text") and callable(widget.text) else ""
        if isinstance(widget, QLabel) and text:
            if widget.wordWrap():
                needed = widget.heightForWidth(widget.width())
                if needed > widget.height() + 1:
                    problems.append(f"{name}: '{short(text)}' needs {needed} px height, has {widget.height()}")
            elif widget.sizeHint().width() > widget.width() + 1:
                problems.append(f"{name}: '{short(text)}' needs {widget.sizeHint().width()} px, has {widget.width()}")
        elif isinstance(widget, QAbstractButton) and text and widget.sizeHint().width() > widget.width() + 1:
            problems.append(f"{name}: button '{short(text)}' needs {widget.sizeHint().width()} px, has "
                            f"{widget.width()}")
    for index, (first, a) in enumerate(shown):
        for second, b in shown[index + 1:]:
            if overlaps(a, b):
                problems.append(f"{name}: {describe(first)} overlaps {describe(second)}")
    return {"problems": problems, "controls": len(shown)}


def ancestors(widget, stop):
    parent = widget.parentWidget()
    while parent is not None and parent is not stop:
        yield parent
        parent = parent.parentWidget()


def short(text: str) -> str:
    return " ".join(text.split())[:50]


def describe(widget) -> str:
    text = widget.text() if hasattr(widget, "text") and callable(widget.text) else ""
    return f"{type(widget).__name__} '{short(text or widget.accessibleName())}'"


def main() -> None:
    width, height, scale, language = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
    shots = Path(sys.argv[5]) if len(sys.argv) > 5 else None
    configure_screen(width, height, scale)
    from PySide6.QtWidgets import QApplication

    app = QApplication([])
    from desktop import config
    from desktop.operations.services import Services
    from desktop.store.inclusions import Actor
    from desktop.ui.main_window import MainWindow
    from helpers import bundles_with_contract_end, valid_bsns

    folder = Path(tempfile.mkdtemp())
    bundles = bundles_with_contract_end(folder / "bundles", dt.date.today() + dt.timedelta(days=365))
    settings = config.load(overrides={"data_dir": str(folder / "data"), "bundles_dir": str(bundles),
                                      "location": "Utrecht", "language": language})
    services = Services(settings, Actor("suo.test", "suo"))
    window = MainWindow(services, load_models=True)
    window.show()
    deadline = time.monotonic() + 60
    while window.steps[3].view.models is None and time.monotonic() < deadline:
        settle(app, 0.1)
    window.open_patient(bsn=valid_bsns(1)[0], birth_date="1971-06-02", name="J. Jansen-van den Berg")
    insurance = window.steps[1]
    insurance.uzovi.setText("3311")
    insurance.diagnosis.lineEdit().setText("G56.0")
    insurance.side_group.buttons()[1].click()
    settle(app)
    available = app.primaryScreen().availableGeometry()
    frame = window.frameGeometry()
    result = {"screen": [available.width(), available.height()],
              "window": [frame.x(), frame.y(), frame.width(), frame.height()], "steps": {}}
    for index in range(window.pages.count()):
        window.go_to(index)
        settle(app, 0.6)
        name = f"{index + 1}"
        if shots:
            shots.mkdir(parents=True, exist_ok=True)
            window.grab().save(str(shots / f"{width}x{height}@{round(scale * 100)}-{language}-{name}.png"))
        result["steps"][name] = measure_step(window, window.pages.widget(index), name)
    services.close()
    print(json.dumps(result))  # noqa: T201 (the probe's answer to its test)


if __name__ == "__main__":
    main()
