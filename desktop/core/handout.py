"""The patient explanation of a bundle, made from its definition and the patient's dates.

Produces HTML that the window shows in large type and prints as the handout, so screen
and paper always say the same. Dutch and English come from the bundle file; the few
fixed phrases live here.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from html import escape

from desktop.core.bundles import Bundle, Condition

PHRASES = {
    "nl": {
        "condition": "Aandoening", "start": "Start van de bundel", "end": "Einde van de bundel",
        "covered": "Wat valt eronder", "possible": "Wat blijft mogelijk", "moments": "Vragenlijsten",
        "data": "Wat gebeurt er met uw gegevens", "excess": "Eigen risico", "agreement": "Meedoen",
        "at_event": "bij {event}", "for": "Voor", "days": "{days} dagen",
        "printed": "Uitgeprint op {date} · {bundle}, versie {version}",
        "duration": "Duur",
    },
    "en": {
        "condition": "Condition", "start": "Bundle starts", "end": "Bundle ends",
        "covered": "What is covered", "possible": "What remains possible", "moments": "Questionnaires",
        "data": "How your data are used", "excess": "Deductible", "agreement": "Taking part",
        "at_event": "at {event}", "for": "For", "days": "{days} days",
        "printed": "Printed on {date} · {bundle}, version {version}",
        "duration": "Duration",
    },
}
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


def moment_dates(bundle: Bundle, start: dt.date, language: str) -> list[MomentDate]:
    phrases = PHRASES[language]
    result = []
    for moment in bundle.moments:
        label = moment.label.get(language)
        if moment.months is not None:
            result.append(MomentDate(label, long_date(add_months(start, moment.months), language)))
        else:
            result.append(MomentDate(label, phrases["at_event"].format(event=label.lower())))
    return result


def explanation_html(bundle: Bundle, condition: Condition | None, start: dt.date, language: str,
                     printed_on: dt.date | None = None) -> str:
    """The explanation as HTML; `printed_on` adds the handout footer."""
    language = language if language in PHRASES else "nl"
    phrases = PHRASES[language]
    texts = bundle.explanation.get(language) or bundle.explanation.get("nl") or {}
    end = bundle.end_date(start)
    parts = [f"<h1>{escape(texts.get('title', bundle.name.get(language)))}</h1>"]
    if texts.get("intro"):
        parts.append(f"<p>{escape(texts['intro'])}</p>")
    rows = []
    if condition:
        rows.append((phrases["condition"], condition.label.get(language)))
    rows += [(phrases["start"], long_date(start, language)), (phrases["end"], long_date(end, language)),
             (phrases["duration"], phrases["days"].format(days=bundle.episode_days))]
    parts.append("<table cellpadding='4'>" + "".join(
        f"<tr><td><b>{escape(k)}</b></td><td>{escape(v)}</td></tr>" for k, v in rows) + "</table>")
    for key, heading in (("covered", "covered"), ("possible", "possible")):
        items = texts.get(key) or []
        if items:
            parts.append(f"<h2>{phrases[heading]}</h2><ul>" + "".join(f"<li>{escape(i)}</li>" for i in items) + "</ul>")
    moments = moment_dates(bundle, start, language)
    if moments:
        parts.append(f"<h2>{phrases['moments']}</h2>")
        if texts.get("questionnaires"):
            parts.append(f"<p>{escape(texts['questionnaires'])}</p>")
        parts.append("<table cellpadding='4'>" + "".join(
            f"<tr><td>{escape(m.label)}</td><td>{escape(m.when)}</td></tr>" for m in moments) + "</table>")
    for key in ("data_use", "excess", "agreement"):
        if texts.get(key):
            heading = {"data_use": "data", "excess": "excess", "agreement": "agreement"}[key]
            parts.append(f"<h2>{phrases[heading]}</h2><p>{escape(texts[key])}</p>")
    if printed_on:
        footer = phrases["printed"].format(date=long_date(printed_on, language),
                                           bundle=bundle.name.get(language), version=bundle.version)
        parts.append(f"<p><small>{escape(footer)}</small></p>")
    return "\n".join(parts)
