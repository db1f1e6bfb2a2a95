"""The errors an operation raises that the window and the command line turn into a message."""

from __future__ import annotations

from desktop.store import FAULTS, StorageError, describe
from desktop.store.inclusions import InvalidChange, NotEligible, RecordNotFound
from sync.client import SyncError

__all__ = ["FAULTS", "InvalidChange", "NotEligible", "RecordNotFound", "StorageError", "SyncError", "describe"]
