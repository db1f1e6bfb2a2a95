"""The register of inclusions: the records, their history, the outbox rows and the audit log.

One SQLite file per device, encrypted with SQLCipher (`desktop.store`), in WAL mode with
synchronous=FULL, so a save that returned is on disk even if the process is killed or the
power fails the next moment. Records are never deleted: withdrawal and correction add
a revision and a history row. The audit log is append-only (triggers refuse UPDATE and
DELETE), holds the NEN 7513 fields and is a hash chain (see `audit_chain`), so rows removed
behind the triggers' back are evident.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlite_utils

from desktop import store
from desktop.core.eligibility import ELIGIBLE, PASS, Decision, Episode
from desktop.core.fields import check_withdrawal_reason
from desktop.core.identifiers import InvalidField
from desktop.core.inputs import InclusionRequest, InputError, parse_correction
from desktop.core.labels import field_label
from desktop.core.messages import MessageError, both, joined, msg
from desktop.core.states import PROBLEM_STATES, OutboxState, RecordState, ServerResult
from desktop.store import audit_chain

DATABASE_NAME = "bundelassistent.sqlite3"
SYSTEM_NAME = "Bundelassistent"

UNSENT = f"state != '{OutboxState.DONE}'"  # SQL: an outbox row the server has not answered for yet
CORRECTABLE_FIELDS = ("name", "side", "clinician_agb", "location", "explained_by",
                      "explanation_language", "handout_printed", "initial_treatment")


def utc_now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class Actor:
    """Who acts, for the audit log: the user, their role, for whom, and on which device."""

    user: str
    role: str
    acted_for: str | None = None

    @classmethod
    def from_os(cls, role: str = "onbekend") -> Actor:
        return cls(user=os_account(), role=role)


def os_account() -> str:
    """The account the process runs as, asked of the OS itself.

    Not `getpass.getuser()`: it reads USER/LOGNAME/USERNAME first, which anyone can set
    to another person's name before starting the app.
    """
    if os.name == "nt":
        import ctypes

        size = ctypes.c_ulong(257)
        buffer = ctypes.create_unicode_buffer(size.value)
        if ctypes.windll.advapi32.GetUserNameW(buffer, ctypes.byref(size)):  # type: ignore[attr-defined]
            return buffer.value
        return "onbekend"
    import pwd

    uid = os.getuid()
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:  # an account without a passwd entry (container, LDAP gone): the number still identifies it
        return f"uid {uid}"


class NotEligible(MessageError):
    """Raised inside the save transaction when the fresh check says no; nothing is saved."""

    def __init__(self, decision: Decision):
        super().__init__(joined((r.reason for r in decision.rules if r.outcome != PASS), "; "))
        self.decision = decision


class RecordNotFound(MessageError, LookupError):
    pass


class InvalidChange(MessageError, ValueError):
    pass


def _migration_1(db: sqlite_utils.Database) -> None:
    db["meta"].create({"key": str, "value": str}, pk="key")
    db["inclusions"].create({
        "id": str, "revision": int, "state": str,
        "bundle": str, "bundle_version": str, "condition": str, "diagnosis": str, "side": str,
        "bsn": str, "birth_date": str, "name": str,
        "insurer_uzovi": str, "insurer_source": str, "insurer_checked_at": str,
        "eligibility_status": str, "eligibility_rules": str,
        "explained_by": str, "explained_at": str, "explanation_language": str, "handout_printed": int,
        "agreed": int, "clinician_agb": str, "location": str,
        "inclusion_date": str, "end_date": str, "initial_treatment": str,
        "device_id": str, "user": str, "created_at": str, "updated_at": str,
        "withdrawn_at": str, "withdrawal_reason": str,
        "server_result": str, "server_message": str, "duplicate_of": str, "synced_at": str,
    }, pk="id", not_null={"revision", "state", "bundle", "bsn", "inclusion_date", "end_date", "created_at"})
    db["inclusions"].create_index(["bsn", "bundle"])
    db["inclusions"].create_index(["state"])
    db["inclusions"].create_index(["inclusion_date"])
    db["inclusion_history"].create({
        "seq": int, "inclusion_id": str, "revision": int, "at": str, "action": str,
        "user": str, "role": str, "device_id": str, "reason": str, "record": str,
    }, pk="seq", foreign_keys=[("inclusion_id", "inclusions", "id")])
    db["inclusion_history"].create_index(["inclusion_id"])
    db["outbox"].create({
        "seq": int, "inclusion_id": str, "revision": int, "state": str, "attempts": int,
        "last_error": str, "created_at": str, "updated_at": str,
    }, pk="seq", foreign_keys=[("inclusion_id", "inclusions", "id")])
    db["outbox"].create_index(["state"])
    db["outbox"].create_index(["inclusion_id", "revision"], unique=True)
    db["audit_log"].create({
        "seq": int, "at": str, "user": str, "role": str, "acted_for": str, "patient_bsn": str,
        "action": str, "object_type": str, "object_id": str, "device_id": str, "system": str,
        "details": str,
    }, pk="seq")
    db["audit_log"].create_index(["at"])
    db.execute("""CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
                  BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END""")
    db.execute("""CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
                  BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END""")
    db.execute("""CREATE TRIGGER inclusions_no_delete BEFORE DELETE ON inclusions
                  BEGIN SELECT RAISE(ABORT, 'inclusions are withdrawn, never deleted'); END""")


def _migration_2(db: sqlite_utils.Database) -> None:
    """What the sync brings back: other rooms' inclusions, coverage answers, the cursor."""
    db["remote_inclusions"].create({
        "id": str, "revision": int, "state": str, "bundle": str, "condition": str, "episode_side": str,
        "bsn": str, "birth_date": str, "inclusion_date": str, "end_date": str, "location": str,
        "device_id": str, "received_at": str,
    }, pk="id")
    db["remote_inclusions"].create_index(["bsn", "bundle"])
    db["coverage_cache"].create({
        "bsn": str, "valid_from": str, "valid_to": str, "uzovi": str, "insurer": str,
        "checked_at": str, "source": str,
    }, pk=("bsn", "valid_from"))


def _migration_3(db: sqlite_utils.Database) -> None:
    """Chain the audit log (see `audit_chain`): a hash column, existing rows chained in order."""
    db.execute("ALTER TABLE audit_log ADD COLUMN row_hash TEXT")
    db.execute("DROP TRIGGER audit_log_no_update")  # back below, in the same transaction
    head = audit_chain.START
    rows = db.execute(f"SELECT {', '.join(audit_chain.FIELDS)} FROM audit_log ORDER BY seq").fetchall()
    for values in rows:
        row = dict(zip(audit_chain.FIELDS, values))
        head = audit_chain.Head(row["seq"], audit_chain.row_hash(head.hash, row))
        db.execute("UPDATE audit_log SET row_hash = ? WHERE seq = ?", [head.hash, head.seq])
    db.execute("""CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
                  BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END""")
    _set_audit_head(db, head)


def _audit_head(db: sqlite_utils.Database) -> audit_chain.Head:
    """The newest row as the app wrote it; rows cut off the end stay a visible gap."""
    row = db.execute("SELECT value FROM meta WHERE key = ?", [audit_chain.HEAD_KEY]).fetchone()
    head = audit_chain.Head.decode(row[0] if row else None)
    if head is None:  # the head was removed: continue after what is there (the check reports it)
        row = db.execute("SELECT seq, row_hash FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()
        head = audit_chain.Head(row[0], row[1] or "") if row else audit_chain.START
    return head


def _append_audit(db: sqlite_utils.Database, fields: dict[str, Any]) -> None:
    """Append one row (all of audit_chain.FIELDS but seq) to the hash chain, inside an open
    write transaction, so the head read here cannot change before the row is in."""
    head = _audit_head(db)
    newest = db.execute("SELECT coalesce(max(seq), 0) FROM audit_log").fetchone()[0]
    row = {**fields, "seq": max(head.seq, newest) + 1}  # rows slipped in after the head stay a visible break
    row["row_hash"] = audit_chain.row_hash(head.hash, row)
    columns = (*audit_chain.FIELDS, "row_hash")
    db.execute(f"INSERT INTO audit_log ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
               [row[name] for name in columns])
    _set_audit_head(db, audit_chain.Head(row["seq"], row["row_hash"]))


def _set_audit_head(db: sqlite_utils.Database, head: audit_chain.Head) -> None:
    db.execute("INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
               [audit_chain.HEAD_KEY, head.encode()])


def _migration_4(db: sqlite_utils.Database) -> None:
    """Protocol 2 sends other devices' inclusions without birth date, location or device:
    forget what earlier syncs stored of those (the active-episode check never read them)."""
    db.execute("UPDATE remote_inclusions SET birth_date = NULL, location = NULL, device_id = NULL")



# How a server before the shared record contract refused a field its protocol did not take
# (side `both`, …): "record N: field: problem". Other refusals have no such prefix.
CONTRACT_MISMATCH = "record [0-9]*: *"


def _migration_5(db: sqlite_utils.Database) -> None:
    """Send again what an older server refused for a record-contract mismatch.

    The server now takes every value the device stores (side `both` above all), so these
    records go back to the outbox as not yet sent. Refusals for other reasons (a rule,
    other content under the same revision) stay as they are.
    """
    refused = db.execute("SELECT id, revision, state, bsn, device_id FROM inclusions "
                         "WHERE server_result = ? AND server_message GLOB ?",
                         [ServerResult.REJECTED, CONTRACT_MISMATCH]).fetchall()
    now = utc_now()
    for inclusion_id, revision, state, bsn, device_id in refused:
        db.execute("UPDATE outbox SET state = ?, last_error = NULL, updated_at = ? "
                   "WHERE inclusion_id = ? AND revision = ?", [OutboxState.PENDING, now, inclusion_id, revision])
        db.execute("UPDATE inclusions SET state = ?, server_result = NULL, server_message = NULL WHERE id = ?",
                   [RecordState.REGISTERED if state == RecordState.REJECTED else state, inclusion_id])
        _append_audit(db, {
            "at": now, "user": "bijwerking", "role": "systeem", "acted_for": None, "patient_bsn": bsn,
            "action": "sync_requeue", "object_type": "inclusion", "object_id": inclusion_id, "device_id": device_id,
            "system": SYSTEM_NAME,
            "details": json.dumps({"revision": revision, "why": "door de server geweigerd op het recordcontract"}),
        })


def _migration_6(db: sqlite_utils.Database) -> None:
    """The intake questionnaires the server answered, for a consultation without the server
    (see `remote_copies.cache_intake`); found again only with the same BSN and birth date."""
    db["intake_cache"].create({
        "bsn": str, "birth_date": str, "completed_on": str, "completed_at": str, "answers": str,
        "checked_at": str,
    }, pk=("bsn", "birth_date", "completed_on"), if_not_exists=True)  # a register put back on version 5 has it


MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [_migration_1, _migration_2, _migration_3,
                                                              _migration_4, _migration_5, _migration_6]


class Registry:
    """The device's durable store. Open one per process; every write is one transaction."""

    def __init__(self, path: Path, actor: Actor | None = None):
        self.path = Path(path)
        self.actor = actor or Actor.from_os()
        self.db = sqlite_utils.Database(store.connect(self.path))  # raises store.StorageError with advice
        try:
            self._open()
        except BaseException as error:
            self.db.conn.close()
            if isinstance(error, (store.DatabaseError, OSError)):
                raise store.describe(error, self.path) from error
            raise

    def _open(self) -> None:
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.execute("PRAGMA foreign_keys=ON")
        self._migrate()
        self.device_id = self._device_id()
        store.remember(self.path, self.device_id, self.record_count())

    def record_count(self) -> int:
        return self.db.execute("SELECT count(*) FROM inclusions").fetchone()[0]

    @classmethod
    def in_folder(cls, data_dir: Path, actor: Actor | None = None) -> Registry:
        return cls(Path(data_dir) / DATABASE_NAME, actor)

    def close(self) -> None:
        """Remember the record count (outside the file), then close."""
        try:
            store.remember(self.path, self.device_id, self.record_count())
        except (store.StorageError, store.DatabaseError):
            pass  # the next start checks again; closing must not fail
        finally:
            self.db.conn.close()

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- schema ---------------------------------------------------------------------
    @property
    def schema_version(self) -> int:
        return self.db.execute("PRAGMA user_version").fetchone()[0]

    def _migrate(self) -> None:
        """Apply missing migrations, each in its own transaction with the version bump."""
        while self.schema_version < len(MIGRATIONS):
            self.db.execute("BEGIN IMMEDIATE")
            try:
                version = self.schema_version  # another process may have migrated meanwhile
                if version < len(MIGRATIONS):
                    MIGRATIONS[version](self.db)
                    self.db.execute(f"PRAGMA user_version = {version + 1}")
                self.db.commit()
            except BaseException:
                self.db.rollback()
                raise

    def _device_id(self) -> str:
        row = self.db.execute("SELECT value FROM meta WHERE key = 'device_id'").fetchone()
        if row:
            return row[0]
        self.db.execute("BEGIN IMMEDIATE")
        try:
            self.db.execute("INSERT OR IGNORE INTO meta(key, value) VALUES ('device_id', ?)", [str(uuid.uuid4())])
            self.db.execute("INSERT OR IGNORE INTO meta(key, value) VALUES ('device_name', ?)", [socket.gethostname()])
            self.db.commit()
        except BaseException:
            self.db.rollback()
            raise
        return self.db.execute("SELECT value FROM meta WHERE key = 'device_id'").fetchone()[0]

    def backup(self, target: Path) -> int:
        """A consistent, encrypted, verified copy while the app may be writing; returns its size."""
        from desktop.store import backups

        size = backups.write_backup(self.db.conn, self.path, Path(target))
        self.audit("backup", None, None, "database", {"target": Path(target).name})
        return size

    def integrity_ok(self) -> bool:
        return self.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"

    # -- transactions -----------------------------------------------------------------
    def write(self, work: Callable[[], Any]) -> Any:
        """Run `work` in one IMMEDIATE transaction; commit (durably) or roll back all of it.

        Public: the outbox and the remote copies add their own work to a transaction with it.
        """
        self.db.execute("BEGIN IMMEDIATE")
        try:
            result = work()
            self.db.commit()
            return result
        except BaseException:
            self.db.rollback()
            raise

    def write_or_join(self, work: Callable[[], Any]) -> Any:
        """Run `work` in the caller's open transaction (inside `write`), else in its own."""
        return work() if self.db.conn.in_transaction else self.write(work)

    def meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
        return row[0] if row else None

    def set_meta(self, values: dict[str, str | None]) -> None:
        """Write settings in the caller's transaction (inside `write`) or in a new one."""
        rows = [{"key": key, "value": value} for key, value in values.items()]
        self.write_or_join(lambda: self.db["meta"].upsert_all(rows, pk="key"))

    def _audit(self, action: str, patient_bsn: str | None, object_id: str | None,
               object_type: str = "inclusion", details: dict | None = None) -> None:
        """Append one row to the hash chain; inside the caller's write transaction, so the
        head read here cannot change before the row is in (BEGIN IMMEDIATE holds the lock)."""
        if not self.db.conn.in_transaction:
            self.write(lambda: self._audit(action, patient_bsn, object_id, object_type, details))
            return
        _append_audit(self.db, {
            "at": utc_now(), "user": self.actor.user, "role": self.actor.role,
            "acted_for": self.actor.acted_for, "patient_bsn": patient_bsn, "action": action,
            "object_type": object_type, "object_id": object_id, "device_id": self.device_id,
            "system": SYSTEM_NAME, "details": json.dumps(details or {}, ensure_ascii=False),
        })

    def audit_chain_problems(self) -> list[str]:
        """What the self-test reports: broken links in the chain and missing or defused triggers."""
        triggers = dict(self.db.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'").fetchall())
        rows = self.db.execute(f"SELECT {', '.join(audit_chain.FIELDS)}, row_hash FROM audit_log ORDER BY seq")
        chain = (dict(zip((*audit_chain.FIELDS, "row_hash"), values)) for values in rows)
        return audit_chain.trigger_problems(triggers) + audit_chain.verify(chain, self.meta(audit_chain.HEAD_KEY))

    audit_within = _audit  # the same entry, inside a transaction the caller opened with `write`

    def audit(self, action: str, patient_bsn: str | None = None, object_id: str | None = None,
              object_type: str = "inclusion", details: dict | None = None) -> None:
        """Record a view or an external event (such as a sync) in the audit log."""
        self.write(lambda: self._audit(action, patient_bsn, object_id, object_type, details))

    # -- episodes and inclusions --------------------------------------------------------
    def episodes_for(self, bsn: str, bundle: str | None = None) -> list[Episode]:
        """This device's inclusions plus those other rooms registered (from the last sync)."""
        where, params = ("bsn = ? AND bundle = ?", [bsn, bundle]) if bundle else ("bsn = ?", [bsn])
        local = [_episode(row) for row in self.db["inclusions"].rows_where(where, params)]
        remote = [_episode({**row, "side": row["episode_side"]})  # never own records: remote_copies.store_changes
                  for row in self.db["remote_inclusions"].rows_where(where, params)]
        return local + remote

    def register(self, request: InclusionRequest, decide: Callable[[list[Episode]], Decision]) -> dict:
        """Save an inclusion durably after a fresh eligibility check inside the transaction.

        `decide` is called with the patient's current episodes while the database is
        locked for writing, so two rooms cannot both include the same episode here.
        """
        case, bundle = request.case, request.bundle

        def work() -> dict:
            decision = decide(self.episodes_for(request.bsn, bundle.id))
            if decision.status != ELIGIBLE:
                raise NotEligible(decision)
            now = utc_now()
            record = {
                "id": str(uuid.uuid4()), "revision": 1, "state": RecordState.REGISTERED,
                "bundle": bundle.id, "bundle_version": bundle.version,
                "condition": decision.condition.id, "diagnosis": case.diagnosis, "side": case.side,
                "bsn": request.bsn, "birth_date": case.birth_date.isoformat(), "name": request.name,
                "insurer_uzovi": case.insurer_uzovi, "insurer_source": request.insurer_source,
                "insurer_checked_at": request.insurer_checked_at or now,
                "eligibility_status": decision.status,
                "eligibility_rules": json.dumps([r.as_dict() for r in decision.rules], ensure_ascii=False),
                "explained_by": request.explained_by, "explained_at": request.explained_at or now,
                "explanation_language": request.explanation_language,
                "handout_printed": int(request.handout_printed), "agreed": 1,
                "clinician_agb": request.clinician_agb, "location": request.location,
                "inclusion_date": case.inclusion_date.isoformat(),
                "end_date": decision.end_date.isoformat(),
                "initial_treatment": request.initial_treatment,
                "device_id": self.device_id, "user": self.actor.user,
                "created_at": now, "updated_at": now,
            }
            self.db["inclusions"].insert(record)
            self._history(record, "register", None)
            self._enqueue(record)
            self._audit("create", request.bsn, record["id"], details={"bundle": bundle.id})
            return record

        return self.write(work)

    def _history(self, record: dict, action: str, reason: str | None) -> None:
        self.db["inclusion_history"].insert({
            "inclusion_id": record["id"], "revision": record["revision"], "at": record["updated_at"],
            "action": action, "user": self.actor.user, "role": self.actor.role,
            "device_id": self.device_id, "reason": reason,
            "record": json.dumps(record, ensure_ascii=False),
        })

    def _enqueue(self, record: dict) -> None:
        self.db["outbox"].insert({
            "inclusion_id": record["id"], "revision": record["revision"], "state": OutboxState.PENDING,
            "attempts": 0, "created_at": record["updated_at"], "updated_at": record["updated_at"],
        })

    def _load(self, inclusion_id: str) -> dict:
        try:
            return self.db["inclusions"].get(inclusion_id)
        except sqlite_utils.db.NotFoundError:
            raise RecordNotFound(msg("operations.change.not_found", inclusion=inclusion_id)) from None

    def get(self, inclusion_id: str) -> dict:
        """Read one record; the view is audited."""
        record = self._load(inclusion_id)
        self.audit("read", record["bsn"], inclusion_id)
        return record

    def withdraw(self, inclusion_id: str, reason: str) -> dict:
        """Withdraw with a reason; the record stays, marked withdrawn, and is synced."""
        if not reason or not reason.strip():
            raise InvalidChange(msg("operations.change.withdrawal_reason_missing"))
        try:
            reason = check_withdrawal_reason(reason)
        except InvalidField as problem:
            raise InvalidChange(problem) from None

        def work() -> dict:
            record = self._load(inclusion_id)
            if record["state"] == RecordState.WITHDRAWN:
                raise InvalidChange(msg("operations.change.already_withdrawn"))
            now = utc_now()
            record.update(state=RecordState.WITHDRAWN, revision=record["revision"] + 1, updated_at=now,
                          withdrawn_at=now, withdrawal_reason=reason.strip())
            self.db["inclusions"].update(inclusion_id, record)
            self._history(record, "withdraw", reason.strip())
            self._enqueue(record)
            self._audit("withdraw", record["bsn"], inclusion_id, details={"reason": reason.strip()})
            return record

        return self.write(work)

    def correct(self, inclusion_id: str, changes: dict[str, Any], reason: str) -> dict:
        """Correct administrative fields; what decides eligibility needs a new inclusion."""
        if not reason or not reason.strip():
            raise InvalidChange(msg("operations.change.correction_reason_missing"))
        refused = sorted(set(changes) - set(CORRECTABLE_FIELDS))
        if refused:
            raise InvalidChange(msg("operations.change.not_correctable", fields=both(map(field_label, refused))))
        try:
            changes = parse_correction(changes)
        except InputError as error:
            raise InvalidChange(error.message) from None

        def work() -> dict:
            record = self._load(inclusion_id)
            if record["state"] == RecordState.WITHDRAWN:
                raise InvalidChange(msg("operations.change.withdrawn_not_correctable"))
            now = utc_now()
            record.update(changes)
            record.update(revision=record["revision"] + 1, updated_at=now, state=RecordState.REGISTERED)
            self.db["inclusions"].update(inclusion_id, record)
            self._history(record, "correct", reason.strip())
            self._enqueue(record)
            self._audit("update", record["bsn"], inclusion_id,
                        details={"fields": sorted(changes), "reason": reason.strip()})
            return record

        return self.write(work)

    def state_of(self, inclusion_id: str) -> RecordState | None:
        """Only the state (no patient data, so not an audited view)."""
        row = self.db.execute("SELECT state FROM inclusions WHERE id = ?", [inclusion_id]).fetchone()
        return RecordState(row[0]) if row else None

    def history(self, inclusion_id: str) -> list[dict]:
        return list(self.db["inclusion_history"].rows_where(
            "inclusion_id = ?", [inclusion_id], order_by="seq"))

    def inclusions(self, where: str | None = None, params: list | None = None) -> list[dict]:
        return list(self.db["inclusions"].rows_where(where, params or [], order_by="created_at"))

    def pending_ids(self) -> set[str]:
        """Inclusions with a change the server has not confirmed yet."""
        return {row[0] for row in self.db.execute(f"SELECT inclusion_id FROM outbox WHERE {UNSENT}")}

    def worklist(self, kind: str, today: dt.date) -> list[dict]:
        """Newest first: 'today' (inclusion date today, not entered today), 'unsent',
        'problems' (rejected or duplicate) or 'all'."""
        where, params = {
            "today": ("inclusion_date = ?", [today.isoformat()]),
            "unsent": (f"id IN (SELECT inclusion_id FROM outbox WHERE {UNSENT})", []),
            # a withdrawal the server refused stays withdrawn here, but it is a problem too
            "problems": ("state IN (?, ?) OR server_result = ?", [*PROBLEM_STATES, ServerResult.REJECTED]),
        }.get(kind, (None, []))
        return list(self.db["inclusions"].rows_where(where, params, order_by="inclusion_date DESC, created_at DESC"))

    def pending_count(self) -> int:
        return self.db.execute(f"SELECT count(DISTINCT inclusion_id) FROM outbox WHERE {UNSENT}").fetchone()[0]

    def audit_entries(self) -> list[dict]:
        return list(self.db["audit_log"].rows_where(order_by="seq"))


def _episode(row: dict) -> Episode:
    return Episode(
        bundle=row["bundle"], condition=row["condition"], side=row["side"],
        start=dt.date.fromisoformat(row["inclusion_date"]), end=dt.date.fromisoformat(row["end_date"]),
        state=RecordState(row["state"]), inclusion_id=row["id"],
    )
