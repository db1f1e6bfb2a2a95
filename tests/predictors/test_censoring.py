"""Return to work: censored patients are used for what is known, not dropped or counted."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import special, stats

from predictors.evaluation import ipcw_status, kaplan_meier
from predictors.survival import DiscreteTimeHazard, LogNormalReturnToWork, person_period


def simulate(n=4000, seed=1):
    """Known truth: P(never stops) logistic, log(days off) normal; censoring independent
    of the outcome but heavy (follow-up 5 to 90 days)."""
    rng = np.random.default_rng(seed)
    x = np.column_stack([rng.normal(size=n), rng.integers(0, 2, size=n).astype(float)])
    p_never = special.expit(-1.0 + 0.5 * x[:, 0])
    mu = 3.2 + 0.4 * x[:, 0] + 0.5 * x[:, 1]
    sigma = 0.6
    never = rng.random(n) < p_never
    latent = np.exp(mu + sigma * rng.normal(size=n))
    recorded = np.where(never, 0, np.maximum(np.round(latent), 1))
    follow_up = rng.integers(5, 91, size=n)
    event = recorded <= follow_up
    days = np.where(event, recorded, follow_up).astype(float)

    def truth(day):
        return p_never + (1 - p_never) * stats.norm.cdf((np.log(day + 0.5) - mu) / sigma)

    return x, days, event.astype(float), truth


def test_simulation_really_censors_a_lot():
    _, _, event, _ = simulate()
    assert 0.2 < 1 - event.mean() < 0.5


@pytest.mark.parametrize("model", [LogNormalReturnToWork, DiscreteTimeHazard])
def test_censoring_aware_models_recover_the_truth(model):
    x, days, event, truth = simulate()
    fitted = model.fit(x, days, event, c=1.0) if model is DiscreteTimeHazard else model.fit(x, days, event, c=1.0,
                                                                                              mean_penalty=1.0)
    back, _ = fitted.predict(x, (42, 84))
    for day in (42, 84):
        error = back[day] - truth(day)
        assert abs(error.mean()) < 0.02, day
        assert np.abs(error).mean() < 0.04, day
    assert np.all(back[42] <= back[84])


def test_dropping_censored_patients_would_be_biased():
    """The same data analysed naively: shows the test above has something to catch."""
    x, days, event, truth = simulate()
    keep = event > 0.5
    naive = LogNormalReturnToWork.fit(x[keep], days[keep], event[keep], c=1.0, mean_penalty=1.0)
    back, _ = naive.predict(x, (42,))
    assert back[42].mean() - truth(42).mean() > 0.05


def test_median_is_where_half_are_truly_back():
    """Judged on the probability scale: the median is steep where few stop working."""
    x, days, event, _truth = simulate()
    fitted = LogNormalReturnToWork.fit(x, days, event, c=1.0, mean_penalty=1.0)
    _, median = fitted.predict(x[:300], (42,))
    p_never = special.expit(-1.0 + 0.5 * x[:300, 0])
    mu = 3.2 + 0.4 * x[:300, 0] + 0.5 * x[:300, 1]
    stopped = median > 0
    true_back = p_never[stopped] + (1 - p_never[stopped]) * stats.norm.cdf(
        (np.log(median[stopped]) - mu[stopped]) / 0.6)
    assert np.all(np.abs(true_back - 0.5) < 0.04)
    assert np.all(p_never[~stopped] > 0.46)  # median 0: most never stop working
    assert stopped.mean() > 0.8


def test_person_period_uses_only_fully_followed_weeks():
    index, weeks, returned = person_period(np.array([10.0, 10.0, 14.0]), np.array([0, 1, 0]), 26)
    rows = list(zip(index.tolist(), weeks.tolist(), returned.tolist()))
    assert rows == [(0, 1, 0.0),                # censored on day 10: only week 1 was followed
                    (1, 1, 0.0), (1, 2, 1.0),   # returned on day 10: in week 2
                    (2, 1, 0.0), (2, 2, 0.0)]   # censored on day 14: weeks 1 and 2


def test_kaplan_meier_and_ipcw_by_hand():
    times = np.array([1.0, 2.0, 3.0, 4.0])
    events = np.array([1, 0, 1, 1])
    s = kaplan_meier(times, events)
    assert s(1) == pytest.approx(0.75)
    assert s(2) == pytest.approx(0.75)
    assert s(3) == pytest.approx(0.375)
    assert s(4) == pytest.approx(0.0)
    status, weight = ipcw_status(times, events, 2.5)
    assert status.tolist() == [1, 0, 0, 0]
    assert weight[1] == 0  # censored before the horizon: unknown status
    assert weight[0] == pytest.approx(1.0)
    assert weight[2] == pytest.approx(weight[3]) and weight[2] > 1
