"""The patient explanation of a bundle, made from its definition and the patient's dates.

Produces HTML that the window shows in large type and prints as the handout, so screen
and paper always say the same. Dutch and English come from the bundle file; the fixed
phrases from the message catalogue (`core.handout.*`). The patient's own facts (the
consultation, the side, who explained it) and how to reach the clinic — above all to stop —
come with it, so the patient can act on the paper at home (issue 13 item 8), and, when Samen
beslissen showed predictions, a personal page with them (issue 14 item 4).
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from html import escape

from desktop.core.bundles import Bundle, Condition
from desktop.core.clinic import Clinic
from desktop.core.messages import text
from desktop.core.states import Side

SIDE_KEYS = {Side.LEFT: "core.handout.side_left", Side.RIGHT: "core.handout.side_right",
             Side.BOTH: "core.handout.side_both"}

MONTHS_NL = ("januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus",
             "september", "oktober", "november", "december")


def add_months(day: dt.date, months: int) -> dt.date:
    """Same day of the month, clamped to the month's end (31 Jan + 1 month = 28/29 Feb)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def long_date(day: dt.date, language: str) -> str:
    if language == "en":
        return f"{day.day} {calendar.month_name[day.month]} {day.year}"
    return f"{day.day} {MONTHS_NL[day.month - 1]} {day.year}"


@dataclass(frozen=True)
class MomentDate:
    label: str
    when: str


@dataclass(frozen=True)
class Consultation:
    """The patient's own facts on the handout: when it was explained, which hand, by whom."""

    day: dt.date | None = None
    side: str | None = None
    explained_by: str = ""


def moment_dates(bundle: Bundle, start: dt.date, language: str) -> list[MomentDate]:
    result = []
    for moment in bundle.moments:
        label = moment.label.get(language)
        if moment.months is not None:
            result.append(MomentDate(label, long_date(add_months(start, moment.months), language)))
        else:
            result.append(MomentDate(label, text("core.handout.at_event", language, event=label.lower())))
    return result


def explanation_html(bundle: Bundle, condition: Condition | None, start: dt.date, language: str,
                     printed_on: dt.date | None = None, consultation: Consultation | None = None,
                     clinic: Clinic | None = None, personal_page: str = "") -> str:
    """The explanation as HTML; `printed_on` adds the handout footer. `personal_page`: the
    patient's own chances (`desktop.core.chances.personal_html`), on a page of its own at the end."""
    language = language if language in ("nl", "en") else "nl"

    def say(key: str, **params: object) -> str:
        return text(key, language, **params)

    consultation = consultation or Consultation()
    texts = bundle.explanation.get(language) or bundle.explanation.get("nl") or {}
    end = bundle.end_date(start)
    parts = [f"<h1>{escape(texts.get('title', bundle.name.get(language)))}</h1>"]
    if texts.get("intro"):
        parts.append(f"<p>{escape(texts['intro'])}</p>")
    rows = []
    if condition:
        side = SIDE_KEYS.get(Side(consultation.side)) if consultation.side in tuple(Side) else None
        label = condition.label.get(language)
        shown = say("core.handout.condition_side", condition=label, side=text(side, language)) if side else label
        rows.append((say("core.handout.condition"), shown))
    rows += [(say("core.handout.start"), long_date(start, language)),
             (say("core.handout.end"), long_date(end, language)),
             (say("core.handout.duration"), say("core.handout.days", days=bundle.episode_days))]
    if consultation.day:
        rows.append((say("core.handout.consultation"), long_date(consultation.day, language)))
    if consultation.explained_by:
        rows.append((say("core.handout.explained_by"), consultation.explained_by))
    parts.append(_table(rows, bold_keys=True))
    for key, heading in (("covered", "core.handout.covered"), ("possible", "core.handout.possible")):
        items = texts.get(key) or []
        if items:
            parts.append(f"<h2>{escape(say(heading))}</h2><ul>" + "".join(f"<li>{escape(i)}</li>" for i in items)
                         + "</ul>")
    moments = moment_dates(bundle, start, language)
    if moments:
        parts.append(f"<h2>{escape(say('core.handout.moments'))}</h2>")
        if texts.get("questionnaires"):
            parts.append(f"<p>{escape(texts['questionnaires'])}</p>")
        parts.append(_table([(m.label, m.when) for m in moments]))
    for key, heading in (("data_use", "core.handout.data"), ("excess", "core.handout.excess"),
                         ("agreement", "core.handout.agreement")):
        if texts.get(key):
            parts.append(f"<h2>{escape(say(heading))}</h2><p>{escape(texts[key])}</p>")
    parts.append(contact_html(clinic or Clinic(), language))
    parts.append(personal_page)
    if printed_on:
        footer = say("core.handout.printed", date=long_date(printed_on, language),
                     bundle=bundle.name.get(language), version=bundle.version)
        parts.append(f"<p><small>{escape(footer)}</small></p>")
    return "\n".join(part for part in parts if part)


def contact_html(clinic: Clinic, language: str) -> str:
    """Whom to call with questions or to stop; nothing when IT has not set the clinic (the self-test warns)."""
    if not (clinic.phone or clinic.contact):
        return ""
    lines = [text("core.handout.contact_intro", language)]
    if clinic.contact:
        lines.append(text("core.handout.contact_who", language, contact=clinic.contact))
    if clinic.phone:
        lines.append(text("core.handout.contact_phone", language, phone=clinic.phone))
    lines += [line for line in (clinic.name, clinic.address) if line]
    return (f"<h2>{escape(text('core.handout.contact', language))}</h2><p>"
            + "<br>".join(escape(line) for line in lines) + "</p>")


def _table(rows: list[tuple[str, str]], bold_keys: bool = False) -> str:
    def key(k: str) -> str:
        return f"<b>{escape(k)}</b>" if bold_keys else escape(k)

    return "<table cellpadding='4'>" + "".join(f"<tr><td>{key(k)}</td><td>{escape(v)}</td></tr>"
                                               for k, v in rows) + "</table>"
