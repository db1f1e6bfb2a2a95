"""The decision support a record keeps: what Samen beslissen showed when the inclusion was registered.

Part of the record contract (`desktop.core.fields`): the device's input parser and the wire
(`sync.protocol`) check it with `check_decision_support`, so the server accepts exactly the
decision support a device stores, and trusts no device further than this shape: known keys
only, numbers finite and within their scales, texts short. It is optional: a device of the
previous version sends none, and a record without it is what it always was.

    {"model_version": "2026-11-25-e4ff0714df52",          # the model card's version
     "computed_at": "2026-12-01T09:30:00.000Z",          # when these numbers were shown
     "questionnaire_completed_at": "2026-11-28" | null,  # the intake the numbers are based on
     "inputs": {column: {"value": number | text | null,
                         "source": "questionnaire" | "entered" | "estimated"}},
     "predictions": {batch column: number | null}}      # the columns of `python -m predictors.batch`

The names, scales and ranges mirror the predictors (`predictors.schema`, `predictors.model`);
the domain core may not import them, so `tests/desktop/test_decision_support.py` keeps the two equal.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any

from desktop.core import intake
from desktop.core.fields import SHORT_TEXT_MAX, check_text, parse_timestamp
from desktop.core.identifiers import InvalidField
from desktop.core.messages import both, either, joined, msg
from desktop.core.states import InputSource, TreatmentOption, values

FIELD = "decision_support"
KEYS = ("model_version", "computed_at", "questionnaire_completed_at", "inputs", "predictions")
SOURCES = values(InputSource)
AGE = intake.Column("age", "number", 12, 120)
INPUT_COLUMNS = {AGE.name: AGE, **intake.BY_NAME}
CONDITIONS = ("CTS", "CMC1_OA")

# The prediction columns in batch order, and the scale each one is on.
PAIN_SCALE = (0.0, 10.0)                                        # NRS pain 0-10
FUNCTION_SCALE = {"CTS": (1.0, 5.0), "CMC1_OA": (0.0, 100.0)}   # BCTQ FSS 1-5, MHQ function 0-100
# Which way is better: less pain always; BCTQ runs like pain (lower), MHQ the other way (higher).
PAIN_HIGHER_IS_BETTER = False
FUNCTION_HIGHER_IS_BETTER = {"CTS": False, "CMC1_OA": True}
PROBABILITY = (0.0, 1.0)
DAYS = (0.0, 3650.0)  # a median time off work, in days
MONTHS = (3, 12)
OPTIONS = tuple(option.value for option in TreatmentOption)


def prediction_columns() -> tuple[str, ...]:
    """The batch CLI's prediction columns (after patient_id), in its order."""
    names: list[str] = []
    for arm in OPTIONS:
        for outcome in ("pain", "function"):
            for month in MONTHS:
                names += [f"{arm}_{outcome}{month}_{stat}" for stat in ("mean", "p10", "p90")]
            names.append(f"{arm}_{outcome}_mcid_prob")
        names += [f"{arm}_rtw6w_prob", f"{arm}_rtw12w_prob", f"{arm}_rtw_median_days"]
    return (*names, "conservative_surgery12m_prob")


PREDICTION_COLUMNS = prediction_columns()
# Empty for a patient who is not employed (or whose work is unknown), and a median beyond follow-up.
MAY_BE_EMPTY = frozenset(name for name in PREDICTION_COLUMNS if "_rtw" in name)
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)


def prediction_range(name: str, condition: str) -> tuple[float, float]:
    if name.endswith("_prob"):
        return PROBABILITY
    if name.endswith("_days"):
        return DAYS
    return PAIN_SCALE if "_pain" in name else FUNCTION_SCALE[condition]


def utc_text(moment: dt.datetime) -> str:
    """A time stamp as the record keeps it: UTC, milliseconds, `Z`."""
    return moment.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def check_decision_support(value: object, condition: str, field: str = FIELD) -> dict[str, Any]:
    """The decision support in its one stored form; raises InvalidField naming the part that is wrong."""
    if not isinstance(value, dict):
        raise InvalidField(field, msg("core.decision_support.not_an_object", parts=both(KEYS)))
    unknown = sorted(str(key) for key in value if key not in KEYS)
    missing = [key for key in KEYS if key not in value]
    if unknown or missing:
        raise InvalidField(field, msg("core.decision_support.parts", parts=both(KEYS)))
    if condition not in CONDITIONS:
        raise InvalidField(field, msg("core.decision_support.conditions", conditions=both(CONDITIONS)))
    version = value["model_version"]
    if not isinstance(version, str) or not version.strip():
        raise InvalidField(f"{field}.model_version", msg("core.decision_support.no_version"))
    check_text(version, f"{field}.model_version", SHORT_TEXT_MAX)
    return {
        "model_version": version,
        "computed_at": utc_text(parse_timestamp(value["computed_at"], f"{field}.computed_at")),
        "questionnaire_completed_at": _completed_at(value["questionnaire_completed_at"], field),
        "inputs": _inputs(value["inputs"], f"{field}.inputs"),
        "predictions": _predictions(value["predictions"], condition, f"{field}.predictions"),
    }


def _completed_at(value: object, field: str) -> str | None:
    """The questionnaire's date, or its time when the PROM platform gave one (then UTC)."""
    where = f"{field}.questionnaire_completed_at"
    if value is None:
        return None
    if isinstance(value, str) and _DATE.fullmatch(value):
        try:
            return dt.date.fromisoformat(value).isoformat()
        except ValueError:
            raise InvalidField(where, msg("core.decision_support.no_such_date")) from None
    return utc_text(parse_timestamp(value, where))


def _inputs(value: object, field: str) -> dict[str, dict[str, Any]]:
    if not isinstance(value, dict):
        raise InvalidField(field, msg("core.decision_support.inputs_object"))
    checked = {}
    for name, item in value.items():
        column = INPUT_COLUMNS.get(name) if isinstance(name, str) else None
        if column is None:
            raise InvalidField(field, msg("core.decision_support.unknown_input", known=joined(INPUT_COLUMNS)))
        where = f"{field}.{name}"
        if not isinstance(item, dict) or set(item) != {"value", "source"}:
            raise InvalidField(where, msg("core.decision_support.input_object"))
        source = item["source"]
        if not isinstance(source, str) or source not in SOURCES:
            raise InvalidField(f"{where}.source", msg("core.decision_support.source", sources=either(SOURCES)))
        if (item["value"] is None) != (source == InputSource.ESTIMATED):
            raise InvalidField(where, msg("core.decision_support.estimated_value"))
        checked[name] = {"value": _input_value(column, item["value"], f"{where}.value"), "source": source}
    return checked


def _input_value(column: intake.Column, value: object, field: str) -> float | str | None:
    if value is None:
        return None
    if column.kind == "category":
        if not isinstance(value, str) or value not in column.levels:
            raise InvalidField(field, msg("core.decision_support.level", levels=either(column.levels)))
        return value
    number = _number(value, field)
    if column.kind == "binary" and number not in (0.0, 1.0):
        raise InvalidField(field, msg("core.decision_support.binary"))
    if not column.low <= number <= column.high or (column.integer and not number.is_integer()):
        key = "core.decision_support.whole_range" if column.integer else "core.decision_support.range"
        raise InvalidField(field, msg(key, low=f"{column.low:g}", high=f"{column.high:g}"))
    return number


def _predictions(value: object, condition: str, field: str) -> dict[str, float | None]:
    if not isinstance(value, dict) or set(value) != set(PREDICTION_COLUMNS):
        raise InvalidField(field, msg("core.decision_support.prediction_columns"))
    checked: dict[str, float | None] = {}
    for name in PREDICTION_COLUMNS:
        where = f"{field}.{name}"
        if value[name] is None:
            if name not in MAY_BE_EMPTY:
                raise InvalidField(where, msg("core.decision_support.prediction_missing"))
            checked[name] = None
            continue
        number = _number(value[name], where)
        low, high = prediction_range(name, condition)
        if not low <= number <= high:
            raise InvalidField(where, msg("core.decision_support.prediction_range", low=f"{low:g}", high=f"{high:g}"))
        checked[name] = number
    return checked


def _number(value: object, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidField(field, msg("core.decision_support.number"))
    number = float(value)
    if not math.isfinite(number):
        raise InvalidField(field, msg("core.decision_support.finite"))
    return number + 0.0  # -0.0 is 0.0
