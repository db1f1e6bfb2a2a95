"""The patient's intake questionnaire on Samen beslissen: its date with each answer it gave,
and what the lookup found.

Each field says under it and in its accessible description where its value comes from
(`page.SOURCE_TEXT`, by `prediction.input_sources`, the rule the recorded decision support
uses); an answer from the questionnaire says which questionnaire: "uit de vragenlijst van
12-11-2026". One quiet line above the fields says what the lookup found; never a dialog.
"""

from __future__ import annotations

import datetime as dt

from desktop.core.states import InputSource, IntakeSource
from desktop.ui import theme
from desktop.ui.i18n import local_datetime, say, t
from desktop.ui.readable import ReadableLabel


def questionnaire_day(completed_at: str | None) -> dt.date | None:
    """The day the questionnaire was completed, in this PC's time zone (`completed_at` is a
    date, or a UTC time when the PROM platform gave one)."""
    moment = local_datetime(completed_at)
    return moment.date() if moment is not None else None


def dated(source: InputSource, day: dt.date | None) -> tuple[str, str] | None:
    """A questionnaire's answer with the questionnaire's date: the line under the field and its
    accessible description (None for the other sources, or without a date)."""
    if source is not InputSource.QUESTIONNAIRE or day is None:
        return None
    return (t("window.decision.source.questionnaire_of", date=day),
            t("window.decision.source.questionnaire_of_description", date=day))


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
