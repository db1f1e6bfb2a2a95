"""Coverage: which insurer (UZOVI) covers a patient (BSN and birth date) on a date.

Imported by IT from a CSV (`bsn,birth_date,uzovi,insurer,valid_from,valid_to`), all or
nothing: every row is checked first and every bad line is reported by its number. Rows
are keyed by (bsn, valid_from): a new key is added, a changed row replaces the old one,
rows not in the file stay.

A lookup answers only when BSN *and* birth date match, as the national insurance check
(COV) does: knowing a BSN alone discloses nothing, and a wrong birth date gets exactly
the answer an unknown BSN gets (the audit log tells them apart). Rows imported before
birth dates existed (migration 0006) have none and are never answered until re-imported.

Each added or changed row becomes a feed entry addressed to each device that knows the
patient with that birth date (looked them up or included them), and a device that gets
to know a patient is sent that patient's matching coverage once: the coverage table is
never streamed whole to every device. An import and a device's first contact with a
patient take turns (an advisory lock: exclusive for imports, shared for lookups and
pushes), so they cannot miss each other.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import RowMapping, or_, select, update

from sync.protocol import CoverageEntry, CoverageLookupRequest, CoverageLookupResponse
from sync.server import tables as t
from sync.server.devices import AdminError, Device
from sync.server.storage import Storage, Transaction, lock_key

# An import (exclusive) and devices getting to know patients (shared, among themselves
# concurrent) take turns, so a new patient's coverage is never missed by both sides.
INTEREST_LOCK = lock_key("coverage-interest")
HEADER = ["bsn", "birth_date", "uzovi", "insurer", "valid_from", "valid_to"]
EARLIEST_BIRTH_DATE = dt.date(1890, 1, 1)
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
        hint = ("; de kolom birth_date (geboortedatum, JJJJ-MM-DD) ontbreekt: die is nodig sinds een opzoeking "
                "BSN en geboortedatum samen controleert" if "birth_date" not in header and "bsn" in header else "")
        raise CoverageFileError([f"regel 1: kop moet precies '{','.join(HEADER)}' zijn{hint}"])
    rows: list[dict] = []
    seen: dict[tuple[str, dt.date], int] = {}
    born: dict[str, tuple[dt.date, int]] = {}  # one birth date per BSN in a file
    for values in reader:
        line = reader.line_num
        if not any(value.strip() for value in values):
            continue
        if len(values) != len(HEADER):
            problems.append(f"regel {line}: verwacht {len(HEADER)} velden, gevonden {len(values)}")
            continue
        bsn, birth_text, uzovi, insurer, valid_from, valid_to = (value.strip() for value in values)
        line_problems = []
        if not re.fullmatch(r"[0-9]{9}", bsn) or not stdnum_bsn.is_valid(bsn):
            line_problems.append("bsn: geen geldig BSN (9 cijfers, 11-proef)")
        birth_date = _date(birth_text, "birth_date", line_problems, required=True)
        if birth_date and not EARLIEST_BIRTH_DATE <= birth_date <= dt.date.today():
            line_problems.append("birth_date: ligt in de toekomst of vóór 1890")
        elif birth_date and bsn in born and born[bsn][0] != birth_date:
            line_problems.append(f"birth_date: verschilt van die op regel {born[bsn][1]} voor dezelfde bsn")
        if not re.fullmatch(r"[0-9]{1,4}", uzovi):
            line_problems.append("uzovi: moet een UZOVI-code van 4 cijfers zijn")
        if len(insurer) > 200:
            line_problems.append("insurer: is te lang (hoogstens 200 tekens)")
        start = _date(valid_from, "valid_from", line_problems, required=True)
        end = _date(valid_to, "valid_to", line_problems, required=False)
        if start and end and end < start:
            line_problems.append("valid_to: ligt vóór valid_from")
        if line_problems:
            problems.append(f"regel {line}: " + "; ".join(line_problems))
            continue
        assert birth_date is not None and start is not None, "required: a missing one is a line problem above"
        if (bsn, start) in seen:
            problems.append(f"regel {line}: dubbele periode: dezelfde bsn en valid_from staan ook op regel "
                            f"{seen[(bsn, start)]}")
            continue
        seen[(bsn, start)] = line
        born.setdefault(bsn, (birth_date, line))
        rows.append({"bsn": bsn, "birth_date": birth_date, "uzovi": uzovi.zfill(4), "insurer": insurer or None,
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
        if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
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
            for found in tx.conn.execute(select(c.bsn, c.valid_from, c.birth_date, c.uzovi, c.insurer, c.valid_to)
                                         .where(c.bsn.in_(bsns[start:start + CHUNK]))):
                existing[(found.bsn, found.valid_from)] = (found.birth_date, found.uzovi, found.insurer,
                                                           found.valid_to)
        added, changed, touched = [], [], []  # touched: added or changed, in file order
        for row in rows:
            old = existing.get((row["bsn"], row["valid_from"]))
            if old is None:
                added.append(row)
            elif old != (row["birth_date"], row["uzovi"], row["insurer"], row["valid_to"]):
                changed.append(row)
            else:
                continue
            touched.append(row)
        if added:
            tx.insert_many(t.coverage, [dict(row, imported_at=tx.now) for row in added])
        for row in changed:
            tx.conn.execute(update(t.coverage).where(c.bsn == row["bsn"], c.valid_from == row["valid_from"])
                            .values(birth_date=row["birth_date"], uzovi=row["uzovi"], insurer=row["insurer"],
                                    valid_to=row["valid_to"], imported_at=tx.now))
        _notify_devices(tx, touched)
        summary = ImportSummary(len(rows), len(added), len(changed), len(rows) - len(added) - len(changed))
        tx.audit("coverage_import", "ok", object_type="coverage_file", object_id=Path(path).name,
                 details={"rows": summary.rows, "added": summary.added, "changed": summary.changed})
        return summary

    return storage.write(work)


def _notify_devices(tx: Transaction, rows: list[dict]) -> None:
    """A feed entry per changed row for each device that knows the patient with this birth
    date, none for others."""
    dp = t.device_patients.c
    bsns = sorted({row["bsn"] for row in rows})
    devices_by_patient: dict[tuple[str, dt.date], list[str]] = {}
    for start in range(0, len(bsns), CHUNK):
        for bsn, birth_date, device_id in tx.conn.execute(
                select(dp.bsn, dp.birth_date, dp.device_id).where(dp.bsn.in_(bsns[start:start + CHUNK]))
                .order_by(dp.bsn, dp.device_id)):
            devices_by_patient.setdefault((bsn, birth_date), []).append(device_id)
    for row in rows:
        payload = entry_payload(row)
        for device_id in devices_by_patient.get((row["bsn"], row["birth_date"]), []):
            tx.feed("coverage", payload, target_device=device_id, bsn=row["bsn"])


def entry_payload(row: Mapping[str, Any] | RowMapping) -> dict[str, Any]:
    """A coverage feed entry: the birth date is not sent (the device gave it itself)."""
    return CoverageEntry(bsn=row["bsn"], uzovi=row["uzovi"], insurer=row.get("insurer"), valid_from=row["valid_from"],
                         valid_to=row.get("valid_to")).model_dump(mode="json")


def remember_patients(tx: Transaction, device_id: str, patients: set[tuple[str, dt.date]]) -> None:
    """Record that a device knows these patients (BSN, birth date as the device gave it);
    send it their current coverage once, only where that birth date matches."""
    if not patients:
        return
    dp = t.device_patients.c
    bsns = sorted({bsn for bsn, _ in patients})
    known: set[tuple[str, dt.date]] = set()
    for start in range(0, len(bsns), CHUNK):
        known.update(tx.conn.execute(select(dp.bsn, dp.birth_date).where(
            dp.device_id == device_id, dp.bsn.in_(bsns[start:start + CHUNK]))).tuples())
    new = sorted(patients - known)
    if not new:
        return
    tx.lock_shared(INTEREST_LOCK)
    statement = tx.insert_or(t.device_patients).on_conflict_do_nothing()
    tx.conn.execute(statement, [{"device_id": device_id, "bsn": bsn, "birth_date": birth_date, "since": tx.now}
                                for bsn, birth_date in new])
    wanted = set(new)
    new_bsns = sorted({bsn for bsn, _ in new})
    c = t.coverage.c
    for start in range(0, len(new_bsns), CHUNK):
        for row in tx.conn.execute(select(c.bsn, c.birth_date, c.uzovi, c.insurer, c.valid_from, c.valid_to)
                                   .where(c.bsn.in_(new_bsns[start:start + CHUNK])).order_by(c.bsn, c.valid_from)):
            if (row.bsn, row.birth_date) in wanted:
                tx.feed("coverage", entry_payload(row._mapping), target_device=device_id, bsn=row.bsn)


def lookup(tx: Transaction, device: Device, request: CoverageLookupRequest) -> CoverageLookupResponse:
    """The coverage on `request.on` if BSN and birth date match; audited (with whether the
    birth date was the reason), and the device now knows the patient as it described them."""
    c = t.coverage.c
    rows = tx.conn.execute(
        select(c.bsn, c.birth_date, c.uzovi, c.insurer, c.valid_from, c.valid_to)
        .where(c.bsn == request.bsn, c.valid_from <= request.on, or_(c.valid_to.is_(None), c.valid_to >= request.on))
        .order_by(c.valid_from.desc())).all()
    row = next((row for row in rows if row.birth_date == request.birth_date), None)
    remember_patients(tx, device.id, {(request.bsn, request.birth_date)})
    outcome = "found" if row else ("birth_date_mismatch" if rows else "not_found")
    tx.audit("coverage_lookup", outcome, device_id=device.id, patient_bsn=request.bsn,
             object_type="coverage", details={"on": request.on.isoformat()})
    if row is None:
        return CoverageLookupResponse(found=False, checked_at=tx.now)
    return CoverageLookupResponse(found=True, uzovi=row.uzovi, insurer=row.insurer, valid_from=row.valid_from,
                                  valid_to=row.valid_to, checked_at=tx.now)
