"""Exports of accepted inclusions: CSV for the insurer, FHIR R4 for interoperability.

Only accepted inclusions are exported (duplicates are kept for audit, never exported).
Withdrawn inclusions are included with `state = withdrawn`, `withdrawn_at` and the reason,
so a receiver that loaded an earlier export can undo them; in FHIR their EpisodeOfCare
has status `entered-in-error`.

FHIR: a `Bundle` of type `collection` with one Patient per BSN (identifier system
urn:oid:2.16.840.1.113883.2.4.6.3), and per inclusion a Coverage (payor identified by
its UZOVI code, urn:oid:2.16.840.1.113883.2.4.6.4) and an EpisodeOfCare for the bundle
period. It is validated with the `fhir.resources` R4B models (FHIR 4.3, which is R4 for
these four resources: fhir.resources has no pure-R4 build on pydantic 2) before anything is
written. Every exported patient is an audit-log entry.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import uuid

from sqlalchemy import select

from sync.server import tables as t
from sync.server.storage import Storage, Transaction, utc_now

BSN_SYSTEM = "urn:oid:2.16.840.1.113883.2.4.6.3"
UZOVI_SYSTEM = "urn:oid:2.16.840.1.113883.2.4.6.4"
AGB_SYSTEM = "urn:oid:2.16.840.1.113883.2.4.6.1"
ICD10_SYSTEM = "http://hl7.org/fhir/sid/icd-10"
BUNDLE_SYSTEM = "urn:bundelassistent:bundle"
CONDITION_SYSTEM = "urn:bundelassistent:condition"
PATIENT_NAMESPACE = uuid.UUID("6f1c9a52-3d47-4c7e-9a0b-5b6f1d2e8c11")  # stable Patient ids per BSN

CSV_COLUMNS = [
    "id", "revision", "state", "bundle", "bundle_version", "condition", "diagnosis", "side", "episode_side",
    "bsn", "birth_date", "insurer_uzovi", "insurer_source", "insurer_checked_at", "inclusion_date", "end_date",
    "clinician_agb", "location", "initial_treatment", "explained_by", "explained_at", "explanation_language",
    "handout_printed", "agreed", "eligibility_status", "device_id", "user", "created_at", "updated_at",
    "withdrawn_at", "withdrawal_reason", "received_at",
]


def accepted_inclusions(storage: Storage) -> list[dict]:
    c = t.inclusions.c
    with storage.read() as conn:
        return [dict(row._mapping) for row in conn.execute(
            select(t.inclusions).where(c.status == "accepted").order_by(c.inclusion_date, c.id))]


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def to_csv(rows: list[dict]) -> str:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        writer.writerow([_text(row.get(name)) for name in CSV_COLUMNS])
    return out.getvalue()


def _episode_status(row: dict, today: dt.date) -> str:
    if row["state"] == "withdrawn":
        return "entered-in-error"
    return "finished" if row["end_date"] < today else "active"


def fhir_bundle(rows: list[dict], today: dt.date | None = None) -> dict:
    """The export as a plain FHIR JSON dict (validated by `to_fhir`)."""
    today = today or dt.date.today()
    entries: list[dict] = []
    patients: dict[str, str] = {}
    for row in rows:
        bsn = row["bsn"]
        if bsn not in patients:
            patient_id = str(uuid.uuid5(PATIENT_NAMESPACE, bsn))
            patients[bsn] = patient_id
            patient = {"resourceType": "Patient", "id": patient_id,
                       "identifier": [{"system": BSN_SYSTEM, "value": bsn}],
                       "birthDate": row["birth_date"].isoformat()}
            if row.get("name"):
                patient["name"] = [{"text": row["name"]}]
            entries.append({"fullUrl": f"urn:uuid:{patient_id}", "resource": patient})
        patient_ref = {"reference": f"urn:uuid:{patients[bsn]}"}
        coverage_id = str(uuid.uuid5(uuid.UUID(row["id"]), "coverage"))
        coverage = {
            "resourceType": "Coverage", "id": coverage_id, "status": "active",
            "beneficiary": patient_ref,
            "payor": [{"identifier": {"system": UZOVI_SYSTEM, "value": row["insurer_uzovi"]},
                       "display": f"UZOVI {row['insurer_uzovi']}"}],
        }
        entries.append({"fullUrl": f"urn:uuid:{coverage_id}", "resource": coverage})
        episode = {
            "resourceType": "EpisodeOfCare", "id": row["id"],
            "identifier": [{"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{row['id']}"}],
            "status": _episode_status(row, today),
            "type": [
                {"coding": [{"system": BUNDLE_SYSTEM, "code": row["bundle"], "version": row["bundle_version"]}],
                 "text": f"Zorgbundel {row['bundle']}"},
                {"coding": [{"system": CONDITION_SYSTEM, "code": row["condition"]},
                            {"system": ICD10_SYSTEM, "code": row["diagnosis"]}]},
            ],
            "patient": patient_ref,
            "period": {"start": row["inclusion_date"].isoformat(), "end": row["end_date"].isoformat()},
        }
        if row.get("clinician_agb"):
            episode["careManager"] = {"identifier": {"system": AGB_SYSTEM, "value": row["clinician_agb"]}}
        entries.append({"fullUrl": f"urn:uuid:{row['id']}", "resource": episode})
    bundle = {"resourceType": "Bundle", "type": "collection",
              "timestamp": utc_now().isoformat().replace("+00:00", "Z")}
    if entries:  # FHIR JSON has no empty arrays
        bundle["entry"] = entries
    return bundle


def to_fhir(rows: list[dict], today: dt.date | None = None) -> str:
    from fhir.resources.R4B.bundle import Bundle

    data = fhir_bundle(rows, today)
    Bundle.model_validate(data)  # raises if any resource is not valid FHIR
    return json.dumps(data, ensure_ascii=False, indent=1)


def export(storage: Storage, fmt: str) -> str:
    """The export text; every exported patient is logged before it is returned."""
    rows = accepted_inclusions(storage)
    text = to_csv(rows) if fmt == "csv" else to_fhir(rows)

    def audit(tx: Transaction) -> None:
        tx.audit("export", "ok", object_type="export", object_id=fmt, details={"inclusions": len(rows)})
        for row in rows:
            tx.audit("inclusion_export", "ok", patient_bsn=row["bsn"], object_type="inclusion",
                     object_id=row["id"], details={"format": fmt})

    storage.write(audit)
    return text
