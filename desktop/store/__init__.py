"""The device's local store underneath the registry: how the database file is opened.

The register is encrypted at rest with SQLCipher (the approach of DHIS2's Android SDK): a
random key made at first start and kept in the OS keyring, never on disk. The files are
readable by this user only. Storage faults (disk full, read-only, locked, corrupt, wrong
or missing key, a register that vanished) are told apart, each with its own advice, so
nobody restores a backup over unsynced records because the disk was full.
"""

from desktop.store.database import DatabaseError, EncryptionState, connect, encryption_state, remember
from desktop.store.faults import StorageError, describe

FAULTS = (StorageError, DatabaseError, OSError)  # what `describe` turns into advice

__all__ = ["FAULTS", "DatabaseError", "EncryptionState", "StorageError", "connect", "describe", "encryption_state",
           "remember"]
