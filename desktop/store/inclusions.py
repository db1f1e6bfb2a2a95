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
from typing import Any, TypeVar

import sqlite_utils

from desktop import store
from desktop.core.decision_support import check_decision_support
from desktop.core.eligibility import ELIGIBLE, PASS, Decision, Episode
from desktop.core.fields import check_withdrawal_reason
from desktop.core.identifiers import InvalidField
from desktop.core.inputs import InclusionRequest, InputError, parse_correction
from desktop.core.labels import field_label
from desktop.core.messages import MessageError, both, joined, msg
from desktop.core.states import PROBLEM_STATES, OutboxState, RecordState, ServerResult
from desktop.store import audit_chain, audit_log, migrations
from desktop.store.audit_log import utc_now as utc_now  # re-exported: records carry the same time stamps

DATABASE_NAME = "bundelassistent.sqlite3"

UNSENT = f"state != '{OutboxState.DONE}'"  # SQL: an outbox row the server has not answered for yet
T = TypeVar("T")
CORRECTABLE_FIELDS = ("name", "side", "clinician_agb", "location", "explained_by",
                      "explanation_language", "handout_printed", "initial_treatment")


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
        migrations.migrate(self.db)
        self.device_id = self._device_id()
        store.remember(self.path, self.device_id, self.record_count())

    def record_count(self) -> int:
        return int(self.db.execute("SELECT count(*) FROM inclusions").fetchone()[0])

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

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- schema ---------------------------------------------------------------------
    @property
    def schema_version(self) -> int:
        return migrations.schema_version(self.db)

    def _device_id(self) -> str:
        row = self.db.execute("SELECT value FROM meta WHERE key = 'device_id'").fetchone()
        if row:
            return str(row[0])
        self.db.execute("BEGIN IMMEDIATE")
        try:
            self.db.execute("INSERT OR IGNORE INTO meta(key, value) VALUES ('device_id', ?)", [str(uuid.uuid4())])
            self.db.execute("INSERT OR IGNORE INTO meta(key, value) VALUES ('device_name', ?)", [socket.gethostname()])
            self.db.commit()
        except BaseException:
            self.db.rollback()
            raise
        return str(self.db.execute("SELECT value FROM meta WHERE key = 'device_id'").fetchone()[0])

    def backup(self, target: Path) -> int:
        """A consistent, encrypted, verified copy while the app may be writing; returns its size."""
        from desktop.store import backups

        size = backups.write_backup(self.db.conn, self.path, Path(target))
        self.audit("backup", None, None, "database", {"target": Path(target).name})
        return size

    def integrity_ok(self) -> bool:
        result: str = self.db.execute("PRAGMA integrity_check").fetchone()[0]
        return result == "ok"

    # -- transactions -----------------------------------------------------------------
    def write(self, work: Callable[[], T]) -> T:
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

    def write_or_join(self, work: Callable[[], T]) -> T:
        """Run `work` in the caller's open transaction (inside `write`), else in its own."""
        return work() if self.db.conn.in_transaction else self.write(work)

    def meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
        return row[0] if row else None

    def set_meta(self, values: dict[str, str | None]) -> None:
        """Write settings in the caller's transaction (inside `write`) or in a new one."""
        rows = [{"key": key, "value": value} for key, value in values.items()]
        self.write_or_join(lambda: self.db.table("meta").upsert_all(rows, pk="key"))

    def _audit(self, action: str, patient_bsn: str | None, object_id: str | None,
               object_type: str = "inclusion", details: dict[str, Any] | None = None,
               acted_for: str | None = None) -> None:
        """Append one row to the hash chain; inside the caller's write transaction, so the
        head read here cannot change before the row is in (BEGIN IMMEDIATE holds the lock)."""
        if not self.db.conn.in_transaction:
            self.write(lambda: self._audit(action, patient_bsn, object_id, object_type, details, acted_for))
            return
        audit_log.append(self.db, {
            "at": utc_now(), "user": self.actor.user, "role": self.actor.role,
            "acted_for": acted_for or self.actor.acted_for, "patient_bsn": patient_bsn, "action": action,
            "object_type": object_type, "object_id": object_id, "device_id": self.device_id,
            "system": audit_log.SYSTEM_NAME, "details": json.dumps(details or {}, ensure_ascii=False),
        })

    def audit_chain_problems(self) -> list[str]:
        """What the self-test reports: broken links in the chain and missing or defused triggers."""
        triggers = dict(self.db.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'").fetchall())
        rows = self.db.execute(f"SELECT {', '.join(audit_chain.FIELDS)}, row_hash FROM audit_log ORDER BY seq")
        chain = (dict(zip((*audit_chain.FIELDS, "row_hash"), values)) for values in rows)
        return audit_chain.trigger_problems(triggers) + audit_chain.verify(chain, self.meta(audit_chain.HEAD_KEY))

    audit_within = _audit  # the same entry, inside a transaction the caller opened with `write`

    def audit(self, action: str, patient_bsn: str | None = None, object_id: str | None = None,
              object_type: str = "inclusion", details: dict[str, Any] | None = None) -> None:
        """Record a view or an external event (such as a sync) in the audit log."""
        self.write(lambda: self._audit(action, patient_bsn, object_id, object_type, details))

    # -- episodes and inclusions --------------------------------------------------------
    def episodes_for(self, bsn: str, bundle: str | None = None) -> list[Episode]:
        """This device's inclusions plus those other rooms registered (from the last sync)."""
        where, params = ("bsn = ? AND bundle = ?", [bsn, bundle]) if bundle else ("bsn = ?", [bsn])
        local = [_episode(row) for row in self.db.table("inclusions").rows_where(where, params)]
        remote = [_episode({**row, "side": row["episode_side"]})  # never own records: remote_copies.store_changes
                  for row in self.db.table("remote_inclusions").rows_where(where, params)]
        return local + remote

    def register(self, request: InclusionRequest, decide: Callable[[list[Episode]], Decision]) -> dict[str, Any]:
        """Save an inclusion durably after a fresh eligibility check inside the transaction.

        `decide` is called with the patient's current episodes while the database is
        locked for writing, so two rooms cannot both include the same episode here.
        """
        case, bundle = request.case, request.bundle
        birth_date = case.birth_date
        if birth_date is None:  # parse_inclusion refuses a request without one; the register needs it too
            raise InvalidChange(InvalidField("birth_date", msg("core.invalid.birth_date_needed")))

        def work() -> dict[str, Any]:
            decision = decide(self.episodes_for(request.bsn, bundle.id))
            if decision.status != ELIGIBLE or decision.condition is None:  # an eligible decision names one
                raise NotEligible(decision)
            support = _decision_support(request, decision.condition.id)
            now = utc_now()
            inclusion_id = str(uuid.uuid4())
            record = {
                "id": inclusion_id, "revision": 1, "state": RecordState.REGISTERED,
                "bundle": bundle.id, "bundle_version": bundle.version,
                "condition": decision.condition.id, "diagnosis": case.diagnosis, "side": case.side,
                "bsn": request.bsn, "birth_date": birth_date.isoformat(), "name": request.name,
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
                "created_at": now, "updated_at": now, "decision_support": support,
            }
            self.db.table("inclusions").insert(record)
            self._history(record, "register", None)
            self._enqueue(record)
            # a shared workstation account registers for the person who explained the bundle
            acted_for = request.explained_by if request.explained_by != self.actor.user else None
            self._audit("create", request.bsn, inclusion_id, details={"bundle": bundle.id}, acted_for=acted_for)
            return record

        return self.write(work)

    def _history(self, record: dict[str, Any], action: str, reason: str | None) -> None:
        self.db.table("inclusion_history").insert({
            "inclusion_id": record["id"], "revision": record["revision"], "at": record["updated_at"],
            "action": action, "user": self.actor.user, "role": self.actor.role,
            "device_id": self.device_id, "reason": reason,
            "record": json.dumps(record, ensure_ascii=False),
        })

    def _enqueue(self, record: dict[str, Any]) -> None:
        self.db.table("outbox").insert({
            "inclusion_id": record["id"], "revision": record["revision"], "state": OutboxState.PENDING,
            "attempts": 0, "created_at": record["updated_at"], "updated_at": record["updated_at"],
        })

    def _load(self, inclusion_id: str) -> dict[str, Any]:
        try:
            return self.db.table("inclusions").get(inclusion_id)
        except sqlite_utils.db.NotFoundError:
            raise RecordNotFound(msg("operations.change.not_found", inclusion=inclusion_id)) from None

    def get(self, inclusion_id: str) -> dict[str, Any]:
        """Read one record; the view is audited."""
        record = self._load(inclusion_id)
        self.audit("read", record["bsn"], inclusion_id)
        return record

    def withdraw(self, inclusion_id: str, reason: str) -> dict[str, Any]:
        """Withdraw with a reason; the record stays, marked withdrawn, and is synced."""
        if not reason or not reason.strip():
            raise InvalidChange(msg("operations.change.withdrawal_reason_missing"))
        try:
            reason = check_withdrawal_reason(reason)
        except InvalidField as problem:
            raise InvalidChange(problem) from None

        def work() -> dict[str, Any]:
            record = self._load(inclusion_id)
            if record["state"] == RecordState.WITHDRAWN:
                raise InvalidChange(msg("operations.change.already_withdrawn"))
            now = utc_now()
            record.update(state=RecordState.WITHDRAWN, revision=record["revision"] + 1, updated_at=now,
                          withdrawn_at=now, withdrawal_reason=reason.strip())
            self.db.table("inclusions").update(inclusion_id, record)
            self._history(record, "withdraw", reason.strip())
            self._enqueue(record)
            self._audit("withdraw", record["bsn"], inclusion_id, details={"reason": reason.strip()})
            return record

        return self.write(work)

    def correct(self, inclusion_id: str, changes: dict[str, Any], reason: str) -> dict[str, Any]:
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

        def work() -> dict[str, Any]:
            record = self._load(inclusion_id)
            if record["state"] == RecordState.WITHDRAWN:
                raise InvalidChange(msg("operations.change.withdrawn_not_correctable"))
            now = utc_now()
            record.update(changes)
            record.update(revision=record["revision"] + 1, updated_at=now, state=RecordState.REGISTERED)
            self.db.table("inclusions").update(inclusion_id, record)
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

    def history(self, inclusion_id: str) -> list[dict[str, Any]]:
        return list(self.db.table("inclusion_history").rows_where(
            "inclusion_id = ?", [inclusion_id], order_by="seq"))

    def inclusions(self, where: str | None = None, params: list[Any] | None = None) -> list[dict[str, Any]]:
        return list(self.db.table("inclusions").rows_where(where, params or [], order_by="created_at"))

    def pending_ids(self) -> set[str]:
        """Inclusions with a change the server has not confirmed yet."""
        return {row[0] for row in self.db.execute(f"SELECT inclusion_id FROM outbox WHERE {UNSENT}")}

    def worklist(self, kind: str, today: dt.date) -> list[dict[str, Any]]:
        """Newest first: 'today' (inclusion date today, not entered today), 'unsent',
        'problems' (rejected or duplicate) or 'all'."""
        filters: dict[str, tuple[str | None, list[Any]]] = {
            "today": ("inclusion_date = ?", [today.isoformat()]),
            "unsent": (f"id IN (SELECT inclusion_id FROM outbox WHERE {UNSENT})", []),
            # a withdrawal the server refused stays withdrawn here, but it is a problem too
            "problems": ("state IN (?, ?) OR server_result = ?", [*PROBLEM_STATES, ServerResult.REJECTED]),
        }
        where, params = filters.get(kind, (None, []))
        return list(self.db.table("inclusions").rows_where(where, params,
                                                           order_by="inclusion_date DESC, created_at DESC"))

    def problem_count(self) -> int:
        """Inclusions the server rejected or found a duplicate of (the worklist's 'problems')."""
        return int(self.db.execute("SELECT count(*) FROM inclusions WHERE state IN (?, ?) OR server_result = ?",
                                   [*PROBLEM_STATES, ServerResult.REJECTED]).fetchone()[0])

    def pending_count(self) -> int:
        return int(self.db.execute(f"SELECT count(DISTINCT inclusion_id) FROM outbox WHERE {UNSENT}").fetchone()[0])

    def audit_entries(self) -> list[dict[str, Any]]:
        return list(self.db.table("audit_log").rows_where(order_by="seq"))


def _decision_support(request: InclusionRequest, condition: str) -> str | None:
    """The decision support as stored (JSON), checked by the record contract for the condition decided."""
    if request.decision_support is None:
        return None
    try:
        checked = check_decision_support(request.decision_support, condition)
    except InvalidField as problem:
        raise InputError([problem]) from None
    return json.dumps(checked, ensure_ascii=False)


def _episode(row: dict[str, Any]) -> Episode:
    return Episode(
        bundle=row["bundle"], condition=row["condition"], side=row["side"],
        start=dt.date.fromisoformat(row["inclusion_date"]), end=dt.date.fromisoformat(row["end_date"]),
        state=RecordState(row["state"]), inclusion_id=row["id"],
    )
