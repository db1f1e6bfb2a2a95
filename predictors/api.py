"""The inference API the window (and the batch CLI) calls.

    models = load_models()                     # off the UI thread: reads and verifies files
    prediction = models.predict(patient)       # both options, all outcomes, ≤ 30 ms
    prediction.surgery.pain.month12.mean       # expected NRS pain at 12 months after surgery
    models.similar_patients(patient, "conservative", k=20)
    models.card("CTS")                         # the model card (dict; .card_markdown for text)

A patient is a mapping with the cohort's baseline column names (`condition`, `age`,
`sex`, `work_status`, `nrs_pain_0`, `bctq_fss_0`, …); unknown values may be None or "".
Invalid values raise `PatientValueError` (a ValueError) naming the field and what is
allowed, in Dutch and English. `ModelSet` is immutable after loading, so one instance
can be shared by threads.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

import resources
from predictors import store
from predictors.influence import PERSONAL_SHARE, Influence, explained_share, influence
from predictors.model import FOLLOW_UP, OVERLAP, ConditionModel, column_names, instrument, rounded
from predictors.neighbours import SimilarPatients
from predictors.schema import OPTIONS, PatientValueError, parse_patient

__all__ = [
    "Influence",
    "ModelFileError",
    "ModelSet",
    "Note",
    "OptionPrediction",
    "OutcomePrediction",
    "OutcomeRange",
    "PatientValueError",
    "Prediction",
    "ReturnToWork",
    "load_models",
    "without_room",
]
ModelFileError = store.ModelFileError


@dataclass(frozen=True)
class OutcomeRange:
    """Expected score and the 80% range (10th–90th percentile) at one moment."""

    mean: float
    p10: float
    p90: float


@dataclass(frozen=True)
class OutcomePrediction:
    instrument: str  # e.g. "NRS pain 0-10", "BCTQ functional status scale 1-5"
    low: float
    high: float
    higher_is_better: bool
    month3: OutcomeRange
    month12: OutcomeRange
    improvement_probability: float  # P(clinically relevant improvement at 12 months)
    improvement_definition: str
    relevant_change: float = 0.0  # the size of a relevant improvement, in scale points
    baseline: float | None = None  # the starting score on this scale, None when unknown (estimated)
    improvement_possible: bool = True  # False: from this starting score the scale has no room for it


@dataclass(frozen=True)
class ReturnToWork:
    back_within_6_weeks: float  # P(back at work by day 42); never stopped counts as back
    back_within_12_weeks: float  # P(back by day 84)
    median_days: float | None  # None: not reached within the reference follow-up


@dataclass(frozen=True)
class OptionPrediction:
    option: str  # "conservative" or "surgery"
    pain: OutcomePrediction
    function: OutcomePrediction
    return_to_work: ReturnToWork | None  # None unless employed (office/physical work)
    surgery_within_12_months: float | None  # conservative option only


@dataclass(frozen=True)
class Note:
    """Something the clinician should know about this prediction (not an error)."""

    code: str  # "imputed", "outside_reference", "poor_overlap", "synthetic"
    nl: str
    en: str


@dataclass(frozen=True)
class Prediction:
    condition: str
    employed: bool | None  # None when work_status is unknown
    conservative: OptionPrediction
    surgery: OptionPrediction
    propensity_surgery: float  # how often patients like this chose surgery in the reference
    imputed: tuple[str, ...]  # predictors that were unknown and estimated from the others
    notes: tuple[Note, ...]
    model_card: str  # file name of the model card in the models folder
    model_version: str  # training date and checksum prefix, for the record
    synthetic: bool  # trained on synthetic reference data: not for clinical use
    columns: Mapping[str, float | None]  # the batch CLI's columns, rounded as it writes them (None: empty);
    # the options' numbers above are these same rounded values

    def option(self, name: str) -> OptionPrediction:
        if name not in OPTIONS:
            raise ValueError(f"option must be one of {', '.join(OPTIONS)}")
        return getattr(self, name)


class ModelSet:
    """The loaded models for every condition in a models folder."""

    def __init__(self, models: dict[str, ConditionModel], cards: dict[str, dict], markdown: dict[str, str],
                 folder: Path):
        self._models = dict(models)
        self._cards = dict(cards)
        self._markdown = dict(markdown)
        self.folder = folder

    @property
    def conditions(self) -> tuple[str, ...]:
        return tuple(sorted(self._models))

    def card(self, condition: str) -> dict:
        """The model card (JSON content) for a condition."""
        return self._cards[self._condition(condition)]

    def card_markdown(self, condition: str) -> str:
        return self._markdown.get(self._condition(condition), "")

    def predict(self, patient: Mapping[str, Any]) -> Prediction:
        """Predictions for both options; raises PatientValueError on an invalid value."""
        condition, values = parse_patient(patient)
        columns = self._model(condition).predict([values])
        return self._prediction(condition, columns, 0, values)

    def predict_many(self, patients: Iterable[Mapping[str, Any]]) -> list[Prediction]:
        """Vectorised `predict` for many patients (mixed conditions allowed)."""
        parsed = [parse_patient(p) for p in patients]
        results: list[Prediction | None] = [None] * len(parsed)
        for condition in {c for c, _ in parsed}:
            rows = [i for i, (c, _) in enumerate(parsed) if c == condition]
            columns = self._model(condition).predict([parsed[i][1] for i in rows])
            for position, row in enumerate(rows):
                results[row] = self._prediction(condition, columns, position, parsed[row][1])
        return results  # type: ignore[return-value]

    def predict_columns(self, condition: str, values: list[dict]) -> dict[str, np.ndarray]:
        """Arrays keyed by batch column name, for already parsed values of one condition."""
        return self._model(condition).predict(values)

    def influence(self, patient: Mapping[str, Any]) -> Influence:
        """How much each input changes this patient's prediction, and whether the known ones
        make it personal (`predictors.influence`); raises PatientValueError."""
        condition, values = parse_patient(patient)
        return influence(self._model(condition), values)

    def is_personal(self, condition: str, known: Iterable[str]) -> bool:
        """Whether a prediction made with these inputs known (the rest estimated) is personal, by
        the page's own threshold (`predictors.influence`): for one kept with an inclusion."""
        return explained_share(self._model(condition), known) >= PERSONAL_SHARE

    def similar_patients(self, patient: Mapping[str, Any], option: str, k: int = 20) -> SimilarPatients:
        """The k most similar reference patients who started `option`, with their courses."""
        if option not in OPTIONS:
            raise ValueError(f"option must be one of {', '.join(OPTIONS)}")
        condition, values = parse_patient(patient)
        model = self._model(condition)
        if model.reference is None:
            raise store.ModelFileError(f"the {condition} model was trained without reference trajectories")
        from predictors.features import encode

        design = model.features.transform(encode(condition, [values])).design[0]
        return model.reference.query(design, option, k)

    # -- internals -------------------------------------------------------------------
    def _condition(self, condition: str) -> str:
        for known in self._models:
            if known.lower() == str(condition).lower():
                return known
        raise KeyError(f"no model for condition {condition!r}; loaded: {', '.join(self.conditions)}")

    def _model(self, condition: str) -> ConditionModel:
        try:
            return self._models[self._condition(condition)]
        except KeyError:
            raise PatientValueError(
                "condition", f"geen model voor deze aandoening; beschikbaar: {', '.join(self.conditions)}",
                f"no model for this condition; available: {', '.join(self.conditions)}") from None

    def _prediction(self, condition: str, columns: dict[str, np.ndarray], row: int,
                    values: Mapping[str, Any]) -> Prediction:
        model = self._models[condition]
        card = self._cards[condition]
        employed_value = columns["employed"][row]
        employed = None if math.isnan(employed_value) else bool(employed_value)
        shown = {name: rounded(columns[name][row]) for name in column_names()}
        options = {arm: self._option(condition, arm, shown, employed, values) for arm in OPTIONS}
        imputed = tuple(name for (name, _), flag in zip(model.features.names, columns["imputed"][row]) if flag)
        imputed = tuple(dict.fromkeys(_source(model, name) for name in imputed))
        outside = tuple(dict.fromkeys(
            _source(model, name) for (name, _), flag in zip(model.features.names, columns["outside_range"][row])
            if flag))
        propensity = float(columns["propensity_surgery"][row])
        notes = []
        if card.get("synthetic"):
            notes.append(Note("synthetic", "Synthetische referentiedata — niet voor klinisch gebruik.",
                              "Synthetic reference data — not for clinical use."))
        if imputed:
            text = ", ".join(imputed)
            notes.append(Note("imputed", f"Onbekend en geschat uit de overige gegevens: {text}.",
                              f"Unknown and estimated from the other values: {text}."))
        if outside:
            text = ", ".join(outside)
            notes.append(Note("outside_reference",
                              f"Buiten het bereik van de referentiegroep: {text}; voorspelling is extrapolatie.",
                              f"Outside the reference cohort's range: {text}; the prediction extrapolates."))
        rare = "surgery" if propensity < OVERLAP else "conservative" if propensity > 1 - OVERLAP else None
        if rare:
            notes.append(Note("poor_overlap",
                              f"Weinig vergelijkbare patiënten kozen {_dutch(rare)}; die voorspelling is onzekerder.",
                              f"Few comparable patients chose {rare}; that prediction is less certain."))
        return Prediction(
            condition=condition,
            employed=employed,
            conservative=options["conservative"],
            surgery=options["surgery"],
            propensity_surgery=propensity,
            imputed=imputed,
            notes=tuple(notes),
            model_card=store.file_names(condition)["card"],
            model_version=card.get("version", ""),
            synthetic=bool(card.get("synthetic")),
            columns=shown,
        )

    def _option(self, condition: str, arm: str, shown: Mapping[str, float | None],
                employed: bool | None, values: Mapping[str, Any]) -> OptionPrediction:
        """One option from the rounded columns, so what the window shows is what the record keeps."""

        def value(name: str) -> float:
            number = shown[name]
            assert number is not None, name  # only a return to work may be empty
            return number

        outcomes = {}
        for outcome in ("pain", "function"):
            scale = instrument(condition, outcome)
            baseline = values.get(f"{scale.column}_0")
            ranges = {
                month: OutcomeRange(*(value(f"{arm}_{outcome}{month}_{s}") for s in ("mean", "p10", "p90")))
                for month in FOLLOW_UP
            }
            outcomes[outcome] = OutcomePrediction(
                scale.name, scale.low, scale.high, scale.higher_is_better, ranges[3], ranges[12],
                value(f"{arm}_{outcome}_mcid_prob"), scale.improvement_text, scale.relevant_change,
                baseline, scale.improvement_possible(baseline))
        rtw = None
        if employed:
            rtw = ReturnToWork(value(f"{arm}_rtw6w_prob"), value(f"{arm}_rtw12w_prob"), shown[f"{arm}_rtw_median_days"])
        surgery = value("conservative_surgery12m_prob") if arm == "conservative" else None
        return OptionPrediction(arm, outcomes["pain"], outcomes["function"], rtw, surgery)


def _source(model: ConditionModel, feature: str) -> str:
    return dict(model.features.names)[feature]


def _dutch(option: str) -> str:
    return {"surgery": "een operatie", "conservative": "conservatieve behandeling"}[option]


def load_models(models_dir: str | Path | None = None) -> ModelSet:
    """Read, verify (SHA-256 against each model card) and load every condition's models.

    `models_dir` defaults to the installed `resources/models`. Safe to call from a worker
    thread (the window loads models off the UI thread); concurrent calls each get their
    own ModelSet. Raises ModelFileError when a file is missing, changed or damaged.

    Thread safety needs no lock: loading touches no shared state (every call reads its
    own bytes and builds new objects), and the ModelSet it returns is never mutated.
    """
    folder = Path(models_dir) if models_dir is not None else resources.path("models")
    cards_found = store.find_cards(folder)
    if not cards_found:
        raise ModelFileError(f"no model cards (*.card.json) in {folder}; train with python -m predictors.train")
    models, cards, markdown = {}, {}, {}
    for path in cards_found:
        card = store.read_card(path)
        condition = card["condition"]
        if condition in models:
            raise ModelFileError(f"two model cards for {condition} in {folder}")
        models[condition] = store.load_condition(folder, card, path.name)
        cards[condition] = card
        md = folder / store.file_names(condition)["card_markdown"]
        markdown[condition] = md.read_text(encoding="utf-8") if md.exists() else ""
    return ModelSet(models, cards, markdown, folder)


def without_room(condition: str, values: Mapping[str, Any]) -> dict[str, float]:
    """The outcomes (pain, function) whose starting score leaves no room on the scale for a
    relevant improvement, with that score: 'clearly less pain' cannot be measured from there."""
    found = {}
    for outcome in ("pain", "function"):
        scale = instrument(condition, outcome)
        baseline = values.get(f"{scale.column}_0")
        if isinstance(baseline, int | float) and not scale.improvement_possible(float(baseline)):
            found[outcome] = float(baseline)
    return found
