"""Server settings: which database, which limits, who the clinic is. Built once by the CLI
and passed down.

The database URL may be given as `sqlite:///path`, a bare file path (SQLite),
`postgresql://…`, `postgres://…` or `postgresql+psycopg://…`; PostgreSQL URLs are
normalised to the psycopg 3 driver.

Everything else comes from an optional TOML file (`--config FILE`, else
$BUNDELASSISTENT_SERVER_CONFIG). Its keys are declared once, in `FILE_SETTINGS`: that table
parses and checks them and names them in every error, so a typo is refused, not ignored.

Rate limits come from `serve` options or the environment (`BUNDELASSISTENT_SERVER_<NAME>`,
e.g. BUNDELASSISTENT_SERVER_LOOKUP_RATE=60); the environment is also how `serve
--workers N` hands them to its worker processes.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import platformdirs

from sync.protocol import MAX_BODY_BYTES

DATABASE_ENV = "BUNDELASSISTENT_SERVER_DATABASE"
CONFIG_ENV = "BUNDELASSISTENT_SERVER_CONFIG"
KEY_FILE_ENV = "BUNDELASSISTENT_SERVER_KEY_FILE"


class ConfigError(ValueError):
    """A setting is unusable; the message says which and why, in Dutch."""


def _data_folder() -> Path:
    return Path(platformdirs.user_data_dir("bundelassistent-server", appauthor=False))


def _path(value: Any) -> Path:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("moet een bestandspad zijn, tussen aanhalingstekens")
    return Path(value).expanduser()


def _agb(value: Any) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"[0-9]{8}", value):
        raise ValueError('moet een AGB-code van precies 8 cijfers zijn, tussen aanhalingstekens '
                         '(bijvoorbeeld "01234567", zodat de voorloopnul blijft)')
    return value


def _name(value: Any) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > 200:
        raise ValueError("moet tekst zijn van 1 tot 200 tekens")
    return value.strip()


@dataclass(frozen=True)
class FileSetting:
    """One key of the server's TOML file: its parser (raises ValueError in Dutch) and meaning."""

    name: str
    parse: Callable[[Any], Any]
    meaning: str


FILE_SETTINGS = (
    FileSetting("clinic_agb", _agb, "AGB-code van de kliniek (de zorgaanbieder): identifier van de "
                                    "kliniek-Organization in de FHIR-export en kolom clinic_agb in de CSV"),
    FileSetting("clinic_name", _name, "naam van de kliniek in de FHIR-export"),
    FileSetting("key_file", _path, "bestand (0600) met de sleutel die de afgegeven databasesleutels van "
                                   "apparaten versleutelt (standaard in de datamap van de server)"),
)


def read_config_file(path: str | os.PathLike | None) -> dict[str, Any]:
    """The checked settings from the TOML file (none when no file is named)."""
    path = path or os.environ.get(CONFIG_ENV) or None
    if path is None:
        return {}
    path = Path(path).expanduser()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8-sig"))  # Notepad may add a BOM
    except FileNotFoundError:
        raise ConfigError(f"{path}: het instellingenbestand bestaat niet") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: is geen UTF-8-tekst; sla het op als UTF-8") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: geen geldige TOML ({error})") from None
    except OSError as error:
        raise ConfigError(f"{path}: kan niet lezen ({error.strerror or error})") from None
    known = {setting.name: setting for setting in FILE_SETTINGS}
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise ConfigError(f"{path}: onbekende instelling {', '.join(unknown)}; bekend zijn {', '.join(known)}")
    values = {}
    for name, raw in data.items():
        try:
            values[name] = known[name].parse(raw)
        except ValueError as error:
            raise ConfigError(f"{path}: {name} {error}") from None
    return values


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
    clinic_agb: str | None = None
    clinic_name: str | None = None
    key_file: Path = field(default_factory=key_file_path)
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_url(cls, url: str | None, config: str | os.PathLike | None = None, **overrides) -> "Settings":
        """Settings for a database URL, the TOML file (`config`, else $BUNDELASSISTENT_SERVER_CONFIG),
        the limits' environment variables and explicit overrides, in rising order of precedence
        (an override of None does not count)."""
        values = read_config_file(config)
        for name, (variable, _meaning) in LIMIT_SETTINGS.items():
            if os.environ.get(variable, "").strip():
                values[name] = os.environ[variable]
        values.update({name: value for name, value in overrides.items() if value is not None})
        for name in LIMIT_SETTINGS.keys() & values.keys():
            values[name] = _whole_number(name, values[name])
        return cls(database_url=normalize_database_url(url), **values)

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

