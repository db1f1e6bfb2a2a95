"""The record contract: one implementation of each field rule, for the device and the wire.

The device's input parser (`desktop.core.inputs`), its store and the wire protocol
(`sync.protocol`) all check a record's fields with these functions, so a value the
device accepts is a value the server accepts, and the reverse. Each rule raises
`InvalidField` naming the field and saying how to fix it, never repeating the value.
"""

from __future__ import annotations

import datetime as dt
import re

from desktop.core.identifiers import InvalidField
from desktop.core.messages import either, msg
from desktop.core.states import WIRE_STATES, InsurerSource, Side, TreatmentOption, values

TEXT_MAX = 200          # names, locations, who explained
SHORT_TEXT_MAX = 100    # identifiers: bundle, version, condition, device, user
REASON_MAX = 2000       # a withdrawal reason

# The named states' values as plain strings, for the wire's Literal types and messages.
SIDES = values(Side)
TREATMENTS = values(TreatmentOption)
INSURER_SOURCES = values(InsurerSource)
RECORD_STATES = tuple(state.value for state in WIRE_STATES)
EXPLANATION_LANGUAGES = ("nl", "en")

_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})?", re.ASCII)


def check_text(value: str, field: str, limit: int = TEXT_MAX) -> str:
    """Text must be storable anywhere (no NUL, no lone UTF-16 surrogates) and fit its column."""
    if "\x00" in value:
        raise InvalidField(field, msg("core.invalid.nul"))
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidField(field, msg("core.invalid.unicode")) from None
    if len(value) > limit:
        raise InvalidField(field, msg("core.invalid.too_long", limit=limit))
    return value


def check_withdrawal_reason(value: str, field: str = "withdrawal_reason") -> str:
    """A withdrawal needs a reason that fits the record (trimmed, at most REASON_MAX)."""
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        raise InvalidField(field, msg("core.invalid.withdrawal_reason_missing"))
    return check_text(text, field, REASON_MAX)


def parse_timestamp(value: object, field: str) -> dt.datetime:
    """A date-time is a `datetime` or ISO 8601 text; without a zone it is UTC. Returns UTC."""
    if isinstance(value, str) and _TIMESTAMP.fullmatch(value.strip()):
        text = value.strip()
        if text.endswith("Z"):
            text = text[:-1] + "+00:00"
        try:
            value = dt.datetime.fromisoformat(text)
        except ValueError:
            raise InvalidField(field, msg("core.invalid.no_such_moment")) from None
    if not isinstance(value, dt.datetime):
        raise InvalidField(field, msg("core.invalid.timestamp"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    try:
        return value.astimezone(dt.UTC)
    except (OverflowError, ValueError):
        raise InvalidField(field, msg("core.invalid.timestamp_range")) from None


def check_choice(value: object, choices: tuple[str, ...], field: str) -> str:
    if not isinstance(value, str) or value not in choices:
        raise InvalidField(field, msg("core.invalid.choice", choices=either(choices)))
    return value
