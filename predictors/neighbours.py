"""Similar patients: the nearest reference patients who started the same treatment.

For the outcome chart: alongside the model's expected course, the real courses of the
k most similar patients in the reference cohort (same condition, same option), and a
median / 10th / 90th percentile band over them at 0, 3, 6 and 12 months.

Similarity is a weighted Euclidean distance on a few standardised baseline features a
clinician would recognise as "like this patient": age, sex, symptom duration, baseline
pain and function (weighted double, they drive the course most), and the condition's
severity markers. Unknown values are imputed like everywhere else, so a patient with
empty fields still gets neighbours. The reference arrays hold no patient identifiers;
but with a clinic's real export they are still patient data, so model files trained on
real data must be treated as confidential.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from predictors.schema import FUNCTION, MONTHS, OPTIONS, PAIN

SIMILARITY = {
    "CTS": {"age": 1.0, "male": 1.0, "log_symptom_duration": 1.0, "nrs_pain_0": 2.0,
            "bctq_fss_0": 2.0, "bctq_sss_0": 1.0, "ncs_severity": 1.0, "thenar_atrophy": 1.0},
    "CMC1_OA": {"age": 1.0, "male": 1.0, "log_symptom_duration": 1.0, "nrs_pain_0": 2.0,
                "mhq_function_0": 2.0, "mhq_pain_0": 1.0, "eaton_stage": 1.0, "key_pinch_kg": 1.0},
}


@dataclass(frozen=True)
class Trajectory:
    """One reference patient's scores at `months` (None = not returned)."""

    pain: tuple[float | None, ...]
    function: tuple[float | None, ...]
    distance: float


@dataclass(frozen=True)
class Band:
    """Median and 10th/90th percentile per month over the neighbours with a score then."""

    median: tuple[float | None, ...]
    p10: tuple[float | None, ...]
    p90: tuple[float | None, ...]
    n: tuple[int, ...]


@dataclass(frozen=True)
class SimilarPatients:
    condition: str
    option: str
    months: tuple[int, ...]
    pain_instrument: str
    function_instrument: str
    trajectories: tuple[Trajectory, ...]
    pain_band: Band
    function_band: Band


class Reference:
    """The reference cohort's features and trajectories for one condition."""

    def __init__(self, condition: str, feature_index, scale, weights, arm, features, pain, function):
        self.condition = condition
        self.feature_index = np.asarray(feature_index, dtype=int)
        self.scale = np.asarray(scale, dtype=float)
        self.weights = np.asarray(weights, dtype=float)
        self.arm = np.asarray(arm, dtype=np.int8)
        self.features = np.asarray(features, dtype=np.float32)
        self.pain = np.asarray(pain, dtype=np.float32)
        self.function = np.asarray(function, dtype=np.float32)

    @classmethod
    def build(cls, condition: str, design_names: list[str], design: np.ndarray, treatment: np.ndarray,
              pain: np.ndarray, function: np.ndarray) -> Reference:
        wanted = SIMILARITY[condition]
        index = [design_names.index(name) for name in wanted]
        values = design[:, index]
        scale = values.std(axis=0)
        scale[scale < 1e-9] = 1.0
        followed = ~np.all(np.isnan(np.hstack([pain[:, 1:], function[:, 1:]])), axis=1)
        arm = (treatment == OPTIONS[1]).astype(np.int8)
        return cls(condition, index, scale, list(wanted.values()), arm[followed],
                   values[followed] / scale, pain[followed], function[followed])

    def query(self, design_row: np.ndarray, option: str, k: int) -> SimilarPatients:
        if k < 1:
            raise ValueError("k must be at least 1")
        members = np.flatnonzero(self.arm == OPTIONS.index(option))
        target = design_row[self.feature_index] / self.scale
        difference = self.features[members] - target
        distance = np.sqrt((self.weights * difference ** 2).sum(axis=1))
        k = min(k, len(members))
        nearest = np.argpartition(distance, k - 1)[:k] if k < len(members) else np.arange(len(members))
        nearest = nearest[np.argsort(distance[nearest], kind="stable")]
        rows = members[nearest]
        trajectories = tuple(
            Trajectory(_values(self.pain[r]), _values(self.function[r]), float(distance[i]))
            for r, i in zip(rows, nearest)
        )
        return SimilarPatients(
            self.condition, option, MONTHS, PAIN[self.condition].name, FUNCTION[self.condition].name,
            trajectories, _band(self.pain[rows]), _band(self.function[rows]),
        )

    def arrays(self) -> dict[str, np.ndarray]:
        return {"feature_index": self.feature_index, "scale": self.scale, "weights": self.weights,
                "arm": self.arm, "features": self.features, "pain": self.pain, "function": self.function}

    @classmethod
    def from_arrays(cls, condition: str, arrays) -> Reference:
        return cls(condition, arrays["feature_index"], arrays["scale"], arrays["weights"], arrays["arm"],
                   arrays["features"], arrays["pain"], arrays["function"])


def _values(row) -> tuple[float | None, ...]:
    return tuple(None if np.isnan(v) else round(float(v), 3) for v in row)


def _band(scores: np.ndarray) -> Band:
    median: list[float | None] = []
    p10: list[float | None] = []
    p90: list[float | None] = []
    counts: list[int] = []
    for column in scores.T:
        present = column[~np.isnan(column)].astype(float)
        counts.append(len(present))
        if len(present) == 0:
            median.append(None)
            p10.append(None)
            p90.append(None)
            continue
        median.append(round(float(np.median(present)), 3))
        p10.append(round(float(np.percentile(present, 10)), 3))
        p90.append(round(float(np.percentile(present, 90)), 3))
    return Band(tuple(median), tuple(p10), tuple(p90), tuple(counts))
