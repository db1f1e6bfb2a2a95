"""Held-out metrics for the model card: discrimination, calibration, Brier, coverage.

Small numpy implementations so the card's numbers are computed the same way in
training, tests and a clinic's own re-validation, without extra dependencies.
Return-to-work metrics handle censoring with inverse probability of censoring weights
(IPCW): a patient censored before day t has unknown status at t and is left out, and the
patients still followed are up-weighted by 1/G, G being the Kaplan–Meier probability of
still being followed — so heavy censoring does not make the model look better or worse
than it is.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import special


def auc(y: np.ndarray, p: np.ndarray, weight: np.ndarray | None = None) -> float | None:
    """Area under the ROC curve (ties count half); None when only one class is present."""
    y = np.asarray(y) > 0.5
    p = np.asarray(p, dtype=float)
    w = np.ones(len(y)) if weight is None else np.asarray(weight, dtype=float)
    pos, neg = w[y].sum(), w[~y].sum()
    if pos <= 0 or neg <= 0:
        return None
    order = np.argsort(p, kind="mergesort")
    p, y, w = p[order], y[order], w[order]
    _unique, start = np.unique(p, return_index=True)
    neg_by_value = np.add.reduceat(np.where(~y, w, 0.0), start)
    pos_by_value = np.add.reduceat(np.where(y, w, 0.0), start)
    neg_below = np.concatenate([[0.0], np.cumsum(neg_by_value)[:-1]])
    total = (pos_by_value * (neg_below + 0.5 * neg_by_value)).sum()
    return float(total / (pos * neg))


def _logistic_fit(x: np.ndarray, y: np.ndarray, w: np.ndarray, offset: np.ndarray) -> np.ndarray:
    beta = np.zeros(x.shape[1])
    for _ in range(100):
        eta = x @ beta + offset
        mu = special.expit(eta)
        gradient = x.T @ (w * (y - mu))
        hessian = (x * (w * mu * (1 - mu))[:, None]).T @ x + 1e-9 * np.eye(x.shape[1])
        step = np.linalg.solve(hessian, gradient)
        beta += step
        if np.abs(step).max() < 1e-10:
            break
    return beta


def calibration(y: np.ndarray, p: np.ndarray, weight: np.ndarray | None = None) -> dict:
    """Calibration intercept (in the large: logit offset, slope fixed at 1) and slope.

    Perfect calibration is intercept 0 and slope 1; a slope below 1 means predictions
    are too extreme (overfitting), above 1 too timid. `slope_se` is its standard error:
    on a few hundred patients with a weak predictor it is easily 0.2, so a single
    held-out slope must be read with it.
    """
    y = (np.asarray(y) > 0.5).astype(float)
    p = np.clip(np.asarray(p, dtype=float), 1e-6, 1 - 1e-6)
    w = np.ones(len(y)) if weight is None else np.asarray(weight, dtype=float)
    logit = special.logit(p)
    ones = np.ones((len(y), 1))
    intercept = _logistic_fit(ones, y, w, logit)[0]
    design = np.column_stack([ones, logit])
    fit = _logistic_fit(design, y, w, np.zeros(len(y)))
    mu = special.expit(design @ fit)
    information = (design * (w * mu * (1 - mu))[:, None]).T @ design
    slope_se = float(np.sqrt(np.linalg.inv(information + 1e-12 * np.eye(2))[1, 1]))
    return {"intercept": float(intercept), "slope": float(fit[1]), "slope_se": slope_se}


def brier(y, p, weight=None) -> float:
    y = (np.asarray(y) > 0.5).astype(float)
    w = np.ones(len(y)) if weight is None else np.asarray(weight, dtype=float)
    return float(np.sum(w * (np.asarray(p) - y) ** 2) / np.sum(w))


def binary_metrics(y, p, weight=None) -> dict:
    w = np.ones(len(y)) if weight is None else np.asarray(weight, dtype=float)
    result = {
        "n": int(np.sum(w > 0)),
        "observed": float(np.sum(w * (np.asarray(y) > 0.5)) / np.sum(w)),
        "mean_predicted": float(np.sum(w * np.asarray(p)) / np.sum(w)),
        "auc": auc(y, p, w),
        "brier": brier(y, p, w),
    }
    labels = np.asarray(y)[w > 0] > 0.5
    if labels.all() or not labels.any():  # one class only: calibration is not estimable
        result.update({"calibration_intercept": None, "calibration_slope": None, "calibration_slope_se": None})
    else:
        result.update({f"calibration_{k}": v for k, v in calibration(y, p, w).items()})
    return result


def continuous_metrics(y, mean, p10, p90) -> dict:
    y, mean = np.asarray(y, dtype=float), np.asarray(mean, dtype=float)
    residual = y - mean
    total = np.sum((y - y.mean()) ** 2)
    design = np.column_stack([np.ones(len(y)), mean])
    intercept, slope = np.linalg.lstsq(design, y, rcond=None)[0]
    return {
        "n": len(y),
        "rmse": float(np.sqrt(np.mean(residual ** 2))),
        "mae": float(np.mean(np.abs(residual))),
        "r2": float(1 - np.sum(residual ** 2) / total) if total > 0 else None,
        "calibration_slope": float(slope),
        "calibration_intercept": float(intercept),
        "mean_observed": float(y.mean()),
        "mean_predicted": float(mean.mean()),
        "coverage_80": float(np.mean((y >= p10 - 1e-9) & (y <= p90 + 1e-9))),
        "below_p10": float(np.mean(y < p10 - 1e-9)),
        "above_p90": float(np.mean(y > p90 + 1e-9)),
        "mean_width_80": float(np.mean(p90 - p10)),
    }


def kaplan_meier(times: np.ndarray, events: np.ndarray):
    """Step function S(t) (probability of no event by t, inclusive)."""
    times = np.asarray(times, dtype=float)
    events = np.asarray(events) > 0.5
    unique = np.unique(times[events])
    survival, values = 1.0, []
    for t in unique:
        at_risk = np.sum(times >= t)
        died = np.sum((times == t) & events)
        survival *= 1 - died / at_risk if at_risk else 1.0
        values.append(survival)
    steps = np.array(values)

    def s(t, inclusive=True):
        t = np.asarray(t, dtype=float)
        index = np.searchsorted(unique, t, side="right" if inclusive else "left")
        return np.where(index == 0, 1.0, steps[np.maximum(index - 1, 0)] if len(steps) else 1.0)

    return s


def ipcw_status(times, events, horizon: float):
    """Status at `horizon` (1 = event by then) and IPCW weights (0 = unknown status)."""
    times = np.asarray(times, dtype=float)
    events = np.asarray(events) > 0.5
    censoring = kaplan_meier(times, ~events)
    status = (times <= horizon) & events
    weight = np.zeros(len(times))
    weight[status] = 1 / np.maximum(censoring(times[status], inclusive=False), 1e-3)
    later = times > horizon
    weight[later] = 1 / max(float(censoring(horizon)), 1e-3)
    return status.astype(float), weight


def c_index(times, events, score) -> float | None:
    """Harrell's C: a higher score should mean an earlier event; censored pairs skipped."""
    times = np.asarray(times, dtype=float)
    events = np.asarray(events) > 0.5
    score = np.asarray(score, dtype=float)
    concordant = comparable = 0.0
    for i in np.flatnonzero(events):
        later = times > times[i]
        comparable += later.sum()
        concordant += np.sum(score[i] > score[later]) + 0.5 * np.sum(score[i] == score[later])
    return float(concordant / comparable) if comparable else None


def survival_metrics(times, events, predicted_back: dict[int, np.ndarray], median_days) -> dict:
    """Per horizon: IPCW AUC, calibration and Brier; observed = Kaplan–Meier; C-index."""
    times = np.asarray(times, dtype=float)
    events = np.asarray(events) > 0.5
    km = kaplan_meier(times, events)
    result: dict[str, Any] = {"n": len(times), "censored": int(np.sum(~events))}
    for day, p in predicted_back.items():
        status, weight = ipcw_status(times, events, day)
        metrics = binary_metrics(status, p, weight)
        metrics["observed_kaplan_meier"] = float(1 - km(day))
        metrics["mean_predicted"] = float(np.mean(p))
        metrics["observed"] = metrics.pop("observed_kaplan_meier")
        result[f"day{day}"] = metrics
    last = max(predicted_back)
    result["c_index"] = c_index(times, events, predicted_back[last])
    finite = np.isfinite(median_days)
    observed_median = _km_median(km, times)
    result["median_days_observed"] = observed_median
    result["median_days_predicted_median"] = float(np.median(median_days[finite])) if finite.any() else None
    return result


def _km_median(km, times) -> float | None:
    grid = np.unique(np.concatenate([[0.0], times]))
    below = grid[km(grid) <= 0.5]
    return float(below[0]) if len(below) else None
