"""Receiving inclusions: idempotent batch push with race-free duplicate-episode detection.

A batch is one transaction. Before reading anything it locks, in sorted order, every
record id and every episode key (bundle, bsn, condition, episode_side or "") in the
batch: PostgreSQL with `pg_advisory_xact_lock`, SQLite by the write lock every writer
takes. With those held, it reads the known revisions and the accepted episodes for the
batch's patients, decides each record in order (later records see earlier ones), and
writes rows, revision history, feed entries and audit rows in bulk. Two devices pushing
the same episode at the same moment: the second waits for the first to commit, then
sees its episode and gets `duplicate` (what counts as the same episode: `sync.server.duplicates`).

Every new revision is first re-checked with the device's own rules against the server's
bundle definitions (`sync.server.rechecks`); a record that fails is `rejected` with the
rule named and is never stored, so it can never make a real inclusion a duplicate. When
the bundle's episode key includes the side, the episode keys of every overlapping side
are locked and searched (an episode on both hands overlaps the left and the right one).

A record is never half stored: a request killed before COMMIT stored nothing, and a
re-push after a lost response yields `unchanged` (or the same `duplicate`).

Ownership: an id belongs to the enrolled device that first pushed it (`owner_device`).
Only that device — or, when `Settings.same_location_revisions` is on, a device of the
same location — may send later revisions; each must be the last received revision + 1
(`last_revision` counts revisions rejected for their content too, so a device's next
correction follows them). `device_id` must be the pushing device, and the stored
`device_id`, `created_at` and `user` of revision 1 are never overwritten. Anything else
is `rejected` with a `REJECT_*` code and audited under the patient.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field

from sqlalchemy import bindparam, func, select, update

from desktop.core.bundles import Bundle
from desktop.core.states import RecordState, ServerResult
from sync.protocol import (
    NIL_UUID,
    REJECT_DEVICE_MISMATCH,
    REJECT_IMMUTABLE_FIELD,
    REJECT_NOT_OWNER,
    REJECT_REVISION_CONFLICT,
    REJECT_REVISION_GAP,
    REJECT_RULE_FAILED,
    RESULT_ACCEPTED,
    RESULT_DUPLICATE,
    RESULT_REJECTED,
    RESULT_UNCHANGED,
    DuplicateOf,
    InclusionRecord,
    InclusionSummary,
    PushResult,
)
from sync.server import duplicates, rechecks
from sync.server import tables as t
from sync.server.devices import Device
from sync.server.duplicates import Episode, EpisodeKey, Episodes, episode_keys
from sync.server.push_body import Unreadable
from sync.server.storage import Transaction, lock_key

# The stored status (the server's decision) and the record's own state.
ACCEPTED, DUPLICATE = ServerResult.ACCEPTED, ServerResult.DUPLICATE
REGISTERED, WITHDRAWN = RecordState.REGISTERED, RecordState.WITHDRAWN
CHUNK = 500

# Columns copied from the record; the rest are server bookkeeping.
RECORD_COLUMNS = [name for name in InclusionRecord.model_fields if name != "id"]
# Set by revision 1 and never overwritten by a later one.
FIRST_REVISION_COLUMNS = ("device_id", "created_at", "user", "owner_device")


def canonical(record: InclusionRecord) -> str:
    """The record's content in one canonical JSON form (UTC times, sorted keys). A record without
    decision support has the form it had before there was any, so its stored hash still matches."""
    content = record.model_dump(mode="json", exclude={"decision_support"} if record.decision_support is None else None)
    return json.dumps(content, sort_keys=True, ensure_ascii=True, separators=(",", ":"))


@dataclass
class _Known:
    """What the server holds for one id (or just wrote in this batch)."""

    revision: int
    content_hash: str
    status: str
    state: str
    duplicate_of: str | None
    key: tuple[str, str, str, str]
    owner: str
    owner_location: str | None
    last_revision: int
    device_id: str
    created_at: dt.datetime
    user: str


@dataclass
class _Batch:
    tx: Transaction
    device: Device
    bundles: dict[tuple[str, str], Bundle | str] = field(default_factory=dict)
    known: dict[str, _Known] = field(default_factory=dict)
    episodes: Episodes = field(default_factory=Episodes)  # accepted & registered
    inserts: list[dict] = field(default_factory=list)
    updates: list[dict] = field(default_factory=list)
    revisions: list[dict] = field(default_factory=list)
    seen: dict[str, int] = field(default_factory=dict)  # id -> a rejected revision that still counts
    patients: set[tuple[str, dt.date]] = field(default_factory=set)  # (bsn, birth date) as pushed

    @property
    def same_location(self) -> bool:
        return self.tx.storage.settings.same_location_revisions


def push(tx: Transaction, device: Device, parsed: list[InclusionRecord | Unreadable]) -> list[PushResult]:
    """Decide and store a batch inside `tx` (see the module docstring)."""
    records = [item for item in parsed if isinstance(item, InclusionRecord)]
    batch = _Batch(tx, device)
    if records:
        batch.bundles = rechecks.bundles_for(tx, records)
        tx.lock([lock_key("inclusion", str(r.id)) for r in records]
                + [lock_key("episode", *key) for r in records for key in _keys(batch, r)])
        _load_known(batch, records)
        batch.episodes.load(tx, {key for r in records for key in _keys(batch, r)})
    results = [_unreadable(batch, item) if isinstance(item, Unreadable) else _decide(batch, item)
               for item in parsed]
    _write(batch)
    _remember_patients(tx, device.id, batch.patients)
    counts: dict[str, int] = {}
    for result in results:
        counts[result.result] = counts.get(result.result, 0) + 1
    tx.audit("sync_push", "ok", device_id=device.id, object_type="batch", details={"records": len(parsed), **counts})
    return results


def _unreadable(batch: _Batch, item: Unreadable) -> PushResult:
    """A record that did not validate is audited under its patient when the BSN was readable.

    Without a patient it is only counted in the batch's row: 500 garbage records from
    one device must not become 500 audit rows.
    """
    result = item.result
    if item.bsn is None:
        return result
    batch.tx.audit("inclusion_push", RESULT_REJECTED, device_id=batch.device.id, patient_bsn=item.bsn,
                   object_type="inclusion", object_id=None if result.id == NIL_UUID else str(result.id),
                   details={"revision": result.revision, "code": result.code})
    return result


def _load_known(batch: _Batch, records: list[InclusionRecord]) -> None:
    ids = sorted({str(r.id) for r in records})
    c, owners = t.inclusions.c, t.devices.alias("owner")
    for start in range(0, len(ids), CHUNK):
        query = (select(c.id, c.revision, c.content_hash, c.status, c.state, c.duplicate_of,
                        c.bundle, c.bsn, c.condition, c.episode_side, c.owner_device, c.pushed_by,
                        c.last_revision, c.device_id, c.created_at, c.user, owners.c.location.label("owner_location"))
                 .select_from(t.inclusions.outerjoin(owners, owners.c.id == func.coalesce(c.owner_device,
                                                                                          c.pushed_by)))
                 .where(c.id.in_(ids[start:start + CHUNK])))
        for row in batch.tx.conn.execute(query):
            batch.known[row.id] = _Known(
                row.revision, row.content_hash, row.status, row.state, row.duplicate_of,
                (row.bundle, row.bsn, row.condition, row.episode_side), owner=row.owner_device or row.pushed_by,
                owner_location=row.owner_location, last_revision=max(row.last_revision or 0, row.revision),
                device_id=row.device_id, created_at=row.created_at, user=row.user)


def _keys(batch: _Batch, record: InclusionRecord) -> list[EpisodeKey]:
    return episode_keys(record, batch.bundles.get((record.bundle, record.bundle_version)))


def _may_change(batch: _Batch, known: _Known) -> bool:
    """The owner may send later revisions; a device of the owner's location only if the server allows it."""
    if known.owner == batch.device.id:
        return True
    location = batch.device.location
    return batch.same_location and bool(location) and known.owner_location == location


def _same_content(record: InclusionRecord, known: _Known, content_hash: str) -> bool:
    """Equal to the stored revision; a record first pushed by a device of the previous protocol
    version carried its local device id, so that counts as the same content too."""
    if content_hash == known.content_hash:
        return True
    legacy = canonical(record.model_copy(update={"device_id": known.device_id}))
    return hashlib.sha256(legacy.encode()).hexdigest() == known.content_hash


def _identity_problem(batch: _Batch, record: InclusionRecord, known: _Known | None) -> tuple[str, str] | None:
    """Who may send this revision, and is it the next one? (code, Dutch reason) or None."""
    if known is not None and not _may_change(batch, known):
        return REJECT_NOT_OWNER, ("deze inclusie is door een ander apparaat geregistreerd; alleen dat apparaat"
                                  + (" of een apparaat van dezelfde locatie" if batch.same_location else "")
                                  + " mag haar wijzigen of intrekken")
    if record.device_id != batch.device.id:
        return REJECT_DEVICE_MISMATCH, ("device_id: is niet dit apparaat; een apparaat stuurt alleen records "
                                        "onder zijn eigen apparaat-id")
    if known is None:
        return None
    if record.revision > known.last_revision + 1:
        return REJECT_REVISION_GAP, (f"revision: de server heeft revisie {known.last_revision}; de volgende moet "
                                     f"{known.last_revision + 1} zijn, niet {record.revision}")
    if known.revision < record.revision < known.last_revision:
        return REJECT_REVISION_GAP, (f"revision: revisie {record.revision} is ouder dan de laatst ontvangen "
                                     f"revisie {known.last_revision}")
    return None


def _rewritten_field(record: InclusionRecord, known: _Known) -> str | None:
    """A later revision keeps revision 1's created_at and user (device_id is checked per device)."""
    for name in ("created_at", "user"):
        if getattr(record, name) != getattr(known, name):
            return name
    return None


def _decide(batch: _Batch, record: InclusionRecord) -> PushResult:
    inclusion_id = str(record.id)
    content = canonical(record)
    content_hash = hashlib.sha256(content.encode()).hexdigest()
    known = batch.known.get(inclusion_id)
    tx = batch.tx

    def result(kind: str, duplicate_of: DuplicateOf | None = None, reason: str | None = None,
               code: str | None = None, details: dict | None = None) -> PushResult:
        details = {"revision": record.revision} | ({"code": code} if code else {}) | (details or {})
        patients = [record.bsn] + ([known.key[1]] if known is not None and known.key[1] != record.bsn else [])
        for bsn in patients:
            tx.audit("inclusion_push", kind, device_id=batch.device.id, patient_bsn=bsn,
                     object_type="inclusion", object_id=inclusion_id, details=details)
        if kind != RESULT_REJECTED:
            batch.patients.add((record.bsn, record.birth_date))  # a refused record discloses nothing later
        return PushResult(id=record.id, revision=record.revision, result=kind, duplicate_of=duplicate_of,
                          reason=reason, code=code)

    def rejected_content(reason: str, code: str, details: dict | None = None) -> PushResult:
        """Rejected for what it says: the revision still counts as received (the next one follows it)."""
        if known is not None and record.revision > known.last_revision:
            known.last_revision = record.revision
            batch.seen[inclusion_id] = record.revision
        return result(RESULT_REJECTED, reason=reason, code=code, details=details)

    problem = _identity_problem(batch, record, known)
    if problem is not None:
        return result(RESULT_REJECTED, reason=problem[1], code=problem[0])
    if known is not None:
        if record.revision < known.revision:
            return result(RESULT_UNCHANGED, reason=f"de server heeft al revisie {known.revision}")
        if record.revision == known.revision:
            if not _same_content(record, known, content_hash):
                return result(RESULT_REJECTED, code=REJECT_REVISION_CONFLICT, reason=(
                    f"revisie {record.revision} van deze inclusie is al ontvangen met een andere inhoud; "
                    "een wijziging moet een hogere revisie krijgen"))
            if known.status == DUPLICATE and known.duplicate_of:
                earlier = duplicates.duplicate_of(tx, batch.device, known.duplicate_of)
                return result(RESULT_DUPLICATE, duplicate_of=earlier)
            return result(RESULT_UNCHANGED)
        rewritten = _rewritten_field(record, known)
        if rewritten:
            return rejected_content(f"{rewritten}: mag na revisie 1 niet meer veranderen", REJECT_IMMUTABLE_FIELD)

    # New id or a higher revision: re-check it with the device's rules, decide, store.
    failed = rechecks.failures(record, batch.bundles.get((record.bundle, record.bundle_version)), tx.now)
    if failed:
        return rejected_content(rechecks.reason(failed), REJECT_RULE_FAILED,
                                details={"rules": [failure.rule for failure in failed]})
    overlap = batch.episodes.overlap(record, _keys(batch, record))
    if record.state == WITHDRAWN and known is not None:
        status, overlap = known.status, None  # a withdrawal keeps what the record was
        duplicate_of_id = known.duplicate_of
    elif overlap is not None:
        status, duplicate_of_id = DUPLICATE, overlap.id
    else:
        status, duplicate_of_id = ACCEPTED, None

    row = _row(record, status, duplicate_of_id, content_hash, batch)
    if known is None:
        batch.inserts.append(row)
        first = record
    else:
        batch.updates.append({name: value for name, value in row.items() if name not in FIRST_REVISION_COLUMNS})
        batch.seen.pop(inclusion_id, None)  # the update writes last_revision itself
        # this id no longer holds its old episode (it may take it again below)
        batch.episodes.remove(known.key, inclusion_id)
        first = record.model_copy(update={"device_id": known.device_id})  # as stored and exported
    batch.revisions.append({"inclusion_id": inclusion_id, "revision": record.revision, "status": status,
                            "content": content, "pushed_by": batch.device.id, "received_at": tx.now})
    batch.known[inclusion_id] = _Known(
        record.revision, content_hash, status, record.state, duplicate_of_id, record.episode_key(),
        owner=known.owner if known else batch.device.id,
        owner_location=known.owner_location if known else batch.device.location,
        last_revision=record.revision, device_id=first.device_id, created_at=first.created_at, user=first.user)
    if status == ACCEPTED and record.state == REGISTERED:
        batch.episodes.add(record.episode_key(), Episode(
            inclusion_id, record.inclusion_date, record.end_date, record.location, batch.device.organisation))
    if status == ACCEPTED:
        tx.feed("inclusion", summary(first).model_dump(mode="json"), origin_device=batch.device.id,
                bsn=record.bsn, organisation=batch.device.organisation)
    if status == DUPLICATE:
        return result(RESULT_DUPLICATE, duplicate_of=duplicates.told(batch.device, overlap) if overlap
                      else duplicates.duplicate_of(tx, batch.device, duplicate_of_id))
    return result(RESULT_ACCEPTED)


def summary(record: InclusionRecord) -> InclusionSummary:
    """What other devices of the organisation learn: only the duplicate check's fields."""
    return InclusionSummary(
        id=record.id, revision=record.revision, state=record.state, bundle=record.bundle,
        condition=record.condition, episode_side=record.episode_side, bsn=record.bsn,
        inclusion_date=record.inclusion_date, end_date=record.end_date)


def _row(record: InclusionRecord, status: str, duplicate_of: str | None, content_hash: str, batch: _Batch) -> dict:
    row = {name: getattr(record, name) for name in RECORD_COLUMNS}
    row.update(
        id=str(record.id), episode_side=record.episode_side or "", status=status, duplicate_of=duplicate_of,
        eligibility_rules=json.dumps(record.eligibility_rules, ensure_ascii=False, sort_keys=True),
        decision_support=None if record.decision_support is None else json.dumps(
            record.decision_support, ensure_ascii=False),
        content_hash=content_hash, pushed_by=batch.device.id, received_at=batch.tx.now,
        owner_device=batch.device.id, last_revision=record.revision)
    return row


def _write(batch: _Batch) -> None:
    conn = batch.tx.conn
    if batch.inserts:
        batch.tx.insert_many(t.inclusions, batch.inserts)
    if batch.updates:
        # an id can appear twice in one batch (revision 2 and 3): apply in order
        columns = [name for name in batch.updates[0] if name != "id"]
        statement = (update(t.inclusions).where(t.inclusions.c.id == bindparam("_id"))
                     .values({name: bindparam(f"_{name}") for name in columns}))
        conn.execute(statement, [{f"_{name}": value for name, value in row.items()} for row in batch.updates])
    if batch.revisions:
        batch.tx.insert_many(t.inclusion_revisions, batch.revisions)
    if batch.seen:
        conn.execute(update(t.inclusions).where(t.inclusions.c.id == bindparam("_id"))
                     .values(last_revision=bindparam("_last")),
                     [{"_id": key, "_last": value} for key, value in batch.seen.items()])


def _remember_patients(tx: Transaction, device_id: str, patients: set[tuple[str, dt.date]]) -> None:
    """This device now knows these patients: their coverage changes (where the birth date
    matches) reach its feed."""
    from sync.server.coverage import remember_patients

    remember_patients(tx, device_id, patients)
