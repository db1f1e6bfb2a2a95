"""Which inputs matter for this patient, and when the known ones make the numbers personal
(`predictors/influence.py`): derived from the fitted models, so changing a model changes them."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from predictors import load_models
from predictors.influence import (
    PERSONAL_SHARE,
    explained_share,
    explained_shares,
    influence,
    input_swings,
    plausible_values,
    to_personal,
)
from predictors.model import ConditionModel
from predictors.schema import baseline_columns

EVERYTHING_KNOWN = {"age": 57, "sex": "F", "bmi": 27.0, "diabetes": 0.0, "smoker": 0.0, "work_status": "office",
                    "symptom_duration_months": 10.0, "dominant_hand_affected": 1.0, "bilateral": 0.0, "pcs": 14.0,
                    "phq4": 3.0, "expectation": 7.0, "prior_injection": 0.0, "nrs_pain_0": 6.0, "ncs_severity": 2.0,
                    "thenar_atrophy": 0.0, "night_symptoms": 1.0, "bctq_sss_0": 3.1, "bctq_fss_0": 2.6}
NAMES = [column.name for column in baseline_columns("CTS")]


@pytest.fixture(scope="module")
def models():
    return load_models()


@pytest.fixture(scope="module")
def cts(models):
    return models._model("CTS")


def weighted(model: ConditionModel, name: str, factor: float) -> ConditionModel:
    """A copy of the model in which input `name` weighs `factor` times as much in every prediction."""
    copy = ConditionModel.from_dict(model.to_dict(), reference=None)
    features = [index for index, (_, source) in enumerate(copy.features.names) if source == name]
    coefficients = [outcome.mean_coef for outcome in copy.outcomes.values()]
    for work in copy.return_to_work.values():
        coefficients += [work.mean_coef, work.never_stopped.coef]
    for coef in coefficients:
        coef[features] *= factor
    return copy


def values(**given) -> dict:
    return {name: given.get(name) for name in NAMES}


def test_a_swing_is_how_far_the_main_predictions_move_across_the_inputs_usual_range(models, cts):
    """Checked against two plain predictions at the ends of pain at intake's range."""
    patient = values(**EVERYTHING_KNOWN)
    low, high = plausible_values(cts, next(c for c in baseline_columns("CTS") if c.name == "nrs_pain_0"))
    assert 0 < low < high < 10  # the reference's 10th and 90th percentile, not the scale's ends
    ends = [models.predict({"condition": "CTS", **patient, "nrs_pain_0": value}) for value in (low, high)]
    moves = [abs(ends[1].option(option).pain.month12.mean - ends[0].option(option).pain.month12.mean) / 10
             for option in ("conservative", "surgery")]
    assert input_swings(cts, patient)["nrs_pain_0"] >= max(moves) - 1e-4  # the predictions are rounded to 4 decimals


def test_the_order_follows_the_model_not_a_list(cts):
    patient = values(**EVERYTHING_KNOWN)
    shipped = influence(cts, patient).order
    assert shipped[0] != "dominant_hand_affected"
    heavier = influence(weighted(cts, "dominant_hand_affected", 40.0), patient)
    assert heavier.order[0] == "dominant_hand_affected"
    without = influence(weighted(cts, "nrs_pain_0", 0.0), patient)
    assert without.swings["nrs_pain_0"] == pytest.approx(0.0, abs=1e-12)  # everything known: it moves nothing
    assert without.order[-1] == "nrs_pain_0" or without.swings[without.order[-1]] == 0.0


def test_another_patient_row_gives_another_order(cts):
    empty = influence(cts, values(age=57)).order
    retired = influence(cts, values(age=57, work_status="retired", nrs_pain_0=9.0, bctq_fss_0=3.0)).order
    assert empty != retired


def test_nothing_known_explains_nothing_and_everything_known_explains_all(cts):
    assert explained_shares(cts, set()) == pytest.approx([0.0] * 4, abs=1e-12)
    assert explained_share(cts, set(NAMES)) == pytest.approx(1.0)


def test_one_known_input_explains_its_squared_correlation_with_the_score(cts):
    """For a single encoded feature j the share is corr(a'x, x_j)² — computed here from the covariance."""
    space = cts.features
    index = [source for _, source in space.names].index("nrs_pain_0")
    shares = explained_shares(cts, {"nrs_pain_0"})
    expected = []
    for arm in ("conservative", "surgery"):
        for outcome in ("pain", "function"):
            a = cts.outcomes[(arm, outcome, 12)].mean_coef[:space.n_encoded]
            covariance = a @ space.cov[:, index]
            expected.append(covariance ** 2 / (space.cov[index, index] * (a @ space.cov @ a)))
    assert shares == pytest.approx(expected, rel=1e-6)


@settings(max_examples=40, deadline=None)
@given(st.sets(st.sampled_from(NAMES)), st.sampled_from(NAMES))
def test_knowing_one_more_input_never_explains_less(cts, known, extra):
    before, after = explained_shares(cts, known), explained_shares(cts, known | {extra})
    assert all(b <= a + 1e-9 for b, a in zip(before, after))


@pytest.mark.parametrize("known", [set(), {"age"}, {"age", "sex", "bmi", "smoker", "diabetes", "bilateral"}])
def test_the_answers_named_make_it_personal_and_the_last_one_is_needed(cts, known):
    named = to_personal(cts, known)
    assert named and not set(named) & known
    assert explained_share(cts, known | set(named)) >= PERSONAL_SHARE
    assert explained_share(cts, known | set(named[:-1])) < PERSONAL_SHARE


def test_minor_answers_do_not_make_it_personal_however_many(cts):
    """The threshold is about influence, not a count of filled fields."""
    minor = {"age", "sex", "bmi", "diabetes", "smoker", "bilateral", "dominant_hand_affected", "prior_injection",
             "night_symptoms"}
    assert not influence(cts, values(**{name: EVERYTHING_KNOWN[name] for name in minor})).personal
    assert influence(cts, values(**EVERYTHING_KNOWN)).personal


@pytest.mark.parametrize("pain, possible", [(1.0, False), (2.0, True), (6.0, True)])
def test_an_improvement_that_does_not_fit_on_the_scale_is_said_so(models, pain, possible):
    prediction = models.predict({"condition": "CTS", "age": 57, "nrs_pain_0": pain})
    for option in ("conservative", "surgery"):
        outcome = prediction.option(option).pain
        assert outcome.improvement_possible is possible and outcome.baseline == pain
        if not possible:
            assert outcome.improvement_probability == 0.0


def test_function_at_the_top_of_the_thumb_base_scale_has_no_room_to_improve(models):
    prediction = models.predict({"condition": "CMC1_OA", "age": 60, "mhq_function_0": 95})
    assert not prediction.surgery.function.improvement_possible
    assert prediction.surgery.function.improvement_probability == 0.0
    assert models.predict({"condition": "CMC1_OA", "age": 60, "mhq_function_0": 60}).surgery.function \
        .improvement_possible


def test_unknown_baseline_leaves_the_improvement_possible(models):
    prediction = models.predict({"condition": "CTS", "age": 57})
    assert prediction.surgery.pain.baseline is None and prediction.surgery.pain.improvement_possible
    assert 0 < prediction.surgery.pain.improvement_probability < 1


def test_swings_are_finite_and_within_a_share_of_the_scale(cts):
    swings = input_swings(cts, values(age=57))
    assert set(swings) == set(NAMES)
    assert all(np.isfinite(value) and 0 <= value <= 1 for value in swings.values())
