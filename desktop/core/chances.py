"""A patient's chances in plain words: the personal page of the handout (issue 14 item 4).

Samen beslissen shows each option's chances; the patient takes the same numbers home. They are
read from the decision support the consultation keeps (`desktop.core.decision_support`), whose
predictions are the very numbers the window shows (`predictors.api` builds both from one
rounding), and written with the same rules as the screen (`count_in_100`, `score_digits`,
`scale_text`), so screen, record and paper agree to the last digit. This module makes the HTML;
the window draws the icon arrays its `<img>` tags name (`ICON_ARRAY_SRC`) into the page.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import partial
from html import escape
from typing import Any

from desktop.core.decision_support import (
    CONDITIONS,
    FUNCTION_HIGHER_IS_BETTER,
    FUNCTION_SCALE,
    MONTHS,
    OPTIONS,
    PAIN_HIGHER_IS_BETTER,
    PAIN_SCALE,
)
from desktop.core.handout import long_date
from desktop.core.messages import number, text

OPTION_TITLE = {"conservative": "core.chances.option.conservative", "surgery": "core.chances.option.surgery"}
OPTION_SUBTITLE = {"conservative": "core.chances.subtitle.conservative", "surgery": "core.chances.subtitle.surgery"}
# Function by what its scale measures: BCTQ (carpal tunnel) the trouble using the hand, lower is better;
# MHQ (thumb base) how well the hand works, higher is better — so 'lower is better' never reads odd.
FUNCTION_NAME = {"CTS": "core.chances.function_trouble", "CMC1_OA": "core.chances.function"}
# The icon array an <img> asks for: which option's colour and how many of the 100 are filled.
ICON_ARRAY_SRC = re.compile(r"icon-array:(conservative|surgery):([0-9]{1,3})")
TABLE_PT = 11  # the comparison table's text, a point below the handout's body: each row on one line
ICON_SIZE = 120  # the icon array's side on the page, in CSS pixels (about 3 cm on paper)


def count_in_100(probability: float) -> int:
    """A chance as so many of 100 people, as the screen's icon array and percentages show it."""
    return round(probability * 100)


def score_digits(high: float) -> int:
    """A score as precise as its scale: one decimal on a 0–10 or 1–5 scale, none on 0–100."""
    return 1 if high <= 10 else 0


def scale_text(outcome: str, low: float, high: float, higher_is_better: bool, language: str) -> str:
    """An outcome's scale and which way is better, in words: 'Pijn 0–10, lager is beter'."""
    ends = (number(v, language, 0 if float(v).is_integer() else 1) for v in (low, high))
    key = "core.chances.scale.higher" if higher_is_better else "core.chances.scale.lower"
    return text(key, language, outcome=outcome, low=next(ends), high=next(ends))


@dataclass(frozen=True)
class Reading:
    """How the screen read the numbers, so the paper reads them the same way."""

    personal: bool = True  # False: a general estimate, the answers that matter most were estimated
    no_room: Mapping[str, float] = field(default_factory=dict)  # outcome -> starting score with no room to improve


@dataclass(frozen=True)
class Scale:
    name: str  # catalogue key
    low: float
    high: float
    higher_is_better: bool


def scales(condition: str) -> dict[str, Scale]:
    """The two outcomes' scales for a condition (pain; BCTQ or MHQ function)."""
    low, high = FUNCTION_SCALE[condition]
    return {"pain": Scale("core.chances.pain", *PAIN_SCALE, PAIN_HIGHER_IS_BETTER),
            "function": Scale(FUNCTION_NAME[condition], low, high, FUNCTION_HIGHER_IS_BETTER[condition])}


def icon_array_src(option: str, count: int) -> str:
    return f"icon-array:{option}:{count}"


def personal_html(support: Mapping[str, Any] | None, condition: str | None, language: str, synthetic: bool,
                  reading: Reading | None = None) -> str:
    """The handout's personal page, on a page of its own; nothing when no predictions were shown.

    `synthetic`: the numbers come from the demonstration models (trained on synthetic data).
    `reading`: a general estimate (whole-number ranges for people with this diagnosis, no chances
    in so many of 100) or personal, and the outcomes that had no room to improve."""
    if not support or condition not in CONDITIONS:
        return ""
    language = language if language in ("nl", "en") else "nl"
    say = partial(_say, language)
    reading = reading or Reading()

    predictions = support["predictions"]
    outcome_scales = scales(condition)
    parts = [f"<h1 style='page-break-before: always'>{say('core.chances.title')}</h1>"]
    if synthetic:
        parts.append(f"<p style='background-color: #fde8e8'><b>{say('core.chances.synthetic')}</b></p>")
    based = based_on(support.get("questionnaire_completed_at"), language)
    if reading.personal:
        parts.append(f"<p>{say('core.chances.intro')} <b>{based}</b></p>")
        if "pain" not in reading.no_room:  # else there are no icon arrays to explain
            parts.append(f"<p>{say('core.chances.icons_explained')}</p>")
        cells = "".join(f"<td width='50%' valign='top'>"
                        f"{_icons_html(option, predictions, outcome_scales, reading, language)}</td>"
                        for option in OPTIONS)
        parts.append(f"<table width='100%' cellpadding='5' cellspacing='0' border='1'><tr>{cells}</tr></table>")
        parts.append(f"<p>{say('core.chances.ranges_explained')}</p>")
    else:
        parts.append(f"<p><b>{say('core.chances.general')}</b> {based}</p>")
        parts.append(f"<p>{say('core.chances.general_ranges')}</p>")
    parts.append(_comparison_html(predictions, outcome_scales, reading.personal, language))
    parts.append("<p>" + escape(" · ".join(
        scale_text(text(s.name, language), s.low, s.high, s.higher_is_better, language)
        for s in outcome_scales.values())) + "</p>")
    parts.append(f"<p>{say('core.chances.not_certain')}</p>")
    computed = _local_day(support.get("computed_at"))
    version = escape(str(support["model_version"]))
    model = say("core.chances.model", version=support["model_version"],
                date=long_date(computed, language) if computed else "")
    parts.append(f"<p><small>{model.replace(version, f'<tt>{version}</tt>', 1)}</small></p>")  # no 'ff' ligature
    return "\n".join(parts)


def _say(language: str, key: str, **params: object) -> str:
    return escape(text(key, language, **params))


def based_on(completed_at: str | None, language: str) -> str:
    """Which questionnaire the numbers are based on, or that they are estimated from averages."""
    day = _local_day(completed_at)
    if day is None:
        return escape(text("core.chances.estimated", language))
    return escape(text("core.chances.questionnaire", language, date=long_date(day, language)))


def _icons_html(option: str, predictions: Mapping[str, float | None], outcome_scales: Mapping[str, Scale],
                reading: Reading, language: str) -> str:
    """One option's title, icon array and its two chances in words; where the starting score left
    no room to improve, that instead of a count that could only be 0."""
    say = partial(_say, language)
    less_pain = count_in_100(predictions[f"{option}_pain_mcid_prob"] or 0.0)
    better_function = count_in_100(predictions[f"{option}_function_mcid_prob"] or 0.0)
    title = f"<p><b><big>{say(OPTION_TITLE[option])}</big></b><br>{say(OPTION_SUBTITLE[option])}</p>"
    function = (_no_room(outcome_scales["function"], reading.no_room["function"], language)
                if "function" in reading.no_room else say("core.chances.better_function", count=better_function))
    if "pain" in reading.no_room:
        pain = _no_room(outcome_scales["pain"], reading.no_room["pain"], language)
        return f"{title}<p><b>{pain}</b></p><p>{function}</p>"
    return (f"{title}<table cellpadding='0' cellspacing='0'><tr>"
            f"<td valign='top'><img src='{icon_array_src(option, less_pain)}' width='{ICON_SIZE}' "
            f"height='{ICON_SIZE}'></td><td valign='top' style='padding-left: 8px'>"
            f"<p><b>{say('core.chances.less_pain', count=less_pain)}</b></p>"
            f"<p>{function}</p></td></tr></table>")


def _no_room(scale: Scale, baseline: float, language: str) -> str:
    """'Your pain was already 1 on 0–10 at the start: clearly less pain cannot be measured from there.'"""
    digits = score_digits(scale.high)
    return _say(language, "core.chances.no_room", outcome=text(scale.name, language),
                baseline=number(baseline, language, digits if not float(baseline).is_integer() else 0),
                low=number(scale.low, language, 0), high=number(scale.high, language, 0))


def _comparison_html(predictions: Mapping[str, float | None], outcome_scales: Mapping[str, Scale],
                     personal: bool, language: str) -> str:
    """The scores, the return to work and surgery after all: one row each, the options side by side.
    A general estimate has only the scores' usual ranges, in whole numbers, as the screen shows it."""
    say = partial(_say, language)
    rows = []
    for outcome, scale in outcome_scales.items():
        digits = score_digits(scale.high)
        for month in MONTHS:
            cells = []
            for option in OPTIONS:
                mean, low, high = (predictions[f"{option}_{outcome}{month}_{stat}"] for stat in ("mean", "p10", "p90"))
                if mean is None or low is None or high is None:
                    cells.append("—")
                elif personal:
                    cells.append(say("core.chances.score", mean=number(mean, language, digits),
                                     low=number(low, language, digits), high=number(high, language, digits)))
                else:
                    cells.append(say("core.chances.usually", low=number(round(low), language, 0),
                                     high=number(round(high), language, 0)))
            rows.append((say("core.chances.outcome_month", outcome=text(scale.name, language),
                             month=month), cells))
    for weeks in (6, 12) if personal else ():
        backs = [predictions[f"{option}_rtw{weeks}w_prob"] for option in OPTIONS]
        if all(back is not None for back in backs):
            rows.append((say("core.chances.back_at_work", weeks=weeks),
                         [say("core.chances.of_100", count=count_in_100(back or 0.0)) for back in backs]))
    surgery = predictions["conservative_surgery12m_prob"]
    if surgery is not None and personal:
        rows.append((say("core.chances.surgery_after_all"),
                     [say("core.chances.of_100", count=count_in_100(surgery)), "—"]))
    head = "".join(f"<th align='left' width='27%'>{say(OPTION_TITLE[option])}</th>" for option in OPTIONS)
    body = "".join(f"<tr><td>{label}</td>" + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>"
                   for label, cells in rows)
    return (f"<table width='100%' cellpadding='3' cellspacing='0' border='1' style='font-size: {TABLE_PT}pt'>"
            f"<tr><th width='46%'></th>{head}</tr>"
            f"{body}</table>")


def _local_day(moment: str | None) -> dt.date | None:
    """A stored date, or a time (UTC) as the day it was on this PC."""
    if not moment:
        return None
    try:
        if len(moment) == 10:
            return dt.date.fromisoformat(moment)
        return dt.datetime.fromisoformat(moment.replace("Z", "+00:00")).astimezone().date()
    except ValueError:
        return None
