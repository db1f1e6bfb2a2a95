"""Server settings: which database, which limits. Built once by the CLI and passed down.

The database URL may be given as `sqlite:///path`, a bare file path (SQLite),
`postgresql://…`, `postgres://…` or `postgresql+psycopg://…`; PostgreSQL URLs are
normalised to the psycopg 3 driver.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import platformdirs

from sync.protocol import MAX_BODY_BYTES

DATABASE_ENV = "BUNDELASSISTENT_SERVER_DATABASE"
KEY_FILE_ENV = "BUNDELASSISTENT_SERVER_KEY_FILE"


class ConfigError(ValueError):
    """A setting is unusable; the message says which and why, in Dutch."""


def _data_folder() -> Path:
    return Path(platformdirs.user_data_dir("bundelassistent-server", appauthor=False))


def default_database_url() -> str:
    return f"sqlite:///{_data_folder() / 'server.sqlite3'}"


def key_file_path(value: str | Path | None = None) -> Path:
    """Where the key-encryption key for device keys lives: the option, the environment, or the data folder."""
    chosen = value or os.environ.get(KEY_FILE_ENV)
    return Path(chosen).expanduser() if chosen else _data_folder() / "device-key-encryption.key"


def normalize_database_url(url: str | None) -> str:
    """Return a SQLAlchemy URL for SQLite or PostgreSQL (psycopg 3), or raise ConfigError."""
    url = (url or os.environ.get(DATABASE_ENV) or default_database_url()).strip()
    if not url:
        raise ConfigError("--database is leeg")
    lowered = url.lower()
    for prefix in ("postgresql+psycopg2://", "postgresql+psycopg://", "postgresql://", "postgres://"):
        if lowered.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    if lowered.startswith("sqlite://"):
        return url
    if "://" in url:
        raise ConfigError("--database: alleen sqlite:///pad of postgresql://… wordt ondersteund")
    return f"sqlite:///{Path(url).expanduser().resolve()}"


@dataclass(frozen=True)
class Settings:
    database_url: str
    max_body_bytes: int = MAX_BODY_BYTES
    enrollment_code_hours: int = 24
    pool_size: int = 10
    max_overflow: int = 30
    key_file: Path = field(default_factory=key_file_path)
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_url(cls, url: str | None, **overrides) -> "Settings":
        return cls(database_url=normalize_database_url(url), **overrides)

    @property
    def dialect(self) -> str:
        return "postgresql" if self.database_url.startswith("postgresql") else "sqlite"
