"""Encrypted backups, restore, a recovered key, and starting afresh on purpose.

A backup is SQLite's online backup into a new file keyed with the device key, so it is
as private as the register and opens wherever that key is (the keyring, or the copy the
central server keeps). Nothing here deletes a register: restore and `new-register` move
the file they replace aside (`….replaced-<time>`) and keep its key in the keyring under a
retired name, so IT can still read it.
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from desktop.core.messages import MessageError, msg
from desktop.core.states import OutboxState
from desktop.store import database, files, keys
from desktop.store.database import DatabaseError, raw_connect, table_counts
from desktop.store.faults import StorageError, describe


class BackupError(MessageError, ValueError):
    """The backup (or key) cannot be used; the message says why (read in the reader's language)."""


@dataclass(frozen=True)
class BackupInfo:
    device_id: str | None
    records: int
    unsynced: int
    schema_version: int
    counts: dict[str, int]


def write_backup(connection: sqlite3.Connection, source: Path, target: Path) -> int:
    """A consistent, encrypted, verified copy of the open register; returns its size."""
    target = Path(target)
    if target.exists():
        raise FileExistsError(target)
    entry = keys.load(source)
    partial = target.with_name(target.name + ".part")
    try:
        files.private_file(partial)
        copy = raw_connect(partial, entry)
        try:
            connection.backup(copy)
        finally:
            copy.close()
        read(partial, entry)  # opens with the key and passes the integrity check
        files.fsync_file(partial)
        partial.replace(target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return target.stat().st_size


def read(path: Path, entry: keys.KeyEntry | None) -> BackupInfo:
    """Open a register file read-only with the key and check it; BackupError if unusable."""
    if database.file_kind(path) in ("missing", "empty"):
        raise BackupError(msg("operations.backup.missing", path=path))
    try:
        connection = raw_connect(path, entry)
    except DatabaseError as error:
        raise BackupError(msg("operations.backup.unopenable", path=path, problem=error)) from None
    try:
        if connection.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
            raise BackupError(msg("operations.backup.integrity", path=path))
        counts = table_counts(connection)
        device = connection.execute("SELECT value FROM meta WHERE key = 'device_id'").fetchone()
        unsynced = connection.execute(
            "SELECT count(DISTINCT inclusion_id) FROM outbox WHERE state != ?", [OutboxState.DONE]).fetchone()[0]
        version = connection.execute("PRAGMA user_version").fetchone()[0]
    except DatabaseError as error:
        if (getattr(error, "sqlite_errorcode", 0) or 0) & 0xFF == 26:
            raise BackupError(msg("operations.backup.wrong_key", path=path)) from None
        raise BackupError(msg("operations.backup.not_a_register", path=path, problem=error)) from None
    finally:
        connection.close()
    return BackupInfo(device[0] if device else None, counts.get("inclusions", 0), unsynced, version, counts)


def restore(register: Path, backup: Path, overwrite_unsynced: bool,
            newest_schema: int) -> tuple[BackupInfo, Path | None]:
    """Put a verified backup in the register's place; returns its info and where the old file went."""
    register, backup = Path(register), Path(backup)
    try:
        entry = keys.load(register)
    except keys.KeyringUnavailable as error:
        raise StorageError("keyring_unavailable", detail=error) from None
    if entry is None:
        raise BackupError(msg("operations.backup.no_key", backup=backup))
    info = read(backup, entry)
    if info.schema_version > newest_schema:
        raise BackupError(msg("operations.backup.newer", backup=backup, schema=info.schema_version))
    current = _current(register, entry)
    if current is not None and current.unsynced and not overwrite_unsynced:
        raise BackupError(msg("operations.backup.unsynced", count=current.unsynced))
    incoming = register.with_name(register.name + ".restoring")
    try:
        files.private_file(incoming)
        source = raw_connect(backup, entry)
        copy = raw_connect(incoming, entry)
        try:
            source.backup(copy)
        finally:
            copy.close()
            source.close()
        database.verify_copy(incoming, entry, info.counts, info.schema_version)
        files.fsync_file(incoming)
        kept = _replace(register, incoming)
    except BaseException as error:
        incoming.unlink(missing_ok=True)
        if isinstance(error, (OSError, DatabaseError)):
            raise describe(error, register) from None
        raise
    keys.save(register, entry.remembering(salt=database.file_salt(register), device_id=info.device_id,
                                          records=info.records))
    return info, kept


def _current(register: Path, entry: keys.KeyEntry) -> BackupInfo | None:
    """The register that would be replaced, if it can be read at all."""
    try:
        return read(register, entry)
    except BackupError:
        return None


def _replace(register: Path, incoming: Path) -> Path | None:
    """Set the current file aside, once nobody else has it open, and put `incoming` in place."""
    kept = _set_aside(register, _stamp())
    os.replace(incoming, register)
    files.fsync_folder(register.parent)
    return kept


def _set_aside(register: Path, stamp: str) -> Path | None:
    """Move the register and its -wal/-shm to `….replaced-<stamp>`: a stale WAL must never meet a new file."""
    if register.exists():
        _checkpoint_alone(register)
    kept = register.with_name(f"{register.name}.replaced-{stamp}")
    for path, target in ((register, kept), *((s, kept.with_name(kept.name + s.name[len(register.name):]))
                                             for s in database.sidecars(register))):
        if path.exists():
            os.replace(path, target)
    return kept if kept.exists() else None


def _checkpoint_alone(register: Path) -> None:
    """Fold the WAL into the file; refuse while the window or another command has it open."""
    try:
        entry = keys.load(register)
        connection = raw_connect(register, entry, isolation_level=None)
    except DatabaseError:
        return  # unreadable: nothing to fold in, it is moved aside as it is
    try:
        database.take_alone(connection, register)
    except DatabaseError:
        pass  # damaged: moved aside as it is
    finally:
        connection.close()


def _stamp() -> str:
    return dt.datetime.now().strftime("%Y%m%d-%H%M%S")


def start_fresh(register: Path) -> Path | None:
    """Set the current register aside and forget it, so the next start makes a new one."""
    register = Path(register)
    stamp = _stamp()
    kept = _set_aside(register, stamp)
    try:
        keys.retire(register, stamp)
    except keys.KeyringUnavailable as error:
        raise StorageError("keyring_unavailable", detail=error) from None
    return kept


def recover_key(register: Path, key_text: str, backup: Path | None = None) -> BackupInfo:
    """Put a key (from IT, from the server) in the keyring once it is shown to open the file."""
    register = Path(register)
    key = keys.valid_key(key_text)
    if key is None:
        raise BackupError(msg("operations.backup.not_a_key"))
    target = register if database.file_kind(register) == "encrypted" else backup
    if target is None:
        raise BackupError(msg("operations.backup.nothing_to_check", folder=register.parent))
    candidate = keys.KeyEntry(key=key)
    info = read(Path(target), candidate)
    try:
        existing = keys.load(register)
        if existing is not None and existing.key != key:
            keys.retire(register, _stamp())
        if target == register:
            candidate = candidate.remembering(salt=database.file_salt(register), device_id=info.device_id,
                                              records=info.records)
        keys.save(register, candidate)
    except keys.KeyringUnavailable as error:
        raise StorageError("keyring_unavailable", detail=error) from None
    return info
