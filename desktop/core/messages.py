"""The message catalogue: every text a user reads, by key, with named parameters, in Dutch and English.

Why a keyed catalogue in TOML files and not Qt's `.ts`/`.qm` workflow: most texts are made where
there is no Qt — the domain core's eligibility reasons and input errors, the operations' save
errors, the CLI — and the server checks records with the same rules. A key (`core.age.too_young`)
stays stable when a sentence is reworded, a sentence is one entry with its numbers as named
parameters (never glued from fragments), and `tests/test_messages.py` holds both languages to the
same keys and the same parameters, as TagStudio's translation tests do.

The files are `resources/messages/<area>.<language>.toml`, or `<area>-<topic>.<language>.toml`
for a topic of its own; the first part of every key is the file's area (`core.age.too_young` is
`[age] too_young` in `core.nl.toml`), so texts of different layers never share a file. They are
package data, read once on first use like a module; nothing is written.

A parameter is shown in the reader's language: a `Msg` or a bundle's `Text` is translated, a date
is written dd-mm-jjjj, a number with a format (`{score:.1f}`) gets a decimal comma in Dutch.
"""

from __future__ import annotations

import datetime as dt
import string
import tomllib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Protocol, runtime_checkable

import resources

LANGUAGES = ("nl", "en")
FOLDER = ("messages",)


@runtime_checkable
class Translatable(Protocol):
    """Anything that can be read in a language: a catalogue `Msg` or a bundle file's `Text`."""

    def get(self, language: str) -> str: ...


@dataclass(frozen=True)
class Msg:
    """A message not yet put into words: its key and parameters, translated when it is shown.

    Made where the fact is known (a rule, a parser), read where the language is known (the window,
    the CLI), so the same refusal can be shown in Dutch and in English.
    """

    key: str
    params: Mapping[str, object] = field(default_factory=dict)

    def get(self, language: str) -> str:
        return text(self.key, language, **self.params)

    def __str__(self) -> str:
        return self.get("nl")


class MessageError(Exception):
    """An error that says what is wrong in the reader's language: `str()` is the Dutch text (for
    logs and the server), `text(language)` the one the window or the CLI shows."""

    def __init__(self, message: Translatable | str) -> None:
        self.message: Translatable = Plain(message) if isinstance(message, str) else message  # str: not yet keyed
        super().__init__(self.message.get("nl"))

    def text(self, language: str = "nl") -> str:
        return self.message.get(language)


class Plain(str):
    """A text that is the same in every language (a code, a name, a key IT edits by that name)."""

    def get(self, language: str) -> str:
        return str(self)


def msg(key: str, /, **params: object) -> Msg:
    return Msg(key, params)


def text(key: str, language: str, /, **params: object) -> str:
    """The message `key` in `language` (Dutch when the language is not one we have), filled in."""
    language = language if language in LANGUAGES else "nl"
    return _Formatter(language).vformat(_template(key, language), (), params)


@dataclass(frozen=True)
class Listing:
    """Several items as one parameter, each read in the reader's language: "a, b of c".

    `last` is the key of the word before the last item (`core.list.or`, `core.list.and`), or None to
    join every item with `separator` alone ("1-1-2025 t/m 31-12-2025; 1-1-2026 t/m 31-12-2026").
    """

    items: tuple[object, ...]
    last: str | None = None
    separator: str = ", "

    def get(self, language: str) -> str:
        shown = [read(item, language) for item in self.items]
        if self.last is None or len(shown) < 2:
            return self.separator.join(shown)
        return text(self.last, language, rest=self.separator.join(shown[:-1]), last=shown[-1])

    def __str__(self) -> str:
        return self.get("nl")


def either(items: Iterable[object]) -> Listing:
    """"a, b of c" / "a, b or c"."""
    return Listing(tuple(items), "core.list.or")


def both(items: Iterable[object]) -> Listing:
    """"a, b en c" / "a, b and c"."""
    return Listing(tuple(items), "core.list.and")


def joined(items: Iterable[object], separator: str = ", ") -> Listing:
    return Listing(tuple(items), None, separator)


def read(value: object, language: str) -> str:
    """A text that may be a message, a bundle's `Text`, a date or plain text, in `language`."""
    if isinstance(value, Translatable) and not isinstance(value, Mapping):
        return value.get(language)
    if isinstance(value, dt.date):
        return day(value)
    return str(value)


def has(key: str) -> bool:
    return key in area_catalogue("nl", key.split(".", 1)[0])


def placeholders(template: str) -> set[str]:
    """The named parameters a template uses (`{insurer}`, `{score:.1f}` → insurer, score)."""
    return {name.split(".")[0].split("[")[0] for _, name, _, _ in string.Formatter().parse(template) if name}


def number(value: float, language: str, digits: int = 1) -> str:
    """A number as the reader writes it: 4,3 in Dutch, 4.3 in English."""
    written = f"{value:.{digits}f}"
    return written.replace(".", ",") if language == "nl" else written


def day(value: dt.date) -> str:
    """A date as everywhere on screen and paper: dd-mm-jjjj."""
    return value.strftime("%d-%m-%Y")


class _Formatter(string.Formatter):
    def __init__(self, language: str) -> None:
        super().__init__()
        self.language = language

    def format_field(self, value: object, format_spec: str) -> str:
        if isinstance(value, Translatable) and not isinstance(value, Mapping):
            return format(value.get(self.language), format_spec)
        if isinstance(value, dt.date):
            return day(value)
        if isinstance(value, float) or (isinstance(value, int) and format_spec.endswith(("f", "%"))):
            written = format(value, format_spec)
            return written.replace(".", ",") if self.language == "nl" else written
        return format(value, format_spec)


@cache
def catalogue(language: str) -> Mapping[str, str]:
    """Every key of one language, from all its area files; a key is `<area>.<its place in the file>`."""
    areas = sorted({path.name.split(".")[0].split("-")[0]
                    for path in resources.path(*FOLDER).glob(f"*.{language}.toml")})
    return {key: template for area in areas for key, template in area_catalogue(language, area).items()}


@cache
def area_catalogue(language: str, area: str) -> Mapping[str, str]:
    """One area's keys (its main file and its topic files), read the first time one is asked for:
    the window's first frame needs only the `window` area, not all 700 texts."""
    found: dict[str, str] = {}
    paths = resources.path(*FOLDER).glob(f"{area}*.{language}.toml")
    for path in sorted(p for p in paths if p.name.split(".")[0].split("-")[0] == area):
        for key, template in _flatten(tomllib.loads(path.read_text(encoding="utf-8")), f"{area}."):
            if key in found:
                raise ValueError(f"{path.name}: key {key} is already defined in another file of its area")
            found[key] = template
    return found


def _template(key: str, language: str) -> str:
    return area_catalogue(language, key.split(".", 1)[0])[key]


def _flatten(table: Mapping[str, object], prefix: str = "") -> Iterator[tuple[str, str]]:
    for name, value in table.items():
        key = f"{prefix}{name}"
        if isinstance(value, Mapping):
            yield from _flatten(value, f"{key}.")
        elif isinstance(value, str):
            yield key, value
        else:
            raise ValueError(f"key {key}: a message must be text, not {type(value).__name__}")
