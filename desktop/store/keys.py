"""The database key and what this device remembers about its register, in the OS keyring.

One keyring entry per database file holds the random 256-bit SQLCipher key and, beside
it, the register's fingerprint: the file's SQLCipher salt (its first 16 bytes, which are
not encrypted), this device's id and the number of records last seen. Keeping them in one
entry means a key never exists without knowing which file it opens, and a register that
existed cannot silently be replaced by an empty one while its key is still here. The
keyring (not a file in the data folder) because whatever deletes or truncates the data
folder leaves the OS credential store alone.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import keyring
import keyring.backend
import keyring.errors
from keyring.backends import fail

SERVICE = "Bundelassistent"
KEY_BYTES = 32


class KeyringUnavailable(Exception):
    """No OS keyring works here, so the key can neither be made nor read."""


@dataclass(frozen=True)
class KeyEntry:
    key: str  # 64 hex digits
    salt: str | None = None  # hex of the file's first 16 bytes once it exists
    device_id: str | None = None
    records: int = 0

    @property
    def pragma_value(self) -> str:
        """The raw-key form of PRAGMA key: the key is random, so no password derivation."""
        return f"\"x'{self.key}'\""

    def remembering(self, **changes: Any) -> KeyEntry:
        return replace(self, **changes)


def new_key() -> str:
    return secrets.token_hex(KEY_BYTES)


def valid_key(text: str) -> str | None:
    """A key as IT types or pastes it (hex, spaces and dashes allowed), or None."""
    cleaned = "".join(text.split()).replace("-", "").lower()
    if len(cleaned) == 2 * KEY_BYTES and all(c in "0123456789abcdef" for c in cleaned):
        return cleaned
    return None


def entry_name(database: Path) -> str:
    return f"database-key {Path(database).resolve()}"


_cache: dict[str, KeyEntry | None] = {}
_lock = threading.Lock()


def _backend() -> keyring.backend.KeyringBackend:
    backend = keyring.get_keyring()
    if isinstance(backend, fail.Keyring):
        raise KeyringUnavailable("no keyring backend")
    return backend


def load(database: Path) -> KeyEntry | None:
    """The entry for this database, or None if there is none; cached for this process."""
    name = entry_name(database)
    with _lock:
        if name in _cache:
            return _cache[name]
    try:
        stored = _backend().get_password(SERVICE, name)
    except keyring.errors.KeyringError as error:
        raise KeyringUnavailable(str(error)) from None
    except Exception as error:  # D-Bus and backend errors are not all KeyringErrors
        raise KeyringUnavailable(f"{type(error).__name__}: {error}") from None
    entry = _parse(stored) if stored else None
    with _lock:
        _cache[name] = entry
    return entry


SETTLE_TRIES, SETTLE_PAUSE = 5, 0.05  # about a quarter of a second in all


def load_settled(database: Path) -> KeyEntry | None:
    """The entry of a register that must have one, read again a few times before giving up.

    A file keyring (keyrings.alt, where no OS store runs) rewrites its whole file when another
    process saves, so a process reading at that moment sees no entry at all. Calling the key
    lost would send the user to IT for a recovery nobody needs; a moment later it is there."""
    name = entry_name(database)
    for _ in range(SETTLE_TRIES):
        time.sleep(SETTLE_PAUSE)
        with _lock:
            _cache.pop(name, None)
        entry = load(database)
        if entry is not None:
            return entry
    return None


def _parse(stored: str) -> KeyEntry | None:
    try:
        data = json.loads(stored)
        return KeyEntry(key=valid_key(data["key"]) or "", salt=data.get("salt"),
                        device_id=data.get("device_id"), records=int(data.get("records") or 0))
    except (ValueError, KeyError, TypeError):
        return None


def save(database: Path, entry: KeyEntry) -> None:
    """Store (or update) the entry; skipped when nothing changed."""
    name = entry_name(database)
    with _lock:
        if _cache.get(name) == entry:
            return
    try:
        _backend().set_password(SERVICE, name, json.dumps(asdict(entry)))
    except keyring.errors.KeyringError as error:
        raise KeyringUnavailable(str(error)) from None
    except Exception as error:
        raise KeyringUnavailable(f"{type(error).__name__}: {error}") from None
    with _lock:
        _cache[name] = entry


def retire(database: Path, suffix: str) -> None:
    """Keep the old entry under another name (its file is kept too), and forget it here."""
    old = load(database)
    if old is None:
        return
    backend = _backend()
    backend.set_password(SERVICE, f"{entry_name(database)} retired {suffix}", json.dumps(asdict(old)))
    try:
        backend.delete_password(SERVICE, entry_name(database))
    except keyring.errors.PasswordDeleteError:
        pass
    forget_cache()


def forget_cache() -> None:
    """Read the keyring again next time (after another process or command changed it)."""
    with _lock:
        _cache.clear()
