"""Reading the text files people edit on a hospital PC: config, bundles, JSON and JSONL.

Notepad saves "Unicode" as UTF-16 with a byte-order mark and "UTF-8" with one; a copied
file may hold binary garbage, a NUL or a lone surrogate; a file may be a folder, or be
unreadable. Every such case becomes a `TextFileError` with a Dutch message saying what is
wrong and how to fix it, so the callers (config, bundle loading, the command line) can
name the file and never show a traceback.
"""

from __future__ import annotations

import codecs
import json
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

SAVE_AS_UTF8 = "sla het op als UTF-8 (Kladblok: Opslaan als… → Codering: UTF-8)"
_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))


class TextFileError(ValueError):
    """The content (or the file) cannot be used; the message says why, without the file name."""


def read_bytes(path: Path) -> bytes:
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise TextFileError("bestand bestaat niet") from None
    except IsADirectoryError:
        raise TextFileError("is een map, geen bestand") from None
    except PermissionError:
        raise TextFileError("geen leesrechten; vraag IT om de gebruiker leesrecht te geven") from None
    except OSError as error:
        raise TextFileError(f"kan niet gelezen worden ({error.strerror or error})") from None


def decode(data: bytes) -> str:
    """UTF-8 (with or without BOM) or UTF-16 with a BOM; anything else is refused."""
    encoding = "utf-8"
    for bom, name in _BOMS:
        if data.startswith(bom):
            data, encoding = data[len(bom):], name
            break
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as error:
        raise TextFileError(f"is geen leesbare tekst (ongeldige {encoding.upper()} op byte {error.start}); "
                            f"{SAVE_AS_UTF8}") from None
    check_characters(text)
    return text


def check_characters(text: str) -> None:
    """Refuse a NUL (binary data) and lone surrogates (they cannot be stored or printed)."""
    if "\x00" in text:
        raise TextFileError(f"bevat een NUL-teken (binaire gegevens?); {SAVE_AS_UTF8}")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        raise TextFileError(f"bevat een ongeldig teken ({text[error.start]!r}, een losse surrogaat) "
                            f"op positie {error.start + 1}") from None


def read_text(path: Path) -> str:
    return decode(read_bytes(path))


def parse_toml(text: str) -> dict:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise TextFileError(f"geen geldige TOML ({error})") from None
    except RecursionError:
        raise TextFileError("geen bruikbare TOML: tabellen of lijsten zijn te diep genest") from None


def read_toml(path: Path) -> dict:
    return parse_toml(read_text(path))


def parse_json(text: str) -> Any:
    """JSON whose strings hold only storable characters (escapes like \\ud800 or \\u0000 are refused)."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        where = f"regel {error.lineno}, kolom {error.colno}" if "\n" in text.strip() else f"kolom {error.colno}"
        raise TextFileError(f"geen geldige JSON ({where}: {error.msg})") from None
    except RecursionError:
        raise TextFileError("geen bruikbare JSON: objecten of lijsten zijn te diep genest") from None
    for text_value in _strings(value):
        check_characters(text_value)
    return value


def _strings(value: Any) -> Iterator[str]:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def lines(data: bytes) -> Iterator[tuple[int, str | TextFileError]]:
    """Number and check each line on its own, so one bad line never hides the others.

    A UTF-16 file (with BOM) is decoded as a whole (its bytes cannot be split on b"\\n");
    a UTF-8 file line by line, so a line of invalid bytes is reported with its number.
    """
    for bom, encoding in _BOMS[1:]:
        if data.startswith(bom):
            try:
                text = data[len(bom):].decode(encoding)
            except UnicodeDecodeError:
                yield 1, TextFileError(f"is geen leesbare {encoding.upper()}-tekst; {SAVE_AS_UTF8}")
                return
            yield from _checked(enumerate(text.split("\n"), start=1))
            return
    yield from (
        (number, _decode_line(raw))
        for number, raw in enumerate(data.removeprefix(codecs.BOM_UTF8).split(b"\n"), start=1))


def _checked(numbered: Iterator[tuple[int, str]]) -> Iterator[tuple[int, str | TextFileError]]:
    for number, line in numbered:
        try:
            check_characters(line)
        except TextFileError as error:
            yield number, error
            continue
        yield number, line.removesuffix("\r")


def _decode_line(raw: bytes) -> str | TextFileError:
    try:
        return decode(raw.removesuffix(b"\r"))
    except TextFileError as error:
        return error
