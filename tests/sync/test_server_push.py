"""Idempotent push: accepted, unchanged, duplicate (with the existing episode), rejected."""

import uuid

from helpers import valid_bsns
from serverproc import record, withdrawn

BSNS = valid_bsns(40, start=200000000)


def test_push_is_idempotent_a_repush_is_unchanged(server):
    client = server.enroll()
    records = [record(bsn) for bsn in BSNS[:5]]
    assert [r["result"] for r in client.push_ok(records)] == ["accepted"] * 5
    again = client.push_ok(records)
    assert [r["result"] for r in again] == ["unchanged"] * 5
    assert [r["id"] for r in again] == [r["id"] for r in records]
    assert all(r["revision"] == 1 and r["duplicate_of"] is None for r in again)
    assert len(server.export_rows()) == 5


def test_a_higher_revision_updates_and_a_lower_one_is_unchanged(server):
    client, other = server.enroll("kamer 1"), server.enroll("kamer 2")
    original = record(BSNS[5])
    client.push_ok([original])
    withdrawal = withdrawn(original)
    (result,) = client.push_ok([withdrawal])
    assert result == {"id": original["id"], "revision": 2, "result": "accepted", "duplicate_of": None,
                      "reason": None, "code": None}
    (late,) = client.push_ok([original])  # revision 1 arrives late: the server keeps revision 2
    assert late["result"] == "unchanged"
    changes, _ = other.all_changes()
    states = [(c["inclusion"]["revision"], c["inclusion"]["state"]) for c in changes if c["kind"] == "inclusion"]
    assert states == [(1, "registered"), (2, "withdrawn")]
    (row,) = server.export_rows("state", "withdrawal_reason")
    assert row["state"] == "withdrawn"
    assert row["withdrawal_reason"] == "patiënt ziet af van de bundel"
    # the episode is free again: a new inclusion for the same patient and condition is accepted
    (fresh,) = server.enroll("kamer 3").push_ok([record(BSNS[5], inclusion_date="2025-04-01",
                                                        end_date="2026-03-31")])
    assert fresh["result"] == "accepted"


def test_same_revision_with_other_content_is_rejected(server):
    client = server.enroll()
    original = record(BSNS[6])
    client.push_ok([original])
    (result,) = client.push_ok([dict(original, location="Amsterdam")])
    assert result["result"] == "rejected"
    assert "revisie 1" in result["reason"] and "andere inhoud" in result["reason"]


def test_an_overlapping_episode_from_another_device_is_a_duplicate_of_the_first(server):
    first, second = server.enroll("kamer 1"), server.enroll("kamer 2")
    original = record(BSNS[7], location="Utrecht")
    first.push_ok([original])
    copy = record(BSNS[7], inclusion_date="2025-06-01", end_date="2026-05-31", location="Zeist")
    (result,) = second.push_ok([copy])
    assert result["result"] == "duplicate"
    assert result["duplicate_of"] == {"id": original["id"], "inclusion_date": "2025-03-14",
                                      "end_date": "2026-03-13", "location": "Utrecht"}
    # a re-push of the duplicate says duplicate again, with the same episode
    (again,) = second.push_ok([copy])
    assert again == result
    # other condition, or an episode after the first ended, is no duplicate
    results = second.push_ok([
        record(BSNS[7], condition="CMC1_OA", diagnosis="M18.1"),
        record(BSNS[7], inclusion_date="2026-03-14", end_date="2027-03-13"),
    ])
    assert [r["result"] for r in results] == ["accepted", "accepted"]
    # duplicates are kept for audit but never exported
    ids = [row["inclusion_id"] for row in server.export_rows()]
    assert original["id"] in ids and copy["id"] not in ids


def hip(bsn: str, side: str | None, **changes) -> dict:
    """A record in the shipped hip-fracture bundle, whose episode key includes the side."""
    return record(bsn, bundle="hip-fracture", bundle_version="example-1", condition="HIP_FRACTURE",
                  diagnosis="S72.0", birth_date="1948-02-10", side=side, episode_side=side, **changes)


def test_episode_side_is_part_of_the_key_when_the_bundle_says_so(server):
    client = server.enroll()
    left, right, right_again = hip(BSNS[8], "L"), hip(BSNS[8], "R"), hip(BSNS[8], "R")
    results = client.push_ok([left, right, right_again])
    assert [r["result"] for r in results] == ["accepted", "accepted", "duplicate"]
    assert results[2]["duplicate_of"]["id"] == right["id"]


def test_both_hands_overlap_either_side_and_a_side_not_known_overlaps_every_side(server):
    client = server.enroll()
    (both,) = client.push_ok([hip(BSNS[17], "both")])
    assert both["result"] == "accepted"  # the value the window offers is a value the server takes
    left, unknown = client.push_ok([hip(BSNS[17], "L"), hip(BSNS[17], None)])
    assert (left["result"], unknown["result"]) == ("duplicate", "duplicate")
    assert left["duplicate_of"]["id"] == unknown["duplicate_of"]["id"]
    # an episode on both sides after a left one is a duplicate of the left one
    first_left = hip(BSNS[18], "L")
    results = client.push_ok([first_left, hip(BSNS[18], "both"), hip(BSNS[18], "R")])
    assert [r["result"] for r in results] == ["accepted", "duplicate", "accepted"]
    assert results[1]["duplicate_of"]["id"] == first_left["id"]


def test_the_episode_side_is_the_servers_to_judge_from_the_bundle(server):
    client = server.enroll()
    (wrong,) = client.push_ok([record(BSNS[19], side="L", episode_side="L")])  # hand-wrist: not by side
    assert wrong["result"] == "rejected" and wrong["code"] == "rule_failed"
    assert "zijde van de episode" in wrong["reason"]


def test_a_rejected_record_does_not_fail_the_batch_and_names_the_field(server):
    client = server.enroll()
    good = record(BSNS[9])
    bad_bsn = record("123456789")
    bad_dates = record(BSNS[10], end_date="2025-01-01")
    bad_state = record(BSNS[11], state="gepland")
    extra = dict(record(BSNS[12]), colour="blue")
    future = record(BSNS[16], inclusion_date="2999-01-01", end_date="2999-12-31")
    no_id = {"revision": 1}
    good_too = record(BSNS[13])
    results = client.push_ok([good, bad_bsn, bad_dates, bad_state, extra, no_id, "garbage", good_too, future])
    assert [r["result"] for r in results] == ["accepted"] + ["rejected"] * 6 + ["accepted", "rejected"]
    assert "regel inclusiedatum" in results[8]["reason"] and "toekomst" in results[8]["reason"]
    assert results[8]["code"] == "rule_failed" and results[1]["code"] == "invalid_record"
    reasons = [r["reason"] for r in results[1:7]]
    assert "bsn" in reasons[0] and "11-proef" in reasons[0]
    assert "regel einddatum: moet 2026-03-13 zijn" in reasons[1]
    assert "state" in reasons[2]
    assert "colour" in reasons[3]
    assert "id: ontbreekt" in reasons[4]
    assert results[1]["id"] == bad_bsn["id"] and results[5]["id"] == str(uuid.UUID(int=0))
    assert "123456789" not in " ".join(reasons)  # a reason never repeats the BSN


def test_digits_of_other_scripts_are_no_bsn_uzovi_or_agb(server):
    """int() reads "４" and "٤" as 4, so such a BSN passes the 11-proef; stored, it would
    not equal the same BSN in plain digits and would slip past the duplicate check."""
    client = server.enroll()
    plain = BSNS[17]
    client.push_ok([record(plain)])
    full_width = plain.translate({ord(str(n)): 0xFF10 + n for n in range(10)})
    arabic_indic = plain.translate({ord(str(n)): 0x660 + n for n in range(10)})
    results = client.push_ok([record(full_width), record(arabic_indic), record(BSNS[18], insurer_uzovi="３３１１"),
                              record(BSNS[19], clinician_agb="٠١٢٣٤٥٦٧")])
    assert [r["result"] for r in results] == ["rejected"] * 4
    assert [r["code"] for r in results] == ["invalid_record"] * 4
    assert "bsn" in results[0]["reason"] and "insurer_uzovi" in results[2]["reason"]
    assert "clinician_agb" in results[3]["reason"]
    assert client.push_ok([record(plain)])[0]["result"] == "duplicate"  # the real one is still caught


def test_a_malformed_envelope_is_a_clear_json_error(server):
    client = server.enroll()
    for body, status in ((b"{", 400), (b"[]", 422), (b'{"records": 5}', 422), (b'{"records": [], "x": 1}', 422),
                         (b"\xff\xfe", 400)):
        response = client.session.post(f"{server.url}/v1/inclusions/push", data=body, timeout=10,
                                       headers={"Content-Type": "application/json"})
        assert response.status_code == status, (body, response.text)
        assert response.json()["code"] == "invalid_request"
    too_many = [record(bsn) for bsn in valid_bsns(501, start=210000000)]
    response = client.push(too_many)
    assert response.status_code == 422 and "500" in response.json()["message"]


def test_a_body_over_the_limit_is_413_before_it_is_read(server):
    client = server.enroll()
    huge = [record(BSNS[14], name="x" * 200, withdrawal_reason="y" * 2000) for _ in range(800)]
    response = client.push(huge)
    assert response.status_code == 413
    assert response.json()["code"] == "request_too_large"
    # chunked (no Content-Length): the limit holds while reading
    def chunks():
        for _ in range(300):
            yield b" " * 10_000
    response = client.session.post(f"{server.url}/v1/inclusions/push", data=chunks(), timeout=30,
                                   headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert client.changes().status_code == 200  # the server is fine


def test_every_push_and_its_patients_are_in_the_audit_log(server, db_kind):
    client = server.enroll()
    original = record(BSNS[15])
    client.push_ok([original])
    server.stop()
    from sqlalchemy import create_engine, text

    from sync.server.config import normalize_database_url
    engine = create_engine(normalize_database_url(server.database_url))
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT action, patient_bsn, object_id, outcome, device_id FROM audit_log "
                                 "ORDER BY id")).all()
        revisions = conn.execute(text("SELECT count(*) FROM inclusion_revisions")).scalar()
    engine.dispose()
    assert ("inclusion_push", BSNS[15], original["id"], "accepted", client.device_id) in [tuple(r) for r in rows]
    assert any(r.action == "sync_push" for r in rows) and any(r.action == "enroll" for r in rows)
    assert revisions == 1
    assert BSNS[15] not in server.log()  # never in the server's own log
