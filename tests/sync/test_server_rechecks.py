"""The server re-checks every record with the device's rules, on its own bundle definitions.

A second, hostile device speaks raw HTTP and pushes what the device's own rules refuse.
Every such record is rejected with the rule named in Dutch and the code `rule_failed`,
none is exported, and none keeps the patient's real inclusion from being accepted.
"""

import datetime as dt

import pytest
from sqlalchemy import create_engine, text

from helpers import valid_bsns
from serverproc import record
from sync.server.config import normalize_database_url

BSNS = valid_bsns(30, start=230000000)
TOMORROW_PLUS_ONE = dt.date.today() + dt.timedelta(days=2)

# (what the hostile device changes, the rule the reason must name)
REFUSED = [
    ({"agreed": False}, "regel instemming"),
    ({"eligibility_status": "not_eligible"}, "regel uitkomst"),
    ({"bundle": "knie-2030"}, "regel bundel"),
    ({"bundle_version": "2099.1"}, "regel bundel"),
    ({"insurer_uzovi": "0000"}, "regel verzekeraar"),
    ({"birth_date": "0001-01-01"}, "regel geboortedatum"),
    ({"birth_date": "2012-05-01"}, "regel leeftijd"),
    ({"end_date": "9999-12-31"}, "regel einddatum"),
    ({"inclusion_date": TOMORROW_PLUS_ONE.isoformat(),
      "end_date": (TOMORROW_PLUS_ONE + dt.timedelta(days=364)).isoformat()}, "regel inclusiedatum"),
    ({"inclusion_date": "2023-06-01", "end_date": "2024-05-30"}, "regel contractperiode"),
    ({"diagnosis": "M16.1", "condition": "CTS"}, "regel diagnose"),
    ({"diagnosis": "M18.1", "condition": "CTS"}, "regel aandoening"),
]


def csv_ids(server) -> set[str]:
    return {row["inclusion_id"] for row in server.export_rows()}


def test_records_the_device_would_refuse_are_rejected_naming_the_rule(server):
    hostile = server.enroll("aanvaller")
    records = [record(BSNS[i], **changes) for i, (changes, _) in enumerate(REFUSED)]
    results = hostile.push_ok(records)
    for (changes, rule), result in zip(REFUSED, results, strict=True):
        assert result["result"] == "rejected", (changes, result)
        assert result["code"] == "rule_failed", (changes, result)
        assert rule in result["reason"], (changes, result["reason"])
    assert csv_ids(server) == set()
    assert "EpisodeOfCare" not in server.admin("export", "--format", "fhir").stdout


def test_a_refused_record_never_makes_the_real_inclusion_a_duplicate(server):
    hostile, honest = server.enroll("aanvaller"), server.enroll("spreekkamer")
    bsn = BSNS[20]
    # an episode to 9999 and one without consent, for the same patient and condition
    blockers = [record(bsn, end_date="9999-12-31"), record(bsn, agreed=False),
                record(bsn, eligibility_status="not_eligible", inclusion_date="2025-01-02", end_date="2026-01-01")]
    assert [r["result"] for r in hostile.push_ok(blockers)] == ["rejected"] * 3
    real = record(bsn, inclusion_date="2025-06-01", end_date="2026-05-31")
    (answer,) = honest.push_ok([real])
    assert answer["result"] == "accepted", answer
    assert csv_ids(server) == {real["id"]}
    changes, _ = server.enroll("derde kamer").all_changes()
    assert [c["inclusion"]["id"] for c in changes if c["kind"] == "inclusion"] == [real["id"]]


def test_a_refused_record_is_audited_for_the_patient_with_the_rule(server):
    hostile = server.enroll("aanvaller")
    bad = record(BSNS[21], agreed=False)
    hostile.push_ok([bad])
    engine = create_engine(normalize_database_url(server.database_url))
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT outcome, details FROM audit_log WHERE action = 'inclusion_push' "
                                 "AND patient_bsn = :bsn"), {"bsn": BSNS[21]}).all()
    engine.dispose()
    assert [row.outcome for row in rows] == ["rejected"]
    assert '"agreed"' in rows[0].details


def test_a_correction_is_rechecked_but_a_repush_of_the_same_revision_stays_unchanged(server):
    device = server.enroll()
    original = record(BSNS[22])
    assert device.push_ok([original])[0]["result"] == "accepted"
    assert device.push_ok([original])[0]["result"] == "unchanged"
    worse = dict(original, revision=2, insurer_uzovi="0000")
    (answer,) = device.push_ok([worse])
    assert answer["result"] == "rejected" and "regel verzekeraar" in answer["reason"]
    assert csv_ids(server) == {original["id"]}


def test_a_server_without_bundle_definitions_accepts_nothing_and_says_what_to_do(server_without_bundles):
    device = server_without_bundles.enroll()
    (answer,) = device.push_ok([record(BSNS[23])])
    assert answer["result"] == "rejected" and answer["code"] == "rule_failed"
    assert "import-bundles" in answer["reason"]


@pytest.mark.parametrize("side", ["L", "R", "both", None])
def test_the_side_the_window_offers_is_accepted_in_a_bundle_not_keyed_by_side(server, side):
    device = server.enroll()
    (answer,) = device.push_ok([record(BSNS[24 + ["L", "R", "both", None].index(side)], side=side)])
    assert answer["result"] == "accepted", answer
