"""Settings, read once at start-up in a fixed order of precedence.

Defaults < system-wide file (IT) < user file < environment < command line. One immutable
`Settings` object is passed to the services; nothing reads configuration globally.
The role written to the audit log is the exception: only the system-wide file sets it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields, replace
from pathlib import Path

import platformdirs

from desktop import textfiles

APP_NAME = "Bundelassistent"
APP_AUTHOR = "Bundelassistent"
CONFIG_NAME = "config.toml"
ENV_PREFIX = "BUNDELASSISTENT_"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    bundles_dir: Path | None = None
    models_dir: Path | None = None  # a clinic's own retrained models; default: the shipped ones
    log_dir: Path | None = None
    log_level: str = "WARNING"
    language: str = "nl"
    location: str | None = None
    clinic_agb: str | None = None
    role: str = "onbekend"
    server_url: str | None = None
    proxy: str | None = None
    ca_bundle: str | None = None
    notices: tuple[str, ...] = ()  # settings that were ignored, to show the user once


class ConfigError(ValueError):
    pass


def system_config_file() -> Path:
    return Path(platformdirs.site_config_dir(APP_NAME, APP_AUTHOR)) / CONFIG_NAME


def user_config_file() -> Path:
    return Path(platformdirs.user_config_dir(APP_NAME, APP_AUTHOR)) / CONFIG_NAME


def defaults() -> Settings:
    return Settings(
        data_dir=Path(platformdirs.user_data_dir(APP_NAME, APP_AUTHOR)),
        log_dir=Path(platformdirs.user_log_dir(APP_NAME, APP_AUTHOR)),
    )


_PATH_KEYS = {"data_dir", "bundles_dir", "models_dir", "log_dir"}
_KEYS = {f.name for f in fields(Settings)} - {"notices"}


def _apply(settings: Settings, values: dict, origin: str) -> Settings:
    changes = {}
    for key, value in values.items():
        if key not in _KEYS:
            raise ConfigError(f"{origin}: onbekende instelling {key!r}; bekend zijn {', '.join(sorted(_KEYS))}")
        if value is None or value == "":
            continue
        if not isinstance(value, str):
            raise ConfigError(f"{origin}: instelling {key!r} moet tekst zijn")
        try:  # an environment variable with bytes that are not UTF-8 arrives as lone surrogates
            textfiles.check_characters(value)
        except textfiles.TextFileError as error:
            raise ConfigError(f"{origin}: instelling {key!r} {error}") from None
        if key == "log_level":
            value = value.upper()
            if value not in LOG_LEVELS:
                raise ConfigError(f"{origin}: log_level moet een van {', '.join(LOG_LEVELS)} zijn")
        if key == "language" and value not in ("nl", "en"):
            raise ConfigError(f"{origin}: language moet nl of en zijn")
        changes[key] = Path(value).expanduser() if key in _PATH_KEYS else value
    return replace(settings, **changes)


def _read_file(path: Path) -> dict:
    try:
        return textfiles.read_toml(path)
    except textfiles.TextFileError as error:
        raise ConfigError(f"{path}: {error}") from None


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except OSError as error:  # e.g. no permission on the folder
        raise ConfigError(f"{path}: kan niet gelezen worden ({error.strerror})") from None


# Who may do what is the clinic's decision, so the audit log takes the role only from the
# file IT places (the system config): a user's own file or environment cannot change it.
SYSTEM_ONLY_KEYS = ("role",)


def _without_system_keys(values: dict, origin: str, notices: list[str]) -> dict:
    kept = dict(values)
    for key in SYSTEM_ONLY_KEYS:
        if key in kept:
            del kept[key]
            notices.append(f"{origin}: instelling {key!r} wordt genegeerd; alleen IT stelt die in, "
                           "in het systeembrede configuratiebestand — haal de regel hier weg")
    return kept


def load(config_file: Path | None = None, overrides: dict | None = None,
         environ: dict | None = None) -> Settings:
    """Build the settings; `config_file` (from --config) replaces the user file."""
    environ = os.environ if environ is None else environ
    settings = defaults()
    notices: list[str] = []
    system_file = Path(environ.get(ENV_PREFIX + "SYSTEM_CONFIG") or system_config_file())
    if _exists(system_file):
        settings = _apply(settings, _read_file(system_file), str(system_file))
    user_file = Path(config_file) if config_file else user_config_file()
    if _exists(user_file):
        user_values = _without_system_keys(_read_file(user_file), str(user_file), notices)
        settings = _apply(settings, user_values, str(user_file))
    elif config_file:
        raise ConfigError(f"{user_file}: configuratiebestand bestaat niet")
    from_env = {key: environ[ENV_PREFIX + key.upper()] for key in _KEYS if ENV_PREFIX + key.upper() in environ}
    settings = _apply(settings, _without_system_keys(from_env, "omgeving", notices), "omgeving")
    settings = _apply(settings, overrides or {}, "opdrachtregel")
    return replace(settings, notices=tuple(notices))
