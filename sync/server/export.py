"""Exports of accepted inclusions: CSV for the insurer or the research team, FHIR R4 for
interoperability (`export_csv`, `export_fhir` say what each receiver gets and why).

Only accepted inclusions are exported (duplicates are kept for audit, never exported).
Withdrawn inclusions stay in the insurer's CSV and in FHIR, so a receiver that loaded an
earlier export can undo them. A patient exported for the first time gets two random ids,
kept in `patients`: the FHIR Patient.id and the research pseudonym. Every exported
inclusion is an audit-log entry for its patient. Files are created readable by their
owner only (`write_private`).
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from desktop.core.identifiers import age_on, shipped_uzovi_table
from desktop.core.states import ServerResult
from sync.server import export_csv, export_fhir
from sync.server import tables as t
from sync.server.config import Settings
from sync.server.devices import AdminError
from sync.server.storage import Storage, Transaction


@dataclass(frozen=True)
class Export:
    content: bytes
    inclusions: int
    warnings: tuple[str, ...] = ()


def _with_patient_ids(tx: Transaction) -> list[dict]:
    """The accepted inclusions, each with its patient's ids (drawn now for new patients)."""
    c = t.inclusions.c
    rows = [dict(row._mapping) for row in tx.conn.execute(
        select(t.inclusions).where(c.status == ServerResult.ACCEPTED).order_by(c.inclusion_date, c.id))]
    known = {row.bsn: row for row in tx.conn.execute(select(t.patients))}
    new = [{"bsn": bsn, "fhir_id": str(uuid.uuid4()), "research_id": str(uuid.uuid4()), "created_at": tx.now}
           for bsn in sorted({row["bsn"] for row in rows} - set(known))]
    if new:
        insert = pg_insert if tx.dialect == "postgresql" else sqlite_insert
        tx.conn.execute(insert(t.patients).on_conflict_do_nothing(index_elements=["bsn"]), new)
        known = {row.bsn: row for row in tx.conn.execute(select(t.patients))}  # a concurrent export may have won
    for row in rows:
        ids = known[row["bsn"]]
        row.update(patient_fhir_id=ids.fhir_id, patient_pseudonym=ids.research_id)
    return rows


def _csv(rows: list[dict], settings: Settings, columns: tuple[str, ...]) -> bytes:
    for row in rows:
        row.update(inclusion_id=row["id"], clinic_agb=settings.clinic_agb,
                   age_at_inclusion=age_on(row["birth_date"], row["inclusion_date"]),
                   **export_csv.decision_cells(row["decision_support"]))
    return export_csv.to_csv(rows, columns)


def export(storage: Storage, settings: Settings, fmt: str = "csv", profile: str | None = None,
           columns: str | None = None, today: dt.date | None = None) -> Export:
    """The export, audited per patient before it is returned."""
    if fmt == "fhir" and (profile or columns):
        raise AdminError("--profile en --columns horen bij --format csv; FHIR heeft één vorm")
    profile = profile or export_csv.DEFAULT_PROFILE
    chosen = export_csv.choose_columns(profile, columns) if fmt == "csv" else ()
    rows = storage.write(_with_patient_ids)
    if fmt == "csv":
        rows = export_csv.rows_for(profile, rows)
        content = _csv(rows, settings, chosen)
    else:
        insurer_names = {code: insurer.label for code, insurer in shipped_uzovi_table().items()}
        content = export_fhir.to_fhir(rows, clinic_agb=settings.clinic_agb, clinic_name=settings.clinic_name,
                                      insurer_names=insurer_names, today=today)

    def audit(tx: Transaction) -> None:
        summary = {"inclusions": len(rows)} | ({"profile": profile, "columns": list(chosen)} if fmt == "csv" else {})
        tx.audit("export", "ok", object_type="export", object_id=fmt, details=summary)
        for row in rows:
            tx.audit("inclusion_export", "ok", patient_bsn=row["bsn"], object_type="inclusion",
                     object_id=row["id"], details={"format": fmt})

    storage.write(audit)
    names_clinic = fmt == "fhir" or "clinic_agb" in chosen
    warnings = () if settings.clinic_agb or not names_clinic else (
        "clinic_agb is niet ingesteld (instellingenbestand, --config): de export noemt de kliniek niet "
        "bij haar AGB-code",)
    return Export(content, len(rows), warnings)


def write_private(path: Path, content: bytes) -> None:
    """Write `content` to `path` atomically, in a file created readable by its owner only (0600).

    mkstemp creates the temporary file with mode 0600 itself (O_EXCL, no window in which
    another user could open it); os.replace then puts it in place, also over an older,
    more open file.
    """
    path = Path(path)
    try:
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as error:
        raise AdminError(f"{path}: kan niet schrijven ({error.strerror or error})") from None
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(content)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except OSError as error:
        Path(temporary).unlink(missing_ok=True)
        raise AdminError(f"{path}: kan niet schrijven ({error.strerror or error})") from None
