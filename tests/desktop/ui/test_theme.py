"""The theme: every colour of the window lives in `desktop/ui/theme.py`, and every text colour
is readable on the background it stands on (WCAG 2.1 AA)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from desktop.ui import theme

UI = Path(theme.__file__).parent
HEX = re.compile(r"#[0-9a-fA-F]{6}\b|#[0-9a-fA-F]{3}\b")


def relative_luminance(colour: str) -> float:
    """WCAG 2.1 relative luminance of an sRGB colour `#rrggbb`."""
    channels = [int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    light, dark = sorted((relative_luminance(a), relative_luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_the_contrast_formula_gives_the_known_values():
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)  # WCAG's classic near miss
    assert contrast("#ffffff", "#ffffff") == pytest.approx(1.0)


@pytest.mark.parametrize("text, background, points, bold", theme.TEXT_ON_BACKGROUND)
def test_every_text_colour_is_readable_on_its_background(text, background, points, bold):
    large = points >= theme.LARGE_TEXT_PT or (bold and points >= theme.LARGE_BOLD_PT)
    needed = 3.0 if large else 4.5
    assert contrast(text, background) >= needed, f"{text} on {background} at {points} pt"


def test_every_text_colour_of_the_theme_is_checked():
    checked = {text for text, *_ in theme.TEXT_ON_BACKGROUND}
    for name in ("TEXT", "MUTED", "GOOD", "WRONG", "ATTENTION", "ALERT_TEXT", "NOTICE_TEXT"):
        assert getattr(theme, name) in checked, name


def test_no_colour_is_written_in_the_window_code_outside_the_theme():
    found = [f"{path.name}:{number}: {line.strip()}"
             for path in sorted(UI.glob("*.py")) if path.name != "theme.py"
             for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
             if HEX.search(line) or re.search(r"font-size:\s*\d", line)]
    assert found == []


def test_style_fragments_are_what_qt_style_sheets_expect():
    assert theme.css(theme.WRONG) == f"color: {theme.WRONG};"
    assert theme.css(points=10.5) == "font-size: 10.5pt;"
    assert theme.span("x", theme.GOOD, 14, bold=True) == (
        f"<span style='color: {theme.GOOD}; font-weight: bold; font-size: 14pt;'>x</span>")


@pytest.mark.parametrize("graphic, background", theme.GRAPHIC_ON_BACKGROUND)
def test_every_graphic_stands_out_from_its_background(graphic, background):
    assert contrast(graphic, background) >= 3.0, f"{graphic} on {background}"


def test_the_two_options_differ_in_more_than_colour():
    from desktop.ui.decision.charts import OPTION_STYLE

    conservative, surgery = OPTION_STYLE.values()
    assert conservative.line != surgery.line and conservative.marker != surgery.marker
    assert conservative.legend != surgery.legend


def test_a_figure_that_did_not_improve_is_hollow_so_grey_print_still_tells_them_apart(qtbot):
    from PySide6.QtGui import QColor, QImage

    from desktop.core.states import TreatmentOption
    from desktop.ui.decision.charts import OPTION_COLOUR, IconArray

    icons = IconArray(OPTION_COLOUR[TreatmentOption.CONSERVATIVE])
    qtbot.addWidget(icons)
    icons.resize(200, 200)
    icons.set_count(35, "35 van de 100")
    image = QImage(200, 200, QImage.Format.Format_RGB32)
    image.fill(QColor(theme.PAPER))
    icons.render(image)
    cell = 20

    def grey(x, y):
        return QColor(image.pixel(x, y)).lightness()

    filled_body = grey(4 * cell + cell // 2, 2 * cell + int(cell * 0.72))  # figure 25: improved
    empty_body = grey(4 * cell + cell // 2, 6 * cell + int(cell * 0.72))  # figure 65: not improved
    empty_edge = min(grey(x, 6 * cell + int(cell * 0.72)) for x in range(4 * cell, 5 * cell))
    assert filled_body < 150 and empty_body > 225  # solid against hollow, whatever the colours
    assert empty_edge < 150  # and the hollow figure's outline is there to see
