"""The decision support a record keeps: its shape mirrors the predictors, and the check refuses what
a device must never store (the property test against the server is tests/sync/test_decision_support_sync.py)."""

from __future__ import annotations

import copy

import pytest

from desktop.core import decision_support as ds
from desktop.core.identifiers import InvalidField
from predictors import load_models, schema
from predictors.model import column_names


def test_the_names_scales_and_ranges_are_the_predictors():
    assert tuple(column_names()) == ds.PREDICTION_COLUMNS
    assert ds.CONDITIONS == schema.CONDITIONS and ds.OPTIONS == schema.OPTIONS
    model_columns = {column.name: column for condition in schema.CONDITIONS
                     for column in schema.baseline_columns(condition)}
    assert set(ds.INPUT_COLUMNS) == set(model_columns)
    for name, column in ds.INPUT_COLUMNS.items():
        model = model_columns[name]
        assert (column.kind, column.levels, column.integer) == (model.kind, model.levels, model.integer), name
        if column.kind == "number":
            assert (column.low, column.high) == (model.low, model.high), name
    for condition in schema.CONDITIONS:
        assert (schema.PAIN[condition].low, schema.PAIN[condition].high) == ds.PAIN_SCALE
        assert ds.FUNCTION_SCALE[condition] == (schema.FUNCTION[condition].low, schema.FUNCTION[condition].high)
        assert schema.PAIN[condition].higher_is_better == ds.PAIN_HIGHER_IS_BETTER
        assert schema.FUNCTION[condition].higher_is_better == ds.FUNCTION_HIGHER_IS_BETTER[condition]


@pytest.fixture(scope="module")
def shown():
    from desktop.operations.prediction import decision_support

    patient = {"condition": "CTS", "age": 61, "sex": "F", "work_status": "physical", "nrs_pain_0": 7}
    return decision_support(load_models().predict(patient), patient, {"nrs_pain_0": 7}, "2025-03-01")


def test_what_the_operations_make_passes_unchanged(shown):
    assert ds.check_decision_support(copy.deepcopy(shown), "CTS") == shown
    assert shown["inputs"]["nrs_pain_0"] == {"value": 7.0, "source": "questionnaire"}
    assert shown["inputs"]["age"] == {"value": 61.0, "source": "entered"}
    assert shown["questionnaire_completed_at"] == "2025-03-01"


def changed(support: dict, path: tuple, value) -> dict:
    support = copy.deepcopy(support)
    target = support
    for key in path[:-1]:
        target = target[key]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return support


@pytest.mark.parametrize(("path", "value", "where"), [
    (("extra",), 1, "decision_support"),
    (("predictions",), KeyError, "decision_support"),
    (("model_version",), "", "decision_support.model_version"),
    (("model_version",), "v" * 101, "decision_support.model_version"),
    (("computed_at",), "gisteren", "decision_support.computed_at"),
    (("questionnaire_completed_at",), "2025-02-30", "decision_support.questionnaire_completed_at"),
    (("inputs", "eye_colour"), {"value": 1, "source": "entered"}, "decision_support.inputs"),
    (("inputs", "nrs_pain_0", "value"), 11, "decision_support.inputs.nrs_pain_0.value"),
    (("inputs", "nrs_pain_0", "value"), True, "decision_support.inputs.nrs_pain_0.value"),
    (("inputs", "nrs_pain_0", "source"), "guessed", "decision_support.inputs.nrs_pain_0.source"),
    (("inputs", "bmi"), {"value": 22, "source": "estimated"}, "decision_support.inputs.bmi"),
    (("inputs", "sex", "value"), "X", "decision_support.inputs.sex.value"),
    (("inputs", "ncs_severity"), {"value": 1.5, "source": "entered"}, "decision_support.inputs.ncs_severity.value"),
    (("inputs", "sex", "note"), "x", "decision_support.inputs.sex"),
    (("predictions", "surgery_pain12_mean"), 10.5, "decision_support.predictions.surgery_pain12_mean"),
    (("predictions", "surgery_pain12_mean"), None, "decision_support.predictions.surgery_pain12_mean"),
    (("predictions", "surgery_pain12_mean"), float("nan"), "decision_support.predictions.surgery_pain12_mean"),
    (("predictions", "surgery_pain12_mean"), "3.1", "decision_support.predictions.surgery_pain12_mean"),
    (("predictions", "conservative_surgery12m_prob"), 1.01,
     "decision_support.predictions.conservative_surgery12m_prob"),
    (("predictions", "surgery_function12_mean"), 5.5, "decision_support.predictions.surgery_function12_mean"),
    (("predictions", "surgery_rtw_median_days"), -1, "decision_support.predictions.surgery_rtw_median_days"),
    (("predictions", "surgery_score"), 0.5, "decision_support.predictions"),
])
def test_anything_else_is_refused_naming_the_part(shown, path, value, where):
    with pytest.raises(InvalidField) as refused:
        ds.check_decision_support(changed(shown, path, value), "CTS")
    assert refused.value.field == where


def test_the_scales_follow_the_condition_and_other_conditions_have_no_predictions(shown):
    mhq = changed(shown, ("predictions", "surgery_function12_mean"), 55.0)  # fine on the MHQ's 0-100
    assert ds.check_decision_support(mhq, "CMC1_OA")["predictions"]["surgery_function12_mean"] == 55.0
    with pytest.raises(InvalidField):
        ds.check_decision_support(mhq, "CTS")  # not on the BCTQ's 1-5
    with pytest.raises(InvalidField):
        ds.check_decision_support(shown, "HIP_FRACTURE")
    empty = changed(shown, ("predictions", "surgery_rtw6w_prob"), None)  # not employed: empty is fine
    assert ds.check_decision_support(empty, "CTS")["predictions"]["surgery_rtw6w_prob"] is None
