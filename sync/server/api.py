"""HTTP routes of the protocol (see `sync.protocol` for the contract and its version).

Routes are thin: authenticate, hand the validated request to a service module, return
its protocol model. Blocking database work runs in the threadpool (plain `def` routes, or
`run_in_threadpool` where the raw body is read first).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPBearer

from sync import protocol as p
from sync.server import SERVER_VERSION, coverage, device_keys, devices, feed, inclusions, intake, ratelimit
from sync.server.config import LARGE_BODY_BYTES
from sync.server.http_errors import AccessDenied, InvalidBody, RateLimited, UnreadableBody
from sync.server.push_body import BodyRefused, parse_push
from sync.server.ratelimit import Limit
from sync.server.storage import Storage

Responses = dict[int | str, dict[str, Any]]  # FastAPI's `responses=`: extra answers a route documents

ERRORS: Responses = {status: {"model": p.ErrorBody, "description": description} for status, description in {
    400: "ongeldige JSON", 401: "geen, onbekend of ingetrokken toegangstoken", 408: "body te traag",
    413: "verzoek te groot",
    422: "ongeldige velden", 426: "andere protocolversie nodig", 503: "database tijdelijk niet bereikbaar",
}.items()}

bearer = HTTPBearer(auto_error=False, scheme_name="device-token",
                    description="het toegangstoken dat /v1/enroll gaf")


def protocol_version(
    version: Annotated[str, Header(alias=p.PROTOCOL_HEADER, pattern=f"^{p.PROTOCOL_VERSION}$",
                                   description="protocolversie; een andere of ontbrekende geeft 426")],
) -> None:
    """Documents the header in OpenAPI; the check itself happens earlier (app.Guard)."""


def get_storage(request: Request) -> Storage:
    return request.app.state.storage


def authorization(request: Request, _token=Depends(bearer)) -> str | None:
    """The raw Authorization header; `devices.authenticate` checks it before the work's transaction."""
    return request.headers.get("authorization")


router = APIRouter(prefix="/v1", responses=ERRORS)
versioned = [Depends(protocol_version)]


@router.get("/health", response_model=p.HealthResponse, tags=["status"])
def health(request: Request) -> p.HealthResponse:
    storage = get_storage(request)
    storage.ping()
    return p.HealthResponse(status="ok", server_version=SERVER_VERSION, protocol_version=p.PROTOCOL_VERSION,
                            database=storage.dialect)


def client_address(request: Request) -> str:
    """Who sent it: the client's address (behind a proxy, X-Forwarded-For's via uvicorn)."""
    return request.client.host if request.client else "onbekend"


RATE_LIMITED: Responses = {429: {"model": p.ErrorBody,
                                 "description": "te veel verzoeken; probeer het na Retry-After seconden opnieuw"}}


@router.post("/enroll", response_model=p.EnrollResponse, tags=["devices"], dependencies=versioned,
             responses={403: {"model": p.ErrorBody, "description": "koppelcode onbekend, gebruikt of verlopen"},
                        **RATE_LIMITED})
def enroll(body: p.EnrollRequest, request: Request) -> p.EnrollResponse:
    settings = request.app.state.settings
    limit = Limit(settings.enroll_rate, settings.enroll_burst)
    return devices.enroll(get_storage(request), body, client_address(request), limit, request.app.state.refused)


@router.post("/device/key", response_model=p.DeviceKeyReceipt, tags=["devices"], dependencies=versioned)
def deposit_key(body: p.DeviceKeyDeposit, request: Request,
                auth: Annotated[str | None, Depends(authorization)]) -> p.DeviceKeyReceipt:
    """The device's database key, kept sealed so IT can recover the device (see `device_keys`)."""
    devices.token_hash(auth)  # no token: refused before the key file is touched
    kek = device_keys.load_kek(request.app.state.settings.key_file)
    return devices.as_device(get_storage(request), auth, lambda tx, device: device_keys.deposit(tx, device, body, kek))


PUSH_BODY = {"requestBody": {"required": True, "content": {"application/json": {
    "schema": {"$ref": "#/components/schemas/PushRequest"}}}}}


@router.post("/inclusions/push", response_model=p.PushResponse, tags=["inclusions"], dependencies=versioned,
             openapi_extra=PUSH_BODY)
async def push(request: Request, auth: Annotated[str | None, Depends(authorization)]) -> p.PushResponse:
    """Validates each record on its own, so one bad record is `rejected`, not the batch."""
    storage = get_storage(request)
    device = await run_in_threadpool(devices.authenticate, storage, auth)  # before the body is read
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) <= LARGE_BODY_BYTES:
        parsed = await run_in_threadpool(parse_push, await request.body())
    else:  # large (or of unknown size): a few at a time, read in another process (`sync.server.parsing`)
        async with request.app.state.large_bodies:
            parsed = await request.app.state.body_parsers.parse(await request.body())
    if isinstance(parsed, BodyRefused):
        raise (UnreadableBody if parsed.unreadable else InvalidBody)(parsed.message)
    results = await run_in_threadpool(storage.write, lambda tx: inclusions.push(tx, device, parsed))
    return p.PushResponse(results=results)


@router.get("/changes", response_model=p.ChangesResponse, tags=["sync"], dependencies=versioned)
def changes(request: Request, auth: Annotated[str | None, Depends(authorization)],
            cursor: Annotated[int, Query(ge=0, le=2**62)] = 0,
            limit: Annotated[int, Query(ge=1, le=p.MAX_CHANGES_LIMIT)] = p.DEFAULT_CHANGES_LIMIT) -> Response:
    body = devices.as_device(get_storage(request), auth, lambda tx, device: feed.changes(tx, device, cursor, limit))
    return Response(body, media_type="application/json")  # already ChangesResponse JSON


@router.post("/coverage/lookup", response_model=p.CoverageLookupResponse, tags=["coverage"],
             dependencies=versioned, responses=RATE_LIMITED)
def coverage_lookup(body: p.CoverageLookupRequest, request: Request,
                    auth: Annotated[str | None, Depends(authorization)]) -> p.CoverageLookupResponse:
    return _limited_lookup(request, auth, "lookup", "coverage_lookup", lambda tx, device: coverage.lookup(
        tx, device, body))


@router.post("/intake/lookup", response_model=p.IntakeLookupResponse, tags=["intake"],
             dependencies=versioned, responses=RATE_LIMITED)
def intake_lookup(body: p.IntakeLookupRequest, request: Request,
                  auth: Annotated[str | None, Depends(authorization)]) -> p.IntakeLookupResponse:
    """The patient's newest intake questionnaire (BSN and birth date must match)."""
    return _limited_lookup(request, auth, "intake", "intake_lookup", lambda tx, device: intake.lookup(
        tx, device, body))


def _limited_lookup(request: Request, auth: str | None, bucket: str, action: str, lookup):
    """A patient lookup, rate-limited per device (`bucket:<device id>`) in its own transaction."""
    settings = request.app.state.settings
    limit = Limit(settings.lookup_rate, settings.lookup_burst)
    storage = get_storage(request)
    device = devices.authenticate(storage, auth)

    def work(tx):
        wait = ratelimit.take(tx, f"{bucket}:{device.id}", limit)
        if wait is not None:  # the patient was not looked at
            return RateLimited(f"Te veel opzoekingen achter elkaar (hoogstens {limit.per_minute} per minuut); "
                               f"probeer het over {wait} seconden opnieuw.", wait)
        return lookup(tx, device)

    result = storage.write(work)
    if isinstance(result, RateLimited):  # counted and audited per minute, not row by row
        request.app.state.refused.count(client_address(request), action, "rate_limited", device.id)
        raise result
    return result


__all__ = ["AccessDenied", "InvalidBody", "UnreadableBody", "router"]
