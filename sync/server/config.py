"""Server settings: which database, which limits, who the clinic is. Built once by the CLI
and passed down.

The database URL may be given as `sqlite:///path`, a bare file path (SQLite),
`postgresql://…`, `postgres://…` or `postgresql+psycopg://…`; PostgreSQL URLs are
normalised to the psycopg 3 driver.

Every other setting is declared once, in `SETTINGS` (with the pure helper
`desktop/core/settings.py`, which the device uses for its own table): that table makes the
command-line options, reads the environment variables (`BUNDELASSISTENT_SERVER_<NAME>`) and
the keys of the TOML file (`--config FILE`, else $BUNDELASSISTENT_SERVER_CONFIG), parses and
checks the typed values, names the setting in every error, holds the defaults and makes the
table in the docs. Precedence: default < file < environment < option. The environment is
also how `serve --workers N` hands the settings to its worker processes.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import platformdirs

from desktop.core.messages import Plain
from desktop.core.settings import Kind, Setting, SettingError, markdown_table
from sync.protocol import MAX_BODY_BYTES

Dialect = Literal["sqlite", "postgresql"]  # the two databases the server runs on

DATABASE_ENV = "BUNDELASSISTENT_SERVER_DATABASE"
CONFIG_ENV = "BUNDELASSISTENT_SERVER_CONFIG"
ENV_PREFIX = "BUNDELASSISTENT_SERVER_"
DEFAULT_HEADER_TIMEOUT = 10.0
LARGE_BODY_BYTES = 256 * 1024  # a push this large waits for one of `large_body_slots`
BODY_PARSER_PROCESSES = 2  # helper processes that read those large pushes (`sync.server.parsing`)


class ConfigError(ValueError):
    """A setting is unusable; the message says which and why, in Dutch."""


def _data_folder() -> Path:
    return Path(platformdirs.user_data_dir("bundelassistent-server", appauthor=False))


def _agb(value: str) -> str:
    if not re.fullmatch(r"[0-9]{8}", value):
        raise SettingError(Plain('moet een AGB-code van precies 8 cijfers zijn, tussen aanhalingstekens '
                                 '(bijvoorbeeld "01234567", zodat de voorloopnul blijft)'))
    return value


def _name(value: str) -> str:
    if not value or len(value) > 200:
        raise SettingError(Plain("moet tekst zijn van 1 tot 200 tekens"))
    return value


def _limit(name: str, label: str, doc: str, default: int) -> Setting:
    return Setting(name, Kind.WHOLE, default, doc, minimum=1, maximum=1_000_000, label=label, metavar="N")


def _seconds(name: str, label: str, doc: str, default: float) -> Setting:
    return Setting(name, Kind.NUMBER, default, doc, minimum=0, label=label, metavar="S")


# Every server setting, once. Each is a TOML key, an environment variable
# BUNDELASSISTENT_SERVER_<NAME> and an option --<name> (of `serve`, or of every command for
# those in EVERY_COMMAND); parsing, messages, defaults and the docs' table come from here.
SETTINGS = (
    Setting("clinic_agb", Kind.TEXT, None, "the clinic's AGB code (8 digits, quoted so the leading zero stays): the "
            "care provider in the exports — column `clinic_agb` of the insurer's CSV, the clinic Organization (and "
            "EpisodeOfCare.managingOrganization) in FHIR. Without it the export warns on stderr",
            check=_agb, label="AGB-code van de kliniek", metavar="AGB",
            example='"01234567" (een AGB-code van 8 cijfers; aanhalingstekens houden de voorloopnul)'),
    Setting("clinic_name", Kind.TEXT, None, "the clinic's name on that Organization", check=_name,
            label="naam van de kliniek in de FHIR-export", metavar="NAAM"),
    Setting("key_file", Kind.PATH, None, "the 0600 file with the key that seals the devices' deposited database "
            "keys", default_text="made in the server's data folder", label="bestand (0600) met de sleutel die de "
            "databasesleutels van apparaten versleutelt", metavar="FILE"),
    Setting("same_location_revisions", Kind.BOOL, False, "a device of the same location (as set at enrolment) may "
            "send later revisions (withdrawal, correction) of another device's inclusion; off: only the device "
            "that first pushed it", label="een apparaat van dezelfde locatie mag latere revisies van een inclusie "
            "sturen (standaard alleen het apparaat dat haar registreerde)"),
    _seconds("header_timeout", "seconden voor een volledige aanvraagkop",
             "seconds a client has to send a complete request head; then the connection is closed "
             "(slow-connection attacks)", DEFAULT_HEADER_TIMEOUT),
    _seconds("body_timeout", "seconden voor de hele body, daarna 408",
             "seconds to send the whole body once the head is in; then 408 `request_timeout`", 30.0),
    _seconds("keep_alive_timeout", "seconden dat een stille verbinding open blijft",
             "an idle kept-alive connection is closed after this", 5.0),
    _limit("limit_concurrency", "open verbindingen per proces; daarboven 503",
           "open connections per worker; beyond it new requests get 503", 1000),
    _limit("large_body_slots", "pushes boven 256 kB die tegelijk gelezen worden per proces",
           "pushes over 256 kB read and checked at the same time per worker; more wait their turn", 4),
    _limit("lookup_rate", "opzoekingen per minuut per apparaat (dekking en intake elk)",
           "lookups per minute per device (coverage and intake each)", 60),
    _limit("lookup_burst", "opzoekingen direct na elkaar per apparaat", "of which this many in a row", 20),
    _limit("enroll_rate", "koppelpogingen per minuut per bronadres",
           "enrolment attempts per minute per source address", 10),
    _limit("enroll_burst", "koppelpogingen direct na elkaar per bronadres", "of which this many in a row", 10),
)
BY_NAME = {setting.name: setting for setting in SETTINGS}
EVERY_COMMAND = ("clinic_agb", "clinic_name", "key_file")  # the others are options of `serve`


def environment_variable(name: str) -> str:
    return ENV_PREFIX + name.upper()


def option(name: str) -> str:
    return "--" + name.replace("_", "-")


KEY_FILE_ENV = environment_variable("key_file")


def _parse(name: str, raw: Any, where: str) -> Any:
    """The typed value, or ConfigError naming where it came from, the setting and the fix."""
    setting = BY_NAME[name]
    try:
        return setting.parse(raw)
    except SettingError as error:
        raise ConfigError(f"{where} ({setting.label}): {error}") from None


def documentation_table() -> str:
    """The table of server settings in the README and docs/IT.md, made from `SETTINGS`."""
    rows = [(f"`{s.name}`", f"`{option(s.name)}`" + ("" if s.name in EVERY_COMMAND else " (serve)"),
             f"`{environment_variable(s.name)}`", s.shown_kind, s.shown_default, s.doc) for s in SETTINGS]
    return markdown_table(("TOML key", "option", "environment variable", "value", "default", "what it is for"), rows)


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
    unknown = sorted(set(data) - set(BY_NAME))
    if unknown:
        raise ConfigError(f"{path}: onbekende instelling {', '.join(unknown)}; bekend zijn {', '.join(BY_NAME)}")
    values = {}
    for name, raw in data.items():
        try:
            values[name] = BY_NAME[name].parse(raw)
        except SettingError as error:
            raise ConfigError(f"{path}: {name} {error}") from None
    return values


def read_environment(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The checked settings from `BUNDELASSISTENT_SERVER_<NAME>` variables (empty ones do not count)."""
    environ = os.environ if environ is None else environ
    values = {}
    for name in BY_NAME:
        variable = environment_variable(name)
        if environ.get(variable, "").strip():
            values[name] = _parse(name, environ[variable], f"${variable}")
    return values


def default_database_url() -> str:
    return f"sqlite:///{_data_folder() / 'server.sqlite3'}"


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


def _default(name: str) -> Any:
    return BY_NAME[name].default


@dataclass(frozen=True)
class Settings:
    database_url: str
    max_body_bytes: int = MAX_BODY_BYTES
    enrollment_code_hours: int = 24
    pool_size: int = 10
    max_overflow: int = 30
    # the declared settings (`SETTINGS`), with their defaults from there
    lookup_rate: int = _default("lookup_rate")      # per minute per device …
    lookup_burst: int = _default("lookup_burst")    # … of which this many at once
    enroll_rate: int = _default("enroll_rate")      # per minute per source address …
    enroll_burst: int = _default("enroll_burst")
    clinic_agb: str | None = _default("clinic_agb")
    clinic_name: str | None = _default("clinic_name")
    same_location_revisions: bool = _default("same_location_revisions")
    header_timeout: float = _default("header_timeout")
    body_timeout: float = _default("body_timeout")
    keep_alive_timeout: float = _default("keep_alive_timeout")
    limit_concurrency: int = _default("limit_concurrency")
    large_body_slots: int = _default("large_body_slots")
    key_file: Path = field(default_factory=lambda: _data_folder() / "device-key-encryption.key")
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_url(cls, url: str | None = None, config: str | os.PathLike | None = None,
                 **overrides) -> Settings:
        """Settings for a database URL from, in rising order of precedence, the defaults, the TOML
        file (`config`, else $BUNDELASSISTENT_SERVER_CONFIG), the environment variables and
        explicit overrides (command-line options, as text or typed; None does not count)."""
        values = read_config_file(config)
        values.update(read_environment())
        for name, raw in overrides.items():
            if raw is not None:
                values[name] = _parse(name, raw, option(name)) if name in BY_NAME else raw
        return cls(database_url=normalize_database_url(url), **values)

    from_environment = from_url  # what the worker processes call: no URL, all from the environment

    def environment(self, with_database: bool = True) -> dict[str, str]:
        """These settings as environment variables, for worker processes (which read them back
        with `read_environment`)."""
        result = {DATABASE_ENV: self.database_url} if with_database else {}
        for setting in SETTINGS:
            value = getattr(self, setting.name)
            if value is not None:
                result[environment_variable(setting.name)] = (("1" if value else "0") if isinstance(value, bool)
                                                              else str(value))
        return result

    def with_changes(self, **changes) -> Settings:
        return replace(self, **changes)

    @property
    def dialect(self) -> Dialect:
        return "postgresql" if self.database_url.startswith("postgresql") else "sqlite"
