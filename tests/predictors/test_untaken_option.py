"""Predictions for the option a patient did not take, under confounded treatment choice.

Outcomes are simulated on the real CTS baseline data with a known, heterogeneous effect
of surgery; patients with more pain and thenar atrophy are far more likely to be
operated (confounding), and follow-up non-response depends on age (missing at random).
The per-option models must recover each patient's expected score under the option they
did not take; the naive comparison of treated and untreated means must not.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import special

from predictors.cohort import Cohort
from predictors.model import ConditionModel

FAST_PENALTY = 100.0  # fixed ridge strength; cross-validating it is slow and not under test here


def covariates(cohort):
    pain0 = cohort.outcomes["nrs_pain_0"]
    atrophy = np.array([b["thenar_atrophy"] for b in cohort.baseline], dtype=float)
    age = np.array([b["age"] for b in cohort.baseline], dtype=float)
    return pain0, atrophy, age


def latent_means(cohort):
    pain0, atrophy, age = covariates(cohort)
    conservative = 1.0 + 0.6 * pain0 + 0.8 * atrophy + 0.02 * (age - 55)
    effect = 2.0 + 0.3 * (pain0 - 6)  # operated patients improve more when pain is high
    return conservative, conservative - effect


def recorded(latent):
    return np.clip(np.round(latent), 0, 10)


@pytest.fixture(scope="module")
def simulated(cohorts):
    real = cohorts["CTS"]
    rng = np.random.default_rng(11)
    pain0, atrophy, age = covariates(real)
    surgery = rng.random(len(real)) < special.expit(-4.5 + 0.7 * pain0 + 1.5 * atrophy)
    mean_c, mean_s = latent_means(real)
    outcomes = dict(real.outcomes)
    for month in (3, 12):
        noise = rng.normal(0, 1.5, len(real))
        y = recorded(np.where(surgery, mean_s, mean_c) + noise)
        responded = rng.random(len(real)) < special.expit(0.5 + 0.04 * (age - 55))
        outcomes[f"nrs_pain_{month}"] = np.where(responded, y, np.nan)
    treatment = np.where(surgery, "surgery", "conservative")
    cohort = Cohort("CTS", real.baseline, treatment, outcomes, real.inclusion_dates)
    return cohort, ConditionModel.fit(cohort, penalty=FAST_PENALTY, with_reference=False)


def true_expected(mean, draws=4000, seed=3):
    noise = np.random.default_rng(seed).normal(0, 1.5, (draws, 1))
    return recorded(mean[None, :] + noise).mean(axis=0)


def test_assignment_is_strongly_confounded(simulated):
    cohort, _ = simulated
    pain0, _, _ = covariates(cohort)
    surgery = cohort.treatment == "surgery"
    assert pain0[surgery].mean() - pain0[~surgery].mean() > 1.0
    mean_c, mean_s = latent_means(cohort)
    true_effect = (true_expected(mean_s) - true_expected(mean_c))[~surgery].mean()
    y = cohort.outcomes["nrs_pain_12"]
    naive = np.nanmean(y[surgery]) - np.nanmean(y[~surgery])
    assert abs(naive - true_effect) > 0.5  # a naive comparison would be badly wrong


def test_untaken_option_is_predicted_without_bias(simulated):
    cohort, model = simulated
    predictions = model.predict(cohort.baseline)
    mean_c, mean_s = latent_means(cohort)
    conservative = cohort.treatment == "conservative"
    # Patients treated conservatively: their (untaken) surgery prediction.
    error = predictions["surgery_pain12_mean"][conservative] - true_expected(mean_s)[conservative]
    assert abs(error.mean()) < 0.1
    assert np.abs(error).mean() < 0.25
    # Operated patients: their (untaken) conservative prediction.
    error = predictions["conservative_pain12_mean"][~conservative] - true_expected(mean_c)[~conservative]
    assert abs(error.mean()) < 0.1
    assert np.abs(error).mean() < 0.25


def test_individual_effect_is_recovered(simulated):
    cohort, model = simulated
    predictions = model.predict(cohort.baseline)
    mean_c, mean_s = latent_means(cohort)
    predicted = predictions["conservative_pain12_mean"] - predictions["surgery_pain12_mean"]
    truth = true_expected(mean_c) - true_expected(mean_s)
    assert np.corrcoef(predicted, truth)[0, 1] > 0.9
    assert abs(predicted.mean() - truth.mean()) < 0.1


def test_untaken_option_improvement_probability_is_calibrated(simulated):
    cohort, model = simulated
    predictions = model.predict(cohort.baseline)
    _, mean_s = latent_means(cohort)
    pain0, _, _ = covariates(cohort)
    noise = np.random.default_rng(5).normal(0, 1.5, (4000, 1))
    true_p = (recorded(mean_s[None, :] + noise) <= pain0[None, :] - 2).mean(axis=0)
    conservative = cohort.treatment == "conservative"
    predicted = predictions["surgery_pain_mcid_prob"][conservative]
    assert abs(predicted.mean() - true_p[conservative].mean()) < 0.03
    assert np.abs(predicted - true_p[conservative]).mean() < 0.06
