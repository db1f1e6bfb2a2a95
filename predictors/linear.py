"""The two model shapes every prediction is built from, stored as plain coefficients.

- `CensoredNormal`: a patient-reported score at a follow-up moment. The score is taken
  to be a latent normal value, mean and log standard deviation both linear in the
  baseline features (so the 80% range can be wider for some patients than for others),
  recorded on the instrument's grid and clipped to its scale. Fitted by maximum
  likelihood with each recorded score as the interval of latent values that round to
  it, so the pile-up at the floor (pain 0, BCTQ 1) and ceiling (MHQ 100) is modelled
  rather than averaged into a biased straight line. From one fitted distribution come
  the expected score, the 10th/90th percentiles and the probability of a relevant
  improvement — which therefore cannot contradict each other.
- `Logistic`: a probability (surgery within 12 months, never stopped working, the
  weekly return-to-work hazard, treatment propensity). Fitted with scikit-learn's
  LogisticRegression on standardised features.

Both are linear in the design matrix from `features`; fitting standardises the columns
and applies a ridge penalty whose strength is chosen by cross-validation (the baseline
score of the same instrument is left unpenalised: shrinking it would bias the predicted
change from baseline, and with it the probability of a relevant improvement), and the stored
coefficients are on the original scale so prediction is a dot product: fast for one
patient and vectorised for ten thousand. On the reference cohorts these beat splines
and gradient boosting on held-out data (see the model card's candidate comparison).
Coefficients are stored as JSON: nothing executable is ever loaded from a model file.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
from scipy import optimize, special

Z10, Z90 = -1.2815515655446004, 1.2815515655446004
LOGISTIC_GRID = (0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0)  # sklearn C = 1 / ridge strength


def standardise(design: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    centre = design.mean(axis=0)
    scale = design.std(axis=0)
    scale[scale < 1e-9] = 1.0
    return (design - centre) / scale, centre, scale


def to_original(coef: np.ndarray, intercept: float, centre: np.ndarray, scale: np.ndarray):
    raw = coef / scale
    return raw, float(intercept - raw @ centre)


def _log_interval(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """log(Φ(b) − Φ(a)) for a < b, accurate in both tails and for narrow intervals."""
    upper = a > 0  # use symmetry Φ(b) − Φ(a) = Φ(−a) − Φ(−b) in the upper tail
    hi = np.where(upper, special.log_ndtr(-a), special.log_ndtr(b))
    lo = np.where(upper, special.log_ndtr(-b), special.log_ndtr(a))
    with np.errstate(divide="ignore", invalid="ignore"):
        return hi + np.log(-np.expm1(np.minimum(lo - hi, -1e-300)))


def _log_phi(x: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore", invalid="ignore"):
        return np.where(np.isfinite(x), -0.5 * x * x - 0.5 * math.log(2 * math.pi), -np.inf)


def fit_interval_normal(design, lower, upper, start_y, mean_penalty=1.0, heteroscedastic=False,
                        scale_penalty=4.0, penalty_weights=None):
    """Penalised maximum likelihood for a latent normal observed as intervals [lower, upper).

    Returns ((mean_coef, mean_intercept), (scale_coef, scale_intercept)) on the original
    feature scale; the scale is log(sd). Infinite bounds are left/right censoring.
    """
    x, centre, scale = standardise(design)
    n, p = x.shape
    xi = np.hstack([np.ones((n, 1)), x])
    beta0, *_ = np.linalg.lstsq(xi, start_y, rcond=None)
    resid_sd = max(float(np.std(start_y - xi @ beta0)), 1e-3)
    q = p if heteroscedastic else 0
    start = np.concatenate([beta0, [math.log(resid_sd)], np.zeros(q)])
    # Penalty in units of the residual variance, so its strength means the same for a
    # 0-10 and a 0-100 scale (like ridge on the standardised outcome).
    weights = np.ones(p) if penalty_weights is None else np.asarray(penalty_weights, dtype=float)
    ridge = mean_penalty * weights / resid_sd ** 2

    def objective(theta):
        beta, gamma = theta[: p + 1], theta[p + 1:]
        xg = xi[:, : q + 1]
        mu = xi @ beta
        log_sigma = np.clip(xg @ gamma, -12, 12)
        sigma = np.exp(log_sigma)
        a, b = (lower - mu) / sigma, (upper - mu) / sigma
        log_l = _log_interval(a, b)
        ratio_a = np.exp(_log_phi(a) - log_l)
        ratio_b = np.exp(_log_phi(b) - log_l)
        d_mu = (ratio_a - ratio_b) / sigma
        d_log_sigma = np.where(np.isfinite(a), a, 0.0) * ratio_a - np.where(np.isfinite(b), b, 0.0) * ratio_b
        value = -log_l.sum() + 0.5 * (ridge * beta[1:]) @ beta[1:] \
            + 0.5 * scale_penalty * gamma[1:] @ gamma[1:]
        grad_beta = -(xi.T @ d_mu)
        grad_gamma = -(xg.T @ d_log_sigma)
        grad_beta[1:] += ridge * beta[1:]
        grad_gamma[1:] += scale_penalty * gamma[1:]
        return value, np.concatenate([grad_beta, grad_gamma])

    result = optimize.minimize(objective, start, jac=True, method="L-BFGS-B",
                               options={"maxiter": 5000, "gtol": 1e-6})
    if not np.all(np.isfinite(result.x)):
        raise RuntimeError("latent-normal fit did not converge")
    beta, gamma = result.x[: p + 1], result.x[p + 1:]
    # The maximum-likelihood spread is the in-sample one: it misses that the coefficients
    # are estimated (σ²·p/n more error for a new patient) and is itself biased low by
    # n/(n − p). Without this the 80% range covers ~78% in an arm of 600 patients.
    gamma[0] += 0.5 * math.log((1 + (p + 1) / n) * n / max(n - p - 1, 1))
    gamma = np.concatenate([gamma, np.zeros(p - q)])
    return to_original(beta[1:], beta[0], centre, scale), to_original(gamma[1:], gamma[0], centre, scale)


PENALTY_GRID = (10.0, 30.0, 100.0, 300.0, 1000.0)


def choose_penalty(design, lower, upper, start_y, penalty_weights=None, grid=PENALTY_GRID,
                   folds: int = 5, seed: int = 0) -> float:
    """The ridge strength with the best cross-validated log-likelihood.

    Without enough shrinkage the many weak predictors add noise that makes predicted
    probabilities too extreme on new patients (calibration slope < 1); too much shrinks
    real effects. The strength is chosen on the data, so a larger clinic export gets
    less shrinkage than a small one.
    """
    n = len(start_y)
    order = np.random.default_rng(seed).permutation(n)
    parts = np.array_split(order, folds)
    best, best_score = grid[0], -np.inf
    for penalty in grid:
        score = 0.0
        for part in parts:
            train = np.setdiff1d(order, part)
            (coef, intercept), (_, log_sigma) = fit_interval_normal(
                design[train], lower[train], upper[train], start_y[train], penalty,
                penalty_weights=penalty_weights)
            mu = design[part] @ coef + intercept
            sigma = math.exp(log_sigma)
            score += _log_interval((lower[part] - mu) / sigma, (upper[part] - mu) / sigma).sum()
        if score > best_score:
            best, best_score = penalty, score
    return float(best)


class CensoredNormal:
    """Latent-normal regression for a bounded score recorded on a grid."""

    penalty: float  # the ridge strength `fit` chose (a model read from its file has none)

    def __init__(self, low, high, step, mean_coef, mean_intercept, scale_coef, scale_intercept):
        self.low, self.high, self.step = float(low), float(high), float(step)
        self.mean_coef = np.asarray(mean_coef, dtype=float)
        self.mean_intercept = float(mean_intercept)
        self.scale_coef = np.asarray(scale_coef, dtype=float)
        self.scale_intercept = float(scale_intercept)

    # -- fitting ---------------------------------------------------------------------
    @classmethod
    def fit(cls, design: np.ndarray, y: np.ndarray, low: float, high: float, step: float,
            mean_penalty: float | None = None, heteroscedastic: bool = False,
            scale_penalty: float = 4.0, penalty_weights=None) -> CensoredNormal:
        """Maximum likelihood with a ridge penalty on the standardised coefficients.

        By default the spread is the same for every patient (one log-sd parameter): on
        the reference cohorts a patient-specific spread did not improve the held-out
        likelihood or the coverage of the 80% range.
        """
        lower = np.where(y <= low + step / 2, -np.inf, y - step / 2)
        upper = np.where(y >= high - step / 2, np.inf, y + step / 2)
        if mean_penalty is None:
            mean_penalty = choose_penalty(design, lower, upper, y, penalty_weights)
        beta, gamma = fit_interval_normal(design, lower, upper, y, mean_penalty,
                                          heteroscedastic, scale_penalty, penalty_weights)
        model = cls(low, high, step, *beta, *gamma)
        model.penalty = float(mean_penalty)
        return model

    # -- prediction ------------------------------------------------------------------
    def latent(self, design: np.ndarray, extra_variance: np.ndarray | None = None):
        """Latent mean and standard deviation per row (widened by imputation variance)."""
        mu = design @ self.mean_coef + self.mean_intercept
        sigma = np.exp(np.clip(design @ self.scale_coef + self.scale_intercept, -12, 12))
        if extra_variance is not None:
            sigma = np.sqrt(sigma ** 2 + extra_variance)
        return mu, sigma

    def _edges(self) -> np.ndarray:
        count = int(round((self.high - self.low) / self.step))
        return self.low + self.step * (np.arange(count) + 0.5)

    def expected(self, mu: np.ndarray, sigma: np.ndarray) -> np.ndarray:
        """Mean recorded score: low + step · Σ_k P(score > grid_k)."""
        edges = self._edges()
        above = special.ndtr((mu[:, None] - edges[None, :]) / sigma[:, None])
        return self.low + self.step * above.sum(axis=1)

    def quantile(self, mu: np.ndarray, sigma: np.ndarray, z: float) -> np.ndarray:
        return np.clip(mu + z * sigma, self.low, self.high)

    def prob_at_most(self, mu, sigma, cut) -> np.ndarray:
        """P(recorded score ≤ cut), cut per row."""
        cut = np.asarray(cut, dtype=float)
        grid = self.low + self.step * np.floor((cut - self.low) / self.step + 1e-6)
        p = special.ndtr((grid + self.step / 2 - mu) / sigma)
        p = np.where(grid >= self.high, 1.0, p)
        return np.where(cut < self.low - 1e-9, 0.0, p)

    def prob_at_least(self, mu, sigma, cut) -> np.ndarray:
        """P(recorded score ≥ cut), cut per row."""
        cut = np.asarray(cut, dtype=float)
        grid = self.low + self.step * np.ceil((cut - self.low) / self.step - 1e-6)
        p = special.ndtr((mu - (grid - self.step / 2)) / sigma)
        p = np.where(grid <= self.low, 1.0, p)
        return np.where(cut > self.high + 1e-9, 0.0, p)

    def to_dict(self) -> dict:
        return {"kind": "censored_normal", "low": self.low, "high": self.high, "step": self.step,
                "mean_coef": self.mean_coef.tolist(), "mean_intercept": self.mean_intercept,
                "scale_coef": self.scale_coef.tolist(), "scale_intercept": self.scale_intercept,
                "penalty": getattr(self, "penalty", None)}

    @classmethod
    def from_dict(cls, data: dict) -> CensoredNormal:
        return cls(data["low"], data["high"], data["step"], data["mean_coef"], data["mean_intercept"],
                   data["scale_coef"], data["scale_intercept"])


class Logistic:
    """Logistic regression stored as coefficients; probit-style widening for imputed inputs."""

    penalty: float  # the ridge strength `fit` chose (a model read from its file has none)

    def __init__(self, coef, intercept):
        self.coef = np.asarray(coef, dtype=float)
        self.intercept = float(intercept)

    @classmethod
    def fit(cls, design: np.ndarray, y: np.ndarray, c: float | None = None,
            sample_weight: np.ndarray | None = None) -> Logistic:
        """Fit; `c` None chooses the ridge strength by 5-fold cross-validated log loss."""
        from sklearn.linear_model import LogisticRegression, LogisticRegressionCV

        x, centre, scale = standardise(design)
        if len(np.unique(y)) < 2:  # nothing to learn: constant probability
            p = float(np.clip(np.mean(y), 1e-4, 1 - 1e-4))
            return cls(np.zeros(design.shape[1]), math.log(p / (1 - p)))
        if c is None and min(np.sum(y > 0.5), np.sum(y < 0.5)) >= 10:
            model = LogisticRegressionCV(Cs=LOGISTIC_GRID, cv=5, scoring="neg_log_loss", max_iter=5000, tol=1e-8)
        else:
            model = LogisticRegression(C=c or 1.0, max_iter=5000, tol=1e-8)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(x, y, sample_weight=sample_weight)
        coef, intercept = to_original(model.coef_[0], model.intercept_[0], centre, scale)
        fitted = cls(coef, intercept)
        chosen_c = np.ravel(model.C_)[0] if hasattr(model, "C_") else model.C
        fitted.penalty = float(1 / chosen_c)
        return fitted

    def linear(self, design: np.ndarray) -> np.ndarray:
        return design @ self.coef + self.intercept

    def probability(self, design: np.ndarray, extra_variance: np.ndarray | None = None) -> np.ndarray:
        """P(event); with imputed inputs the logit is shrunk by 1/sqrt(1 + π·v/8), the usual
        approximation of averaging the logistic curve over the imputation uncertainty."""
        eta = self.linear(design)
        if extra_variance is not None:
            eta = eta / np.sqrt(1.0 + math.pi * extra_variance / 8.0)
        return special.expit(eta)

    def to_dict(self) -> dict:
        return {"kind": "logistic", "coef": self.coef.tolist(), "intercept": self.intercept,
                "penalty": getattr(self, "penalty", None)}

    @classmethod
    def from_dict(cls, data: dict) -> Logistic:
        return cls(data["coef"], data["intercept"])
