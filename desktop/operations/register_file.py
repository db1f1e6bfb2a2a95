"""Work on the register file itself, not through an open register: restore a back-up,
recover the key, start a new register.

Each opens the register afterwards (which migrates an older back-up and proves that the
file opens) and writes what it did into the audit log.
"""

from __future__ import annotations

from pathlib import Path

from desktop.store import backups
from desktop.store.backups import BackupError, BackupInfo
from desktop.store.inclusions import DATABASE_NAME, Registry
from desktop.store.migrations import MIGRATIONS

__all__ = ["DATABASE_NAME", "BackupError", "BackupInfo", "new_register", "recover_key", "register_path", "restore"]


def register_path(data_dir: Path) -> Path:
    return Path(data_dir) / DATABASE_NAME


def restore(data_dir: Path, backup_file: Path, overwrite_unsynced: bool) -> tuple[BackupInfo, Path | None]:
    """Put a back-up in place; returns what it holds and where the replaced file was kept."""
    register = register_path(data_dir)
    info, kept = backups.restore(register, backup_file, overwrite_unsynced, len(MIGRATIONS))
    with Registry(register) as registry:  # migrates an older backup and checks it opens
        registry.audit("restore", None, None, "database", {"source": backup_file.name, "records": info.records,
                                                            "replaced_file": kept.name if kept else None})
    return info, kept


def recover_key(data_dir: Path, key: str, backup: Path | None) -> BackupInfo:
    return backups.recover_key(register_path(data_dir), key, backup)


def new_register(data_dir: Path) -> tuple[str, Path | None]:
    """A new, empty register (the old file is kept aside); returns its device id and that file."""
    register = register_path(data_dir)
    kept = backups.start_fresh(register)
    with Registry(register) as registry:
        registry.audit("new_register", None, None, "database", {"replaced_file": kept.name if kept else None})
        return registry.device_id, kept
