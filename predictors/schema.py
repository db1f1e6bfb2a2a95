"""What a patient row looks like: conditions, baseline columns, instruments, and checks.

One place declares every column the models read (name, kind, allowed values) and every
outcome instrument (scale, step, direction, what counts as a relevant improvement), so
that training, the inference API and the batch CLI validate input the same way. Values
come from CSV cells or from the window's fields: None, "" and NaN all mean unknown. A
bad value raises `PatientValueError` naming the field and what is allowed — never the
value itself, which may be an identifier pasted into the wrong field.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

CONDITIONS = ("CTS", "CMC1_OA")
OPTIONS = ("conservative", "surgery")
WORK_STATUSES = ("office", "physical", "not_working", "retired")
EMPLOYED = ("office", "physical")
MONTHS = (0, 3, 6, 12)
RTW_DAYS = (42, 84)  # "back within 6 weeks" and "within 12 weeks"


class PatientValueError(ValueError):
    """A patient value the models cannot use: names the field and what is allowed."""

    def __init__(self, field: str, nl: str, en: str):
        self.field = field
        self.nl = nl
        self.en = en
        super().__init__(f"{field}: {nl} / {en}")


@dataclass(frozen=True)
class Instrument:
    """A patient-reported outcome scale and its clinically relevant change."""

    column: str  # stem: f"{column}_{month}" in the cohort
    name: str
    low: float
    high: float
    step: float  # resolution of the recorded score (NRS whole points, BCTQ items / 8)
    higher_is_better: bool
    relevant_change: float  # size of a relevant improvement at 12 months

    def improvement_possible(self, baseline: float | None) -> bool:
        """Whether a relevant improvement fits on the scale from this starting score (unknown: it may)."""
        if baseline is None:
            return True
        if self.higher_is_better:
            return baseline + self.relevant_change <= self.high
        return baseline - self.relevant_change >= self.low

    @property
    def improvement_text(self) -> str:
        direction = "increase" if self.higher_is_better else "decrease"
        return f"{self.name} {direction} >= {self.relevant_change:g} from baseline at 12 months"


NRS_PAIN = Instrument("nrs_pain", "NRS pain 0-10", 0.0, 10.0, 1.0, False, 2.0)
BCTQ_FSS = Instrument("bctq_fss", "BCTQ functional status scale 1-5", 1.0, 5.0, 0.125, False, 0.5)
MHQ_FUNCTION = Instrument("mhq_function", "MHQ function 0-100", 0.0, 100.0, 1.0, True, 10.0)

PAIN = {"CTS": NRS_PAIN, "CMC1_OA": NRS_PAIN}
FUNCTION = {"CTS": BCTQ_FSS, "CMC1_OA": MHQ_FUNCTION}


@dataclass(frozen=True)
class Column:
    """A baseline column the models read. kind: number, binary or category."""

    name: str
    kind: str
    low: float | None = None
    high: float | None = None
    levels: tuple[str, ...] = ()
    integer: bool = False

    def allowed(self) -> tuple[str, str]:
        if self.kind == "binary":
            return "0 of 1", "0 or 1"
        if self.kind == "category":
            text = ", ".join(self.levels)
            return f"één van: {text}", f"one of: {text}"
        kind_nl = "een geheel getal" if self.integer else "een getal"
        kind_en = "a whole number" if self.integer else "a number"
        return (f"{kind_nl} van {self.low:g} t/m {self.high:g}",
                f"{kind_en} from {self.low:g} to {self.high:g}")

    def parse(self, value: Any) -> float | str | None:
        """The value as the models use it: float, category string, or None if unknown."""
        if is_missing(value):
            return None
        nl, en = self.allowed()
        if self.kind == "category":
            text = str(value).strip().lower().replace(" ", "_").replace("-", "_")
            text = SYNONYMS.get(text, text)
            for level in self.levels:
                if text == level.lower():
                    return level
            raise PatientValueError(self.name, f"ongeldige waarde; verwacht {nl}",
                                    f"invalid value; expected {en}")
        if isinstance(value, bool):
            number = float(value)
        elif self.kind == "binary" and isinstance(value, str) and value.strip().lower() in YES_NO:
            number = YES_NO[value.strip().lower()]
        else:
            try:
                number = float(str(value).strip().replace(",", ".")) if isinstance(value, str) else float(value)
            except (TypeError, ValueError):
                raise PatientValueError(self.name, f"geen getal; verwacht {nl}",
                                        f"not a number; expected {en}") from None
        if not math.isfinite(number):
            raise PatientValueError(self.name, f"geen eindig getal; verwacht {nl}",
                                    f"not a finite number; expected {en}")
        number = number + 0.0  # -0.0 in exports becomes 0.0
        if self.kind == "binary":
            if number not in (0.0, 1.0):
                raise PatientValueError(self.name, f"verwacht {nl}", f"expected {en}")
            return number
        if (self.low is not None and number < self.low) or (self.high is not None and number > self.high):
            raise PatientValueError(self.name, f"buiten bereik; verwacht {nl}",
                                    f"out of range; expected {en}")
        if self.integer and number != round(number):
            raise PatientValueError(self.name, f"geen geheel getal; verwacht {nl}",
                                    f"not a whole number; expected {en}")
        return number


# Spellings seen in exports and typed in the window, mapped to the cohort's values.
SYNONYMS = {"v": "f", "vrouw": "f", "female": "f", "man": "m", "male": "m",
            "not_employed": "not_working", "unemployed": "not_working", "werkloos": "not_working",
            "gepensioneerd": "retired", "kantoor": "office", "fysiek": "physical", "manual": "physical"}
YES_NO = {"true": 1.0, "false": 0.0, "yes": 1.0, "no": 0.0, "ja": 1.0, "nee": 0.0, "j": 1.0, "n": 0.0,
          "y": 1.0}


def is_missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and value.strip() in ("", "NA", "NaN", "nan", "null", "None")


COMMON = (
    Column("age", "number", 12, 120),
    Column("sex", "category", levels=("F", "M")),
    Column("bmi", "number", 10, 80),
    Column("diabetes", "binary"),
    Column("smoker", "binary"),
    Column("work_status", "category", levels=WORK_STATUSES),
    Column("symptom_duration_months", "number", 0, 600),
    Column("dominant_hand_affected", "binary"),
    Column("bilateral", "binary"),
    Column("pcs", "number", 0, 52),
    Column("phq4", "number", 0, 12),
    Column("expectation", "number", 0, 10),
    Column("prior_injection", "binary"),
    Column("nrs_pain_0", "number", 0, 10),
)
SPECIFIC = {
    "CTS": (
        Column("ncs_severity", "number", 0, 3, integer=True),
        Column("thenar_atrophy", "binary"),
        Column("night_symptoms", "binary"),
        Column("bctq_sss_0", "number", 1, 5),
        Column("bctq_fss_0", "number", 1, 5),
    ),
    "CMC1_OA": (
        Column("eaton_stage", "number", 1, 4, integer=True),
        Column("mcp_hyperextension", "binary"),
        Column("key_pinch_kg", "number", 0, 40),
        Column("mhq_pain_0", "number", 0, 100),
        Column("mhq_function_0", "number", 0, 100),
    ),
}
# Read and checked, but not predictors: side (the dominant hand is what matters
# clinically) and inclusion_date (a period effect would not carry over to new patients).
CONDITION_COLUMN = Column("condition", "category", levels=CONDITIONS)
TREATMENT_COLUMN = Column("treatment", "category", levels=OPTIONS)


def baseline_columns(condition: str) -> tuple[Column, ...]:
    return COMMON + SPECIFIC[condition]


def parse_condition(value: Any) -> str:
    if is_missing(value):
        raise PatientValueError("condition", "ontbreekt; verwacht CTS of CMC1_OA",
                                "missing; expected CTS or CMC1_OA")
    condition = CONDITION_COLUMN.parse(value)
    assert isinstance(condition, str), "a category column parses to one of its levels"
    return condition


def parse_patient(patient: Any) -> tuple[str, dict[str, float | str | None]]:
    """Check a patient mapping; returns the condition and every baseline value parsed.

    Unknown keys are ignored (a row may carry outcomes or extra export columns).
    """
    if not hasattr(patient, "get"):
        raise TypeError("patient must be a mapping of cohort column names to values")
    condition = parse_condition(patient.get("condition"))
    values = {column.name: column.parse(patient.get(column.name)) for column in baseline_columns(condition)}
    return condition, values


def employed(work_status: str | None) -> bool | None:
    """True for office/physical work, False for not working/retired, None if unknown."""
    if work_status is None:
        return None
    return work_status in EMPLOYED
