"""Shared decision-making predictions for the hand & wrist clinic (CTS and CMC1 OA).

The window imports only this package's public API (no Qt here, nothing from `desktop`
or `sync`): `load_models()` gives a `ModelSet`; `ModelSet.predict(patient)` gives a
`Prediction` with both treatment options. Training (`python -m predictors.train`) and
batch prediction (`python -m predictors.batch`) are command-line tools.
"""

from predictors.api import (
    ModelFileError,
    ModelSet,
    Note,
    OptionPrediction,
    OutcomePrediction,
    OutcomeRange,
    Prediction,
    ReturnToWork,
    load_models,
)
from predictors.neighbours import Band, SimilarPatients, Trajectory
from predictors.schema import CONDITIONS, OPTIONS, PatientValueError

__all__ = [
    "CONDITIONS",
    "OPTIONS",
    "Band",
    "ModelFileError",
    "ModelSet",
    "Note",
    "OptionPrediction",
    "OutcomePrediction",
    "OutcomeRange",
    "PatientValueError",
    "Prediction",
    "ReturnToWork",
    "SimilarPatients",
    "Trajectory",
    "load_models",
]
