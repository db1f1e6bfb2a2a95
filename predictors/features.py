"""Baseline values to a numeric design matrix, with missing values imputed honestly.

Every model is linear in the same encoded features, so one object encodes, imputes and
hands out what the models need to widen their uncertainty when something is unknown.

Encoding: numbers as they are (symptom duration on a log scale: the effect of a month
fades with duration), binaries 0/1, sex as `male`, work status as three dummies
(`not_working` is the reference).

Missing values: the encoded features are treated as jointly Gaussian (mean and
covariance from the training data), and an unknown value is replaced by its conditional
mean given the values that are known — whichever values those are, so any field may be
left empty at prediction time. The conditional covariance of the imputed values is kept,
so that a model with coefficients `a` can add `a' C a` to the variance of its linear
predictor: an unknown age or baseline score makes the 80% range wider and probabilities
flatter rather than falsely precise.

Missing-indicators (a 0/1 column "pcs was empty") are available but off by default. On
the reference cohorts they made the cross-validated likelihood of every outcome worse
(the empty fields carry no information beyond the other predictors), and they would tie
the models to this clinic's reasons for leaving a field empty — a clinic that never
does nerve conduction studies would otherwise inherit what "no study" meant here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from predictors.schema import baseline_columns

INDICATOR_MIN_RATE = 0.01  # with indicators on: columns empty in >= 1% of training rows
INDICATOR_MIN_COUNT = 10


def encoded_names(condition: str) -> list[tuple[str, str]]:
    """(feature name, source column) for each encoded feature, in order."""
    names = []
    for column in baseline_columns(condition):
        if column.name == "sex":
            names.append(("male", "sex"))
        elif column.name == "work_status":
            names += [("work_office", "work_status"), ("work_physical", "work_status"),
                      ("work_retired", "work_status")]
        elif column.name == "symptom_duration_months":
            names.append(("log_symptom_duration", column.name))
        else:
            names.append((column.name, column.name))
    return names


def encode(condition: str, patients: list[dict]) -> np.ndarray:
    """Parsed baseline values (schema.parse_patient output) to an n × d matrix, NaN = unknown."""
    names = encoded_names(condition)
    matrix = np.full((len(patients), len(names)), np.nan)
    for row, values in enumerate(patients):
        for col, (name, source) in enumerate(names):
            value = values.get(source)
            if value is None:
                continue
            if name == "male":
                matrix[row, col] = 1.0 if value == "M" else 0.0
            elif name.startswith("work_"):
                matrix[row, col] = 1.0 if value == name[5:] else 0.0
            elif name == "log_symptom_duration":
                matrix[row, col] = math.log(max(float(value), 0.5))
            else:
                matrix[row, col] = float(value)
    return matrix


@dataclass
class Imputed:
    """A design matrix after imputation, plus what is needed to widen variances."""

    design: np.ndarray  # n × (d + k): encoded features then missing-indicators
    pattern_of_row: np.ndarray  # index into patterns, -1 when nothing was imputed
    patterns: list[tuple[np.ndarray, np.ndarray]]  # (imputed feature indices, conditional cov)
    imputed: np.ndarray  # n × d bool: which encoded features were imputed

    def quadratic(self, a: np.ndarray, b: np.ndarray | None = None) -> np.ndarray:
        """Per row a_M' C b_M over the imputed features M (a, b over the d encoded features)."""
        b = a if b is None else b
        out = np.zeros(len(self.pattern_of_row))
        for index, (features, cov) in enumerate(self.patterns):
            if len(features) == 0:
                continue
            value = float(a[features] @ cov @ b[features])
            out[self.pattern_of_row == index] = value
        return out


class FeatureSpace:
    """Encoding + Gaussian conditional imputation + missing-indicators for one condition."""

    def __init__(self, condition: str, mean, cov, indicator_sources, low, high):
        self.condition = condition
        self.names = encoded_names(condition)
        self.mean = np.asarray(mean, dtype=float)
        self.cov = np.asarray(cov, dtype=float)
        self.indicator_sources = list(indicator_sources)
        self.low = np.asarray(low, dtype=float)  # clip imputed values to the range seen
        self.high = np.asarray(high, dtype=float)
        sources = [source for _, source in self.names]
        self._indicator_features = [
            np.array([i for i, s in enumerate(sources) if s == source]) for source in self.indicator_sources
        ]
        self._variance_mask = np.ones(len(self.names), dtype=bool)
        for features in self._indicator_features:
            self._variance_mask[features] = False

    @property
    def design_names(self) -> list[str]:
        return [name for name, _ in self.names] + [f"{s}_missing" for s in self.indicator_sources]

    @property
    def n_encoded(self) -> int:
        return len(self.names)

    @classmethod
    def fit(cls, condition: str, encoded: np.ndarray, indicators: bool = False) -> FeatureSpace:
        observed = ~np.isnan(encoded)
        mean = np.nanmean(encoded, axis=0)
        centred = np.where(observed, encoded - mean, 0.0)
        counts = observed.T.astype(float) @ observed.astype(float)
        cov = (centred.T @ centred) / np.maximum(counts - 1, 1)
        # Pairwise-complete covariance need not be positive definite: clip eigenvalues.
        values, vectors = np.linalg.eigh((cov + cov.T) / 2)
        floor = 1e-6 * max(float(values.max()), 1e-12)
        cov = (vectors * np.maximum(values, floor)) @ vectors.T
        sources = [source for _, source in encoded_names(condition)]
        indicator_sources = []
        for source in dict.fromkeys(sources) if indicators else ():
            column = sources.index(source)
            missing = int((~observed[:, column]).sum())
            if missing >= INDICATOR_MIN_COUNT and missing >= INDICATOR_MIN_RATE * len(encoded):
                indicator_sources.append(source)
        low = np.nanmin(encoded, axis=0)
        high = np.nanmax(encoded, axis=0)
        return cls(condition, mean, cov, indicator_sources, low, high)

    def transform(self, encoded: np.ndarray) -> Imputed:
        n, _d = encoded.shape
        missing = np.isnan(encoded)
        filled = encoded.copy()
        keys = np.packbits(missing, axis=1)
        unique, pattern_of_row = np.unique(keys, axis=0, return_inverse=True)
        pattern_of_row = pattern_of_row.reshape(-1)
        patterns = []
        for index in range(len(unique)):
            rows = np.flatnonzero(pattern_of_row == index)
            miss = missing[rows[0]]
            m_idx, o_idx = np.flatnonzero(miss), np.flatnonzero(~miss)
            if len(m_idx) == 0:
                patterns.append((m_idx, np.zeros((0, 0))))
                continue
            if len(o_idx):
                s_oo = self.cov[np.ix_(o_idx, o_idx)]
                s_mo = self.cov[np.ix_(m_idx, o_idx)]
                weights = np.linalg.solve(s_oo, s_mo.T).T  # |M| × |O|
                deviations = encoded[np.ix_(rows, o_idx)] - self.mean[o_idx]
                filled[np.ix_(rows, m_idx)] = self.mean[m_idx] + deviations @ weights.T
                conditional = self.cov[np.ix_(m_idx, m_idx)] - weights @ s_mo.T
            else:
                filled[np.ix_(rows, m_idx)] = self.mean[m_idx]
                conditional = self.cov[np.ix_(m_idx, m_idx)]
            # Features with a missing-indicator carry their uncertainty in the model itself.
            keep = self._variance_mask[m_idx]
            patterns.append((m_idx[keep], conditional[np.ix_(keep, keep)]))
        filled = np.clip(filled, self.low, self.high)
        indicators = np.column_stack(
            [missing[:, features[0]].astype(float) for features in self._indicator_features]
        ) if self._indicator_features else np.zeros((n, 0))
        return Imputed(np.hstack([filled, indicators]), pattern_of_row, patterns, missing)

    def to_dict(self) -> dict:
        return {
            "condition": self.condition,
            "names": [name for name, _ in self.names],
            "mean": self.mean.tolist(),
            "cov": self.cov.tolist(),
            "indicator_sources": self.indicator_sources,
            "low": self.low.tolist(),
            "high": self.high.tolist(),
        }

    @classmethod
    def from_dict(cls, data: dict) -> FeatureSpace:
        space = cls(data["condition"], data["mean"], data["cov"], data["indicator_sources"],
                    data["low"], data["high"])
        if [name for name, _ in space.names] != data["names"]:
            raise ValueError("model file was made for a different set of predictors")
        return space
