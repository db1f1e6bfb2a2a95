"""What went wrong with the local database, told apart, each with its own advice (nl, en).

SQLite's result codes say what happened: SQLITE_FULL (disk full), SQLITE_READONLY or
EACCES (no write permission), SQLITE_BUSY/LOCKED (another process holds the lock),
SQLITE_CORRUPT/NOTADB (damaged). With SQLCipher a wrong key also reads as NOTADB; the
opener tells those apart with the key state (`desktop.store.database`). Only real damage
gets the advice to restore a backup: restoring after a full disk would throw away the
records that were never synced.
"""

from __future__ import annotations

import errno
import shutil
from pathlib import Path

from desktop.core.messages import Msg, catalogue, msg, placeholders

NEARLY_FULL = 1024 * 1024  # bytes free below which an unexplained write error is taken for a full disk

SQLITE_BUSY, SQLITE_LOCKED, SQLITE_READONLY, SQLITE_IOERR = 5, 6, 8, 10
SQLITE_CORRUPT, SQLITE_FULL, SQLITE_CANTOPEN, SQLITE_NOTADB = 11, 13, 14, 26

# Each fault's message and advice, by kind, in the catalogue (resources/messages/operations.*.toml).
MESSAGES = {
    "disk_full": "operations.storage.disk_full",
    "read_only": "operations.storage.read_only",
    "locked": "operations.storage.locked",
    "io_error": "operations.storage.io_error",
    "database_error": "operations.storage.database_error",
    "corrupt": "operations.storage.corrupt",
    "wrong_key": "operations.storage.wrong_key",
    "wrong_key_or_corrupt": "operations.storage.wrong_key_or_corrupt",
    "key_missing": "operations.storage.key_missing",
    "keyring_unavailable": "operations.storage.keyring_unavailable",
    "register_missing": "operations.storage.register_missing",
    "register_shrunk": "operations.storage.register_shrunk",
    "register_replaced": "operations.storage.register_replaced",
}


class StorageError(Exception):
    """A storage fault with advice in Dutch (str) and English (`text('en')`)."""

    def __init__(self, kind: str, **values: object) -> None:
        self.kind, self.values = kind, {key: str(value) for key, value in values.items()}
        super().__init__(self.text("nl"))

    @property
    def message(self) -> Msg:
        """The advice, read in the reader's language; a place the fault did not name reads '?'."""
        key = MESSAGES[self.kind]
        return msg(key, **{**dict.fromkeys(placeholders(catalogue("nl")[key]), "?"), **self.values})

    def text(self, language: str = "nl") -> str:
        return self.message.get(language)


def describe(error: BaseException, database: Path) -> StorageError:
    """Turn a driver or OS error on `database` into the fault a user can act on."""
    if isinstance(error, StorageError):
        return error
    places = {"path": Path(database), "folder": Path(database).parent}
    detail = str(error) if not isinstance(error, OSError) else (error.strerror or str(error))
    if isinstance(error, OSError):
        if error.errno == errno.ENOSPC:
            return StorageError("disk_full", **places)
        if error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            return StorageError("read_only", **places)
        return _io_error(detail, places)
    code = (getattr(error, "sqlite_errorcode", None) or 0) & 0xFF
    if code == SQLITE_FULL:
        return StorageError("disk_full", **places)
    if code in (SQLITE_READONLY, SQLITE_CANTOPEN):
        return StorageError("read_only", **places)
    if code in (SQLITE_BUSY, SQLITE_LOCKED):
        return StorageError("locked", **places)
    if code in (SQLITE_CORRUPT, SQLITE_NOTADB):
        return StorageError("corrupt", detail=detail, **places)
    if code == SQLITE_IOERR:  # e.g. growing the -shm file: SQLite reports no ENOSPC there
        return _io_error(detail, places)
    return StorageError("database_error", detail=detail, **places)


def _io_error(detail: str, places: dict[str, Path]) -> StorageError:
    try:
        full = shutil.disk_usage(places["folder"]).free < NEARLY_FULL
    except OSError:
        full = False
    return StorageError("disk_full" if full else "io_error", detail=detail, **places)
