"""Where each value on Samen beslissen comes from, and what the questionnaire lookup found.

Each field says in a small line under it — and in its accessible description, so a screen
reader says it with the field — whether its value is the patient's intake questionnaire (with
its date), typed here, or estimated. Which of the three is decided by
`prediction.input_sources`, the rule the recorded decision support uses, so the screen never
says otherwise than what is kept with the inclusion. One quiet line above the fields says what
the lookup found; never a dialog.
"""

from __future__ import annotations

import datetime as dt

from PySide6.QtWidgets import QLabel, QWidget

from desktop.core.states import InputSource, IntakeSource
from desktop.ui import theme
from desktop.ui.i18n import local_datetime, say, t
from desktop.ui.readable import ReadableLabel

SOURCE_TEXT = {InputSource.QUESTIONNAIRE: "window.decision.source.questionnaire",
               InputSource.ENTERED: "window.decision.source.entered",
               InputSource.ESTIMATED: "window.decision.source.estimated"}


def questionnaire_day(completed_at: str | None) -> dt.date | None:
    """The day the questionnaire was completed, in this PC's time zone (`completed_at` is a
    date, or a UTC time when the PROM platform gave one)."""
    moment = local_datetime(completed_at)
    return moment.date() if moment is not None else None


def source_label() -> QLabel:
    """The small line under one field that says where its value comes from."""
    label = QLabel()
    label.setStyleSheet(theme.css(theme.MUTED, points=theme.NOTE_PT))
    label.setWordWrap(True)
    return label


def show_source(field: QWidget, label: QLabel, source: InputSource, day: dt.date | None) -> None:
    words = t(SOURCE_TEXT[source], date=day or "—")  # only the questionnaire's words have a date
    label.setText(words)
    field.setAccessibleDescription(words)


def status_label() -> ReadableLabel:
    """The quiet line above the fields: what the questionnaire lookup found."""
    label = ReadableLabel()
    label.setWordWrap(True)
    label.setStyleSheet(theme.css(theme.MUTED, points=theme.NOTE_PT))
    label.setAccessibleName(t("window.decision.questionnaire.name"))
    label.hide()
    return label


def lookup_status(result) -> tuple[str, str]:
    """The line for an `IntakeLookup` (None: asked, no answer yet; an exception: the lookup
    failed), and its full wording for the tooltip (why the server gave nothing)."""
    if result is None:
        return t("window.decision.questionnaire.busy"), ""
    if isinstance(result, Exception):
        return t("window.decision.questionnaire.failed", error=type(result).__name__), ""
    day = result.completed_on
    if result.source == IntakeSource.SERVER:
        return t("window.decision.questionnaire.used", date=day), ""
    if result.source == IntakeSource.CACHE:
        return t("window.decision.questionnaire.used_cached", date=day), say(result.message)
    if result.server_answered:
        return t("window.decision.questionnaire.none"), ""
    return t("window.decision.questionnaire.unreachable"), say(result.message)
