"""Settings declared once: a table of `Setting`s drives parsing, checking, the defaults, the
error messages and the documentation table (as Datasette's `SETTINGS` in `datasette/app.py`).

Pure: it turns a raw value (a TOML value, or the text of an environment variable or a
command-line option) into a typed one, or says in Dutch what is wrong and how to fix it.
Reading files and the environment is the caller's job. The device (`desktop/config.py`)
and the server (`sync/server/config.py`) each declare their own table with it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from desktop.core.messages import MessageError, either, joined, msg


class Kind(StrEnum):
    """What a setting holds; the value is the word the documentation table shows."""

    TEXT = "text"
    WHOLE = "whole number"
    NUMBER = "number"
    BOOL = "on/off"
    PATH = "path"
    URL = "URL"
    CHOICE = "choice"


class SettingError(MessageError, ValueError):
    """A value is unusable; the message names what is wrong and how to fix it (in the reader's
    language), without the setting's name, which the caller puts in front with where it came from."""


TRUE_WORDS = ("1", "true", "yes", "ja", "on", "aan")
FALSE_WORDS = ("0", "false", "no", "nee", "off", "uit")


@dataclass(frozen=True)
class Setting:
    """One setting: its name, what it holds, its default and what it is for (English, for
    the documentation table). `check` is an extra rule on the parsed value (it raises
    SettingError, or returns the value, possibly cleaned)."""

    name: str
    kind: Kind
    default: Any
    doc: str
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    schemes: tuple[str, ...] = ("https", "http")
    check: Callable[[Any], Any] | None = None
    default_text: str | None = None  # the default as the docs show it, when it depends on the platform
    label: str = ""  # what it is, in Dutch, for --help and error messages
    example: str | None = None  # a good value, shown when a text setting gets no text
    metavar: str | None = None  # the placeholder in --help

    def parse(self, raw: Any) -> Any:
        """The typed value of `raw` (TOML value or text), or SettingError."""
        value = _PARSERS[self.kind](self, raw)
        return self.check(value) if self.check else value

    @property
    def shown_default(self) -> str:
        if self.default_text is not None:
            return self.default_text
        if self.default is None:
            return "—"
        if isinstance(self.default, bool):
            return "on" if self.default else "off"
        return f"`{plain(self.default)}`"

    @property
    def shown_kind(self) -> str:
        if self.kind is Kind.CHOICE:
            return " / ".join(f"`{choice}`" for choice in self.choices)
        return str(self.kind)


def _text(setting: Setting, raw: Any) -> str:
    if not isinstance(raw, str):
        example = setting.example or '"Utrecht"'
        raise SettingError(msg("core.setting.text", example=example))
    return raw.strip()


def _number(setting: Setting, raw: Any, kind: type) -> int | float:
    whole = kind is int
    what = msg("core.setting.whole_number") if whole else msg("core.setting.number")
    if isinstance(raw, bool) or not isinstance(raw, (str, int, float)):
        raise SettingError(msg("core.setting.not_a_number", what=what, value=repr(raw)))
    try:
        if whole and isinstance(raw, float):
            raise ValueError
        value: int | float = kind(raw.strip() if isinstance(raw, str) else raw)
    except ValueError:
        raise SettingError(msg("core.setting.not_a_number", what=what, value=repr(raw))) from None
    if not math.isfinite(value):
        raise SettingError(msg("core.setting.not_a_number", what=what, value=repr(raw)))
    low, high = setting.minimum, setting.maximum
    too_low = low is not None and (value < low or (low == 0 and not whole and value == 0))  # 0 s means never
    if too_low or (high is not None and value > high):
        if high is None and low == 0 and not whole:
            raise SettingError(msg("core.setting.above_zero", what=what, value=repr(raw)))
        if high is None:
            raise SettingError(msg("core.setting.at_least", what=what, low=plain(low), value=repr(raw)))
        raise SettingError(msg("core.setting.between", what=what, low=plain(low), high=plain(high), value=repr(raw)))
    return value


def plain(value: Any) -> str | None:
    """A number as people write it (10, not 10.0); anything else as text."""
    if value is None:
        return None
    return f"{value:g}" if isinstance(value, float) else str(value)


def _bool(setting: Setting, raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower() if isinstance(raw, (str, int)) else ""
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    raise SettingError(msg("core.setting.on_off", value=repr(raw)))


def _path(setting: Setting, raw: Any) -> Path:
    if not isinstance(raw, str) or not raw.strip():
        raise SettingError(msg("core.setting.path"))
    try:
        return Path(raw.strip()).expanduser()
    except RuntimeError:  # "~name" of a user this machine does not know
        raise SettingError(msg("core.setting.unknown_home", value=repr(raw.strip()))) from None


def _url(setting: Setting, raw: Any) -> str:
    text = _text(setting, raw)
    example = f"{setting.schemes[0]}://server.ziekenhuis.nl"
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        raise SettingError(msg("core.setting.bad_address", value=repr(text), example=example)) from None
    if parts.scheme.lower() not in setting.schemes or not parts.hostname:
        raise SettingError(msg("core.setting.scheme", schemes=either(s + "://" for s in setting.schemes),
                               example=example, value=repr(text)))
    return text


def _choice(setting: Setting, raw: Any) -> str:
    text = _text(setting, raw)
    for choice in setting.choices:
        if text.lower() == choice.lower():
            return choice
    raise SettingError(msg("core.setting.choice", choices=joined(setting.choices), value=repr(text)))


_PARSERS: dict[Kind, Callable[[Setting, Any], Any]] = {
    Kind.TEXT: _text,
    Kind.WHOLE: lambda setting, raw: _number(setting, raw, int),
    Kind.NUMBER: lambda setting, raw: _number(setting, raw, float),
    Kind.BOOL: _bool,
    Kind.PATH: _path,
    Kind.URL: _url,
    Kind.CHOICE: _choice,
}


def markdown_table(header: Iterable[str], rows: Iterable[Iterable[str]]) -> str:
    """A Markdown table (no trailing newline); pipes inside a cell are escaped."""
    header = list(header)
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def replace_between_markers(text: str, marker: str, table: str) -> str:
    """`text` with what stands between `<!-- marker -->` and `<!-- /marker -->` replaced by
    `table`: how the docs' generated tables are kept (and tested) equal to the declaration."""
    start, end = f"<!-- {marker} -->", f"<!-- /{marker} -->"
    before, found, rest = text.partition(start)
    if not found or end not in rest:
        raise ValueError(f"markers {start} … {end} not found")
    return f"{before}{start}\n{table}\n{end}{rest.split(end, 1)[1]}"
