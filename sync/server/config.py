"""Server settings: which database, which limits, who the clinic is. Built once by the CLI
and passed down.

The database URL may be given as `sqlite:///path`, a bare file path (SQLite),
`postgresql://…`, `postgres://…` or `postgresql+psycopg://…`; PostgreSQL URLs are
normalised to the psycopg 3 driver.

The clinic's settings come from an optional TOML file (`--config FILE`, else
$BUNDELASSISTENT_SERVER_CONFIG). Its keys are declared once, in `FILE_SETTINGS`: that table
parses and checks them and names them in every error, so a typo is refused, not ignored.

Rate limits come from `serve` options or the environment (`BUNDELASSISTENT_SERVER_<NAME>`,
e.g. BUNDELASSISTENT_SERVER_LOOKUP_RATE=60); the environment is also how `serve
--workers N` hands them to its worker processes.

The limits and the ownership setting come from `serve` options or, for each, an environment
variable `BUNDELASSISTENT_SERVER_<NAME>` (options win); `SETTING_ENV` lists them. Several
workers read them from the environment, which `serve` fills in for them.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import platformdirs

from sync.protocol import MAX_BODY_BYTES

DATABASE_ENV = "BUNDELASSISTENT_SERVER_DATABASE"
CONFIG_ENV = "BUNDELASSISTENT_SERVER_CONFIG"
KEY_FILE_ENV = "BUNDELASSISTENT_SERVER_KEY_FILE"
SETTING_ENV = {
    "same_location_revisions": "BUNDELASSISTENT_SERVER_SAME_LOCATION_REVISIONS",
    "header_timeout": "BUNDELASSISTENT_SERVER_HEADER_TIMEOUT",
    "body_timeout": "BUNDELASSISTENT_SERVER_BODY_TIMEOUT",
    "keep_alive_timeout": "BUNDELASSISTENT_SERVER_KEEP_ALIVE_TIMEOUT",
    "limit_concurrency": "BUNDELASSISTENT_SERVER_LIMIT_CONCURRENCY",
    "large_body_slots": "BUNDELASSISTENT_SERVER_LARGE_BODY_SLOTS",
}
DEFAULT_HEADER_TIMEOUT = 10.0
LARGE_BODY_BYTES = 256 * 1024  # a push this large waits for one of `large_body_slots`


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
    # a device of the owner's location may send later revisions of its records (default: only the owner)
    same_location_revisions: bool = False
    # noise: a slow or fake client must not hold connections or starve real devices
    header_timeout: float = DEFAULT_HEADER_TIMEOUT  # s to send a complete request head
    body_timeout: float = 30.0                      # s to send the body once the head is in
    keep_alive_timeout: float = 5.0                 # s an idle kept-alive connection stays open
    limit_concurrency: int = 1000                   # open connections per worker; more get 503
    large_body_slots: int = 4                       # pushes over LARGE_BODY_BYTES read at once
    key_file: Path = field(default_factory=key_file_path)
    extra: dict = field(default_factory=dict)

    def __post_init__(self):
        for name, variable in SETTING_ENV.items():
            value = getattr(self, name)
            if not isinstance(value, bool) and value <= 0:
                raise ConfigError(f"--{name.replace('_', '-')} ({variable}): moet groter dan 0 zijn")

    @classmethod
    def from_url(cls, url: str | None, config: str | os.PathLike | None = None, **overrides) -> Settings:
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

    @classmethod
    def from_environment(cls, url: str | None = None, config: str | os.PathLike | None = None,
                         **overrides) -> Settings:
        """`from_url` plus the `BUNDELASSISTENT_SERVER_*` variables; `overrides` (options) win."""
        types = {item.name: item.type for item in fields(cls)}
        values = {}
        for name, variable in SETTING_ENV.items():
            text = os.environ.get(variable)
            if text is not None and text.strip() and overrides.get(name) is None:
                values[name] = _parse(variable, text.strip(), types[name])
        values.update({name: value for name, value in overrides.items() if value is not None})
        return cls.from_url(url, config, **values)

    def environment(self, with_database: bool = True) -> dict[str, str]:
        """These settings as environment variables (for worker processes)."""
        result = {DATABASE_ENV: self.database_url} if with_database else {}
        for name, variable in SETTING_ENV.items():
            value = getattr(self, name)
            result[variable] = ("1" if value else "0") if isinstance(value, bool) else str(value)
        return result

    def with_changes(self, **changes) -> Settings:
        return replace(self, **changes)

    @property
    def dialect(self) -> str:
        return "postgresql" if self.database_url.startswith("postgresql") else "sqlite"


def _parse(variable: str, text: str, kind) -> object:
    kind = kind if isinstance(kind, type) else {"bool": bool, "int": int, "float": float}.get(str(kind), str)
    if kind is bool:
        lowered = text.lower()
        if lowered in ("1", "true", "yes", "ja", "on"):
            return True
        if lowered in ("0", "false", "no", "nee", "off"):
            return False
        raise ConfigError(f"{variable}: moet 1 of 0 zijn (aan of uit), niet {text!r}")
    try:
        value = kind(text)
    except ValueError:
        raise ConfigError(f"{variable}: moet een getal zijn, niet {text!r}") from None
    if value <= 0:
        raise ConfigError(f"{variable}: moet groter dan 0 zijn")
    return value
def _whole_number(name: str, value) -> int:
    variable, meaning = LIMIT_SETTINGS[name]
    option = "--" + name.replace("_", "-")
    text = str(value).strip()
    if not text.isdigit() or not 1 <= int(text) <= 1_000_000:
        raise ConfigError(f"{option} (of ${variable}): {meaning} moet een geheel getal van 1 tot 1000000 zijn, "
                          f"niet {text!r}")
    return int(text)

