"""All models for one condition: fitting from a cohort, and vectorised prediction.

Counterfactual validity — the prediction for the option the patient did *not* take —
rests on two facts about the data (documented for the reference cohorts, and to be
checked for a clinic's own export): treatment choice depends only on baseline columns
that are in the file, and follow-up non-response depends only on baseline columns. Then
an outcome model fitted *per treatment arm* on all those baseline columns estimates
E[outcome | baseline, option] for every patient, whichever option they chose, and
complete-case fitting per arm is valid under the missing-at-random non-response. Linear
models extrapolate smoothly where one arm has few patients like this one; where the
estimated propensity of surgery is very low or high (poor overlap) the prediction for
the rare option carries a warning.

Outputs are keyed by the batch CLI's column names (`surgery_pain12_p90`, …) so the API,
the CLI and the tests share one vocabulary.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import special

from predictors.cohort import Cohort, CohortError
from predictors.features import FeatureSpace, encode
from predictors.linear import Z10, Z90, CensoredNormal, Logistic
from predictors.neighbours import Reference
from predictors.schema import EMPLOYED, FUNCTION, MONTHS, OPTIONS, PAIN, RTW_DAYS
from predictors.survival import DiscreteTimeHazard, LogNormalReturnToWork

FORMAT = "bundelassistent-predictors/1"
FOLLOW_UP = (3, 12)
OUTCOMES = ("pain", "function")
MIN_ROWS = 30  # fewer observed outcomes in an arm than this: refuse to fit
OVERLAP = 0.05  # propensity below this (or above 1 − this): few comparable patients


def instrument(condition: str, outcome: str):
    return PAIN[condition] if outcome == "pain" else FUNCTION[condition]


def rounded(value: float) -> float | None:
    """A prediction as the batch CLI writes it and a record keeps it: 4 decimals, None for empty (NaN).

    One rounding for `python -m predictors.batch`, `bundelassistent predict --json` and the
    stored decision support, so the three agree to the last digit."""
    number = float(value)
    return None if math.isnan(number) else round(number, 4) + 0.0


def column_names() -> list[str]:
    """The prediction columns, in batch CLI order (after patient_id)."""
    names = []
    for arm in OPTIONS:
        for outcome in OUTCOMES:
            for month in FOLLOW_UP:
                names += [f"{arm}_{outcome}{month}_{stat}" for stat in ("mean", "p10", "p90")]
            names.append(f"{arm}_{outcome}_mcid_prob")
        names += [f"{arm}_rtw6w_prob", f"{arm}_rtw12w_prob", f"{arm}_rtw_median_days"]
    return names + ["conservative_surgery12m_prob"]


class ConditionModel:
    """Feature space, outcome, surgery, return-to-work and propensity models, reference."""

    def __init__(self, condition: str, features: FeatureSpace, outcomes: dict, surgery: Logistic,
                 return_to_work: dict, propensity: Logistic, reference: Reference | None, meta: dict):
        self.condition = condition
        self.features = features
        self.outcomes = outcomes  # (arm, outcome, month) -> CensoredNormal
        self.surgery = surgery
        self.return_to_work = return_to_work  # arm -> LogNormalReturnToWork (or candidate)
        self.propensity = propensity
        self.reference = reference
        self.meta = meta
        names = features.design_names
        self._baseline_index = {o: names.index(f"{instrument(condition, o).column}_0") for o in OUTCOMES}

    # -- fitting ---------------------------------------------------------------------
    @classmethod
    def fit(cls, cohort: Cohort, rtw_model=LogNormalReturnToWork, heteroscedastic: bool = False,
            with_reference: bool = True, penalty: float | None = None) -> ConditionModel:
        """Fit every model on the cohort. `penalty` None: ridge strengths chosen by
        cross-validation (slower); a number fixes them (tests, quick experiments).

        BLAS runs single-threaded here: the matrices are small, and OpenBLAS threads
        contending on a busy 2-core machine made fitting twenty times slower."""
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=1, user_api="blas"):
            return cls._fit(cohort, rtw_model, heteroscedastic, with_reference, penalty)

    @classmethod
    def _fit(cls, cohort, rtw_model, heteroscedastic, with_reference, penalty) -> ConditionModel:
        condition = cohort.condition
        encoded = encode(condition, cohort.baseline)
        features = FeatureSpace.fit(condition, encoded)
        design = features.transform(encoded).design
        treatment = cohort.treatment
        outcomes = {}
        c = None if penalty is None else 1.0 / penalty
        names = features.design_names
        for arm in OPTIONS:
            in_arm = treatment == arm
            for outcome in OUTCOMES:
                scale = instrument(condition, outcome)
                weights = np.array([0.0 if n == f"{scale.column}_0" else 1.0 for n in names])
                for month in FOLLOW_UP:
                    y = cohort.outcomes[f"{scale.column}_{month}"]
                    rows = in_arm & ~np.isnan(y)
                    _enough(rows, f"{condition} {arm}: {scale.column}_{month}")
                    outcomes[(arm, outcome, month)] = CensoredNormal.fit(
                        design[rows], y[rows], scale.low, scale.high, scale.step, mean_penalty=penalty,
                        heteroscedastic=heteroscedastic, penalty_weights=weights)
        surgery_y = cohort.outcomes["surgery_within_12m"]
        rows = (treatment == OPTIONS[0]) & ~np.isnan(surgery_y)
        _enough(rows, f"{condition} conservative: surgery_within_12m")
        surgery = Logistic.fit(design[rows], surgery_y[rows], c=c)
        employed = np.array([b.get("work_status") in EMPLOYED for b in cohort.baseline])
        return_to_work = {}
        for arm in OPTIONS:
            rows = (treatment == arm) & employed & ~np.isnan(cohort.outcomes["rtw_days"])
            _enough(rows, f"{condition} {arm}: rtw_days (employed patients)")
            kwargs = {} if penalty is None or rtw_model is not LogNormalReturnToWork else {"mean_penalty": penalty}
            return_to_work[arm] = rtw_model.fit(design[rows], cohort.outcomes["rtw_days"][rows],
                                                cohort.outcomes["rtw_event"][rows], c=c, **kwargs)
        propensity = Logistic.fit(design, (treatment == OPTIONS[1]).astype(float), c=c)
        reference = None
        if with_reference:
            trajectories = {
                outcome: np.column_stack([cohort.outcomes[f"{instrument(condition, outcome).column}_{m}"]
                                          for m in MONTHS]) for outcome in OUTCOMES
            }
            reference = Reference.build(condition, features.design_names, design, treatment,
                                        trajectories["pain"], trajectories["function"])
        propensity_scores = propensity.probability(design)
        meta = {
            "n": len(cohort),
            "n_by_option": {arm: int(np.sum(treatment == arm)) for arm in OPTIONS},
            "period": list(cohort.period),
            "propensity_range": [float(propensity_scores.min()), float(propensity_scores.max())],
            "outside_overlap": float(np.mean((propensity_scores < OVERLAP) | (propensity_scores > 1 - OVERLAP))),
        }
        return cls(condition, features, outcomes, surgery, return_to_work, propensity, reference, meta)

    # -- prediction ------------------------------------------------------------------
    def predict(self, patients: list[dict]) -> dict[str, np.ndarray]:
        """Parsed baseline values (one dict per patient) → arrays keyed by column name.

        Also returns `employed` (1, 0, NaN unknown), `propensity_surgery`, and
        `imputed` (n × d bool over `features.names`).
        """
        condition = self.condition
        encoded = encode(condition, patients)
        imputed = self.features.transform(encoded)
        design = imputed.design
        n = len(patients)
        out: dict[str, np.ndarray] = {}
        for arm in OPTIONS:
            for outcome in OUTCOMES:
                scale = instrument(condition, outcome)
                for month in FOLLOW_UP:
                    model = self.outcomes[(arm, outcome, month)]
                    mu, sigma = model.latent(design, imputed.quadratic(model.mean_coef))
                    mean = model.expected(mu, sigma)
                    p10 = np.minimum(model.quantile(mu, sigma, Z10), mean)
                    p90 = np.maximum(model.quantile(mu, sigma, Z90), mean)
                    out[f"{arm}_{outcome}{month}_mean"] = mean
                    out[f"{arm}_{outcome}{month}_p10"] = p10
                    out[f"{arm}_{outcome}{month}_p90"] = p90
                    if month == 12:
                        out[f"{arm}_{outcome}_mcid_prob"] = self._improvement(
                            model, scale, mu, sigma, design, encoded, imputed, outcome)
            rtw = self.return_to_work[arm]
            back, median = rtw.predict(design, RTW_DAYS, imputed.quadratic)
            out[f"{arm}_rtw6w_prob"] = np.minimum(back[RTW_DAYS[0]], back[RTW_DAYS[1]])
            out[f"{arm}_rtw12w_prob"] = back[RTW_DAYS[1]]
            out[f"{arm}_rtw_median_days"] = median
        coef = self.surgery.coef
        out["conservative_surgery12m_prob"] = self.surgery.probability(design, imputed.quadratic(coef, coef))
        work = [p.get("work_status") for p in patients]
        employed = np.array([np.nan if w is None else float(w in EMPLOYED) for w in work])
        for arm in OPTIONS:
            for key in ("rtw6w_prob", "rtw12w_prob", "rtw_median_days"):
                out[f"{arm}_{key}"] = np.where(employed == 1, out[f"{arm}_{key}"], np.nan)
        out["employed"] = employed
        out["propensity_surgery"] = self.propensity.probability(design)
        out["imputed"] = imputed.imputed
        out["outside_range"] = (encoded < self.features.low - 1e-9) | (encoded > self.features.high + 1e-9)
        assert all(len(v) == n for v in out.values())
        return out

    def _improvement(self, model, scale, mu, sigma, design, encoded, imputed, outcome):
        """P(relevant improvement at 12 months) from the 12-month score distribution."""
        index = self._baseline_index[outcome]
        baseline = encoded[:, index]
        known = ~np.isnan(baseline)
        result = np.empty(len(mu))
        if scale.higher_is_better:
            result[known] = model.prob_at_least(mu[known], sigma[known], baseline[known] + scale.relevant_change)
        else:
            result[known] = model.prob_at_most(mu[known], sigma[known], baseline[known] - scale.relevant_change)
        if not known.all():
            # Baseline unknown: the change (12-month score − baseline) is normal with the
            # imputation uncertainty of both the baseline and the other unknown inputs.
            unit = np.zeros(len(model.mean_coef))
            unit[index] = 1.0
            difference = model.mean_coef - unit
            spread = np.exp(2 * (design @ model.scale_coef + model.scale_intercept))
            sd = np.sqrt(spread + imputed.quadratic(difference))
            change = (design @ model.mean_coef + model.mean_intercept) - design[:, index]
            margin = scale.relevant_change - scale.step / 2
            z = (change - margin) / sd if scale.higher_is_better else (-margin - change) / sd
            result[~known] = special.ndtr(z[~known])
        return result

    # -- storage ---------------------------------------------------------------------
    def to_dict(self) -> dict:
        return {
            "format": FORMAT,
            "condition": self.condition,
            "features": self.features.to_dict(),
            "design_names": self.features.design_names,
            "outcomes": {f"{a}/{o}/{m}": model.to_dict() for (a, o, m), model in self.outcomes.items()},
            "surgery_within_12m": self.surgery.to_dict(),
            "return_to_work": {arm: model.to_dict() for arm, model in self.return_to_work.items()},
            "propensity": self.propensity.to_dict(),
            "meta": self.meta,
        }

    @classmethod
    def from_dict(cls, data: dict, reference: Reference | None) -> ConditionModel:
        if data.get("format") != FORMAT:
            raise ValueError(f"unknown model format {data.get('format')!r}; expected {FORMAT}")
        features = FeatureSpace.from_dict(data["features"])
        width = len(features.design_names)
        outcomes = {}
        for key, model in data["outcomes"].items():
            arm, outcome, month = key.split("/")
            outcomes[(arm, outcome, int(month))] = _checked(CensoredNormal.from_dict(model), width, key)
        expected = {(a, o, m) for a in OPTIONS for o in OUTCOMES for m in FOLLOW_UP}
        if set(outcomes) != expected:
            raise ValueError("model file lacks some outcome models")
        kinds: dict[str, type[LogNormalReturnToWork] | type[DiscreteTimeHazard]] = {
            LogNormalReturnToWork.kind: LogNormalReturnToWork, DiscreteTimeHazard.kind: DiscreteTimeHazard}
        rtw = {arm: kinds[data["return_to_work"][arm]["kind"]].from_dict(data["return_to_work"][arm])
               for arm in OPTIONS}
        surgery = _checked(Logistic.from_dict(data["surgery_within_12m"]), width, "surgery_within_12m")
        propensity = _checked(Logistic.from_dict(data["propensity"]), width, "propensity")
        return cls(data["condition"], features, outcomes, surgery, rtw, propensity, reference, data["meta"])


def _checked(model, width: int, name: str):
    coefs = [getattr(model, attr) for attr in ("coef", "mean_coef", "scale_coef") if hasattr(model, attr)]
    if any(len(c) != width or not np.all(np.isfinite(c)) for c in coefs):
        raise ValueError(f"model {name}: coefficients do not match the predictors")
    return model


def _enough(rows: np.ndarray, what: str) -> None:
    count = int(np.sum(rows))
    if count < MIN_ROWS:
        raise CohortError(f"too few patients with {what}: {count} (need at least {MIN_ROWS})")


__all__ = ["FOLLOW_UP", "OUTCOMES", "ConditionModel", "column_names", "instrument"]
