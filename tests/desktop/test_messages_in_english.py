"""An English reader reads English: every message the domain core and the operations make.

Each message is rendered in both languages and checked against the other language's
catalogue: no Dutch catalogue sentence (a piece of a template between its parameters) in an
English text, and the reverse; and no internal field name (`inclusion_date`, `agreed: true`)
in either, since a field is named by its label.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from desktop.bundle_files import load_bundles
from desktop.core import messages
from desktop.core.eligibility import FAIL, PASS, UNKNOWN, Episode, evaluate
from desktop.core.inputs import INCLUSION_FIELDS, InputError, parse_case, parse_inclusion
from desktop.core.messages import Listing, either
from desktop.operations import worklist
from desktop.operations.failures import InvalidChange, NotEligible, RecordNotFound
from desktop.store.faults import MESSAGES, StorageError
from tests.helpers import inclusion, valid_bsns

BUNDLES = load_bundles()
TODAY = dt.date(2026, 11, 24)
BSN = valid_bsns(1)[0]


def fragments(language: str) -> set[str]:
    """The fixed pieces (of two words or more) of every template of `language` that the other never uses."""
    other = list(messages.catalogue("en" if language == "nl" else "nl").values())
    pieces = set()
    for template in messages.catalogue(language).values():
        for piece in re.split(r"\{[^{}]*\}", template):
            piece = piece.strip(" .,;:()—-")
            # words of a sentence, not one word (a code value such as `conservative` is the same in both)
            if len(piece) >= 8 and " " in piece and not any(piece in theirs for theirs in other):
                pieces.add(piece)
    return pieces


DUTCH, ENGLISH = fragments("nl"), fragments("en")
# Internal names: what the code and the files call a field, never what a user reads.
# The recorded shared decision (desktop/core/decision_support.py) is made by the program, never typed:
# its refusals (keyed too) name its parts by their names, so it is left out of this check.
KEYED_FIELDS = tuple(name for name in INCLUSION_FIELDS if name != "decision_support")
NAMES = "|".join(name for name in KEYED_FIELDS if "_" in name)
INTERNAL = re.compile(rf"\b(?:{NAMES})\b|agreed: ?true|facts\.\w|\w+\[\d+\]")


def assert_in_its_language(message):
    english, dutch = message.get("en"), message.get("nl")
    assert not [piece for piece in DUTCH if piece in english], english
    assert not [piece for piece in ENGLISH if piece in dutch], dutch
    assert not INTERNAL.search(english), english
    assert not INTERNAL.search(dutch), dutch


def test_the_check_finds_dutch_in_an_english_text():
    """The check itself could fail: a Dutch sentence left in an English rendering is found."""
    leaked = messages.Plain("Inclusion date: ligt in de toekomst; een inclusie wordt op of na het consult "
                            "geregistreerd")
    with pytest.raises(AssertionError):
        assert_in_its_language(leaked)
    with pytest.raises(AssertionError):
        assert_in_its_language(messages.Plain("inclusion_date: is in the future"))


# -- eligibility: every rule's pass, fail and unknown -------------------------------------------------

def episode(start: str, condition="CTS", side="R", bundle="hand-wrist"):
    day = dt.date.fromisoformat(start)
    return Episode(bundle, condition, side, day, day + dt.timedelta(days=364), "synced")


CASES = [  # (bundle, fields, episodes): together they make every outcome of every rule kind
    ("hand-wrist", {}, []),
    ("hand-wrist", {"insurer_uzovi": None, "birth_date": None, "diagnosis": None}, []),
    ("hand-wrist", {"insurer_uzovi": "9018", "diagnosis": "M16.1", "birth_date": "2010-01-01",
                    "inclusion_date": "2027-02-01"}, []),
    ("hand-wrist", {"insurer_uzovi": "0000"}, []),
    ("hand-wrist", {}, [episode("2025-01-10")]),
    ("hand-wrist", {"diagnosis": None}, [episode("2025-01-10")]),
    ("hand-wrist", {"diagnosis": "M16.1"}, [episode("2025-01-10")]),
    ("hand-wrist", {"diagnosis": "M18.1"}, [episode("2025-01-10")]),
    ("hip-fracture", {"diagnosis": "S72.0", "side": None, "birth_date": "1940-01-01"},
     [episode("2025-01-10", "HIP_FRACTURE", "L", "hip-fracture")]),
    ("hip-fracture", {"diagnosis": "S72.0", "birth_date": "1940-01-01", "facts": {"low_energy_trauma": "ja"}}, []),
    ("hip-fracture", {"diagnosis": "S72.0", "birth_date": "1940-01-01", "facts": {"low_energy_trauma": "nee"}}, []),
    ("hip-fracture", {"diagnosis": "S72.0", "birth_date": "1940-01-01"}, []),
    ("stockholm-hip-knee", {"diagnosis": "M17.1", "facts": {"asa_class": 1}}, []),
    ("stockholm-hip-knee", {"diagnosis": "M17.1", "facts": {"asa_class": 3}}, []),
    ("claudication", {"diagnosis": "I73.9", "facts": {"ankle_brachial_index": "0,7",
                                                      "critical_limb_ischemia": "nee"}}, []),
]


def decide(bundle: str, fields: dict, episodes: list):
    data = {"bundle": bundle, "inclusion_date": "2025-03-14", "birth_date": "1971-06-02", "diagnosis": "G56.0",
            "side": "R", "insurer_uzovi": "3311", **fields}
    case, found = parse_case({k: v for k, v in data.items() if v is not None}, BUNDLES, today=TODAY)
    return evaluate(case, found, episodes)


def test_every_rule_outcome_reads_in_its_language():
    seen = set()
    for bundle, fields, episodes in CASES:
        for rule in decide(bundle, fields, episodes).rules:
            seen.add((rule.kind, rule.outcome))
            if isinstance(rule.reason, messages.Msg):  # a bundle file's own fail_reason is its data
                assert_in_its_language(rule.reason)
    every = {(kind, outcome) for kind in ("insurer", "diagnosis", "age", "active_episode", "fact")
             for outcome in (PASS, FAIL, UNKNOWN)} | {("contract_window", PASS), ("contract_window", FAIL)}
    assert every - seen == set()  # (the contract window is never unknown: the inclusion date defaults to today)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(birth=st.dates(dt.date(1900, 1, 1), dt.date(2025, 3, 14)),
       uzovi=st.sampled_from(["3311", "9018", "0000", "3343", None]),
       diagnosis=st.sampled_from(["G56.0", "M18.1", "M16.1", "S72.0", "M17.1", None]),
       bundle=st.sampled_from(sorted(BUNDLES.bundles)),
       started=st.dates(dt.date(2024, 1, 1), dt.date(2025, 3, 14)))
def test_any_case_reads_in_its_language(birth, uzovi, diagnosis, bundle, started):
    fields = {"birth_date": birth.isoformat(), "insurer_uzovi": uzovi, "diagnosis": diagnosis}
    decision = decide(bundle, fields, [episode(started.isoformat(), bundle=bundle)])
    for rule in decision.rules:
        if isinstance(rule.reason, messages.Msg):
            assert_in_its_language(rule.reason)


# -- input errors of a CASE file and of a register line -----------------------------------------------

BAD_VALUES = st.one_of(st.none(), st.booleans(), st.integers(-5, 99999999999), st.text(max_size=12),
                       st.sampled_from(["", " ", "2025-13-01", "x\x00y", "2030-01-01", "1800-01-01", "links",
                                        "G56", "AB", "ja", "\ud800"]),
                       st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=3), st.integers(),
                                                                            max_size=2))


@settings(max_examples=300, deadline=None)
@given(changes=st.dictionaries(st.sampled_from(KEYED_FIELDS), BAD_VALUES, min_size=1, max_size=5))
def test_every_input_error_of_a_case_file_and_a_register_line_reads_in_its_language(changes):
    for parse in (lambda data: parse_case(data, BUNDLES, TODAY), lambda data: parse_inclusion(data, BUNDLES, TODAY)):
        try:
            parse({**inclusion(BSN), **changes})
        except InputError as refused:
            for problem in refused.problems:
                assert_in_its_language(problem)
            assert_in_its_language(refused.message)


@pytest.mark.parametrize("data", [[], "tekst", {"previous_inclusions": "x"},
                                  {"previous_inclusions": [1, {"bundle": ""}, {"bundle": "hand-wrist", "status": 3},
                                                           {"bundle": "hand-wrist", "condition": "knie",
                                                            "inclusion_date": "2024-01-01"}]},
                                  {"bundle": "knie"}, {"bundle": None}, {"facts": [1]}])
def test_a_malformed_case_file_reads_in_its_language(data):
    with pytest.raises(InputError) as refused:
        parse_inclusion(data if not isinstance(data, dict) else {**inclusion(BSN), **data}, BUNDLES, TODAY)
    assert_in_its_language(refused.value.message)
    assert refused.value.text("en") != refused.value.text("nl")


def test_a_refused_save_names_the_label_and_not_the_internal_name():
    line = inclusion(BSN, inclusion_date="2030-01-01", end_date=None, agreed=False)
    with pytest.raises(InputError) as refused:
        parse_inclusion(line, BUNDLES, TODAY)
    english = refused.value.text("en")
    assert "Inclusion date: is in the future" in english and "Patient's consent: the patient must" in english
    assert "Inclusiedatum: ligt in de toekomst" in refused.value.text("nl")
    assert "inclusion_date" not in english and "agreed" not in english.replace("agreed to", "")


# -- save errors, corrections, storage faults ---------------------------------------------------------

def test_a_save_the_fresh_check_refuses_reads_in_its_language():
    decision = decide("hand-wrist", {"birth_date": "2010-01-01"}, [])
    refused = NotEligible(decision)
    assert_in_its_language(refused.message)
    assert "only for 18 years and older" in refused.text("en") and str(refused) == refused.text("nl")


def test_withdrawals_and_corrections_refused_read_in_their_language(services):
    record = services.register(parse_inclusion(inclusion(BSN), services.bundles, TODAY))
    attempts = [lambda: services.registry.withdraw(record["id"], " "),
                lambda: services.registry.withdraw(record["id"], "x" * 3000),
                lambda: services.registry.withdraw("nope", "reden"),
                lambda: services.registry.correct(record["id"], {"side": "L"}, ""),
                lambda: services.registry.correct(record["id"], {"diagnosis": "M18.1", "bsn": BSN}, "typfout"),
                lambda: services.registry.correct(record["id"], {"clinician_agb": "12", "location": None}, "typfout")]
    for attempt in attempts:
        with pytest.raises((InvalidChange, RecordNotFound)) as refused:
            attempt()
        assert_in_its_language(refused.value.message)
    services.registry.withdraw(record["id"], "dubbel ingevoerd")
    for attempt in (lambda: services.registry.withdraw(record["id"], "nog eens"),
                    lambda: services.registry.correct(record["id"], {"side": "L"}, "typfout")):
        with pytest.raises(InvalidChange) as refused:
            attempt()
        assert_in_its_language(refused.value.message)


@pytest.mark.parametrize("kind", sorted(MESSAGES))
def test_every_storage_fault_reads_in_its_language(kind):
    fault = StorageError(kind, path="/data/register.db", folder="/data", detail="disk I/O error", device_id="dev-1",
                         records=3, found=1)
    assert_in_its_language(fault.message)
    assert "?" not in fault.text("en") and str(fault) == fault.text("nl")


# -- lookups and the worklist's words for the server --------------------------------------------------

def test_lookups_without_a_server_read_in_their_language(services):
    born, on = dt.date(1971, 6, 2), TODAY
    insurer = services.lookup_insurer(BSN, born, on)
    intake = services.lookup_intake(BSN, born, on)
    for found in (insurer, intake):
        assert_in_its_language(found.message)
    assert insurer.message.get("en").startswith("no server set up") and "kies" not in insurer.message.get("en")


@pytest.mark.parametrize("said", [
    "al geïncludeerd vanaf 2025-01-10", "al geïncludeerd vanaf 2025-01-10 (Utrecht)", "record 3: side: moet L zijn",
    "record 3: birth_date: ligt in de toekomst",
    *(messages.text(key, "nl") for key in worklist.REJECTION_KEYS.values()),
    "afgewezen: de server mist een eerdere wijziging van deze inclusie; vraag IT om hulp. De inclusie blijft hier "
    "bewaard."])
def test_the_servers_answers_read_in_their_language(said):
    shown = worklist.server_words(said)
    english = shown.get("en")
    assert english.startswith(("Duplicate", "Rejected")), english
    for piece in DUTCH:  # what the server itself said stays its words; the sentence around it is English
        assert piece not in english.replace(said, "") or piece in said, piece


def test_lists_read_in_the_readers_language():
    assert either(["L", "R", "both"]).get("nl") == "L, R of both"
    assert either(["L", "R", "both"]).get("en") == "L, R or both"
    assert messages.both([messages.msg("core.field.side"), "BSN"]).get("en") == "Side and BSN"
    assert Listing(("a",), "core.list.or").get("en") == "a"
    assert messages.joined([dt.date(2025, 1, 2), 3], "; ").get("nl") == "02-01-2025; 3"


def test_a_backup_that_cannot_be_used_reads_in_its_language(tmp_path):
    from desktop.store import backups

    refusals = []
    for attempt in (lambda: backups.read(tmp_path / "gone.sqlite3", None),
                    lambda: backups.recover_key(tmp_path / "register.sqlite3", "geen sleutel"),
                    lambda: backups.recover_key(tmp_path / "register.sqlite3", "ab" * 32)):
        with pytest.raises(backups.BackupError) as refused:
            attempt()
        refusals.append(refused.value)
    for refused in refusals:
        assert_in_its_language(refused.message)
        assert str(refused) == refused.text("nl") != refused.text("en")
