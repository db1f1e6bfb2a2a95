"""Reading the text files people edit on a hospital PC: config, bundles, JSON and JSONL.

Notepad saves "Unicode" as UTF-16 with a byte-order mark and "UTF-8" with one; a copied
file may hold binary garbage, a NUL or a lone surrogate; a file may be a folder, or be
unreadable. Every such case becomes a `TextFileError` with a message (Dutch or English) saying what is
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

from desktop.core.messages import MessageError, msg

_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))


class TextFileError(MessageError, ValueError):
    """The content (or the file) cannot be used; the message says why, without the file name."""


def read_bytes(path: Path) -> bytes:
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise TextFileError(msg("core.file.missing")) from None
    except IsADirectoryError:
        raise TextFileError(msg("core.file.folder")) from None
    except PermissionError:
        raise TextFileError(msg("core.file.no_permission")) from None
    except OSError as error:
        raise TextFileError(msg("core.file.unreadable", problem=error.strerror or error)) from None


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
        raise TextFileError(msg("core.file.bad_encoding", encoding=encoding.upper(), byte=error.start)) from None
    check_characters(text)
    return text


def check_characters(text: str) -> None:
    """Refuse a NUL (binary data) and lone surrogates (they cannot be stored or printed)."""
    if "\x00" in text:
        raise TextFileError(msg("core.file.nul"))
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        raise TextFileError(msg("core.file.surrogate", character=repr(text[error.start]),
                                position=error.start + 1)) from None


def read_text(path: Path) -> str:
    return decode(read_bytes(path))


def parse_toml(text: str) -> dict:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise TextFileError(msg("core.file.bad_toml", problem=error)) from None
    except RecursionError:
        raise TextFileError(msg("core.file.toml_too_deep")) from None


def read_toml(path: Path) -> dict:
    return parse_toml(read_text(path))


def parse_json(text: str) -> Any:
    """JSON whose strings hold only storable characters (escapes like \\ud800 or \\u0000 are refused)."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        if "\n" in text.strip():
            raise TextFileError(msg("core.file.bad_json_line", line=error.lineno, column=error.colno,
                                    problem=error.msg)) from None
        raise TextFileError(msg("core.file.bad_json", column=error.colno, problem=error.msg)) from None
    except RecursionError:
        raise TextFileError(msg("core.file.json_too_deep")) from None
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
                yield 1, TextFileError(msg("core.file.bad_utf16", encoding=encoding.upper()))
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
