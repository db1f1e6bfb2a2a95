"""Exports: CSV for the insurer and a FHIR R4 Bundle, only accepted inclusions."""

import csv
import io
import json

from fhir.resources.R4B.bundle import Bundle

from helpers import valid_bsns
from serverproc import record, withdrawn

BSN_OID = "urn:oid:2.16.840.1.113883.2.4.6.3"
UZOVI_OID = "urn:oid:2.16.840.1.113883.2.4.6.4"
P1, P2, P3 = valid_bsns(3, start=600000000)


def populate(server):
    first, second = server.enroll("kamer 1"), server.enroll("kamer 2")
    kept = record(P1, name="A. de Vries")
    hand = record(P1, condition="CMC1_OA", diagnosis="M18.1", side="L", inclusion_date="2024-01-10",
                  end_date="2025-01-08")
    gone = record(P2, insurer_uzovi="3311")
    first.push_ok([kept, hand, gone])
    first.push_ok([withdrawn(gone)])
    (duplicate,) = second.push_ok([record(P1)])
    assert duplicate["result"] == "duplicate"
    return kept, hand, gone


def test_csv_has_one_row_per_accepted_inclusion_with_withdrawal_columns(server, tmp_path):
    kept, hand, gone = populate(server)
    output = tmp_path / "inclusies.csv"
    result = server.admin("export", "--format", "csv", "--output", str(output))
    assert result.stdout == ""
    rows = list(csv.DictReader(io.StringIO(output.read_text(encoding="utf-8"))))
    assert rows[0]["id"] == hand["id"]  # by inclusion date
    assert sorted(row["id"] for row in rows[1:]) == sorted([kept["id"], gone["id"]])
    by_id = {row["id"]: row for row in rows}
    assert by_id[kept["id"]]["bsn"] == P1 and by_id[kept["id"]]["state"] == "registered"
    assert by_id[kept["id"]]["end_date"] == "2026-03-13" and by_id[kept["id"]]["insurer_uzovi"] == "3311"
    assert by_id[gone["id"]]["state"] == "withdrawn" and by_id[gone["id"]]["revision"] == "2"
    assert by_id[gone["id"]]["withdrawn_at"].startswith("2025-03-15T10:00:00")
    assert by_id[kept["id"]]["withdrawn_at"] == ""
    assert "name" not in rows[0]  # the insurer needs no names


def test_fhir_export_is_a_valid_r4_collection_with_bsn_uzovi_and_episodes(server):
    kept, hand, gone = populate(server)
    text = server.admin("export", "--format", "fhir").stdout
    data = json.loads(text)
    bundle = Bundle.model_validate(data)
    assert bundle.type == "collection"
    resources = [entry["resource"] for entry in data["entry"]]
    patients = [r for r in resources if r["resourceType"] == "Patient"]
    assert sorted(p["identifier"][0]["value"] for p in patients) == sorted([P1, P2])  # one per patient
    assert all(p["identifier"][0]["system"] == BSN_OID for p in patients)
    coverages = [r for r in resources if r["resourceType"] == "Coverage"]
    assert len(coverages) == 3
    assert all(c["payor"][0]["identifier"] == {"system": UZOVI_OID, "value": "3311"} for c in coverages)
    episodes = {r["id"]: r for r in resources if r["resourceType"] == "EpisodeOfCare"}
    assert set(episodes) == {kept["id"], hand["id"], gone["id"]}
    assert episodes[kept["id"]]["period"] == {"start": "2025-03-14", "end": "2026-03-13"}
    assert episodes[gone["id"]]["status"] == "entered-in-error"
    assert episodes[hand["id"]]["status"] == "finished"  # ended 2025-01-08
    full_urls = {entry["fullUrl"] for entry in data["entry"]}
    for episode in episodes.values():
        assert episode["patient"]["reference"] in full_urls


def test_every_exported_patient_is_in_the_audit_log(server):
    populate(server)
    server.admin("export")
    server.stop()
    from sqlalchemy import create_engine, text
    from sync.server.config import normalize_database_url
    engine = create_engine(normalize_database_url(server.database_url))
    with engine.connect() as conn:
        exported = conn.execute(text("SELECT patient_bsn FROM audit_log WHERE action = 'inclusion_export'")).scalars()
        assert sorted(exported) == sorted([P1, P1, P2])
    engine.dispose()
