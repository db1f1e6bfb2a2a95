"""The patient explanation of a bundle, made from its definition and the patient's dates.

Produces HTML that the window shows in large type and prints as the handout, so screen
and paper always say the same. Dutch and English come from the bundle file; the few
fixed phrases are in the message catalogue (`core.handout.*`).
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from html import escape

from desktop.core.bundles import Bundle, Condition
from desktop.core.messages import LANGUAGES, msg, text

MONTHS = ("core.month.january", "core.month.february", "core.month.march", "core.month.april", "core.month.may",
          "core.month.june", "core.month.july", "core.month.august", "core.month.september", "core.month.october",
          "core.month.november", "core.month.december")
SECTIONS = {"covered": "core.handout.covered", "possible": "core.handout.possible"}
CLOSING = {"data_use": "core.handout.data", "excess": "core.handout.excess", "agreement": "core.handout.agreement"}


def add_months(day: dt.date, months: int) -> dt.date:
    """Same day of the month, clamped to the month's end (31 Jan + 1 month = 28/29 Feb)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def long_date(day: dt.date, language: str) -> str:
    """'14 maart 2025' / '14 March 2025': the month's name from the catalogue, not the PC's locale."""
    return text("core.handout.long_date", language, day=day.day, month=msg(MONTHS[day.month - 1]), year=day.year)


@dataclass(frozen=True)
class MomentDate:
    label: str
    when: str


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
                     printed_on: dt.date | None = None) -> str:
    """The explanation as HTML; `printed_on` adds the handout footer."""
    language = language if language in LANGUAGES else "nl"
    texts = bundle.explanation.get(language) or bundle.explanation.get("nl") or {}
    end = bundle.end_date(start)
    parts = [f"<h1>{escape(texts.get('title', bundle.name.get(language)))}</h1>"]
    if texts.get("intro"):
        parts.append(f"<p>{escape(texts['intro'])}</p>")
    rows = []
    if condition:
        rows.append((text("core.handout.condition", language), condition.label.get(language)))
    rows += [(text("core.handout.start", language), long_date(start, language)),
             (text("core.handout.end", language), long_date(end, language)),
             (text("core.handout.duration", language), text("core.handout.days", language, days=bundle.episode_days))]
    parts.append("<table cellpadding='4'>" + "".join(
        f"<tr><td><b>{escape(k)}</b></td><td>{escape(v)}</td></tr>" for k, v in rows) + "</table>")
    for key, heading in SECTIONS.items():
        items = texts.get(key) or []
        if items:
            parts.append(f"<h2>{escape(text(heading, language))}</h2><ul>"
                         + "".join(f"<li>{escape(i)}</li>" for i in items) + "</ul>")
    moments = moment_dates(bundle, start, language)
    if moments:
        parts.append(f"<h2>{escape(text('core.handout.moments', language))}</h2>")
        if texts.get("questionnaires"):
            parts.append(f"<p>{escape(texts['questionnaires'])}</p>")
        parts.append("<table cellpadding='4'>" + "".join(
            f"<tr><td>{escape(m.label)}</td><td>{escape(m.when)}</td></tr>" for m in moments) + "</table>")
    for key, heading in CLOSING.items():
        if texts.get(key):
            parts.append(f"<h2>{escape(text(heading, language))}</h2><p>{escape(texts[key])}</p>")
    if printed_on:
        footer = text("core.handout.printed", language, date=long_date(printed_on, language),
                      bundle=bundle.name, version=bundle.version)
        parts.append(f"<p><small>{escape(footer)}</small></p>")
    return "\n".join(parts)
