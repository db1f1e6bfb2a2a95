"""Devices: one-time enrolment codes, device tokens, revocation and authentication.

Codes and tokens are stored only as SHA-256 hashes. A code is random (60 bits, typed by
IT as XXXX-XXXX-XXXX), single use (claimed with one conditional UPDATE, so two devices
racing for one code cannot both win) and expires. A device that enrolled but could not keep
its token (a broken keyring) may claim the same code again for a few minutes if it sends
the same secret retry key: it gets the same device id and a new token, and the lost
token stops working — the code still enrols one device only. A token is `secrets.token_urlsafe(32)`;
SHA-256 suffices because it has 256 bits of entropy. Revocation is checked on every
request, so it takes effect at the next one. The code names the device's organisation
(set by IT, never by the device): the changes feed shares other devices' inclusions only
within one organisation. Enrolment attempts are rate-limited per source address.

A refused token writes nothing itself: the app counts it per source address and minute
(`sync.server.refused`), so a flood of bad tokens cannot grow the database without
bound, and the token is checked in a read transaction before any body is read or any
write lock taken.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import func, insert, select, update

from sync.protocol import (
    ENROLL_RETRY_MINUTES,
    ERROR_DEVICE_REVOKED,
    ERROR_ENROLLMENT_CODE_EXPIRED,
    ERROR_ENROLLMENT_CODE_INVALID,
    ERROR_ENROLLMENT_CODE_USED,
    ERROR_UNAUTHORIZED,
    EnrollRequest,
    EnrollResponse,
)
from sync.server import ratelimit
from sync.server import tables as t
from sync.server.http_errors import AccessDenied, EnrollmentRefused, NotAuthenticated, RateLimited
from sync.server.refused import RefusedRequests
from sync.server.storage import Storage, Transaction, utc_now

T = TypeVar("T")

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: typed from a screen
CODE_GROUPS, CODE_GROUP_LENGTH = 3, 4


class AdminError(ValueError):
    """An admin command cannot do what was asked; the message is Dutch."""


@dataclass(frozen=True)
class Device:
    id: str
    name: str
    location: str | None
    organisation: str = t.DEFAULT_ORGANISATION


def sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def normalize_code(code: str) -> str:
    return "".join(ch for ch in code.upper() if ch.isalnum())


def new_code() -> str:
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_GROUPS * CODE_GROUP_LENGTH))
    return "-".join(raw[i:i + CODE_GROUP_LENGTH] for i in range(0, len(raw), CODE_GROUP_LENGTH))


def checked_organisation(organisation: str) -> str:
    """An organisation name as IT types it (enroll-code, import-intake), or AdminError."""
    organisation = organisation.strip()
    if not organisation or len(organisation) > 200 or not organisation.isprintable():
        raise AdminError("--organisation moet een naam van 1 tot 200 gewone tekens zijn")
    return organisation


def create_enrollment_code(storage: Storage, location: str | None = None, valid_hours: float = 24,
                           organisation: str | None = None) -> tuple[str, dt.datetime]:
    """Make a one-time code; only its hash is kept. Returns the code and its expiry."""
    if valid_hours <= 0 or valid_hours > 24 * 30:
        raise AdminError("--valid-hours moet tussen 0 en 720 liggen")
    organisation = checked_organisation(t.DEFAULT_ORGANISATION if organisation is None else organisation)
    code = new_code()
    expires = utc_now() + dt.timedelta(hours=valid_hours)

    def work(tx: Transaction) -> None:
        key = tx.conn.execute(insert(t.enrollment_codes).values(
            code_hash=sha256(normalize_code(code)), location=location, organisation=organisation,
            created_at=tx.now, expires_at=expires)).inserted_primary_key
        assert key is not None, "an INSERT of one row has its primary key"
        code_id = key[0]
        tx.audit("enrollment_code_create", "ok", object_type="enrollment_code", object_id=str(code_id),
                 details={"location": location, "organisation": organisation, "expires_at": expires.isoformat()})

    storage.write(work)
    return code, expires


def enroll(storage: Storage, request: EnrollRequest, source: str = "onbekend",
           limit: ratelimit.Limit | None = None, refused: RefusedRequests | None = None) -> EnrollResponse:
    """Claim a code and create a device with a fresh token, in one transaction.

    `source` is the client's address: at most `limit` attempts from it, successful or
    not (more get RateLimited, counted in `refused` and audited per minute, not one by one).
    A code claimed less than ENROLL_RETRY_MINUTES ago with the same retry key re-enrols
    that same device instead (`_reissue`).
    """
    code_hash = sha256(normalize_code(request.code))
    retry_hash = sha256(request.retry_key) if request.retry_key else None
    token = secrets.token_urlsafe(32)
    device_id = str(uuid.uuid4())

    def work(tx: Transaction) -> AccessDenied | RateLimited | EnrollResponse:
        if limit is not None:
            ratelimit.prune(tx)
            wait = ratelimit.take(tx, f"enroll:{source}", limit)
            if wait is not None:
                return RateLimited(
                    f"Te veel koppelpogingen vanaf dit adres; probeer het over {wait} seconden opnieuw.", wait)
        codes = t.enrollment_codes
        claimed = tx.conn.execute(
            update(codes).where(codes.c.code_hash == code_hash, codes.c.used_at.is_(None),
                                codes.c.expires_at > tx.now)
            .values(used_at=tx.now, device_id=device_id, retry_key_hash=retry_hash)
            .returning(codes.c.id, codes.c.location, codes.c.organisation)).first()
        if claimed is None:
            return _reissue(tx, code_hash, retry_hash, token, request, source)
        tx.conn.execute(insert(t.devices).values(
            id=device_id, name=request.device_name, location=request.location or claimed.location,
            organisation=claimed.organisation, token_hash=sha256(token), enrolled_at=tx.now,
            enrollment_code_id=claimed.id))
        tx.audit("enroll", "ok", device_id=device_id, object_type="device", object_id=device_id,
                 details={"device_name": request.device_name, "enrollment_code": claimed.id,
                          "organisation": claimed.organisation, "source": source})
        return EnrollResponse(device_id=device_id, token=token, server_time=tx.now)

    result = storage.write(work)
    if isinstance(result, RateLimited) and refused is not None:
        refused.count(source, "enroll", "rate_limited")  # after the transaction: a retried one counts once
    if isinstance(result, (AccessDenied, RateLimited)):
        raise result
    return result


def _reissue(tx: Transaction, code_hash: str, retry_hash: str | None, token: str,
             request: EnrollRequest, source: str) -> AccessDenied | EnrollResponse:
    """The code is not free: re-enrol its own device if the retry key matches in time, else refuse."""
    codes = t.enrollment_codes
    row = tx.conn.execute(select(codes.c.id, codes.c.used_at, codes.c.device_id, codes.c.retry_key_hash)
                          .where(codes.c.code_hash == code_hash)).first()
    if row is not None and row.used_at is not None and retry_hash is not None:
        in_time = row.used_at > tx.now - dt.timedelta(minutes=ENROLL_RETRY_MINUTES)
        same_device = secrets.compare_digest(row.retry_key_hash or "", retry_hash)
        renewed = same_device and in_time and tx.conn.execute(
            update(t.devices).where(t.devices.c.id == row.device_id, t.devices.c.revoked_at.is_(None))
            .values(token_hash=sha256(token))).rowcount == 1
        if renewed:
            tx.audit("enroll", "reissued", device_id=row.device_id, object_type="device", object_id=row.device_id,
                     details={"device_name": request.device_name, "enrollment_code": row.id, "source": source})
            return EnrollResponse(device_id=row.device_id, token=token, server_time=tx.now)
    if row is None:
        denied = EnrollmentRefused(ERROR_ENROLLMENT_CODE_INVALID, "Deze koppelcode is onbekend; controleer de "
                                   "code of vraag IT om een nieuwe.", action="enroll")
    elif row.used_at is not None:
        denied = EnrollmentRefused(ERROR_ENROLLMENT_CODE_USED, "Deze koppelcode is al gebruikt; een code werkt "
                                   "maar één keer. Vraag IT om een nieuwe.", action="enroll")
    else:
        denied = EnrollmentRefused(ERROR_ENROLLMENT_CODE_EXPIRED, "Deze koppelcode is verlopen; vraag IT om een "
                                   "nieuwe.", action="enroll")
    tx.audit("enroll", denied.code, actor="onbekend apparaat", object_type="enrollment_code",
             object_id=str(row.id) if row else None, details={"device_name": request.device_name, "source": source})
    return denied


def token_hash(authorization: str | None) -> str:
    """The stored hash of the token in 'Authorization: Bearer <token>', or NotAuthenticated (401)."""
    scheme, _, token = (authorization or "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > 200:
        raise NotAuthenticated(ERROR_UNAUTHORIZED, "Dit apparaat is niet aangemeld: het verzoek heeft geen geldig "
                               "toegangstoken. Koppel het apparaat opnieuw met een koppelcode.")
    return sha256(token)


def authenticate(storage: Storage, authorization: str | None) -> Device:
    """The device behind the token, from a read transaction; NotAuthenticated (401) if there is none.

    A read takes no write lock, so a flood of bad tokens never queues up with real
    pushes; a revocation that committed before this request is always seen.
    """
    hashed = token_hash(authorization)
    row = storage.read_first(select(t.devices.c.id, t.devices.c.name, t.devices.c.location,
                                    t.devices.c.organisation, t.devices.c.revoked_at)
                             .where(t.devices.c.token_hash == hashed))
    if row is None:
        raise NotAuthenticated(ERROR_UNAUTHORIZED, "Onbekend toegangstoken. Koppel het apparaat opnieuw met een "
                               "koppelcode.")
    if row.revoked_at is not None:
        raise NotAuthenticated(ERROR_DEVICE_REVOKED, "Dit apparaat is ingetrokken en mag niet meer "
                               "synchroniseren. Neem contact op met IT.", device_id=row.id)
    return Device(row.id, row.name, row.location, row.organisation)


def as_device(storage: Storage, authorization: str | None, work: Callable[[Transaction, Device], T]) -> T:
    """Run `work` in a write transaction for the device behind the token (see `authenticate`)."""
    device = authenticate(storage, authorization)
    return storage.write(lambda tx: work(tx, device))


def revoke(storage: Storage, device_id: str) -> None:
    def work(tx: Transaction) -> None:
        row = tx.conn.execute(select(t.devices.c.revoked_at).where(t.devices.c.id == device_id)).first()
        if row is None:
            raise AdminError(f"apparaat {device_id} bestaat niet (zie 'devices')")
        if row.revoked_at is not None:
            raise AdminError(f"apparaat {device_id} is al ingetrokken")
        tx.conn.execute(update(t.devices).where(t.devices.c.id == device_id).values(revoked_at=tx.now))
        tx.audit("device_revoke", "ok", object_type="device", object_id=device_id)

    storage.write(work)


def list_devices(storage: Storage) -> list[dict]:
    """Every device with its last request (from the audit log)."""
    last_seen = (select(t.audit_log.c.device_id, func.max(t.audit_log.c.at).label("last_seen"))
                 .where(t.audit_log.c.device_id.is_not(None)).group_by(t.audit_log.c.device_id).subquery())
    query = (select(t.devices.c.id, t.devices.c.name, t.devices.c.location, t.devices.c.organisation,
                    t.devices.c.enrolled_at,
                    t.devices.c.revoked_at, last_seen.c.last_seen)
             .select_from(t.devices.outerjoin(last_seen, last_seen.c.device_id == t.devices.c.id))
             .order_by(t.devices.c.enrolled_at))
    with storage.read() as conn:
        rows = [dict(row._mapping) for row in conn.execute(query)]
    for row in rows:
        if isinstance(row["last_seen"], str):  # SQLite: max() over the column loses its type
            row["last_seen"] = dt.datetime.fromisoformat(row["last_seen"]).replace(tzinfo=dt.UTC)
        elif isinstance(row["last_seen"], dt.datetime) and row["last_seen"].tzinfo is None:
            row["last_seen"] = row["last_seen"].replace(tzinfo=dt.UTC)
    return rows
