"""Coverage: which insurer (UZOVI) covers a BSN on a date.

Imported by IT from a CSV (`bsn,uzovi,insurer,valid_from,valid_to`), all or nothing:
every row is checked first and every bad line is reported by its number. Rows are keyed
by (bsn, valid_from): a new key is added, a changed row replaces the old one, rows not in
the file stay. Each added or changed row becomes a feed entry addressed to each device
that already knows the patient (looked them up or included them), and a device that
gets to know a patient is sent that patient's coverage once: the coverage table is
never streamed whole to every device. An import and a device's first contact with a
patient take turns (an advisory lock: exclusive for imports, shared for lookups and
pushes), so they cannot miss each other.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import or_, select, update

from sync.protocol import CoverageEntry, CoverageLookupRequest, CoverageLookupResponse
from sync.server import tables as t
from sync.server.devices import AdminError, Device
from sync.server.storage import Storage, Transaction, lock_key

# An import (exclusive) and devices getting to know patients (shared, among themselves
# concurrent) take turns, so a new patient's coverage is never missed by both sides.
INTEREST_LOCK = lock_key("coverage-interest")
HEADER = ["bsn", "uzovi", "insurer", "valid_from", "valid_to"]
CHUNK = 500


class CoverageFileError(AdminError):
    """The file has problems; `problems` lists them, each with its line number."""

    def __init__(self, problems: list[str]):
        shown = problems[:50] + ([f"… en nog {len(problems) - 50} problemen"] if len(problems) > 50 else [])
        super().__init__("dekkingsbestand niet ingelezen (er is niets veranderd):\n  " + "\n  ".join(shown))
        self.problems = problems


@dataclass(frozen=True)
class ImportSummary:
    rows: int
    added: int
    changed: int
    unchanged: int


def entry(row) -> CoverageEntry:
    return CoverageEntry(bsn=row.bsn, uzovi=row.uzovi, insurer=row.insurer, valid_from=row.valid_from,
                         valid_to=row.valid_to)


def read_coverage_csv(path: Path) -> list[dict]:
    """Parse and check the whole file; raise CoverageFileError naming every bad line."""
    from stdnum.nl import bsn as stdnum_bsn

    try:
        raw = Path(path).read_bytes()
    except OSError as error:
        raise AdminError(f"{path}: kan het bestand niet lezen ({error.strerror or error})") from None
    try:
        content = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise AdminError(f"{path}: het bestand is geen UTF-8-tekst") from None
    sample = content[:4096]
    delimiter = ";" if sample.count(";") > sample.count(",") else ","
    reader = csv.reader(io.StringIO(content, newline=""), delimiter=delimiter)
    problems: list[str] = []
    try:
        header = [name.strip().lower() for name in next(reader)]
    except StopIteration:
        raise CoverageFileError(["regel 1: het bestand is leeg; verwacht de kop " + ",".join(HEADER)]) from None
    if header != HEADER:
        raise CoverageFileError([f"regel 1: kop moet precies '{','.join(HEADER)}' zijn"])
    rows: list[dict] = []
    seen: dict[tuple[str, dt.date], int] = {}
    for values in reader:
        line = reader.line_num
        if not any(value.strip() for value in values):
            continue
        if len(values) != len(HEADER):
            problems.append(f"regel {line}: verwacht {len(HEADER)} velden, gevonden {len(values)}")
            continue
        bsn, uzovi, insurer, valid_from, valid_to = (value.strip() for value in values)
        line_problems = []
        if not re.fullmatch(r"\d{9}", bsn) or not stdnum_bsn.is_valid(bsn):
            line_problems.append("bsn: geen geldig BSN (9 cijfers, 11-proef)")
        if not re.fullmatch(r"\d{1,4}", uzovi):
            line_problems.append("uzovi: moet een UZOVI-code van 4 cijfers zijn")
        if len(insurer) > 200:
            line_problems.append("insurer: is te lang (hoogstens 200 tekens)")
        start = _date(valid_from, "valid_from", line_problems, required=True)
        end = _date(valid_to, "valid_to", line_problems, required=False)
        if start and end and end < start:
            line_problems.append("valid_to: ligt vóór valid_from")
        if not line_problems and (bsn, start) in seen:
            line_problems.append(f"dubbele periode: dezelfde bsn en valid_from staan ook op regel {seen[(bsn, start)]}")
        if line_problems:
            problems.append(f"regel {line}: " + "; ".join(line_problems))
            continue
        seen[(bsn, start)] = line
        rows.append({"bsn": bsn, "uzovi": uzovi.zfill(4), "insurer": insurer or None,
                     "valid_from": start, "valid_to": end})
    if problems:
        raise CoverageFileError(problems)
    return rows


def _date(text: str, field: str, problems: list[str], required: bool) -> dt.date | None:
    if not text:
        if required:
            problems.append(f"{field}: ontbreekt")
        return None
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            raise ValueError
        return dt.date.fromisoformat(text)
    except ValueError:
        problems.append(f"{field}: geen geldige datum (JJJJ-MM-DD)")
        return None


def import_coverage(storage: Storage, path: Path) -> ImportSummary:
    rows = read_coverage_csv(path)

    def work(tx: Transaction) -> ImportSummary:
        tx.lock_exclusive(INTEREST_LOCK)  # not while a device is getting to know a patient
        c = t.coverage.c
        existing: dict[tuple[str, dt.date], tuple] = {}
        bsns = sorted({row["bsn"] for row in rows})
        for start in range(0, len(bsns), CHUNK):
            for row in tx.conn.execute(select(c.bsn, c.valid_from, c.uzovi, c.insurer, c.valid_to)
                                       .where(c.bsn.in_(bsns[start:start + CHUNK]))):
                existing[(row.bsn, row.valid_from)] = (row.uzovi, row.insurer, row.valid_to)
        added, changed, touched = [], [], []  # touched: added or changed, in file order
        for row in rows:
            old = existing.get((row["bsn"], row["valid_from"]))
            if old is None:
                added.append(row)
            elif old != (row["uzovi"], row["insurer"], row["valid_to"]):
                changed.append(row)
            else:
                continue
            touched.append(row)
        if added:
            tx.insert_many(t.coverage, [dict(row, imported_at=tx.now) for row in added])
        for row in changed:
            tx.conn.execute(update(t.coverage).where(c.bsn == row["bsn"], c.valid_from == row["valid_from"])
                            .values(uzovi=row["uzovi"], insurer=row["insurer"], valid_to=row["valid_to"],
                                    imported_at=tx.now))
        _notify_devices(tx, touched)
        summary = ImportSummary(len(rows), len(added), len(changed), len(rows) - len(added) - len(changed))
        tx.audit("coverage_import", "ok", object_type="coverage_file", object_id=Path(path).name,
                 details={"rows": summary.rows, "added": summary.added, "changed": summary.changed})
        return summary

    return storage.write(work)


def _notify_devices(tx: Transaction, rows: list[dict]) -> None:
    """A feed entry per changed row for each device that knows the patient, none for others."""
    dp = t.device_patients.c
    bsns = sorted({row["bsn"] for row in rows})
    devices_by_bsn: dict[str, list[str]] = {}
    for start in range(0, len(bsns), CHUNK):
        for bsn, device_id in tx.conn.execute(select(dp.bsn, dp.device_id).where(dp.bsn.in_(bsns[start:start + CHUNK]))
                                              .order_by(dp.bsn, dp.device_id)):
            devices_by_bsn.setdefault(bsn, []).append(device_id)
    for row in rows:
        payload = CoverageEntry(**row).model_dump(mode="json")
        for device_id in devices_by_bsn.get(row["bsn"], []):
            tx.feed("coverage", payload, target_device=device_id, bsn=row["bsn"])


def remember_patients(tx: Transaction, device_id: str, bsns: set[str]) -> None:
    """Record that a device knows these patients; send it their current coverage once."""
    if not bsns:
        return
    dp = t.device_patients.c
    ordered = sorted(bsns)
    known: set[str] = set()
    for start in range(0, len(ordered), CHUNK):
        known.update(tx.conn.execute(select(dp.bsn).where(dp.device_id == device_id,
                                                          dp.bsn.in_(ordered[start:start + CHUNK]))).scalars())
    new = [bsn for bsn in ordered if bsn not in known]
    if not new:
        return
    tx.lock_shared(INTEREST_LOCK)
    if tx.dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert
        statement = pg_insert(t.device_patients).on_conflict_do_nothing()
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert
        statement = sqlite_insert(t.device_patients).on_conflict_do_nothing()
    tx.conn.execute(statement, [{"device_id": device_id, "bsn": bsn, "since": tx.now} for bsn in new])
    c = t.coverage.c
    for start in range(0, len(new), CHUNK):
        for row in tx.conn.execute(select(c.bsn, c.uzovi, c.insurer, c.valid_from, c.valid_to)
                                   .where(c.bsn.in_(new[start:start + CHUNK])).order_by(c.bsn, c.valid_from)):
            tx.feed("coverage", entry(row).model_dump(mode="json"), target_device=device_id, bsn=row.bsn)


def lookup(tx: Transaction, device: Device, request: CoverageLookupRequest) -> CoverageLookupResponse:
    """The coverage on `request.on`; the lookup is audited and the device now knows the patient."""
    c = t.coverage.c
    row = tx.conn.execute(
        select(c.bsn, c.uzovi, c.insurer, c.valid_from, c.valid_to)
        .where(c.bsn == request.bsn, c.valid_from <= request.on, or_(c.valid_to.is_(None), c.valid_to >= request.on))
        .order_by(c.valid_from.desc()).limit(1)).first()
    remember_patients(tx, device.id, {request.bsn})
    tx.audit("coverage_lookup", "found" if row else "not_found", device_id=device.id, patient_bsn=request.bsn,
             object_type="coverage", details={"on": request.on.isoformat()})
    if row is None:
        return CoverageLookupResponse(found=False, checked_at=tx.now)
    return CoverageLookupResponse(found=True, uzovi=row.uzovi, insurer=row.insurer, valid_from=row.valid_from,
                                  valid_to=row.valid_to, checked_at=tx.now)
