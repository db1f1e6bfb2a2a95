"""Which inputs matter for this patient, and whether enough of them are known.

Two questions the shared-decision page asks the models, both answered from the fitted
coefficients and the feature space, never from a hand-made list:

- **How much does each input change this patient's prediction?** (`swings`) For the
  patient's current row, each input is moved across its plausible range — the 10th to
  90th percentile of the reference patients (mean ± 1.28 sd of the encoded feature,
  within the range seen), both values of a yes/no, every level of a category — with the
  other inputs as they are (unknown ones re-estimated from what is then known), and the
  largest move of a main prediction is kept: pain and function at 12 months (as a share
  of the scale) and the chance of being back at work by 6 and 12 weeks, for both options.
  One vectorised prediction of a few dozen rows.
- **How much of what the model can tell between patients do the known inputs pin
  down?** (`explained_share`) Each 12-month score's expected latent value is linear in
  the encoded inputs, a' x, and the inputs are jointly Gaussian in the reference (the
  same covariance the imputation uses). Across patients that value varies by a' Σ a;
  once the inputs in O are known, what the unknown ones M can still move it by is
  a_M' Σ_{M|O} a_M (the conditional covariance, which depends on which inputs are known,
  not on their values). The share explained is 1 − the ratio. Below `PERSONAL_SHARE`
  for any of the four main scores (pain and function, both options), the page shows a
  general estimate for people with this diagnosis and names the answers that would make
  it personal (`to_personal`: in turn the unknown input that brings the four scores
  closest to the threshold together, until the lowest reaches it).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from predictors.model import OUTCOMES, ConditionModel, instrument
from predictors.schema import OPTIONS, baseline_columns

PERSONAL_SHARE = 0.5  # the known inputs explain at least half of each main score's between-patient spread
QUANTILE_Z = 1.2815515655446004  # the 10th and 90th percentile of a normal
MAIN_MONTH = 12


@dataclass(frozen=True)
class Influence:
    """What the page needs to order its inputs and to decide between personal and general."""

    swings: Mapping[str, float]  # input -> largest move of a main prediction (0–1: share of scale / probability)
    order: tuple[str, ...]  # inputs, most influential first
    share: float  # lowest share of a main score's between-patient spread the known inputs explain
    personal: bool  # share >= PERSONAL_SHARE
    to_personal: tuple[str, ...]  # unknown inputs that together would make it personal, most useful first


def influence(model: ConditionModel, values: Mapping[str, Any]) -> Influence:
    """Swings, order and the personal/general decision for one patient's parsed values."""
    swings = input_swings(model, values)
    order = tuple(sorted(swings, key=lambda name: (-swings[name], name)))
    known = {name for name, value in values.items() if value is not None}
    share = explained_share(model, known)
    return Influence(swings, order, share, share >= PERSONAL_SHARE,
                     () if share >= PERSONAL_SHARE else to_personal(model, known))


def input_swings(model: ConditionModel, values: Mapping[str, Any]) -> dict[str, float]:
    """For each input, the largest move of a main prediction over its plausible range."""
    base = dict(values)
    rows, owner = [], []
    for column in baseline_columns(model.condition):
        for value in plausible_values(model, column):
            rows.append({**base, column.name: value})
            owner.append(column.name)
    predicted = model.predict(rows)
    moves = np.column_stack([_normalised(model, predicted, key) for key in _main_keys(model.condition)])
    owners = np.array(owner)
    swings = {}
    for column in baseline_columns(model.condition):
        block = moves[owners == column.name]
        finite = np.isfinite(block)  # return to work is empty (NaN) for a patient who is not employed
        spread = np.where(finite, block, -np.inf).max(axis=0) - np.where(finite, block, np.inf).min(axis=0)
        spread = spread[finite.sum(axis=0) >= 2]
        swings[column.name] = float(spread.max()) if len(spread) else 0.0
    return swings


def plausible_values(model: ConditionModel, column) -> list[Any]:
    """The values an input is moved across: both answers, every level, or its 10th–90th percentile."""
    if column.kind == "binary":
        return [0.0, 1.0]
    if column.kind == "category":
        return list(column.levels)
    index = [source for _, source in model.features.names].index(column.name)
    space = model.features
    centre, sd = space.mean[index], math.sqrt(max(space.cov[index, index], 0.0))
    ends = np.clip([centre - QUANTILE_Z * sd, centre + QUANTILE_Z * sd], space.low[index], space.high[index])
    if column.name == "symptom_duration_months":  # encoded on a log scale
        ends = np.exp(ends)
    ends = np.clip(ends, column.low, column.high)
    if column.integer:
        ends = np.round(ends)
    return [float(end) for end in ends]


def explained_share(model: ConditionModel, known: Iterable[str]) -> float:
    """The lowest share, over the main scores, of the between-patient spread the known inputs explain."""
    return min(explained_shares(model, known), default=1.0)


def explained_shares(model: ConditionModel, known: Iterable[str]) -> list[float]:
    """For each main score (pain and function at 12 months, both options), the share of its
    between-patient spread that the known inputs explain."""
    space = model.features
    sources = np.array([source for _, source in space.names])
    known_mask = np.isin(sources, list(known))
    missing, observed = np.flatnonzero(~known_mask), np.flatnonzero(known_mask)
    conditional = space.cov[np.ix_(missing, missing)]
    if len(observed) and len(missing):
        cross = space.cov[np.ix_(missing, observed)]
        conditional = conditional - cross @ np.linalg.solve(space.cov[np.ix_(observed, observed)], cross.T)
    shares = []
    d = space.n_encoded
    for arm in OPTIONS:
        for outcome in OUTCOMES:
            coef = model.outcomes[(arm, outcome, MAIN_MONTH)].mean_coef[:d]
            total = float(coef @ space.cov @ coef)
            if total <= 0:
                continue
            remaining = float(coef[missing] @ conditional @ coef[missing]) if len(missing) else 0.0
            shares.append(1.0 - remaining / total)
    return shares


def to_personal(model: ConditionModel, known: Iterable[str]) -> tuple[str, ...]:
    """The unknown inputs that would make the estimate personal, the most useful first.

    Greedy: each time the input that brings the main scores closest to the threshold together
    (the sum of each score's share, counted up to the threshold), so pain at intake and function
    at intake are both asked for rather than three inputs that each help a little everywhere."""
    known = set(known)
    unknown = [column.name for column in baseline_columns(model.condition) if column.name not in known]
    chosen: list[str] = []

    def progress(names: set[str]) -> float:
        return sum(min(share, PERSONAL_SHARE) for share in explained_shares(model, names))

    while unknown and explained_share(model, known | set(chosen)) < PERSONAL_SHARE:
        best = max(unknown, key=lambda name: progress(known | set(chosen) | {name}))
        chosen.append(best)
        unknown.remove(best)
    return tuple(chosen)


def _main_keys(condition: str) -> list[str]:
    keys = [f"{arm}_{outcome}{MAIN_MONTH}_mean" for arm in OPTIONS for outcome in OUTCOMES]
    return keys + [f"{arm}_{key}" for arm in OPTIONS for key in ("rtw6w_prob", "rtw12w_prob")]


def _normalised(model: ConditionModel, predicted: Mapping[str, np.ndarray], key: str) -> np.ndarray:
    """A prediction on a 0–1 scale: a score as a share of its instrument's range, a probability as it is."""
    values = np.asarray(predicted[key], dtype=float)
    for outcome in OUTCOMES:
        if f"_{outcome}{MAIN_MONTH}_" in key:
            scale = instrument(model.condition, outcome)
            return (values - scale.low) / (scale.high - scale.low)
    return values


__all__ = ["PERSONAL_SHARE", "Influence", "explained_share", "explained_shares", "influence", "input_swings",
           "plausible_values", "to_personal"]
