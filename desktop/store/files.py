"""Files only this user can read: the data folder 0700, the database and its copies 0600.

SQLite gives the -wal and -shm files the permissions of the database file itself, so
creating the database 0600 before SQLite opens it covers them too. On Windows the data
folder lives in the user's own profile (%LOCALAPPDATA%), and `restrict_to_user` replaces
its inherited ACL by one that grants only this user (and SYSTEM, which backs the profile
up) full control.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

FOLDER_MODE, FILE_MODE = 0o700, 0o600


def private_folder(folder: Path) -> None:
    folder = Path(folder)
    folder.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
    if os.name == "nt":
        restrict_to_user(folder)
    else:
        _owner_only(folder)


def private_file(path: Path) -> None:
    """Create the file empty with mode 0600 if missing; take group and other access off an existing one."""
    path = Path(path)
    if not path.exists():
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | getattr(os, "O_BINARY", 0), FILE_MODE)
        os.close(descriptor)
    if os.name != "nt":
        _owner_only(path)


def _owner_only(path: Path) -> None:
    """Remove group and other permissions; the owner's own (say, read-only on purpose) stay."""
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        path.chmod(mode & 0o700)


def restrict_to_user(folder: Path) -> None:  # pragma: no cover - Windows only, not testable here
    """Windows: drop inherited permissions; only this user and SYSTEM keep full control.

    Untested here (no Windows in CI): `icacls` is the documented tool for it and ships with
    every Windows since Vista; `(OI)(CI)` makes the grant apply to files created later.
    """
    user = os.environ.get("USERNAME")
    if not user:
        return
    domain = os.environ.get("USERDOMAIN")
    account = f"{domain}\\{user}" if domain else user
    subprocess.run(["icacls", str(folder), "/inheritance:r", "/grant:r", f"{account}:(OI)(CI)F",
                    "/grant:r", "*S-1-5-18:(OI)(CI)F"], check=False, capture_output=True)


def fsync_file(path: Path) -> None:
    with open(path, "rb+") as handle:
        os.fsync(handle.fileno())


def fsync_folder(folder: Path) -> None:
    """Make a rename in `folder` durable (POSIX; Windows has no directory handles for this)."""
    if os.name == "nt":  # pragma: no cover
        return
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def overwrite_and_remove(path: Path) -> None:
    """Overwrite a file's bytes with zeros, flush, then delete it.

    Best effort: on SSDs and copy-on-write file systems the old blocks may survive the
    overwrite, which is why the hospital's full-disk encryption stays the second line.
    """
    path = Path(path)
    if not path.exists():
        return
    size = path.stat().st_size
    with open(path, "rb+") as handle:
        block = b"\0" * 65536
        written = 0
        while written < size:
            handle.write(block[: min(len(block), size - written)])
            written += min(len(block), size - written)
        handle.flush()
        os.fsync(handle.fileno())
    path.unlink()
