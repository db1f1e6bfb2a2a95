"""One contract for the decision support: the server accepts exactly the shapes a device stores.

Hypothesis starts from what the operations make for a real prediction and changes up to three
parts of it to values at and beyond the edges (numbers at, just inside and just outside their
scales, empty where empty is not allowed, NaN, booleans, text, unknown and missing keys, long
and odd model versions, time stamps in and out of ISO 8601), for either condition. Each goes
through the device's own path (the input parser, a registration in a real SQLite register, the
record the sync engine pushes); the server judges that record — or, when the device refused,
the same decision support from a device that skips every check — with its real push path, in
process for many examples and over HTTP against a real server process for a bounded number.
"""

from __future__ import annotations

import copy
import json
import math
import uuid

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from desktop.core import decision_support as ds
from helpers import valid_bsns
from test_record_contract import (  # noqa: F401  (the fixtures registry and sqlite_server_device)
    REPORT,
    device_record,
    hostile_record,
    registry,
    server_accepts_in_process,
    sqlite_server_device,
)

BSNS = iter(valid_bsns(3000, start=270_000_000))


def shown(condition: str) -> dict:
    from desktop.operations.prediction import decision_support
    from predictors import load_models

    patient = {"condition": condition, "age": 63, "nrs_pain_0": 6, "work_status": "physical", "sex": "F"}
    return decision_support(load_models().predict(patient), patient, {"nrs_pain_0": 6}, "2025-03-01")


SHOWN = {condition: shown(condition) for condition in ds.CONDITIONS}
DIAGNOSIS = {"CTS": "G56.0", "CMC1_OA": "M18.1"}
ODD_NUMBERS = [math.nan, math.inf, True, "0.5", None, -0.0, 2**60]


def number_near(low: float, high: float):
    return st.one_of(st.sampled_from([low, high, low - 1e-9, high + 1e-9, (low + high) / 2, high + 1, low - 1]),
                     st.sampled_from(ODD_NUMBERS))


def prediction_change(condition: str):
    def change(name: str):
        low, high = ds.prediction_range(name, condition)
        return number_near(low, high).map(lambda value: (("predictions", name), value))
    return st.sampled_from(ds.PREDICTION_COLUMNS).flatmap(change)


def input_change():
    def change(name: str):
        column = ds.INPUT_COLUMNS[name]
        values = st.sampled_from([*column.levels, "x", 1]) if column.kind == "category" else \
            number_near(column.low, column.high)
        item = st.fixed_dictionaries({"value": values, "source": st.sampled_from([*ds.SOURCES, "guessed"])})
        return st.one_of(item, st.just({"value": None, "source": "estimated"}), st.just({"value": 1}),
                         st.just("5")).map(lambda value: (("inputs", name), value))
    return st.sampled_from(sorted(ds.INPUT_COLUMNS)).flatmap(change)


TOP_LEVEL = st.one_of(
    st.tuples(st.just(("model_version",)), st.one_of(
        st.sampled_from(["", " ", "v" * 100, "v" * 101, "a\x00b", "\ud800", 7, None]), st.text(max_size=8))),
    st.tuples(st.just(("computed_at",)), st.sampled_from([
        "2025-03-14T09:30:00Z", "2025-03-14 09:30", "2025-03-14T09:30:00+0100", "gisteren", "2025-02-30T10:00:00",
        "2025-03-14", None, 5])),
    st.tuples(st.just(("questionnaire_completed_at",)), st.sampled_from([
        None, "2025-03-01", "2025-02-30", "2025-03-01T08:30:00+01:00", "maart", 3])),
    st.tuples(st.sampled_from([("extra",), ("inputs", "eye_colour"), ("predictions", "surgery_score")]),
              st.just(0.5)),
    st.tuples(st.sampled_from([("inputs",), ("predictions",), ("model_version",), ("inputs", "age"),
                               ("predictions", "surgery_pain12_mean")]), st.just(KeyError)),
    st.tuples(st.sampled_from([("inputs",), ("predictions",)]), st.sampled_from([[], "x", None])),
)


def apply(support: dict, changes) -> dict:
    support = copy.deepcopy(support)
    for path, value in changes:
        target = support
        for key in path[:-1]:
            if not isinstance(target, dict) or key not in target:
                break
            target = target[key]
        else:
            if isinstance(target, dict):
                if value is KeyError:
                    target.pop(path[-1], None)
                else:
                    target[path[-1]] = value
    return support


@st.composite
def supports(draw):
    condition = draw(st.sampled_from(ds.CONDITIONS))
    changes = draw(st.lists(st.one_of(prediction_change(condition), input_change(), TOP_LEVEL), max_size=3))
    other = draw(st.sampled_from(ds.CONDITIONS))  # now and then shown for the other condition's scales
    return condition, apply(SHOWN[other if draw(st.integers(0, 9)) == 0 else condition], changes)


def inclusion(condition: str, support: dict) -> dict:
    return {"bundle": "hand-wrist", "inclusion_date": "2025-03-14", "birth_date": "1961-02-10",
            "diagnosis": DIAGNOSIS[condition], "side": "R", "insurer_uzovi": "3311", "facts": {},
            "bsn": next(BSNS), "name": "J. Jansen", "clinician_agb": "01234567", "location": "Utrecht",
            "explained_by": "SUO Bakker", "agreed": True, "explanation_language": "nl", "explained_at": None,
            "insurer_checked_at": None, "handout_printed": False, "initial_treatment": "surgery",
            "insurer_source": None, "decision_support": support}


def pushed_by_each(registry, condition: str, support: dict) -> tuple[dict | None, dict]:
    """The device's record (None: refused) and the record a device that checks nothing sends."""
    data = inclusion(condition, support)
    device = device_record(registry, data, None)
    hostile = hostile_record(data, None)
    hostile["decision_support"] = support
    return device, hostile


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(supports())
def test_the_server_accepts_exactly_the_decision_support_the_device_stores(registry, example):
    condition, support = example
    device, hostile = pushed_by_each(registry, condition, support)
    event("device accepted" if device is not None else "device refused")
    if device is not None:
        assert device["decision_support"] == ds.check_decision_support(support, condition)
        assert server_accepts_in_process(device), ("device accepted, server refused", support)
    else:
        assert not server_accepts_in_process(hostile), ("device refused, server accepted", support)


def test_both_verdicts_are_reached(registry):
    """The property means something only if both sides are exercised, for both conditions."""
    for condition in ds.CONDITIONS:
        device, _ = pushed_by_each(registry, condition, SHOWN[condition])
        assert device is not None and server_accepts_in_process(device)
        wrong = apply(SHOWN[condition], [(("predictions", "conservative_surgery12m_prob"), 1.0001)])
        device, hostile = pushed_by_each(registry, condition, wrong)
        assert device is None and not server_accepts_in_process(hostile)
    assert REPORT.bundles["hand-wrist"].condition_for_code("M18.1").id == "CMC1_OA"


def json_safe(value) -> bool:
    try:
        json.dumps(value, allow_nan=False).encode("utf-8")
    except (ValueError, UnicodeEncodeError):
        return False
    return True


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(example=supports())
def test_a_real_server_process_agrees(sqlite_server_device, registry, example):
    condition, support = example
    device, hostile = pushed_by_each(registry, condition, support)
    record = device if device is not None else hostile
    if not json_safe(record):  # NaN or a lone surrogate cannot travel as JSON: the in-process test covers them
        event("not sendable as JSON")
        return
    record["id"] = str(uuid.uuid4())
    record["device_id"] = sqlite_server_device.device_id
    (answer,) = sqlite_server_device.push_ok([record])
    assert answer["result"] == ("accepted" if device is not None else "rejected"), (answer, support)

