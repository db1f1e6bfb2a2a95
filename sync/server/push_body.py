"""Reading a push body: JSON, the envelope, then each record validated on its own.

Pure work on bytes, so the server can run it in another process: validating 500 records
of a 2 MB body holds an interpreter for tens of milliseconds, and on the server's own
interpreter that time is taken from every other device's request (`sync.server.parsing`).
It therefore returns plain values, never raises for bad input: a `BodyRefused` says why
the body as a whole is refused; otherwise each record is an `InclusionRecord` or an
`Unreadable` carrying its `rejected` result.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from pydantic import ValidationError
from stdnum.nl import bsn as stdnum_bsn

from sync.protocol import (
    MAX_PUSH_RECORDS,
    NIL_UUID,
    REJECT_INVALID_RECORD,
    RESULT_REJECTED,
    InclusionRecord,
    PushResult,
)
from sync.server.errors import ROOT, describe_validation_error


@dataclass(frozen=True)
class BodyRefused:
    """The whole body is refused: `unreadable` (not JSON: 400) or not a valid envelope (422)."""

    message: str
    unreadable: bool = False


Parsed = list["InclusionRecord | Unreadable"]


def parse_push(raw: bytes) -> Parsed | BodyRefused:
    """The records of a push body, each validated on its own, or why the body is refused."""
    try:
        body = json.loads(raw, parse_constant=_no_constants)
    except (ValueError, RecursionError):
        return BodyRefused("de body is geen geldige JSON", unreadable=True)
    if not isinstance(body, dict) or set(body) != {"records"}:
        return BodyRefused("de body moet een object zijn met alleen het veld 'records'")
    records = body["records"]
    if not isinstance(records, list):
        return BodyRefused("records: moet een lijst zijn")
    if len(records) > MAX_PUSH_RECORDS:
        return BodyRefused(f"records: hoogstens {MAX_PUSH_RECORDS} per verzoek (nu {len(records)})")
    return parse_records(records)


def _no_constants(name: str):
    raise ValueError(f"{name} is geen JSON")


@dataclass(frozen=True)
class Unreadable:
    """A record that failed validation: its result, and the patient if the BSN was readable."""

    result: PushResult
    bsn: str | None


def parse_records(raw_records: list[Any]) -> list[InclusionRecord | Unreadable]:
    """Validate each record on its own: a bad one becomes a `rejected` result, not a 422."""
    parsed: list[InclusionRecord | Unreadable] = []
    for index, raw in enumerate(raw_records):
        try:
            parsed.append(InclusionRecord.model_validate(raw))
        except ValidationError as error:
            result = PushResult(id=_readable_id(raw), revision=_readable_revision(raw), result=RESULT_REJECTED,
                                reason=_reason(index, error), code=REJECT_INVALID_RECORD)
            parsed.append(Unreadable(result, _readable_bsn(raw)))
    return parsed


def _readable_bsn(raw: Any) -> str | None:
    """The record's BSN for the audit log, when it is a real one (never from a failed check)."""
    value = raw.get("bsn") if isinstance(raw, dict) else None
    return value if isinstance(value, str) and len(value) == 9 and stdnum_bsn.is_valid(value) else None


def _reason(index: int, error: ValidationError) -> str:
    text = describe_validation_error(error)
    if text.startswith(f"{ROOT}: "):
        text = text[len(ROOT) + 2:]
    return f"record {index + 1}: {text}"


def _readable_id(raw: Any) -> UUID:
    try:
        return UUID(str(raw.get("id"))) if isinstance(raw, dict) and isinstance(raw.get("id"), str) else NIL_UUID
    except ValueError:
        return NIL_UUID


def _readable_revision(raw: Any) -> int:
    value = raw.get("revision") if isinstance(raw, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**31 else 0
