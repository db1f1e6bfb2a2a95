"""The wire protocol between the desktop sync client and the central server, version 2.

Shared by both sides so they cannot drift apart: the client builds these models and the
server validates against them (and publishes them in its OpenAPI document). Plain
pydantic v2; no I/O, no Qt, no server code. The field rules of a record (text, sides,
time stamps, choices) are the domain core's (`desktop.core.fields`), the same functions
the device's input parser uses, so what a device accepts the server accepts.

Conventions
-----------
* Every request carries the header ``X-Bundelassistent-Protocol: 2``; a missing or
  other version is answered with HTTP 426, the server's version in the same header and
  an `ErrorBody` (code ``protocol_version``) whose Dutch message says who must upgrade.
  ``GET /v1/health`` and ``GET /openapi.json`` answer without it, so a client can find
  out which version a server speaks.
* Version 2 (after 1): a coverage lookup carries the patient's birth date and answers
  only when BSN and birth date both match; the feed's inclusions carry only what the
  duplicate check needs and come only from the device's own organisation; lookups and
  enrolments are rate-limited (429 ``rate_limited`` with ``Retry-After`` in seconds).
* ``Authorization: Bearer <device token>`` on everything but ``/v1/health`` and
  ``/v1/enroll``. Unknown token → 401 ``unauthorized``; revoked device → 401
  ``device_revoked`` (at the very next request after ``revoke``).
* JSON everywhere. Every error, of any status, is an `ErrorBody` with a message in plain
  Dutch that never repeats a BSN.
* Dates are ``YYYY-MM-DD``; date-times are ISO 8601. A date-time without a zone is read
  as UTC; the server always answers in UTC.
* The BSN travels only in request and response bodies, never in a URL (URLs end up in
  access logs).

Endpoints
---------
==========================  ==========================  ==========================
``GET /v1/health``          —                           `HealthResponse`
``POST /v1/enroll``         `EnrollRequest`             `EnrollResponse`
``POST /v1/inclusions/push`` `PushRequest`              `PushResponse`
``GET /v1/changes``         ``?cursor=N&limit=M``       `ChangesResponse`
``POST /v1/coverage/lookup`` `CoverageLookupRequest`    `CoverageLookupResponse`
``POST /v1/intake/lookup``  `IntakeLookupRequest`       `IntakeLookupResponse`
==========================  ==========================  ==========================

``/v1/intake/lookup`` was added within version 2: a device that does not call it works
as before, and a server without it answers 404 ``not_found`` (the client then reports
that the server has no intake questionnaires).

Push semantics (idempotent; results in the same order as the records):

* new id, valid → ``accepted``; overlapping an accepted, not-withdrawn inclusion with
  the same episode key (bundle, bsn, condition, episode_side or "") from any device →
  ``duplicate`` with `DuplicateOf` (stored for audit, never exported);
* same id and revision, same content → ``unchanged`` (or ``duplicate`` again, with the
  same `DuplicateOf`, if it was flagged a duplicate); lower revision → ``unchanged``;
* the next revision of a known id (stored revision + 1: withdrawal, correction) →
  ``accepted`` (or ``duplicate`` if a registered revision now overlaps another episode);
* same id and revision with different content, or invalid content → ``rejected`` with a
  Dutch ``reason`` naming the field and a machine-readable ``code`` (``REJECT_*``:
  ``invalid_record``); a new revision that breaks a rule the device applies (re-checked
  by the server against its own bundle definitions) → ``rejected`` naming the rule
  (``code`` ``rule_failed``). One bad record never fails the batch. When a rejected
  record's id or revision cannot be read at all, the result carries the nil UUID and
  revision 0 (match results by position).

Ownership: an id belongs to the enrolled device that first pushed it. A later revision
from any other device is ``rejected`` with code ``not_owner`` (unless the server allows
devices of the same location to change each other's records). ``device_id`` must be the
id this device got at enrolment (``device_mismatch``); a revision that skips numbers is
``revision_gap`` (a revision the server rejected for its content counts as received, so
the device's next one follows it); ``created_at`` and ``user`` keep their revision-1
values (``immutable_field``). A new id may start above revision 1: its earlier revisions
may never have reached the server.

A push batch is stored in one transaction: a request that got no response stored
nothing or everything, and re-pushing it is always safe.

Changes feed: ``GET /v1/changes?cursor=0`` first, then ``cursor=next_cursor`` until
``more`` is false; keep ``next_cursor`` for the next poll. Sequence numbers are handed out
in commit order, so a cursor never skips a change that committed late.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeVar
from uuid import UUID

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StringConstraints,
    model_validator,
)
from stdnum.nl import bsn as stdnum_bsn

from desktop.core import fields
from desktop.core.decision_support import check_decision_support
from desktop.core.identifiers import ICD10_PATTERN, InvalidField
from desktop.core.states import RecordState, ServerResult, values

_Checked = TypeVar("_Checked")  # what a core rule gives back

PROTOCOL_VERSION = 2
PROTOCOL_HEADER = "X-Bundelassistent-Protocol"
AUTH_HEADER = "Authorization"

MAX_PUSH_RECORDS = 500
MAX_BODY_BYTES = 2 * 1024 * 1024
MAX_CHANGES_LIMIT = 1000
ENROLL_RETRY_MINUTES = 15  # a device whose keyring failed may use its code again this long
DEFAULT_CHANGES_LIMIT = 500

# ErrorBody.code values the server uses.
ERROR_PROTOCOL_VERSION = "protocol_version"          # 426
ERROR_UNAUTHORIZED = "unauthorized"                  # 401: no or unknown token
ERROR_DEVICE_REVOKED = "device_revoked"              # 401: the device was revoked
ERROR_ENROLLMENT_CODE_INVALID = "enrollment_code_invalid"  # 403: unknown code
ERROR_ENROLLMENT_CODE_USED = "enrollment_code_used"        # 403: code already used
ERROR_ENROLLMENT_CODE_EXPIRED = "enrollment_code_expired"  # 403: code expired
ERROR_INVALID_REQUEST = "invalid_request"            # 400/422: malformed body or parameters
ERROR_TOO_LARGE = "request_too_large"                # 413
ERROR_TIMEOUT = "request_timeout"                    # 408: the body came too slowly
ERROR_NOT_FOUND = "not_found"                        # 404
ERROR_METHOD_NOT_ALLOWED = "method_not_allowed"      # 405
ERROR_RATE_LIMITED = "rate_limited"                  # 429: too many requests; see Retry-After
ERROR_UNAVAILABLE = "unavailable"                    # 503: database busy or down; retry later
ERROR_INTERNAL = "internal_error"                    # 500

# PushResult.result values (the named states of `desktop.core.states`).
RESULT_ACCEPTED, RESULT_UNCHANGED, RESULT_DUPLICATE, RESULT_REJECTED = (
    ServerResult.ACCEPTED, ServerResult.UNCHANGED, ServerResult.DUPLICATE, ServerResult.REJECTED)

# PushResult.code values: why a record was rejected, for machines (the reason is for people).
REJECT_INVALID_RECORD = "invalid_record"        # a field breaks the record contract (named in the reason)
REJECT_RULE_FAILED = "rule_failed"              # an eligibility or registration rule fails on the server
REJECT_NOT_OWNER = "not_owner"                  # the id belongs to another device
REJECT_DEVICE_MISMATCH = "device_mismatch"      # device_id is not the device behind the token
REJECT_REVISION_GAP = "revision_gap"            # the revision is not the stored one + 1
REJECT_REVISION_CONFLICT = "revision_conflict"  # this revision was received before with other content
REJECT_IMMUTABLE_FIELD = "immutable_field"      # created_at or user differs from revision 1
NIL_UUID = UUID(int=0)


# -- field types --------------------------------------------------------------------------
def _wire_date(value: Any) -> Any:
    """A date is a `date` (not a datetime) or the text YYYY-MM-DD; nothing else."""
    if isinstance(value, dt.datetime):
        raise ValueError("moet een datum zijn (JJJJ-MM-DD), geen tijdstip")
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            raise ValueError("is geen bestaande datum") from None
    raise ValueError("moet een datum zijn in de vorm JJJJ-MM-DD")


def _core_rule(check: Callable[[Any], _Checked]) -> Callable[[Any], _Checked]:
    """A domain-core field rule (raises InvalidField) as a pydantic validator (raises ValueError)."""
    def validate(value: Any) -> _Checked:
        try:
            return check(value)
        except InvalidField as problem:
            raise ValueError(problem.message.get("nl")) from None
    return validate


def _wire_datetime(value: Any) -> Any:
    """A date-time is a `datetime` or ISO 8601 text; without a zone it is UTC."""
    return _core_rule(lambda v: fields.parse_timestamp(v, "tijdstip"))(value)


def _bsn(value: str) -> str:
    if not re.fullmatch(r"[0-9]{9}", value):  # not \d: it takes other scripts' digits
        raise ValueError("moet precies 9 cijfers hebben")
    if not stdnum_bsn.is_valid(value):
        raise ValueError("is geen geldig BSN (voldoet niet aan de 11-proef)")
    return value


def _clean_text(value: str) -> str:
    """Text must be storable anywhere: no NUL characters, no lone UTF-16 surrogates."""
    return _core_rule(lambda v: fields.check_text(v, "tekst", limit=len(v)))(value)


def _text_rule(limit: int) -> AfterValidator:
    """The core's text rule for text of at most `limit` characters (the limit shows in OpenAPI
    through the StringConstraints next to it)."""
    return AfterValidator(_core_rule(lambda v: fields.check_text(v, "tekst", limit)))


MAX_RULES_JSON = 64 * 1024


def _rules(value: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rule outcomes are free-form JSON, but must be storable and reasonably small."""
    import json
    import math

    def walk(item: Any, depth: int) -> None:
        if depth > 20:
            raise ValueError("is te diep genest")
        if isinstance(item, str):
            _clean_text(item)
        elif isinstance(item, float) and not math.isfinite(item):
            raise ValueError("bevat een getal dat geen JSON is (NaN of oneindig)")
        elif isinstance(item, dict):
            for key, inner in item.items():
                walk(key, depth + 1)
                walk(inner, depth + 1)
        elif isinstance(item, list):
            for inner in item:
                walk(inner, depth + 1)

    walk(value, 0)
    if len(json.dumps(value, ensure_ascii=True)) > MAX_RULES_JSON:
        raise ValueError(f"is groter dan {MAX_RULES_JSON // 1024} kB")
    return value


WireDate = Annotated[dt.date, BeforeValidator(_wire_date)]
WireDateTime = Annotated[dt.datetime, BeforeValidator(_wire_datetime)]
Bsn = Annotated[str, Field(strict=True, min_length=9, max_length=9, pattern=r"^[0-9]{9}$",
                           description="Burgerservicenummer: 9 cijfers, 11-proef",
                           examples=["111222333"]),
                AfterValidator(_bsn)]
Uzovi = Annotated[str, Field(strict=True, pattern=r"^[0-9]{4}$", description="UZOVI-code, 4 cijfers",
                             examples=["3311"])]
Agb = Annotated[str, Field(strict=True, pattern=r"^[0-9]{8}$", description="AGB-code, 8 cijfers")]
# The words on the wire come from the core's enums and tuples (one source for device and
# server). mypy cannot read a Literal built from them, so to the type checker they are text.
if TYPE_CHECKING:
    Side = str
    WireState = str
    InsurerSourceWord = str
    ExplanationLanguage = str
    Treatment = str
    ResultWord = str
else:
    Side = Literal[fields.SIDES]
    WireState = Literal[fields.RECORD_STATES]
    InsurerSourceWord = Literal[fields.INSURER_SOURCES]
    ExplanationLanguage = Literal[fields.EXPLANATION_LANGUAGES]
    Treatment = Literal[fields.TREATMENTS]
    ResultWord = Literal[values(ServerResult)]
Text = Annotated[str, StringConstraints(strict=True, min_length=0, max_length=fields.TEXT_MAX),
                 _text_rule(fields.TEXT_MAX)]
RequiredText = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=fields.TEXT_MAX),
                         _text_rule(fields.TEXT_MAX)]
ShortText = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=fields.SHORT_TEXT_MAX),
                      _text_rule(fields.SHORT_TEXT_MAX)]
LongText = Annotated[str, StringConstraints(strict=True, min_length=0, max_length=fields.REASON_MAX),
                     _text_rule(fields.REASON_MAX)]
Diagnosis = Annotated[str, Field(strict=True, max_length=20, pattern=ICD10_PATTERN.pattern,
                                 description="ICD-10-code zoals de desktop hem opslaat, bijvoorbeeld G56.0")]
Revision = Annotated[StrictInt, Field(ge=1, le=2**31 - 1)]
WireUUID = Annotated[UUID, Field(strict=False)]  # a UUID object or its text form


class _Request(BaseModel):
    """What a client sends: unknown fields are an error, types are not coerced."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=False)


class _Response(BaseModel):
    """What the server sends: a client ignores fields a newer server adds."""

    model_config = ConfigDict(extra="ignore")


# -- errors and health ----------------------------------------------------------------------
class ErrorBody(_Response):
    code: str = Field(description="machine-readable: see the ERROR_* constants")
    message: str = Field(description="for people, in plain Dutch; never contains a BSN")


class HealthResponse(_Response):
    status: Literal["ok"] = "ok"
    server_version: str
    protocol_version: int
    database: Literal["sqlite", "postgresql"]


# -- enrolment ------------------------------------------------------------------------------
class EnrollRequest(_Request):
    code: Annotated[str, StringConstraints(strict=True, min_length=1, max_length=64), AfterValidator(_clean_text)]
    device_name: ShortText
    location: Text | None = None
    retry_key: Annotated[str, StringConstraints(strict=True, pattern=r"^[A-Za-z0-9_-]{32,128}$")] | None = Field(
        default=None, description="a secret the device keeps; the same code with the same key within "
        f"{ENROLL_RETRY_MINUTES} minutes re-enrols the same device with a new token")


class EnrollResponse(_Response):
    device_id: str
    token: str = Field(description="keep it in the OS keyring; send as 'Authorization: Bearer …'")
    server_time: dt.datetime


# -- the device's database key, held in escrow ----------------------------------------------
DatabaseKey = Annotated[str, StringConstraints(strict=True, pattern=r"^[0-9a-f]{64}$")]


class DeviceKeyDeposit(_Request):
    """The device's SQLCipher key (64 hex digits), so IT can recover its unsynced records."""

    key: DatabaseKey


class DeviceKeyReceipt(_Response):
    stored: bool = Field(description="false when this key was deposited before")
    deposited_at: dt.datetime


# -- inclusions -----------------------------------------------------------------------------
class InclusionRecord(_Request):
    """One inclusion as a device pushes it; mirrors the local `inclusions` table."""

    id: WireUUID
    revision: Revision
    state: WireState
    bundle: ShortText
    bundle_version: ShortText
    condition: ShortText
    diagnosis: Diagnosis
    side: Side | None = None
    episode_side: Side | None = Field(
        default=None, description="the side when the bundle's episode key includes side, else null")
    bsn: Bsn
    birth_date: WireDate
    name: Text | None = None
    insurer_uzovi: Uzovi
    insurer_source: InsurerSourceWord
    insurer_checked_at: WireDateTime
    eligibility_status: ShortText
    eligibility_rules: Annotated[list[dict[str, Any]], Field(max_length=100), AfterValidator(_rules)]
    explained_by: RequiredText
    explained_at: WireDateTime
    explanation_language: ExplanationLanguage
    handout_printed: StrictBool
    agreed: StrictBool
    clinician_agb: Agb
    location: RequiredText
    inclusion_date: WireDate
    end_date: WireDate
    initial_treatment: Treatment | None = None
    device_id: ShortText
    user: ShortText
    created_at: WireDateTime
    updated_at: WireDateTime
    withdrawn_at: WireDateTime | None = None
    withdrawal_reason: LongText | None = None
    decision_support: dict[str, Any] | None = Field(
        default=None, description="what Samen beslissen showed at registration (model version, inputs with "
        "their sources, every prediction column): the shape of `desktop.core.decision_support`. Optional, an "
        "addition within protocol 2: a device of the previous version sends none; a device sends the key only "
        "when it has one, so an older server takes its other records as before")

    @model_validator(mode="after")
    def _consistent(self) -> InclusionRecord:
        """Only the record's shape; its dates and rules are `desktop.core.record_rules`'."""
        if self.state == RecordState.WITHDRAWN and self.withdrawn_at is None:
            raise ValueError("withdrawn_at: ontbreekt bij een ingetrokken inclusie")
        if self.state == RecordState.WITHDRAWN:
            try:
                fields.check_withdrawal_reason(self.withdrawal_reason or "")
            except InvalidField as problem:
                raise ValueError(str(problem)) from None
        if self.decision_support is not None:  # the device's own check, for the condition the record names
            try:
                self.decision_support = check_decision_support(self.decision_support, self.condition)
            except InvalidField as problem:
                raise ValueError(str(problem)) from None
        return self

    def episode_key(self) -> tuple[str, str, str, str]:
        """(bundle, bsn, condition, episode_side or ""): one active episode per key."""
        return (self.bundle, self.bsn, self.condition, self.episode_side or "")


class PushRequest(_Request):
    records: Annotated[list[InclusionRecord], Field(max_length=MAX_PUSH_RECORDS)]


class DuplicateOf(_Response):
    id: UUID
    inclusion_date: dt.date
    end_date: dt.date
    location: str | None = None


class PushResult(_Response):
    id: UUID
    revision: int
    result: ResultWord
    duplicate_of: DuplicateOf | None = None
    reason: str | None = None
    code: str | None = Field(default=None, description="why a record was rejected, machine-readable: "
                             "see the REJECT_* constants; null otherwise")


class PushResponse(_Response):
    results: list[PushResult]


# -- changes feed ---------------------------------------------------------------------------
class InclusionSummary(_Response):
    """Another device's inclusion: exactly what the active-episode check needs, no more
    (no name, birth date, location or device: the receiving device matches on the BSN)."""

    id: UUID
    revision: int
    state: WireState
    bundle: str
    condition: str
    episode_side: Side | None = None
    bsn: str
    inclusion_date: dt.date
    end_date: dt.date


class BundleDefinition(_Response):
    id: str
    version: str
    toml: str
    active: bool


class CoverageEntry(_Response):
    bsn: str
    uzovi: str
    insurer: str | None = None
    valid_from: dt.date
    valid_to: dt.date | None = None


class Change(_Response):
    seq: int
    kind: Literal["inclusion", "bundle", "coverage"]
    inclusion: InclusionSummary | None = None
    bundle: BundleDefinition | None = None
    coverage: CoverageEntry | None = None


class ChangesResponse(_Response):
    changes: list[Change]
    next_cursor: int
    more: bool


# -- coverage lookup ------------------------------------------------------------------------
class CoverageLookupRequest(_Request):
    """BSN and birth date, as the national insurance check (COV) asks them: the server
    answers only when both match; a mismatch is answered exactly like "not found"."""

    bsn: Bsn
    birth_date: WireDate
    on: WireDate


class CoverageLookupResponse(_Response):
    found: bool
    uzovi: str | None = None
    insurer: str | None = None
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None
    checked_at: dt.datetime


# -- intake questionnaire lookup -----------------------------------------------------------
class IntakeLookupRequest(CoverageLookupRequest):
    """BSN, birth date and the consultation date: the server answers the newest intake
    completed on or before `on`, only when BSN and birth date both match (a mismatch is
    answered exactly like "not found"). Rate-limited per device like the coverage lookup."""


IntakeValue = float | str


class IntakeLookupResponse(_Response):
    found: bool
    completed_on: dt.date | None = Field(default=None, description="the date it was completed (clinic's time)")
    completed_at: dt.datetime | None = Field(default=None, description="when, if the export gave a time")
    values: dict[str, IntakeValue] = Field(default_factory=dict, description="baseline column: value, the "
                                           "names of the models' input (nrs_pain_0, bctq_fss_0, work_status, …)")
    checked_at: dt.datetime


def protocol_headers(token: str | None = None) -> dict[str, str]:
    """The headers every client request carries."""
    headers = {PROTOCOL_HEADER: str(PROTOCOL_VERSION), "Accept": "application/json"}
    if token:
        headers[AUTH_HEADER] = f"Bearer {token}"
    return headers


def record_from_row(row: dict[str, Any]) -> dict[str, Any]:
    """Turn a local `inclusions` row (desktop/store/inclusions.py) into wire-record JSON fields.

    The local table stores booleans as 0/1 and the rule outcomes as JSON text; the wire
    wants true booleans and a list. Local bookkeeping columns (server_result, …) are
    dropped. `episode_side` is not a local column: pass it in the row when the bundle's
    episode key includes side.
    """
    import json

    fields = set(InclusionRecord.model_fields)
    record = {key: row.get(key) for key in fields}
    rules = record.get("eligibility_rules")
    if isinstance(rules, str):
        record["eligibility_rules"] = json.loads(rules) if rules else []
    elif rules is None:
        record["eligibility_rules"] = []
    support = record.pop("decision_support", None)
    if isinstance(support, str) and support:
        support = json.loads(support)
    if support:  # no key without one: a server before decision support refuses unknown keys
        record["decision_support"] = support
    for key in ("handout_printed", "agreed"):
        value = record.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            record[key] = bool(value)
        elif value is None:
            record[key] = False
    return record
