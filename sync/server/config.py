"""Server settings: which database, which limits. Built once by the CLI and passed down.

The database URL may be given as `sqlite:///path`, a bare file path (SQLite),
`postgresql://…`, `postgres://…` or `postgresql+psycopg://…`; PostgreSQL URLs are
normalised to the psycopg 3 driver.

Rate limits come from `serve` options or the environment (`BUNDELASSISTENT_SERVER_<NAME>`,
e.g. BUNDELASSISTENT_SERVER_LOOKUP_RATE=60); the environment is also how `serve
--workers N` hands them to its worker processes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import platformdirs

from sync.protocol import MAX_BODY_BYTES

DATABASE_ENV = "BUNDELASSISTENT_SERVER_DATABASE"


class ConfigError(ValueError):
    """A setting is unusable; the message says which and why, in Dutch."""


def default_database_url() -> str:
    folder = Path(platformdirs.user_data_dir("bundelassistent-server", appauthor=False))
    return f"sqlite:///{folder / 'server.sqlite3'}"


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


# setting -> (environment variable, what it means); all whole numbers of at least 1
LIMIT_SETTINGS = {
    "lookup_rate": ("BUNDELASSISTENT_SERVER_LOOKUP_RATE", "dekkingsopzoekingen per minuut per apparaat"),
    "lookup_burst": ("BUNDELASSISTENT_SERVER_LOOKUP_BURST", "dekkingsopzoekingen direct na elkaar per apparaat"),
    "enroll_rate": ("BUNDELASSISTENT_SERVER_ENROLL_RATE", "koppelpogingen per minuut per bronadres"),
    "enroll_burst": ("BUNDELASSISTENT_SERVER_ENROLL_BURST", "koppelpogingen direct na elkaar per bronadres"),
}


@dataclass(frozen=True)
class Settings:
    database_url: str
    max_body_bytes: int = MAX_BODY_BYTES
    enrollment_code_hours: int = 24
    pool_size: int = 10
    max_overflow: int = 30
    lookup_rate: int = 60      # per minute per device …
    lookup_burst: int = 20     # … of which this many at once
    enroll_rate: int = 10      # per minute per source address …
    enroll_burst: int = 10
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_url(cls, url: str | None, **overrides) -> "Settings":
        """The settings for `url`; limits not overridden come from the environment."""
        for name, (variable, _meaning) in LIMIT_SETTINGS.items():
            if overrides.get(name) is None and os.environ.get(variable, "").strip():
                overrides[name] = os.environ[variable]
        overrides = {name: value for name, value in overrides.items() if value is not None}
        for name in LIMIT_SETTINGS.keys() & overrides.keys():
            overrides[name] = _whole_number(name, overrides[name])
        return cls(database_url=normalize_database_url(url), **overrides)

    def limit_environment(self) -> dict[str, str]:
        """The limits as environment variables, for worker processes."""
        return {variable: str(getattr(self, name)) for name, (variable, _m) in LIMIT_SETTINGS.items()}

    @property
    def dialect(self) -> str:
        return "postgresql" if self.database_url.startswith("postgresql") else "sqlite"


def _whole_number(name: str, value) -> int:
    variable, meaning = LIMIT_SETTINGS[name]
    option = "--" + name.replace("_", "-")
    text = str(value).strip()
    if not text.isdigit() or not 1 <= int(text) <= 1_000_000:
        raise ConfigError(f"{option} (of ${variable}): {meaning} moet een geheel getal van 1 tot 1000000 zijn, "
                          f"niet {text!r}")
    return int(text)

