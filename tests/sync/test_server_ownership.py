"""Ownership: a record id belongs to the device that first pushed it.

A second enrolled device speaks raw HTTP as an attacker would: it takes ids from the
changes feed and pushes later revisions of them. Everything it tries must come out
`rejected` with a machine-readable code, audited under the patient, while the original
stays as it was in the export and its owner can still change it.
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import create_engine, text

from helpers import valid_bsns
from serverproc import THIS_DEVICE, ServerProcess, record, withdrawn
from sync.server.config import normalize_database_url

BSNS = valid_bsns(20, start=260000000)
LATER = "2025-03-20T08:00:00+00:00"


def export_text(server: ServerProcess) -> str:
    return server.admin("export", "--format", "csv").stdout


def query(server: ServerProcess, sql: str, **params) -> list:
    engine = create_engine(normalize_database_url(server.database_url))
    try:
        with engine.connect() as conn:
            return list(conn.execute(text(sql), params))
    finally:
        engine.dispose()


def stored(server: ServerProcess, inclusion_id: str):
    """The server's row for a record (what the exports are made from)."""
    (row,) = query(server, 'SELECT revision, state, bsn, location, device_id, "user", created_at FROM inclusions '
                           "WHERE id = :id", id=inclusion_id)
    return row


def audit_rows(server: ServerProcess, inclusion_id: str) -> list[tuple]:
    return [tuple(row) for row in query(
        server, "SELECT device_id, patient_bsn, outcome, details FROM audit_log "
                "WHERE action = 'inclusion_push' AND object_id = :id ORDER BY id", id=inclusion_id)]


def test_a_second_device_cannot_withdraw_rewrite_or_freeze_another_devices_record(server):
    owner, attacker = server.enroll("kamer 1", "Utrecht"), server.enroll("kamer 2", "Utrecht")
    original = record(BSNS[0])
    assert owner.push_ok([original])[0]["result"] == "accepted"
    before = export_text(server)

    # the attacker learns the record from its own changes feed
    changes, _ = attacker.all_changes()
    (seen,) = [c["inclusion"] for c in changes if c["kind"] == "inclusion" and c["inclusion"]["id"] == original["id"]]
    target = dict(original, id=seen["id"], device_id=attacker.device_id)
    attempts = {
        "withdraw": withdrawn(target),
        "other bsn": dict(target, revision=2, bsn=BSNS[1], updated_at=LATER),
        "owner's device_id": dict(withdrawn(target), device_id=owner.device_id),
        "huge revision": dict(withdrawn(target), revision=2**31 - 1),
        "same revision": dict(target, location="Amsterdam"),
        "stale revision": dict(target, revision=1),
    }
    results = attacker.push_ok(list(attempts.values()))
    assert [r["result"] for r in results] == ["rejected"] * len(attempts), results
    assert [r["code"] for r in results] == ["not_owner"] * len(attempts)
    assert all("ander apparaat" in r["reason"] for r in results)

    assert export_text(server) == before
    row = stored(server, original["id"])
    assert (row.revision, row.state, row.bsn, row.device_id) == (1, "registered", BSNS[0], owner.device_id)
    # nothing reached the feed, and the attacker was not told about the other patient
    later, _ = server.enroll("kamer 3").all_changes()
    revisions = [c["inclusion"]["revision"] for c in later if c["kind"] == "inclusion"]
    assert revisions == [1]
    # every attempt is audited under the patient whose record it aimed at (and the other BSN too)
    refused = [row for row in audit_rows(server, original["id"]) if row[2] == "rejected"]
    assert {row[0] for row in refused} == {attacker.device_id}
    assert sum(row[1] == BSNS[0] for row in refused) == len(attempts)
    assert any(row[1] == BSNS[1] for row in refused)
    assert all(json.loads(row[3])["code"] == "not_owner" for row in refused)

    # the record is not frozen: its owner withdraws it with the next revision
    (mine,) = owner.push_ok([withdrawn(original)])
    assert mine["result"] == "accepted"
    assert stored(server, original["id"]).state == "withdrawn"
    assert export_text(server) != before


def test_revisions_follow_one_another_and_a_gap_never_freezes_the_record(server):
    device = server.enroll()
    original = record(BSNS[2])
    device.push_ok([original])
    correction = dict(original, revision=2, location="Zeist", updated_at=LATER)
    for revision in (3, 2**31 - 1):
        (gap,) = device.push_ok([dict(correction, revision=revision)])
        assert (gap["result"], gap["code"]) == ("rejected", "revision_gap")
        assert "revisie 1" in gap["reason"] and "2" in gap["reason"]
    assert [r["result"] for r in device.push_ok([correction, correction])] == ["accepted", "unchanged"]
    assert stored(server, original["id"]).location == "Zeist"
    (late,) = device.push_ok([original])  # revision 1 again, late: the server keeps revision 2
    assert late["result"] == "unchanged"
    (conflict,) = device.push_ok([dict(correction, location="Houten")])
    assert (conflict["result"], conflict["code"]) == ("rejected", "revision_conflict")


def test_device_id_created_at_and_user_cannot_be_forged_or_rewritten(server):
    device, other = server.enroll("kamer 1"), server.enroll("kamer 2")
    forged = record(BSNS[3], device_id=other.device_id)
    (result,) = device.push_ok([forged])
    assert (result["result"], result["code"]) == ("rejected", "device_mismatch")
    assert query(server, "SELECT id FROM inclusions WHERE id = :id", id=forged["id"]) == []

    original = record(BSNS[4])
    device.push_ok([original])
    for name, value in (("created_at", LATER), ("user", "indringer")):
        (rewritten,) = device.push_ok([dict(withdrawn(original), **{name: value})])
        assert (rewritten["result"], rewritten["code"]) == ("rejected", "immutable_field"), rewritten
        assert rewritten["reason"].startswith(name)
    row = stored(server, original["id"])
    assert (row.user, row.state, row.revision) == ("a.suo", "registered", 1)
    assert str(row.created_at).startswith("2025-03-14")
    # a revision rejected for its content still counts: the device's next revision follows it
    (next_one,) = device.push_ok([dict(withdrawn(original), revision=3)])
    assert next_one["result"] == "accepted"
    assert stored(server, original["id"]).state == "withdrawn"


def test_a_rejected_record_is_audited_under_its_patient_even_when_it_does_not_parse(server):
    device = server.enroll()
    broken = record(BSNS[5], state="gepland")
    (result,) = device.push_ok([broken])
    assert (result["result"], result["code"]) == ("rejected", "invalid_record")
    rows = audit_rows(server, broken["id"])
    assert [(r[0], r[1], r[2]) for r in rows] == [(device.device_id, BSNS[5], "rejected")]


@pytest.fixture
def same_location_server(fresh_database, db_kind, tmp_path):
    process = ServerProcess(fresh_database, tmp_path, db_kind, serve_args=("--same-location-revisions",)).start()
    yield process
    process.stop()


def test_with_the_setting_a_device_of_the_same_location_may_change_the_record(same_location_server):
    server = same_location_server
    owner, colleague = server.enroll("kamer 1", "Utrecht"), server.enroll("kamer 2", "Utrecht")
    elsewhere, nowhere = server.enroll("kamer 3", "Zeist"), server.enroll("kamer 4", None)
    original = record(BSNS[6])
    owner.push_ok([original])
    change = dict(withdrawn(original), device_id=THIS_DEVICE)  # each sends under its own device id
    for stranger in (elsewhere, nowhere):
        (refused,) = stranger.push_ok([change])
        assert (refused["result"], refused["code"]) == ("rejected", "not_owner")
    (refused,) = colleague.push_ok([dict(change, device_id=owner.device_id)])
    assert refused["code"] == "device_mismatch"
    (accepted,) = colleague.push_ok([change])
    assert accepted["result"] == "accepted"
    row = stored(server, original["id"])
    assert (row.state, row.revision) == ("withdrawn", 2)
    assert row.device_id == owner.device_id  # revision 1's device stays on the record
