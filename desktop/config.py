"""Settings, read once at start-up in a fixed order of precedence.

Defaults < system-wide file (IT) < user file < environment < command line. One immutable
`Settings` object is passed to the services; nothing reads configuration globally.
The role written to the audit log is the exception: only the system-wide file sets it.
Which settings exist, what they hold and their defaults is declared once, in `SETTINGS`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import platformdirs

from desktop import textfiles
from desktop.core.clinic import Clinic, ClinicError, StaffMember, parse_clinic, parse_staff
from desktop.core.messages import MessageError, Msg, Plain, Translatable, joined, msg
from desktop.core.settings import Kind, Setting, SettingError, markdown_table

APP_NAME = "Bundelassistent"
APP_AUTHOR = "Bundelassistent"
CONFIG_NAME = "config.toml"
ENV_PREFIX = "BUNDELASSISTENT_"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


@dataclass(frozen=True)
class Settings:
    """The settings as typed values; which exist and how they are read is `SETTINGS`."""

    data_dir: Path
    log_dir: Path
    bundles_dir: Path | None
    models_dir: Path | None  # a clinic's own retrained models; default: the shipped ones
    log_level: str
    language: str
    location: str | None
    role: str
    server_url: str | None
    proxy: str | None
    ca_bundle: Path | None
    clinic: Clinic = field(default_factory=Clinic)  # [clinic]: what the handout tells the patient
    staff: tuple[StaffMember, ...] = ()  # [[staff]] of the system-wide file: who may explain the bundle
    notices: tuple[Msg, ...] = ()  # settings that were ignored, to show the user once


class ConfigError(MessageError, ValueError):
    pass


# Every device setting, once: parsing, checking, defaults, messages and the docs' table
# (`documentation_table`, kept equal to the README by a test) all come from here.
SETTINGS = (
    Setting("data_dir", Kind.PATH, None, "the local register (encrypted), its outbox and back-ups",
            default_text="user data folder"),
    Setting("log_dir", Kind.PATH, None, "the log files (never a BSN)", default_text="user log folder"),
    Setting("bundles_dir", Kind.PATH, None, "bundle definitions (`*.toml`); default: the shipped ones"),
    Setting("models_dir", Kind.PATH, None, "a clinic's own retrained models; default: the shipped ones"),
    Setting("log_level", Kind.CHOICE, "WARNING", "how much the log records", choices=LOG_LEVELS),
    Setting("language", Kind.CHOICE, "nl", "language of the window at start", choices=("nl", "en")),
    Setting("location", Kind.TEXT, None, "this clinic location, stored with each inclusion that names none"),
    Setting("role", Kind.TEXT, "onbekend", "what the audit log records next to the user; "
                                           "**read only from the system-wide file**"),
    Setting("server_url", Kind.URL, None, "the central server (`https://…`; `http://` only on this computer)"),
    Setting("proxy", Kind.URL, None, "HTTP proxy for the server, e.g. `http://proxy.kliniek.example:8080`"),
    Setting("ca_bundle", Kind.PATH, None, "PEM file with the hospital CA, only if the OS certificate store lacks it"),
)
BY_NAME = {setting.name: setting for setting in SETTINGS}

# Settings that once existed: a file that still has one keeps working; the user is told once
# (as Datasette's OBSOLETE_SETTINGS) instead of the app refusing to start after an upgrade.
OBSOLETE_SETTINGS = {
    "clinic_agb": msg("core.setting.obsolete_clinic_agb"),
}


def system_config_file() -> Path:
    return Path(platformdirs.site_config_dir(APP_NAME, APP_AUTHOR)) / CONFIG_NAME


def user_config_file() -> Path:
    return Path(platformdirs.user_config_dir(APP_NAME, APP_AUTHOR)) / CONFIG_NAME


def defaults() -> Settings:
    values = {setting.name: setting.default for setting in SETTINGS}
    values.update(data_dir=Path(platformdirs.user_data_dir(APP_NAME, APP_AUTHOR)),
                  log_dir=Path(platformdirs.user_log_dir(APP_NAME, APP_AUTHOR)))
    return Settings(**values)


def documentation_table() -> str:
    """The README's and docs/IT.md's table of device settings, made from `SETTINGS`."""
    rows = [(f"`{s.name}`", f"`{ENV_PREFIX}{s.name.upper()}`", s.shown_kind, s.shown_default, s.doc)
            for s in SETTINGS]
    return markdown_table(("key", "environment variable", "value", "default", "what it is for"), rows)


def changed(settings: Settings) -> list[str]:
    """`key = value` for every setting not at its default (for the self-test), in the order of
    `SETTINGS`; a password in a URL (a proxy's) is shown as ***."""
    base = defaults()
    return [f"{setting.name} = {_without_password(getattr(settings, setting.name))}" for setting in SETTINGS
            if getattr(settings, setting.name) != getattr(base, setting.name)]


def _without_password(value: object) -> str:
    from urllib.parse import urlsplit, urlunsplit  # not at start-up: the window's path has no URL to show

    parts = urlsplit(str(value))
    if not parts.password:
        return str(value)
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{host}"))


def _parse(key: str, value: object, origin: Translatable) -> object:
    if isinstance(value, str):
        try:  # an environment variable with bytes that are not UTF-8 arrives as lone surrogates
            textfiles.check_characters(value)
        except textfiles.TextFileError as error:
            raise ConfigError(msg("core.setting.bad", origin=origin, key=key, problem=error.message)) from None
    try:
        return BY_NAME[key].parse(value)
    except SettingError as error:
        raise ConfigError(msg("core.setting.bad", origin=origin, key=key, problem=error.message)) from None


def _apply(settings: Settings, values: dict, origin: Translatable, notices: list[Msg]) -> Settings:
    changes: dict[str, Any] = {}  # each value typed by its own Setting.parse
    for key, value in values.items():
        if key in OBSOLETE_SETTINGS:
            notices.append(msg("core.setting.obsolete", origin=origin, key=key, why=OBSOLETE_SETTINGS[key]))
            continue
        if key not in BY_NAME:
            raise ConfigError(msg("core.setting.unknown", origin=origin, key=key, known=joined(BY_NAME)))
        if value is None or value == "":
            continue
        changes[key] = _parse(key, value, origin)
    return replace(settings, **changes)


def _read_file(path: Path) -> dict:
    try:
        return textfiles.read_toml(path)
    except textfiles.TextFileError as error:
        raise ConfigError(msg("core.setting.file_problem", file=path, problem=error.message)) from None


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except OSError as error:  # e.g. no permission on the folder
        raise ConfigError(msg("core.setting.file_problem", file=path,
                              problem=msg("core.file.unreadable", problem=error.strerror))) from None


# Who may do what is the clinic's decision, so the audit log takes the role only from the
# file IT places (the system config): a user's own file or environment cannot change it.
# The clinic's address and its staff list are the clinic's facts too (desktop/core/clinic.py).
SYSTEM_ONLY_KEYS = ("role", "clinic", "staff")


def _without_system_keys(values: dict, origin: Translatable, notices: list[Msg]) -> dict:
    kept = dict(values)
    for key in SYSTEM_ONLY_KEYS:
        if key in kept:
            del kept[key]
            notices.append(msg("core.setting.system_only", origin=origin, key=key))
    return kept


def _with_clinic(settings: Settings, values: dict, origin: str) -> Settings:
    """Take `[clinic]` and `[[staff]]` out of the system-wide file's values into the settings."""
    try:
        clinic = parse_clinic(values.pop("clinic")) if "clinic" in values else settings.clinic
        staff = parse_staff(values.pop("staff")) if "staff" in values else settings.staff
    except ClinicError as error:
        raise ConfigError(msg("core.setting.file_problem", file=origin, problem=error.message)) from None
    return replace(settings, clinic=clinic, staff=staff)


def load(config_file: Path | None = None, overrides: dict | None = None,
         environ: Mapping[str, str] | None = None) -> Settings:
    """Build the settings; `config_file` (from --config) replaces the user file."""
    if environ is None:
        environ = os.environ
    settings = defaults()
    notices: list[Msg] = []
    system_file = Path(environ.get(ENV_PREFIX + "SYSTEM_CONFIG") or system_config_file())
    if _exists(system_file):
        from_system = _read_file(system_file)
        settings = _with_clinic(settings, from_system, str(system_file))
        settings = _apply(settings, from_system, Plain(str(system_file)), notices)
    user_file = Path(config_file) if config_file else user_config_file()
    if _exists(user_file):
        from_user = _without_system_keys(_read_file(user_file), Plain(str(user_file)), notices)
        settings = _apply(settings, from_user, Plain(str(user_file)), notices)
    elif config_file:
        raise ConfigError(msg("core.setting.file_problem", file=user_file, problem=msg("core.file.missing")))
    from_env = {key: environ[ENV_PREFIX + key.upper()] for key in (*BY_NAME, *OBSOLETE_SETTINGS)
                if ENV_PREFIX + key.upper() in environ}
    environment = msg("core.setting.environment")
    settings = _apply(settings, _without_system_keys(from_env, environment, notices), environment, notices)
    settings = _apply(settings, overrides or {}, msg("core.setting.command_line"), notices)
    return replace(settings, notices=tuple(notices))
