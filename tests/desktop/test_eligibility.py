"""The engine in-process: rule semantics that the CLI scenarios rely on."""

import datetime as dt

import pytest

from desktop.bundle_files import load_bundles
from desktop.core.eligibility import ELIGIBLE, NEEDS_INFORMATION, NOT_ELIGIBLE, Episode, evaluate
from desktop.core.inputs import InputError, parse_case

BUNDLES = load_bundles()


def decide(episodes=(), **fields):
    data = {"bundle": "hand-wrist", "inclusion_date": "2025-03-14", "birth_date": "1971-06-02",
            "diagnosis": "G56.0", "side": "R", "insurer_uzovi": "3311"}
    data.update(fields)
    case, bundle = parse_case(data, BUNDLES, today=dt.date(2026, 11, 24))
    return evaluate(case, bundle, list(episodes))


def episode(start, condition="CTS", side="R", state="synced", bundle="hand-wrist", days=365):
    start = dt.date.fromisoformat(start)
    return Episode(bundle, condition, side, start, start + dt.timedelta(days=days - 1), state)


def outcome(decision, kind):
    return next(r for r in decision.rules if r.kind == kind).outcome


def test_every_rule_reason_is_given_in_dutch_and_english():
    decision = decide(insurer_uzovi="9018", diagnosis="M16.1", birth_date="2010-01-01",
                      inclusion_date="2027-02-01")
    assert decision.status == NOT_ELIGIBLE
    assert decision.failed_rules == ["insurer", "contract_window", "diagnosis", "age"]
    for rule in decision.rules:
        dutch, english = rule.reason.get("nl"), rule.reason.get("en")
        assert dutch and english and dutch != english
    assert "CZ (9018)" in decision.reasons()[0] and "Zilveren Kruis (3311)" in decision.reasons()[0]


def test_failure_wins_over_missing_information():
    decision = decide(insurer_uzovi=None, diagnosis="G56.1")
    assert decision.status == NOT_ELIGIBLE
    assert decision.failed_rules == ["diagnosis"]
    assert decision.missing == ["insurer_uzovi"]


def test_all_missing_inputs_are_named_once():
    decision = decide(insurer_uzovi=None, diagnosis=None, birth_date=None)
    assert decision.status == NEEDS_INFORMATION
    assert decision.missing == ["insurer_uzovi", "diagnosis", "birth_date"]


@pytest.mark.parametrize("start, blocked", [
    ("2024-03-15", True),    # last day 2025-03-14: still running on the inclusion date
    ("2024-03-14", False),   # last day 2025-03-13: ended the day before
    ("2025-06-01", True),    # a later episode that the new one would overlap
    ("2026-03-14", False),   # starts the day after the new episode ends
])
def test_episode_window_is_365_days_inclusive(start, blocked):
    decision = decide([episode(start)])
    assert (outcome(decision, "active_episode") == "fail") is blocked


def test_withdrawn_and_rejected_inclusions_do_not_block_but_duplicate_flagged_ones_do():
    assert decide([episode("2025-01-01", state="withdrawn")]).status == ELIGIBLE
    assert decide([episode("2025-01-01", state="rejected")]).status == ELIGIBLE
    assert decide([episode("2025-01-01", state="duplicate")]).failed_rules == ["active_episode"]


def test_episode_key_is_patient_and_condition_so_the_other_hand_is_blocked_too():
    assert decide([episode("2025-01-01", side="L")]).failed_rules == ["active_episode"]
    assert decide([episode("2025-01-01", condition="CMC1_OA")]).status == ELIGIBLE
    assert decide([episode("2025-01-01", bundle="hip-fracture")]).status == ELIGIBLE


def test_side_in_the_episode_key_asks_for_the_side_only_when_it_matters():
    base = {"bundle": "hip-fracture", "diagnosis": "S72.0", "birth_date": "1940-01-01", "insurer_uzovi": None,
                "facts": {"low_energy_trauma": True}}
    hip = [episode("2025-01-01", condition="HIP_FRACTURE", side="L", bundle="hip-fracture")]
    assert decide(**base, side=None).status == ELIGIBLE
    unknown = decide(hip, **base, side=None)
    assert (unknown.status, unknown.missing) == (NEEDS_INFORMATION, ["side"])
    assert decide(hip, **base, side="R").status == ELIGIBLE
    assert decide(hip, **base, side="L").failed_rules == ["active_episode"]
    assert decide(hip, **base, side="both").failed_rules == ["active_episode"]


def test_running_episode_with_unknown_diagnosis_asks_for_the_diagnosis():
    decision = decide([episode("2025-01-01")], diagnosis=None)
    assert decision.status == NEEDS_INFORMATION
    assert decision.missing == ["diagnosis"]


@pytest.mark.parametrize("answer, status", [
    (True, ELIGIBLE), ("ja", ELIGIBLE), ("yes", ELIGIBLE), (1, ELIGIBLE),
    (False, NOT_ELIGIBLE), ("nee", NOT_ELIGIBLE), (None, NEEDS_INFORMATION),
])
def test_yes_no_facts_accept_dutch_and_english_answers(answer, status):
    decision = decide(bundle="hip-fracture", diagnosis="S72.1", birth_date="1950-01-01",
                      facts={"low_energy_trauma": answer})
    assert decision.status == status


@pytest.mark.parametrize("asa, status", [(1, ELIGIBLE), ("2", ELIGIBLE), (3, NOT_ELIGIBLE), (2.5, NOT_ELIGIBLE)])
def test_value_facts_compare_numbers(asa, status):
    decision = decide(bundle="stockholm-hip-knee", diagnosis="M17.1", facts={"asa_class": asa})
    assert decision.status == status


def test_number_fact_that_is_not_a_number_is_an_input_error():
    with pytest.raises(InputError, match=r"^ASA-klasse .*: moet een getal zijn$") as refused:
        decide(bundle="stockholm-hip-knee", diagnosis="M17.1", facts={"asa_class": "gezond"})
    # the field is named by its question (the label the clinician saw), the code keeps the fact's name
    assert [p.field for p in refused.value.problems] == ["facts.asa_class"]
    assert refused.value.text("en").endswith(": must be a number") and "facts." not in refused.value.text("en")


def test_bundle_without_contracts_ignores_the_insurer():
    decision = decide(bundle="colon-cancer", diagnosis="C18.2", insurer_uzovi=None)
    assert decision.status == ELIGIBLE
    assert {r.kind for r in decision.rules} == {"diagnosis", "age", "active_episode"}


def test_end_date_is_the_last_day_of_the_episode():
    assert decide().end_date == dt.date(2026, 3, 13)
    stroke = decide(bundle="stroke-chain", diagnosis="I63.9", inclusion_date="2025-01-01")
    assert stroke.end_date == dt.date(2026, 12, 31)
