"""Held-out validation of a fitted ConditionModel, and the candidate comparison.

`validate(model, test)` computes, per option × outcome × moment, what the model card
reports: for scores RMSE, R², calibration of the mean and coverage of the 80% range; for
probabilities (relevant improvement, surgery within 12 months) AUC, calibration
intercept and slope and Brier; for return to work the same at day 42 and 84 with
censoring handled by IPCW, plus the C-index. Only patients who actually took an option
can check that option's predictions; the untaken option's validity rests on the
no-hidden-confounding design (see `model`), which the tests check on simulated data.

`case_mix_checks` repeats coverage and calibration on older and on more severe test
patients: a clinic with a different case mix is the situation the models must survive.

`compare_candidates` fits the alternatives considered on the same split (least squares
without the floor/ceiling, direct logistic regression on the improvement indicator,
gradient boosting, the discrete-time hazard for return to work, a patient-specific
spread) so the card shows why the shipped models were chosen.
"""

from __future__ import annotations

import warnings

import numpy as np

from predictors.cohort import Cohort
from predictors.evaluation import binary_metrics, continuous_metrics, survival_metrics
from predictors.features import encode
from predictors.linear import Z10, Z90, CensoredNormal, Logistic
from predictors.model import FOLLOW_UP, OUTCOMES, ConditionModel, instrument
from predictors.schema import EMPLOYED, OPTIONS, RTW_DAYS
from predictors.survival import DiscreteTimeHazard


def improved(cohort: Cohort, outcome: str) -> np.ndarray:
    """1/0 relevant improvement at 12 months, NaN when either score is missing."""
    scale = instrument(cohort.condition, outcome)
    before = cohort.outcomes[f"{scale.column}_0"]
    after = cohort.outcomes[f"{scale.column}_12"]
    change = after - before if scale.higher_is_better else before - after
    result = (change >= scale.relevant_change - 1e-9).astype(float)
    return np.where(np.isnan(change), np.nan, result)


def validate(model: ConditionModel, test: Cohort, predictions: dict | None = None) -> dict:
    predictions = predictions if predictions is not None else model.predict(test.baseline)
    report: dict = {}
    employed = np.array([b.get("work_status") in EMPLOYED for b in test.baseline])
    for arm in OPTIONS:
        in_arm = test.treatment == arm
        section: dict = {}
        for outcome in OUTCOMES:
            scale = instrument(test.condition, outcome)
            entry = {}
            for month in FOLLOW_UP:
                y = test.outcomes[f"{scale.column}_{month}"]
                rows = in_arm & ~np.isnan(y)
                if rows.sum() < 10:
                    continue
                entry[f"month{month}"] = continuous_metrics(
                    y[rows], *(predictions[f"{arm}_{outcome}{month}_{s}"][rows] for s in ("mean", "p10", "p90")))
            event = improved(test, outcome)
            rows = in_arm & ~np.isnan(event)
            if rows.sum() >= 10:
                entry["relevant_improvement_12m"] = binary_metrics(
                    event[rows], predictions[f"{arm}_{outcome}_mcid_prob"][rows])
            section[outcome] = entry
        days, event = test.outcomes["rtw_days"], test.outcomes["rtw_event"]
        rows = in_arm & employed & ~np.isnan(days)
        if rows.sum() >= 10:
            section["return_to_work"] = survival_metrics(
                days[rows], event[rows],
                {RTW_DAYS[0]: predictions[f"{arm}_rtw6w_prob"][rows],
                 RTW_DAYS[1]: predictions[f"{arm}_rtw12w_prob"][rows]},
                predictions[f"{arm}_rtw_median_days"][rows])
        if arm == "conservative":
            y = test.outcomes["surgery_within_12m"]
            rows = in_arm & ~np.isnan(y)
            if rows.sum() >= 10:
                section["surgery_within_12m"] = binary_metrics(y[rows],
                                                               predictions["conservative_surgery12m_prob"][rows])
        report[arm] = section
    return report


def case_mix_checks(model: ConditionModel, test: Cohort) -> dict:
    """Coverage and calibration on shifted subsets of the held-out patients."""
    predictions = model.predict(test.baseline)
    age = np.array([b.get("age") if b.get("age") is not None else np.nan for b in test.baseline], dtype=float)
    scale = instrument(test.condition, "function")
    baseline_function = test.outcomes[f"{scale.column}_0"]
    cut = np.nanpercentile(baseline_function, 33.3 if scale.higher_is_better else 66.7)
    severe = baseline_function <= cut if scale.higher_is_better else baseline_function >= cut
    subsets = {"age_65_plus": age >= 65, "worst_third_baseline_function": severe}
    result = {}
    for name, mask in subsets.items():
        index = np.flatnonzero(mask)
        if len(index) < 40:
            continue
        sub = test.subset(index)
        full = validate(model, sub, {k: v[index] for k, v in predictions.items()})
        result[name] = {"n": len(index), "metrics": _summary(full)}
    return result


def _summary(report: dict) -> dict:
    """Coverage of the ranges and calibration of the probabilities, one line per item."""
    out = {}
    for arm, section in report.items():
        for outcome in OUTCOMES:
            for key, metrics in section.get(outcome, {}).items():
                if key.startswith("month"):
                    out[f"{arm}/{outcome}/{key}"] = {k: metrics[k] for k in ("n", "coverage_80", "mean_observed",
                                                                             "mean_predicted")}
                else:
                    out[f"{arm}/{outcome}/{key}"] = {k: metrics[k] for k in (
                        "n", "auc", "observed", "mean_predicted", "calibration_intercept", "calibration_slope")}
        if "surgery_within_12m" in section:
            m = section["surgery_within_12m"]
            out[f"{arm}/surgery_within_12m"] = {k: m[k] for k in (
                "n", "auc", "observed", "mean_predicted", "calibration_intercept", "calibration_slope")}
    return out


def compare_candidates(train: Cohort, test: Cohort, chosen: ConditionModel) -> dict:
    """Held-out comparison of the shipped model shapes with the alternatives."""
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    condition = train.condition
    enc_train, enc_test = encode(condition, train.baseline), encode(condition, test.baseline)
    design_train = chosen.features.transform(enc_train).design
    design_test = chosen.features.transform(enc_test).design
    chosen_predictions = chosen.predict(test.baseline)
    booster = {"max_iter": 200, "learning_rate": 0.05, "max_leaf_nodes": 8, "min_samples_leaf": 40, "random_state": 0}
    result: dict = {}
    for arm in OPTIONS:
        tr_arm, te_arm = train.treatment == arm, test.treatment == arm
        for outcome in OUTCOMES:
            scale = instrument(condition, outcome)
            for month in FOLLOW_UP:
                name = f"{scale.column}_{month}"
                y_tr, y_te = train.outcomes[name], test.outcomes[name]
                tr, te = tr_arm & ~np.isnan(y_tr), te_arm & ~np.isnan(y_te)
                rows = {}
                rows["censored_normal (shipped)"] = _scores(
                    y_te[te], chosen_predictions[f"{arm}_{outcome}{month}_mean"][te],
                    chosen_predictions[f"{arm}_{outcome}{month}_p10"][te],
                    chosen_predictions[f"{arm}_{outcome}{month}_p90"][te])
                shipped = chosen.outcomes[(arm, outcome, month)]
                weights = np.array([0.0 if n == f"{scale.column}_0" else 1.0 for n in chosen.features.design_names])
                hetero = CensoredNormal.fit(design_train[tr], y_tr[tr], scale.low, scale.high, scale.step,
                                            mean_penalty=getattr(shipped, "penalty", None), heteroscedastic=True,
                                            penalty_weights=weights)
                mu, sigma = hetero.latent(design_test[te])
                rows["censored_normal, patient-specific spread"] = _scores(
                    y_te[te], hetero.expected(mu, sigma), hetero.quantile(mu, sigma, Z10),
                    hetero.quantile(mu, sigma, Z90))
                ols = _least_squares(design_train[tr], y_tr[tr])
                rows["least squares (ridge)"] = _scores(y_te[te], np.clip(ols(design_test[te]), scale.low, scale.high))
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    hgb = HistGradientBoostingRegressor(**booster).fit(enc_train[tr], y_tr[tr])
                rows["gradient boosting"] = _scores(y_te[te], hgb.predict(enc_test[te]))
                result[f"{arm}/{outcome}/month{month}"] = rows
            event_tr, event_te = improved(train, outcome), improved(test, outcome)
            tr, te = tr_arm & ~np.isnan(event_tr), te_arm & ~np.isnan(event_te)
            rows = {"from censored_normal (shipped)":
                    _binary(event_te[te], chosen_predictions[f"{arm}_{outcome}_mcid_prob"][te])}
            direct = Logistic.fit(design_train[tr], event_tr[tr])
            rows["direct logistic regression"] = _binary(event_te[te], direct.probability(design_test[te]))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                hgb = HistGradientBoostingClassifier(**booster).fit(enc_train[tr], event_tr[tr])
            rows["gradient boosting"] = _binary(event_te[te], hgb.predict_proba(enc_test[te])[:, 1])
            result[f"{arm}/{outcome}/relevant_improvement_12m"] = rows
        employed_tr = np.array([b.get("work_status") in EMPLOYED for b in train.baseline])
        employed_te = np.array([b.get("work_status") in EMPLOYED for b in test.baseline])
        days_tr, event_tr = train.outcomes["rtw_days"], train.outcomes["rtw_event"]
        days_te, event_te = test.outcomes["rtw_days"], test.outcomes["rtw_event"]
        tr = tr_arm & employed_tr & ~np.isnan(days_tr)
        te = te_arm & employed_te & ~np.isnan(days_te)
        if tr.sum() >= 30 and te.sum() >= 10:
            rows = {}
            shipped = {d: chosen_predictions[f"{arm}_rtw{w}_prob"][te] for d, w in zip(RTW_DAYS, ("6w", "12w"))}
            rows["log-normal AFT (shipped)"] = _survival(days_te[te], event_te[te], shipped,
                                                        chosen_predictions[f"{arm}_rtw_median_days"][te])
            hazard = DiscreteTimeHazard.fit(design_train[tr], days_tr[tr], event_tr[tr])
            back, median = hazard.predict(design_test[te], RTW_DAYS)
            rows["discrete-time hazard"] = _survival(days_te[te], event_te[te], back, median)
            result[f"{arm}/return_to_work"] = rows
    y_tr, y_te = train.outcomes["surgery_within_12m"], test.outcomes["surgery_within_12m"]
    tr = (train.treatment == "conservative") & ~np.isnan(y_tr)
    te = (test.treatment == "conservative") & ~np.isnan(y_te)
    rows = {"logistic regression (shipped)": _binary(y_te[te], chosen_predictions["conservative_surgery12m_prob"][te])}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        hgb = HistGradientBoostingClassifier(**booster).fit(enc_train[tr], y_tr[tr])
    rows["gradient boosting"] = _binary(y_te[te], hgb.predict_proba(enc_test[te])[:, 1])
    result["conservative/surgery_within_12m"] = rows
    return result


def _least_squares(design, y, alpha: float = 1.0):
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = make_pipeline(StandardScaler(), Ridge(alpha=alpha)).fit(design, y)
    return model.predict


def _scores(y, mean, p10=None, p90=None) -> dict:
    residual = y - mean
    out = {"rmse": float(np.sqrt(np.mean(residual ** 2))),
           "r2": float(1 - np.sum(residual ** 2) / np.sum((y - y.mean()) ** 2))}
    if p10 is not None:
        out["coverage_80"] = float(np.mean((y >= p10 - 1e-9) & (y <= p90 + 1e-9)))
    return out


def _binary(y, p) -> dict:
    m = binary_metrics(y, np.clip(p, 1e-6, 1 - 1e-6))
    return {k: m[k] for k in ("auc", "brier", "calibration_intercept", "calibration_slope")}


def _survival(days, event, back, median) -> dict:
    m = survival_metrics(days, event, back, median)
    out = {"c_index": m["c_index"]}
    for day in RTW_DAYS:
        out[f"day{day}"] = {k: m[f"day{day}"][k]
                            for k in ("auc", "brier", "calibration_slope", "calibration_intercept")}
    return out
