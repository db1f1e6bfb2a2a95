"""Held-out calibration, discrimination and 80%-range coverage, also under case-mix shift.

Models are fitted on 70% of each cohort (conftest `held_out`) and judged on the other
30%, each option on the patients who took it. Tolerances allow for sampling error of a
few hundred patients; the ranges may cover somewhat more than 80% where the scale's
floor lies inside them (a patient at pain 0 is always inside a range starting at 0).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from predictors.evaluation import auc, calibration, kaplan_meier
from predictors.model import FOLLOW_UP, OUTCOMES, instrument
from predictors.schema import EMPLOYED, OPTIONS
from predictors.validation import improved

CONDITIONS = ("CTS", "CMC1_OA")
FLOOR_ALLOWANCE = 0.08  # extra coverage possible where the scale's floor is inside the range


def margin(p: float, n: int) -> float:
    """Three standard errors of a proportion p estimated from n patients."""
    return 3 * np.sqrt(p * (1 - p) / n) + 0.005


def coverage(model, test, mask):
    predictions = model.predict(test.baseline)
    results = {}
    for arm in OPTIONS:
        for outcome in OUTCOMES:
            scale = instrument(test.condition, outcome)
            for month in FOLLOW_UP:
                y = test.outcomes[f"{scale.column}_{month}"]
                rows = mask & (test.treatment == arm) & ~np.isnan(y)
                low = predictions[f"{arm}_{outcome}{month}_p10"][rows]
                high = predictions[f"{arm}_{outcome}{month}_p90"][rows]
                results[(arm, outcome, month)] = (np.mean((y[rows] >= low) & (y[rows] <= high)), rows.sum())
    return results


def calibration_standard_errors(p: np.ndarray) -> tuple[float, float]:
    """Standard errors of calibration intercept and slope if the model were perfect:
    from the Fisher information of logit(P) = a + b·logit(p) at a = 0, b = 1. Weak models
    (probabilities close together) have wide slope errors, so a fixed band would be unfair."""
    p = np.clip(p, 1e-6, 1 - 1e-6)
    logit = np.log(p / (1 - p))
    design = np.column_stack([np.ones(len(p)), logit])
    information = (design * (p * (1 - p))[:, None]).T @ design
    covariance = np.linalg.inv(information)
    return float(np.sqrt(1 / information[0, 0])), float(np.sqrt(covariance[1, 1]))


@pytest.mark.parametrize("condition", CONDITIONS)
def test_ranges_cover_about_80_percent(held_out, condition):
    model, test = held_out[condition]
    for key, (covered, n) in coverage(model, test, np.ones(len(test), bool)).items():
        assert n > 100
        assert 0.8 - margin(0.8, n) <= covered <= 0.8 + margin(0.8, n) + FLOOR_ALLOWANCE, key


@pytest.mark.parametrize("condition", CONDITIONS)
def test_ranges_still_cover_for_older_and_more_severe_patients(held_out, condition):
    model, test = held_out[condition]
    age = np.array([b["age"] for b in test.baseline], dtype=float)
    pain0 = test.outcomes["nrs_pain_0"]
    for mask in (age >= 65, pain0 >= 7):
        results = coverage(model, test, mask)
        total = sum(n for _, n in results.values())
        covered = sum(c * n for c, n in results.values()) / total
        # The 12 ranges share patients, so their pooled coverage is judged per patient-range.
        assert 0.8 - margin(0.8, total // 4) <= covered <= 0.8 + margin(0.8, total // 4) + FLOOR_ALLOWANCE
        for key, (c, n) in results.items():
            if n >= 60:
                assert 0.8 - margin(0.8, n) <= c <= 0.8 + margin(0.8, n) + FLOOR_ALLOWANCE, key


@pytest.mark.parametrize("condition", CONDITIONS)
def test_mean_predictions_are_calibrated(held_out, condition):
    model, test = held_out[condition]
    predictions = model.predict(test.baseline)
    for arm in OPTIONS:
        for outcome in OUTCOMES:
            scale = instrument(condition, outcome)
            y = test.outcomes[f"{scale.column}_12"]
            rows = (test.treatment == arm) & ~np.isnan(y)
            mean = predictions[f"{arm}_{outcome}12_mean"][rows]
            spread = np.std(y[rows])
            assert abs(mean.mean() - y[rows].mean()) < 3 * spread / np.sqrt(rows.sum())
            slope = np.polyfit(mean, y[rows], 1)[0]
            assert 0.7 < slope < 1.3


@pytest.mark.parametrize("condition", CONDITIONS)
def test_improvement_probabilities_are_calibrated_and_discriminate(held_out, condition):
    model, test = held_out[condition]
    predictions = model.predict(test.baseline)
    for arm in OPTIONS:
        for outcome in OUTCOMES:
            event = improved(test, outcome)
            rows = (test.treatment == arm) & ~np.isnan(event)
            p = predictions[f"{arm}_{outcome}_mcid_prob"][rows]
            assert abs(p.mean() - event[rows].mean()) < margin(event[rows].mean(), rows.sum())
            assert auc(event[rows], p) > 0.55  # clearly better than chance, even for the weakest (CMC1 pain)
            fit = calibration(event[rows], p)
            se_intercept, se_slope = calibration_standard_errors(p)
            assert abs(fit["intercept"]) < 3 * se_intercept, (arm, outcome)
            assert abs(fit["slope"] - 1) < 3 * se_slope, (arm, outcome)


@pytest.mark.parametrize("condition", CONDITIONS)
def test_surgery_within_12_months_is_calibrated(held_out, condition):
    model, test = held_out[condition]
    predictions = model.predict(test.baseline)
    y = test.outcomes["surgery_within_12m"]
    rows = (test.treatment == "conservative") & ~np.isnan(y)
    p = predictions["conservative_surgery12m_prob"][rows]
    assert abs(p.mean() - y[rows].mean()) < margin(y[rows].mean(), rows.sum())
    assert auc(y[rows], p) > 0.58
    # By tertile of predicted risk, observed and predicted agree.
    edges = np.quantile(p, [0, 1 / 3, 2 / 3, 1])
    for low, high in itertools.pairwise(edges):
        group = (p >= low) & (p <= high)
        assert abs(p[group].mean() - y[rows][group].mean()) < margin(p[group].mean(), group.sum())


@pytest.mark.parametrize("condition", CONDITIONS)
def test_return_to_work_matches_kaplan_meier(held_out, condition):
    model, test = held_out[condition]
    predictions = model.predict(test.baseline)
    employed = np.array([b["work_status"] in EMPLOYED for b in test.baseline])
    for arm in OPTIONS:
        rows = (test.treatment == arm) & employed
        km = kaplan_meier(test.outcomes["rtw_days"][rows], test.outcomes["rtw_event"][rows])
        for day, key in ((42, "rtw6w_prob"), (84, "rtw12w_prob")):
            observed = 1 - float(km(day))
            tolerance = margin(min(max(observed, 0.02), 0.98), rows.sum())
            assert abs(predictions[f"{arm}_{key}"][rows].mean() - observed) < tolerance, (arm, day)
