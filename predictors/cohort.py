"""Reading a cohort export (the documented CSV shape) into checked numpy columns.

Uses the csv module and numpy only: the frozen app must stay small, so no pandas. Every
cell goes through the same checks as a patient typed into the window (`schema`), and a
bad cell is reported with its line number and column. Training stops on bad rows unless
the caller asks to skip them: a model silently trained on a mangled export is worse than
no model.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from predictors.schema import (
    FUNCTION,
    MONTHS,
    PAIN,
    TREATMENT_COLUMN,
    PatientValueError,
    baseline_columns,
    is_missing,
    parse_condition,
)


class CohortError(ValueError):
    """The file cannot be used for training (missing columns, bad rows, too few patients)."""


@dataclass
class RowError:
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"line {self.line}, {self.field}: {self.message}"


@dataclass
class Cohort:
    """One condition's patients: baseline values, treatment, outcomes (NaN when missing)."""

    condition: str
    baseline: list[dict]  # parsed baseline values per patient (schema.parse output)
    treatment: np.ndarray  # "conservative" / "surgery"
    outcomes: dict[str, np.ndarray]  # e.g. "nrs_pain_12", "rtw_days", "rtw_event"
    inclusion_dates: list[dt.date | None]
    sources: list[str] = field(default_factory=list)
    skipped: list[RowError] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.baseline)

    def subset(self, index: np.ndarray) -> Cohort:
        index = np.asarray(index)
        return Cohort(
            self.condition,
            [self.baseline[i] for i in index],
            self.treatment[index],
            {name: values[index] for name, values in self.outcomes.items()},
            [self.inclusion_dates[i] for i in index],
            self.sources,
            self.skipped,
        )

    @property
    def period(self) -> tuple[str | None, str | None]:
        dates = [d for d in self.inclusion_dates if d is not None]
        if not dates:
            return None, None
        return min(dates).isoformat(), max(dates).isoformat()


def outcome_names(condition: str) -> list[str]:
    names = []
    for instrument in (PAIN[condition], FUNCTION[condition]):
        names += [f"{instrument.column}_{month}" for month in MONTHS]
    return names + ["rtw_days", "rtw_event", "surgery_within_12m"]


def _outcome_range(name: str, condition: str) -> tuple[float, float]:
    for instrument in (PAIN[condition], FUNCTION[condition]):
        if name.startswith(instrument.column + "_"):
            return instrument.low, instrument.high
    if name == "rtw_days":
        return 0.0, 3650.0
    return 0.0, 1.0  # rtw_event, surgery_within_12m


def read_rows(path: Path) -> Iterator[tuple[int, dict]]:
    """(line number, row) for each data row; line 1 is the header."""
    with open(path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames is None:
            raise CohortError(f"{path}: empty file")
        for row in reader:
            yield reader.line_num, row


def read_cohorts(paths: list[Path], skip_invalid: bool = False) -> dict[str, Cohort]:
    """Read one or more exports; patients are grouped by their `condition` column."""
    collected: dict[str, dict] = {}
    errors: list[RowError] = []
    for path in paths:
        path = Path(path)
        header = _header(path)
        for required in ("condition", "treatment"):
            if required not in header:
                raise CohortError(f"{path}: column '{required}' is missing")
        for line, row in read_rows(path):
            try:
                condition = parse_condition(row.get("condition"))
            except PatientValueError as error:
                errors.append(RowError(line, error.field, error.en))
                continue
            missing = [c.name for c in baseline_columns(condition) if c.name not in header]
            if missing:
                raise CohortError(f"{path}: columns missing for {condition}: {', '.join(missing)}")
            parsed = _parse_row(row, condition, line, errors)
            if parsed is None:
                continue
            bucket = collected.setdefault(condition, {"rows": [], "sources": set()})
            bucket["rows"].append(parsed)
            bucket["sources"].add(path.name)
    if errors and not skip_invalid:
        shown = "\n".join(f"  {error}" for error in errors[:20])
        more = f"\n  ... and {len(errors) - 20} more" if len(errors) > 20 else ""
        raise CohortError(f"{len(errors)} invalid row(s); fix them or use --skip-invalid:\n{shown}{more}")
    cohorts = {}
    for condition, bucket in collected.items():
        rows = bucket["rows"]
        names = outcome_names(condition)
        cohorts[condition] = Cohort(
            condition,
            [r[0] for r in rows],
            np.array([r[1] for r in rows]),
            {name: np.array([r[2][name] for r in rows], dtype=float) for name in names},
            [r[3] for r in rows],
            sorted(bucket["sources"]),
            errors,
        )
    return cohorts


def _header(path: Path) -> list[str]:
    with open(path, newline="", encoding="utf-8-sig") as handle:
        return next(csv.reader(handle), [])


def _parse_row(row: dict, condition: str, line: int, errors: list[RowError]):
    try:
        baseline = {c.name: c.parse(row.get(c.name)) for c in baseline_columns(condition)}
        treatment = TREATMENT_COLUMN.parse(row.get("treatment"))
        if treatment is None:
            raise PatientValueError("treatment", "ontbreekt", "missing; expected conservative or surgery")
    except PatientValueError as error:
        errors.append(RowError(line, error.field, error.en))
        return None
    outcomes = {}
    for name in outcome_names(condition):
        value = row.get(name)
        if value is None or is_missing(value):  # (is_missing says so of None too; here mypy sees it)
            outcomes[name] = math.nan
            continue
        try:
            number = float(value) + 0.0
        except ValueError:
            errors.append(RowError(line, name, "not a number"))
            return None
        low, high = _outcome_range(name, condition)
        if not (low <= number <= high):
            errors.append(RowError(line, name, f"out of range; expected {low:g} to {high:g}"))
            return None
        outcomes[name] = number
    if math.isnan(outcomes["rtw_days"]) != math.isnan(outcomes["rtw_event"]):
        errors.append(RowError(line, "rtw_event", "rtw_days and rtw_event must be given together"))
        return None
    date = None
    text = (row.get("inclusion_date") or "").strip()
    if text:
        try:
            date = dt.date.fromisoformat(text)
        except ValueError:
            errors.append(RowError(line, "inclusion_date", "expected a date YYYY-MM-DD"))
            return None
    return baseline, treatment, outcomes, date
