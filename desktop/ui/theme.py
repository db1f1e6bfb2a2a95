"""The window's colours and font sizes, in one place.

Why one module: a meaning (good, wrong, needs attention, secondary) has one colour on every
page, and `tests/desktop/ui/test_theme.py` checks every text colour against the background
it is shown on (WCAG AA: 4.5:1 for body text, 3:1 for large text). Plain strings, no Qt:
style sheets, rich text and `QColor(...)` all take them.
"""

from __future__ import annotations

# -- backgrounds ---------------------------------------------------------------------------
WINDOW = "#efefef"    # Qt's light palette (Fusion): labels and the status bar stand on it
PAPER = "#ffffff"     # lists, fields, charts
HEADER = "#eef3f8"    # the patient header
ALERT = "#fdecea"     # the banner that says the advice cannot be trusted
NOTICE = "#fff4d6"    # the banner with settings that were ignored
SAVED = "#e8f5e9"     # the banner of a saved (locked) consultation

# -- text ----------------------------------------------------------------------------------
TEXT = "#222222"      # chart labels
MUTED = "#555555"     # secondary text: ranges, legends, "not assessed yet", sync busy
GOOD = "#1b5e20"      # eligible, registered, online
WRONG = "#b3261e"     # not eligible, not saved, a field's message, sync stopped
ATTENTION = "#a15c00"  # information needed, offline, not enrolled
ALERT_TEXT = "#8c1d18"
NOTICE_TEXT = "#5c3c00"

# -- charts (fills; the option colours also title the option's panel, in large bold text) ---
CONSERVATIVE = "#1f6fb2"
SURGERY = "#c15d00"
GRID = "#e3e6ea"
EMPTY_ICON = "#6b6b6b"  # the outline of a figure that did not improve: drawn hollow, so not by colour alone

# -- font sizes, in points -----------------------------------------------------------------
STATUS_PT = 18        # the eligibility verdict
PREVIEW_PT = 16       # the handout preview
HEADING_PT = 15
TITLE_PT = 14         # an option's title, the registration result
BODY_PT = 12          # header, step list, rule list, banners
NUMBERS_PT = 11
SMALL_PT = 10.5
NOTE_PT = 10
CHART_PT = 9.5

LARGE_TEXT_PT = 18    # WCAG: text this size, or TITLE_PT and up in bold, needs only 3:1
LARGE_BOLD_PT = 14

# Graphics (icon figures, chart lines and band edges) on the background they are drawn on:
# WCAG 2.1 AA asks 3:1 for graphics a reader needs (1.4.11 non-text contrast).
GRAPHIC_ON_BACKGROUND = (
    (CONSERVATIVE, PAPER), (SURGERY, PAPER), (EMPTY_ICON, PAPER),
    (CONSERVATIVE, WINDOW), (SURGERY, WINDOW),
)

# Every text colour on every background it appears on, with its size and weight: what the
# contrast test checks. Add a line when a colour is used on a new background.
TEXT_ON_BACKGROUND = (
    # (text, background, points, bold)
    (TEXT, PAPER, CHART_PT, False),
    (MUTED, PAPER, CHART_PT, False),
    (MUTED, WINDOW, NOTE_PT, False),
    (GOOD, WINDOW, NOTE_PT, False),
    (GOOD, PAPER, BODY_PT, False),
    (WRONG, WINDOW, NOTE_PT, False),
    (WRONG, PAPER, BODY_PT, False),
    (ATTENTION, WINDOW, NOTE_PT, False),
    (ATTENTION, PAPER, BODY_PT, False),
    (ALERT_TEXT, ALERT, BODY_PT, True),
    (NOTICE_TEXT, NOTICE, NOTE_PT, False),
    (NOTICE_TEXT, NOTICE, BODY_PT, False),
    (GOOD, SAVED, BODY_PT, False),
    (ALERT_TEXT, ALERT, BODY_PT, False),
    ("#000000", HEADER, BODY_PT, False),  # the header's text is the palette's window text
    (CONSERVATIVE, WINDOW, TITLE_PT, True),
    (SURGERY, WINDOW, TITLE_PT, True),
)


def css(colour: str | None = None, background: str | None = None, points: float | None = None,
        bold: bool = False, extra: str = "") -> str:
    """A style-sheet (or inline `style=`) fragment from theme values."""
    parts = [f"background: {background}" if background else "", f"color: {colour}" if colour else "",
             "font-weight: bold" if bold else "", f"font-size: {points:g}pt" if points else "", extra]
    return "; ".join(part for part in parts if part) + ";"


def span(text: str, colour: str | None = None, points: float | None = None, bold: bool = False) -> str:
    """Rich text in a theme colour and size."""
    return f"<span style='{css(colour, points=points, bold=bold)}'>{text}</span>"
