"""The device's database schema: numbered migrations, tracked in `PRAGMA user_version`.

A register of any older version is brought up to date on open, each migration in its own
transaction together with its version bump, so a crash leaves the file at one version or
the next, never between. A migration on main is never edited: a change is a new number
at the end of `MIGRATIONS` (`bundelassistent restore` refuses a backup newer than this app).
"""

from __future__ import annotations

import json
from collections.abc import Callable

import sqlite_utils

from desktop.core.states import OutboxState, RecordState, ServerResult
from desktop.store import audit_chain, audit_log


def _migration_1(db: sqlite_utils.Database) -> None:
    db.table("meta").create({"key": str, "value": str}, pk="key")
    db.table("inclusions").create({
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
    db.table("inclusions").create_index(["bsn", "bundle"])
    db.table("inclusions").create_index(["state"])
    db.table("inclusions").create_index(["inclusion_date"])
    db.table("inclusion_history").create({
        "seq": int, "inclusion_id": str, "revision": int, "at": str, "action": str,
        "user": str, "role": str, "device_id": str, "reason": str, "record": str,
    }, pk="seq", foreign_keys=[("inclusion_id", "inclusions", "id")])
    db.table("inclusion_history").create_index(["inclusion_id"])
    db.table("outbox").create({
        "seq": int, "inclusion_id": str, "revision": int, "state": str, "attempts": int,
        "last_error": str, "created_at": str, "updated_at": str,
    }, pk="seq", foreign_keys=[("inclusion_id", "inclusions", "id")])
    db.table("outbox").create_index(["state"])
    db.table("outbox").create_index(["inclusion_id", "revision"], unique=True)
    db.table("audit_log").create({
        "seq": int, "at": str, "user": str, "role": str, "acted_for": str, "patient_bsn": str,
        "action": str, "object_type": str, "object_id": str, "device_id": str, "system": str,
        "details": str,
    }, pk="seq")
    db.table("audit_log").create_index(["at"])
    db.execute("""CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
                  BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END""")
    db.execute("""CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
                  BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END""")
    db.execute("""CREATE TRIGGER inclusions_no_delete BEFORE DELETE ON inclusions
                  BEGIN SELECT RAISE(ABORT, 'inclusions are withdrawn, never deleted'); END""")


def _migration_2(db: sqlite_utils.Database) -> None:
    """What the sync brings back: other rooms' inclusions, coverage answers, the cursor."""
    db.table("remote_inclusions").create({
        "id": str, "revision": int, "state": str, "bundle": str, "condition": str, "episode_side": str,
        "bsn": str, "birth_date": str, "inclusion_date": str, "end_date": str, "location": str,
        "device_id": str, "received_at": str,
    }, pk="id")
    db.table("remote_inclusions").create_index(["bsn", "bundle"])
    db.table("coverage_cache").create({
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
    audit_log.set_head(db, head)


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
    now = audit_log.utc_now()
    for inclusion_id, revision, state, bsn, device_id in refused:
        db.execute("UPDATE outbox SET state = ?, last_error = NULL, updated_at = ? "
                   "WHERE inclusion_id = ? AND revision = ?", [OutboxState.PENDING, now, inclusion_id, revision])
        db.execute("UPDATE inclusions SET state = ?, server_result = NULL, server_message = NULL WHERE id = ?",
                   [RecordState.REGISTERED if state == RecordState.REJECTED else state, inclusion_id])
        audit_log.append(db, {
            "at": now, "user": "bijwerking", "role": "systeem", "acted_for": None, "patient_bsn": bsn,
            "action": "sync_requeue", "object_type": "inclusion", "object_id": inclusion_id, "device_id": device_id,
            "system": audit_log.SYSTEM_NAME,
            "details": json.dumps({"revision": revision, "why": "door de server geweigerd op het recordcontract"}),
        })


def _migration_6(db: sqlite_utils.Database) -> None:
    """The intake questionnaires the server answered, for a consultation without the server
    (see `remote_copies.cache_intake`); found again only with the same BSN and birth date."""
    db.table("intake_cache").create({
        "bsn": str, "birth_date": str, "completed_on": str, "completed_at": str, "answers": str,
        "checked_at": str,
    }, pk=("bsn", "birth_date", "completed_on"), if_not_exists=True)  # a register put back on version 5 has it


def _migration_7(db: sqlite_utils.Database) -> None:
    """The decision support Samen beslissen showed, kept with the inclusion (JSON, see
    `desktop.core.decision_support`); NULL for the inclusions registered before."""
    if "decision_support" not in db.table("inclusions").columns_dict:
        db.execute("ALTER TABLE inclusions ADD COLUMN decision_support TEXT")


MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [_migration_1, _migration_2, _migration_3,
                                                              _migration_4, _migration_5, _migration_6,
                                                              _migration_7]


def schema_version(db: sqlite_utils.Database) -> int:
    version: int = db.execute("PRAGMA user_version").fetchone()[0]
    return version


def migrate(db: sqlite_utils.Database) -> None:
    """Apply missing migrations, each in its own transaction with the version bump."""
    while schema_version(db) < len(MIGRATIONS):
        db.execute("BEGIN IMMEDIATE")
        try:
            version = schema_version(db)  # another process may have migrated meanwhile
            if version < len(MIGRATIONS):
                MIGRATIONS[version](db)
                db.execute(f"PRAGMA user_version = {version + 1}")
            db.commit()
        except BaseException:
            db.rollback()
            raise
