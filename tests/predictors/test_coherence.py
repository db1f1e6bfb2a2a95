"""Every prediction is internally coherent, for every cohort row and with fields missing."""

from __future__ import annotations

import dataclasses
import math
import random

import pytest

from predictors import OPTIONS
from predictors.schema import baseline_columns, employed

PREDICTOR_NAMES = {c: [col.name for col in baseline_columns(c)] for c in ("CTS", "CMC1_OA")}


def check_coherent(prediction, patient):
    for name in OPTIONS:
        option = prediction.option(name)
        assert option.option == name
        for outcome in (option.pain, option.function):
            for moment in (outcome.month3, outcome.month12):
                assert outcome.low <= moment.p10 <= moment.mean <= moment.p90 <= outcome.high
                assert all(math.isfinite(v) for v in (moment.p10, moment.mean, moment.p90))
            assert 0.0 <= outcome.improvement_probability <= 1.0
        if prediction.employed:
            rtw = option.return_to_work
            assert rtw is not None
            assert 0.0 <= rtw.back_within_6_weeks <= rtw.back_within_12_weeks <= 1.0
            assert rtw.median_days is None or rtw.median_days >= 0
        else:
            assert option.return_to_work is None
    assert 0.0 <= prediction.conservative.surgery_within_12_months <= 1.0
    assert prediction.surgery.surgery_within_12_months is None
    status = (patient.get("work_status") or "").strip() or None
    assert prediction.employed == employed(status)
    check_shown_is_kept(prediction)


def check_shown_is_kept(prediction):
    """What the window shows (the options' numbers) is what the record keeps (the batch columns), to the digit."""
    columns = prediction.columns
    for name in OPTIONS:
        option = prediction.option(name)
        for outcome_name, outcome in (("pain", option.pain), ("function", option.function)):
            for month, moment in ((3, outcome.month3), (12, outcome.month12)):
                stem = f"{name}_{outcome_name}{month}"
                kept = tuple(columns[f"{stem}_{stat}"] for stat in ("mean", "p10", "p90"))
                assert (moment.mean, moment.p10, moment.p90) == kept
            assert outcome.improvement_probability == columns[f"{name}_{outcome_name}_mcid_prob"]
        rtw = option.return_to_work
        if rtw is not None:
            assert (rtw.back_within_6_weeks, rtw.back_within_12_weeks, rtw.median_days) == (
                columns[f"{name}_rtw6w_prob"], columns[f"{name}_rtw12w_prob"], columns[f"{name}_rtw_median_days"])
    assert prediction.conservative.surgery_within_12_months == columns["conservative_surgery12m_prob"]


def test_every_cohort_row_gives_coherent_predictions(shipped, cohort_rows):
    predictions = shipped.predict_many(cohort_rows)
    assert len(predictions) == len(cohort_rows)
    for patient, prediction in zip(cohort_rows, predictions):
        assert prediction.condition == patient["condition"]
        check_coherent(prediction, patient)


def flatten(value, prefix=""):
    if dataclasses.is_dataclass(value):
        value = dataclasses.asdict(value)
    if isinstance(value, dict):
        items = {}
        for key, inner in value.items():
            items.update(flatten(inner, f"{prefix}{key}."))
        return items
    return {prefix: value}


def test_single_and_vectorised_prediction_agree(shipped, cohort_rows):
    sample = cohort_rows[::500]
    many = shipped.predict_many(sample)
    for patient, prediction in zip(sample, many):
        single, vectorised = flatten(shipped.predict(patient)), flatten(prediction)
        assert single.keys() == vectorised.keys()
        for key, value in single.items():
            if isinstance(value, float):
                assert value == pytest.approx(vectorised[key], rel=1e-9, abs=1e-12), key
            else:
                assert value == vectorised[key], key


@pytest.mark.parametrize("seed", range(3))
def test_randomly_missing_predictors_still_coherent(shipped, cohort_rows, seed):
    rng = random.Random(seed)
    for patient in rng.sample(cohort_rows, 300):
        blanked = dict(patient)
        for name in PREDICTOR_NAMES[patient["condition"]]:
            if rng.random() < 0.3:
                blanked[name] = rng.choice(["", None, "  "])
        prediction = shipped.predict(blanked)
        check_coherent(prediction, blanked)
        expected = {n for n in PREDICTOR_NAMES[patient["condition"]] if not str(blanked[n] or "").strip()}
        assert set(prediction.imputed) == expected


@pytest.mark.parametrize("condition", ["CTS", "CMC1_OA"])
def test_only_the_condition_known_still_predicts(shipped, condition):
    prediction = shipped.predict({"condition": condition})
    check_coherent(prediction, {})
    assert prediction.employed is None
    assert set(prediction.imputed) == set(PREDICTOR_NAMES[condition])
    assert any(note.code == "imputed" for note in prediction.notes)


def test_unknown_baseline_score_widens_the_range(shipped, cohort_rows):
    """An unknown baseline score must make the 80% range wider, not falsely precise."""
    wider = 0
    patients = [r for r in cohort_rows if r["condition"] == "CMC1_OA"][:200]
    for patient in patients:
        full = shipped.predict(patient).surgery.function.month12
        partial = shipped.predict({**patient, "mhq_function_0": "", "mhq_pain_0": ""}).surgery.function.month12
        assert partial.p90 - partial.p10 >= full.p90 - full.p10 - 1e-9 or partial.p10 == 0 or partial.p90 == 100
        wider += (partial.p90 - partial.p10) > (full.p90 - full.p10) + 0.5
    assert wider > len(patients) * 0.8


def test_scores_stay_on_the_instrument_scale_for_extreme_patients(shipped):
    base = {"condition": "CTS", "age": 90, "sex": "F", "work_status": "physical", "nrs_pain_0": 10,
            "bctq_fss_0": 5, "bctq_sss_0": 5, "pcs": 52, "phq4": 12, "ncs_severity": 3, "thenar_atrophy": 1,
            "symptom_duration_months": 240, "expectation": 0, "bmi": 45}
    prediction = shipped.predict(base)
    check_coherent(prediction, base)
    best = {**base, "age": 20, "nrs_pain_0": 0, "bctq_fss_0": 1, "bctq_sss_0": 1, "pcs": 0, "phq4": 0,
            "ncs_severity": 0, "thenar_atrophy": 0, "symptom_duration_months": 1, "expectation": 10}
    check_coherent(shipped.predict(best), best)
    # A baseline of 0 cannot improve by 2 points.
    assert shipped.predict(best).surgery.pain.improvement_probability == 0.0


def test_synthetic_models_say_so(shipped):
    prediction = shipped.predict({"condition": "CTS"})
    assert prediction.synthetic is True
    assert prediction.notes[0].code == "synthetic"
    assert "niet voor klinisch gebruik" in prediction.notes[0].nl
    assert prediction.model_card == "cts.card.json"
    card = shipped.card("CTS")
    assert card["synthetic"] is True
    assert card["warning"]["nl"] == "synthetische referentiedata — niet voor klinisch gebruik"
    assert "NIET VOOR KLINISCH GEBRUIK" in shipped.card_markdown("CTS").splitlines()[2]
