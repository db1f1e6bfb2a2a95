"""Open the register encrypted: SQLCipher with the device key, private files, honest faults.

`connect` is the only way the registry opens its file. A database written by an older
version (plaintext SQLite) is encrypted in place on first start: exported with
`sqlcipher_export` into a new file, verified (integrity check, same row count in every
table, same schema version), atomically put in its place, and the plaintext overwritten
and removed. The driver is the `sqlcipher3` wheel; sqlite-utils accepts its connections
because they keep the default transaction handling (sqlite-utils refuses only
autocommit connections) and its few `sqlite3.OperationalError` fallbacks are feature
probes that SQLCipher's SQLite (3.53) passes.
"""

from __future__ import annotations

import enum
import os
import sqlite3
from pathlib import Path

from sqlcipher3 import dbapi2 as sqlcipher  # untyped: its connections have the interface of sqlite3's

from desktop.store import files, keys
from desktop.store.faults import SQLITE_NOTADB, StorageError, describe
from desktop.store.keys import KeyEntry

DatabaseError: type[Exception] = sqlcipher.DatabaseError
BUSY_TIMEOUT = 5.0  # seconds: a registration commits in milliseconds; longer means another program holds it
PLAINTEXT_HEADER = b"SQLite format 3\x00"
SALT_BYTES = 16


class EncryptionState(enum.StrEnum):
    ENCRYPTED = "encrypted"
    PLAINTEXT = "plaintext"
    KEY_MISSING = "key missing"
    NO_DATABASE = "no database yet"
    NO_KEYRING = "no keyring"
    DAMAGED = "damaged"


def file_kind(path: Path) -> str:
    """'missing', 'empty', 'plaintext', 'encrypted', or 'damaged' (cannot be a SQLCipher file).

    SQLCipher files are whole pages (512 bytes at the least), so any other size is damage.
    """
    try:
        with open(path, "rb") as handle:
            head = handle.read(len(PLAINTEXT_HEADER))
            size = os.fstat(handle.fileno()).st_size
    except FileNotFoundError:
        return "missing"
    if not head:
        return "empty"
    if head == PLAINTEXT_HEADER:
        return "plaintext"
    return "encrypted" if size % 512 == 0 else "damaged"


def file_salt(path: Path) -> str | None:
    try:
        with open(path, "rb") as handle:
            salt = handle.read(SALT_BYTES)
    except OSError:
        return None
    return salt.hex() if len(salt) == SALT_BYTES and salt != PLAINTEXT_HEADER else None


def raw_connect(path: Path, entry: KeyEntry | None, **options: object) -> sqlite3.Connection:
    """A connection to `path`, keyed with `entry` (None: a plaintext file)."""
    connection: sqlite3.Connection = sqlcipher.connect(str(path), timeout=BUSY_TIMEOUT, check_same_thread=False,
                                                       **options)
    connection.execute("PRAGMA cipher_log_level = NONE")  # SQLCipher would print key failures on stderr
    if entry is not None:
        connection.execute(f"PRAGMA key = {entry.pragma_value}")
    return connection


def connect(path: Path) -> sqlite3.Connection:
    """Open (or create) the encrypted register at `path`; raises StorageError with advice."""
    path = Path(path)
    entry = _entry_for(path)
    try:
        connection = raw_connect(path, entry)
        try:
            connection.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except DatabaseError:
            connection.close()
            raise
    except DatabaseError as error:
        raise _open_failure(error, path, entry) from None
    return connection


def _entry_for(path: Path) -> KeyEntry:
    """The key for `path`: made (and stored) for a new file, after migrating a plaintext one."""
    try:
        files.private_folder(path.parent)
        entry = keys.load(path)
        kind = file_kind(path)
        if kind in ("missing", "empty"):
            if entry is not None and entry.device_id:
                raise StorageError("register_missing", path=path, device_id=entry.device_id, records=entry.records)
            entry = entry or _new_entry(path)
            files.private_file(path)
        elif kind == "plaintext":
            entry = entry or _new_entry(path)
            _make_private(path)
            migrate_plaintext(path, entry)
        elif kind == "damaged":
            raise StorageError("corrupt", path=path, detail="geen volledige databasepagina's")
        elif entry is None:
            entry = keys.load_settled(path)  # another process may be saving a file keyring right now
            if entry is None:
                raise StorageError("key_missing", path=path)
        _make_private(path)
        return entry
    except keys.KeyringUnavailable as error:
        raise StorageError("keyring_unavailable", detail=error) from None
    except (OSError, DatabaseError) as error:
        raise describe(error, path) from None


def _new_entry(path: Path) -> KeyEntry:
    entry = KeyEntry(key=keys.new_key())
    keys.save(path, entry)  # before the file exists: a key is never lost to a crash in between
    return entry


def _make_private(path: Path) -> None:
    for companion in (path, *sidecars(path)):
        if companion.exists():
            files.private_file(companion)


def sidecars(path: Path) -> list[Path]:
    return [path.with_name(path.name + suffix) for suffix in ("-wal", "-shm", "-journal")]


def _open_failure(error: Exception, path: Path, entry: KeyEntry) -> StorageError:
    """NOTADB with SQLCipher: the key state says whether it is the key or the file."""
    if (getattr(error, "sqlite_errorcode", 0) or 0) & 0xFF != SQLITE_NOTADB:
        return describe(error, path)
    if entry.salt and entry.salt == file_salt(path):
        return StorageError("corrupt", path=path, detail="de eerste pagina is onleesbaar")
    return StorageError("wrong_key_or_corrupt", path=path)


def remember(path: Path, device_id: str, records: int) -> None:
    """Check the open register against what this device knew, then remember it (keyring).

    A register of another device, or one with fewer records than before (records are
    never deleted), is refused: an older copy or a swapped file would silently lose data.
    """
    path = Path(path)
    try:
        entry = keys.load(path)
        if entry is None:
            return
        if entry.device_id and entry.device_id != device_id:
            raise StorageError("register_replaced", path=path, found=device_id, device_id=entry.device_id)
        if records < entry.records:
            raise StorageError("register_shrunk", path=path, found=records, records=entry.records)
        keys.save(path, entry.remembering(salt=file_salt(path) or entry.salt, device_id=device_id, records=records))
    except keys.KeyringUnavailable as error:
        raise StorageError("keyring_unavailable", detail=error) from None


def encryption_state(path: Path) -> EncryptionState:
    """For the self-test and IT: what the file on disk is, without changing anything."""
    path = Path(path)
    try:
        entry = keys.load(path)
    except keys.KeyringUnavailable:
        return EncryptionState.NO_KEYRING
    kind = file_kind(path)
    if kind in ("missing", "empty"):
        return EncryptionState.NO_DATABASE
    if kind == "plaintext":
        return EncryptionState.PLAINTEXT
    if kind == "damaged":
        return EncryptionState.DAMAGED
    return EncryptionState.ENCRYPTED if entry is not None else EncryptionState.KEY_MISSING


# -- plaintext to encrypted ------------------------------------------------------------------
def migrate_plaintext(path: Path, entry: KeyEntry) -> None:
    """Encrypt a plaintext register in place; the plaintext is only removed once verified."""
    target = path.with_name(path.name + ".encrypting")
    source = raw_connect(path, None, isolation_level=None)
    try:
        take_alone(source, path)
        counts, version = table_counts(source), source.execute("PRAGMA user_version").fetchone()[0]
        if target.exists():
            target.unlink()  # a copy left by an interrupted earlier attempt; the plaintext is intact
        files.private_file(target)
        try:
            source.execute(f"ATTACH DATABASE ? AS encrypted KEY {entry.pragma_value}", [str(target)])
            source.execute("SELECT sqlcipher_export('encrypted')")
            source.execute(f"PRAGMA encrypted.user_version = {int(version)}")
            source.execute("DETACH DATABASE encrypted")
            verify_copy(target, entry, counts, version)
            files.fsync_file(target)
        except BaseException:
            target.unlink(missing_ok=True)
            raise
        plaintext = path.with_name(path.name + ".plaintext")
        if os.name == "nt":  # pragma: no cover - Windows cannot rename over an open file
            source.close()
        _swap(path, target, plaintext)
    finally:
        source.close()
    files.overwrite_and_remove(plaintext)


def take_alone(connection: sqlite3.Connection, path: Path) -> None:
    """Leave WAL mode and hold an exclusive lock: both fail while another process has the file open."""
    mode = connection.execute("PRAGMA journal_mode=DELETE").fetchone()[0]
    if str(mode).lower() != "delete":
        raise StorageError("locked", path=path, folder=path.parent)
    connection.execute("PRAGMA locking_mode=EXCLUSIVE")
    connection.execute("BEGIN EXCLUSIVE")
    connection.execute("COMMIT")  # in exclusive locking mode the lock stays until close


def _swap(path: Path, replacement: Path, old_name: Path) -> None:
    """Put `replacement` at `path` atomically; the old file stays reachable as `old_name`."""
    try:
        os.link(path, old_name)
    except OSError:  # no hard links on this file system: a short moment without a register
        os.replace(path, old_name)
    os.replace(replacement, path)
    files.fsync_folder(path.parent)


def table_counts(connection: sqlite3.Connection) -> dict[str, int]:
    names = [row[0] for row in connection.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]
    return {name: connection.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0] for name in names}


def verify_copy(copy: Path, entry: KeyEntry | None, counts: dict[str, int], version: int) -> None:
    """The copy opens with the key, passes the integrity check, and holds the same rows."""
    connection = raw_connect(copy, entry)
    try:
        ok = connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        same = table_counts(connection) == counts
        same_version = connection.execute("PRAGMA user_version").fetchone()[0] == version
    finally:
        connection.close()
    if not (ok and same and same_version):
        raise StorageError("database_error", path=copy,
                           detail="de versleutelde kopie klopt niet met het origineel; er is niets gewijzigd")
