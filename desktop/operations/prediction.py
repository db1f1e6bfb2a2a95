"""Samen beslissen's numbers: one implementation for the window, `predict --json` and the record.

The window, `bundelassistent predict --json`, `register --jsonl` lines with `intake` and the
decision support stored with an inclusion all build the patient row with `patient_row` (the
questionnaire's answers, typed values over them, age from the birth date, both hands) and
turn a prediction into what is shown and kept with `decision_support`; the numbers are
`Prediction.columns`, rounded as `python -m predictors.batch` writes them, so all of them
agree to the last digit. Importing the predictors takes seconds: the window imports this
module on a worker thread or once the models are loaded.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from desktop.core.bundles import LoadReport, Text
from desktop.core.decision_support import CONDITIONS, check_decision_support, utc_text
from desktop.core.identifiers import InvalidField, age_on
from desktop.core.inputs import InclusionRequest, InputError, parse_case
from desktop.core.messages import Plain, msg, text
from desktop.core.states import InputSource, Side
from predictors import ModelFileError, ModelSet, PatientValueError, Prediction
from predictors.influence import PERSONAL_SHARE
from predictors.schema import baseline_columns, parse_patient

if TYPE_CHECKING:
    from desktop.operations.services import Services

__all__ = ["CASE_KEYS", "DEFAULT_BUNDLE", "PERSONAL_SHARE", "ModelFileError", "PatientValueError", "Question",
           "baseline_columns", "decision_support", "field_label", "for_inclusion", "for_question", "input_sources",
           "overrides", "parse_question", "patient_row", "predict"]

DEFAULT_BUNDLE = "hand-wrist"  # the clinic's bundle, as a new consultation starts with
CASE_KEYS = ("bsn", "birth_date", "diagnosis", "side", "bundle", "inclusion_date", "intake")


LABELS = {  # each model input as the user knows it
    "age": "operations.prediction.label.age",
    "sex": "operations.prediction.label.sex",
    "bmi": "operations.prediction.label.bmi",
    "diabetes": "operations.prediction.label.diabetes",
    "smoker": "operations.prediction.label.smoker",
    "work_status": "operations.prediction.label.work_status",
    "symptom_duration_months": "operations.prediction.label.symptom_duration_months",
    "dominant_hand_affected": "operations.prediction.label.dominant_hand_affected",
    "bilateral": "operations.prediction.label.bilateral",
    "pcs": "operations.prediction.label.pcs",
    "phq4": "operations.prediction.label.phq4",
    "expectation": "operations.prediction.label.expectation",
    "prior_injection": "operations.prediction.label.prior_injection",
    "nrs_pain_0": "operations.prediction.label.nrs_pain_0",
    "ncs_severity": "operations.prediction.label.ncs_severity",
    "thenar_atrophy": "operations.prediction.label.thenar_atrophy",
    "night_symptoms": "operations.prediction.label.night_symptoms",
    "bctq_sss_0": "operations.prediction.label.bctq_sss_0",
    "bctq_fss_0": "operations.prediction.label.bctq_fss_0",
    "eaton_stage": "operations.prediction.label.eaton_stage",
    "mcp_hyperextension": "operations.prediction.label.mcp_hyperextension",
    "key_pinch_kg": "operations.prediction.label.key_pinch_kg",
    "mhq_pain_0": "operations.prediction.label.mhq_pain_0",
    "mhq_function_0": "operations.prediction.label.mhq_function_0",
}


def field_label(name: str, language: str = "nl") -> str:
    """A model input by its label (`Pijn nu (NRS 0–10)`), for messages."""
    return text(LABELS[name], language) if name in LABELS else name


def patient_row(condition: str, *, age: int | None, side: str | None, questionnaire: Mapping[str, Any],
                entered: Mapping[str, Any]) -> dict[str, Any]:
    """The predictors' patient row: the questionnaire's answers, what was typed over them (None:
    unknown, so estimated), the age from the birth date, and both hands when the side is both."""
    patient: dict[str, Any] = {"condition": condition, **_parsed(condition, questionnaire), **entered}
    if age is not None:
        patient["age"] = age
    if side == Side.BOTH and patient.get("bilateral") is None:
        patient["bilateral"] = 1
    return patient


def overrides(condition: str, given: object, field: str = "intake") -> dict[str, Any]:
    """The values a CASE or JSONL line types over the questionnaire (`intake`), each checked as the
    models check it; raises InputError naming every bad one by its label."""
    if given is None:
        return {}
    if not isinstance(given, dict):
        raise InputError([InvalidField(field, msg("operations.prediction.intake_not_object"))])
    columns = {column.name: column for column in baseline_columns(condition) if column.name != "age"}
    problems, checked = [], {}
    for name, value in given.items():
        column = columns.get(name)
        if column is None:
            problems.append(InvalidField(f"{field}.{name}", msg("operations.prediction.unknown_input",
                                                                 known=", ".join(columns))))
            continue
        try:
            checked[name] = column.parse(value)
        except PatientValueError as error:
            label = msg(LABELS[name]) if name in LABELS else Plain(name)
            problems.append(InvalidField(f"{field}.{name}", Text(error.nl, error.en), label))
    if problems:
        raise InputError(problems)
    return checked


def predict(models: ModelSet, patient: Mapping[str, Any], questionnaire: Mapping[str, Any],
            questionnaire_completed_at: str | None, computed_at: dt.datetime | None = None) -> dict[str, Any]:
    """Predict and return the decision support (`decision_support`); raises PatientValueError."""
    return decision_support(models.predict(patient), patient, questionnaire, questionnaire_completed_at,
                            computed_at)


def decision_support(prediction: Prediction, patient: Mapping[str, Any], questionnaire: Mapping[str, Any],
                     questionnaire_completed_at: str | None, computed_at: dt.datetime | None = None
                     ) -> dict[str, Any]:
    """What was shown, as the record keeps it (`desktop.core.decision_support`): each input with
    where it came from, and every prediction column.

    An input is from the questionnaire when it is the questionnaire's answer, estimated when
    unknown, else entered here (a correction of the questionnaire too; the age comes from the
    birth date that was entered)."""
    condition, values = parse_patient(patient)
    sources = input_sources(condition, values, questionnaire)
    inputs = {name: {"value": value, "source": sources[name].value} for name, value in values.items()}
    support = {
        "model_version": prediction.model_version,
        "computed_at": utc_text(computed_at or dt.datetime.now(dt.UTC)),
        "questionnaire_completed_at": questionnaire_completed_at if any(
            item["source"] == InputSource.QUESTIONNAIRE for item in inputs.values()) else None,
        "inputs": inputs,
        "predictions": dict(prediction.columns),
    }
    return check_decision_support(support, condition)


def input_sources(condition: str, values: Mapping[str, Any], questionnaire: Mapping[str, Any]
                  ) -> dict[str, InputSource]:
    """Where each parsed input came from: estimated when unknown, from the questionnaire when it is
    the questionnaire's answer, else entered here. The record keeps it and the form shows it."""
    answers = _parsed(condition, questionnaire)
    sources = {}
    for name, value in values.items():
        if value is None:
            sources[name] = InputSource.ESTIMATED
        elif name in answers and answers[name] == value:
            sources[name] = InputSource.QUESTIONNAIRE
        else:
            sources[name] = InputSource.ENTERED
    return sources


def _parsed(condition: str, answers: Mapping[str, Any]) -> dict[str, Any]:
    """The questionnaire's answers as the models read them; one they cannot read counts as absent."""
    parsed = {}
    for column in baseline_columns(condition):
        if column.name in answers:
            try:
                parsed[column.name] = column.parse(answers[column.name])
            except PatientValueError:
                continue
    return parsed


@dataclass(frozen=True)
class Question:
    """A `predict --json` CASE, checked: whose intake to look up, and what was typed over it."""

    bsn: str
    birth_date: dt.date
    on: dt.date
    condition: str
    side: str | None
    entered: dict[str, Any]


def parse_question(data: object, bundles: LoadReport, today: dt.date) -> Question:
    """A `predict --json` CASE (`CASE_KEYS`; `bundle` defaults to the clinic's, `inclusion_date` —
    the consultation date — to today); raises InputError naming every bad field."""
    if not isinstance(data, dict):
        raise InputError([InvalidField("(bestand)", msg("operations.prediction.case_not_object"))])
    problems = [InvalidField(str(key), msg("operations.prediction.unknown_case_key", known=", ".join(CASE_KEYS)))
                for key in data if key not in CASE_KEYS]
    problems += [InvalidField(key, msg("operations.prediction.case_key_missing"))
                 for key in ("bsn", "birth_date", "diagnosis") if data.get(key) in (None, "")]
    case_data = {key: data.get(key) for key in CASE_KEYS if key != "intake"}
    case_data["bundle"] = case_data["bundle"] or DEFAULT_BUNDLE
    try:
        case, bundle = parse_case(case_data, bundles, today)
    except InputError as error:
        raise InputError(problems + error.problems) from None
    condition = bundle.condition_for_code(case.diagnosis) if case.diagnosis else None
    entered: dict[str, Any] = {}
    if case.diagnosis and (condition is None or condition.id not in CONDITIONS):
        problems.append(InvalidField("diagnosis", msg("operations.prediction.no_model_for_diagnosis",
                                                       conditions=" en ".join(CONDITIONS))))
    elif condition is not None:
        try:
            entered = overrides(condition.id, data.get("intake"))
        except InputError as error:
            problems += error.problems
    if problems:
        raise InputError(problems)
    assert condition is not None and case.bsn is not None and case.birth_date is not None  # checked above
    return Question(case.bsn, case.birth_date, case.inclusion_date, condition.id, case.side, entered)


def for_question(services: Services, question: Question) -> dict[str, Any]:
    """The decision support for a CASE or JSONL line: the patient's intake as `intake --json`
    finds it (the server, else the cache; audited), what the line types over it, the models'
    numbers. Raises ModelFileError when the models cannot be loaded."""
    found = services.lookup_intake(question.bsn, question.birth_date, question.on)
    patient = patient_row(question.condition, age=age_on(question.birth_date, question.on), side=question.side,
                          questionnaire=found.values, entered=question.entered)
    return predict(services.prediction_models(), patient, found.values, found.as_dict()["completed_at"])


def for_inclusion(services: Services, request: InclusionRequest, given: object) -> dict[str, Any]:
    """The decision support of a `register --jsonl` line with `intake`: the same computation as
    `predict --json` for its patient, on its inclusion date. Raises InputError naming a bad value."""
    case = request.case
    condition = request.bundle.condition_for_code(case.diagnosis) if case.diagnosis else None
    if condition is None or condition.id not in CONDITIONS or case.birth_date is None:
        raise InputError([InvalidField("intake", msg("operations.prediction.no_model_for_diagnosis",
                                                     conditions=" en ".join(CONDITIONS)))])
    entered = overrides(condition.id, given)
    question = Question(request.bsn, case.birth_date, case.inclusion_date, condition.id, case.side, entered)
    return for_question(services, question)
