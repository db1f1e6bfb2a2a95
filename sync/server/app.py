"""The FastAPI application: routes, the request guard and JSON errors for everything.

`Guard` is a plain ASGI middleware in front of the routes. It answers 426 when the
protocol header is missing or wrong, 413 when the body is (or turns out to be) larger
than the limit — before reading it when Content-Length says so — and turns any
unexpected exception into a 500 `ErrorBody` without re-raising, so no HTML page and no
traceback ever reaches a client. The server log gets the exception type and stack
frames only: exception messages can contain field values, and a BSN never goes in a log.
"""

from __future__ import annotations

import asyncio
import logging
import traceback
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from sync import protocol as p
from sync.server import SERVER_VERSION
from sync.server.api import client_address, router
from sync.server.config import BODY_PARSER_PROCESSES, Settings
from sync.server.errors import describe_validation_error
from sync.server.http_errors import NotAuthenticated, Refused
from sync.server.parsing import BodyParsers
from sync.server.refused import Flusher, RefusedRequests
from sync.server.storage import DatabaseUnavailable, Storage

log = logging.getLogger("bundelassistent.server")

UNVERSIONED_PATHS = {"/v1/health", "/openapi.json"}


def error_response(status: int, code: str, message: str, headers: dict | None = None) -> JSONResponse:
    return JSONResponse(p.ErrorBody(code=code, message=message).model_dump(), status_code=status, headers=headers)


class BodyTooLarge(StarletteHTTPException):
    def __init__(self, limit: int):
        super().__init__(413, f"Het verzoek is groter dan {limit // 1024} kB; stuur minder records per keer.")


class BodyTooSlow(StarletteHTTPException):
    def __init__(self, seconds: float):
        super().__init__(408, f"De body kwam niet binnen {seconds:g} s binnen; controleer de verbinding en probeer "
                              "het opnieuw.")


def upgrade_message(version: str | None) -> str:
    """The 426 text, in Dutch, saying who must upgrade: an old device shows it as it is."""
    ours = p.PROTOCOL_VERSION
    theirs = int(version) if version and version.strip().isdigit() and len(version.strip()) < 6 else None
    if theirs is not None and theirs > ours:
        return (f"Deze server is ouder dan dit apparaat (server: protocolversie {ours}, apparaat: {theirs}). "
                "Vraag IT de centrale server bij te werken; tot dan blijven inclusies veilig op dit apparaat.")
    had = f"versie {theirs}" if theirs is not None else "geen of een onleesbare versie"
    return (f"Deze versie van Bundelassistent is te oud voor de server (server: protocolversie {ours}, "
            f"apparaat: {had}). Installeer de nieuwe versie van Bundelassistent (vraag IT); tot dan blijven "
            "inclusies veilig op dit apparaat en worden ze later alsnog verstuurd.")


def _log_exception(error: BaseException, method: str, path: str) -> None:
    frames = "".join(traceback.format_tb(error.__traceback__))
    log.error("interne fout bij %s %s: %s\n%s", method, path, type(error).__name__, frames)


class Guard:
    """Protocol version, body size and deadline, and last-resort error handling, in front of everything.

    The body deadline starts when the route first asks for the body and ends when the
    last chunk is in: a client that sends its body slower than that gets 408 and the
    connection is closed (the head has its own deadline, `sync.server.deadlines`).
    """

    def __init__(self, app, max_body_bytes: int, body_timeout: float):
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.body_timeout = body_timeout

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path = scope.get("path", "")
        headers = {key.decode("latin-1").lower(): value.decode("latin-1") for key, value in scope.get("headers", [])}
        if path.startswith("/v1/") and path not in UNVERSIONED_PATHS:
            version = headers.get(p.PROTOCOL_HEADER.lower())
            if version != str(p.PROTOCOL_VERSION):
                response = error_response(426, p.ERROR_PROTOCOL_VERSION, upgrade_message(version),
                                          headers={p.PROTOCOL_HEADER: str(p.PROTOCOL_VERSION)})
                return await response(scope, receive, send)
        length = headers.get("content-length")
        if length is not None:
            if not length.isdigit():
                return await error_response(400, p.ERROR_INVALID_REQUEST, "Ongeldige Content-Length.")(
                    scope, receive, send)
            if int(length) > self.max_body_bytes:
                return await error_response(413, p.ERROR_TOO_LARGE, BodyTooLarge(self.max_body_bytes).detail,
                                            headers={"Connection": "close"})(scope, receive, send)

        received = 0
        limit, timeout = self.max_body_bytes, self.body_timeout
        deadline: float | None = None
        complete = False

        async def limited_receive():
            nonlocal received, deadline, complete
            if complete:  # after the body only a disconnect can come: no deadline for that
                return await receive()
            loop = asyncio.get_running_loop()
            deadline = deadline or loop.time() + timeout
            try:
                message = await asyncio.wait_for(receive(), max(0.0, deadline - loop.time()))
            except TimeoutError:
                raise BodyTooSlow(timeout) from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
                complete = not message.get("more_body", False)
            return message

        started = False

        async def tracking_send(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except Exception as error:  # the last line of defence: never a traceback to the client
            _log_exception(error, scope.get("method", "?"), path)
            if not started:
                await error_response(500, p.ERROR_INTERNAL, "Er ging op de server iets mis; probeer het later "
                                     "opnieuw. De fout is gelogd.")(scope, receive, send)


def _openapi(app: FastAPI):
    def build() -> dict:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(title="Bundelassistent centrale server", version=SERVER_VERSION,
                             summary=f"Protocol versie {p.PROTOCOL_VERSION}", description=p.__doc__,
                             routes=app.routes)
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        push = p.PushRequest.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, definition in push.pop("$defs", {}).items():
            components.setdefault(name, definition)
        components["PushRequest"] = push
        app.openapi_schema = schema
        return schema

    return build


def create_app(settings: Settings, storage: Storage | None = None) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI):
        flusher = Flusher(app.state.refused, app.state.storage).start()
        try:
            yield
        finally:
            app.state.body_parsers.stop()
            await run_in_threadpool(flusher.stop)

    app = FastAPI(title="Bundelassistent centrale server", version=SERVER_VERSION, docs_url=None, redoc_url=None,
                  lifespan=lifespan)
    app.state.storage = storage or Storage(settings)
    app.state.settings = settings
    app.state.refused = RefusedRequests()
    app.state.large_bodies = asyncio.Semaphore(settings.large_body_slots)
    app.state.body_parsers = BodyParsers(BODY_PARSER_PROCESSES)
    app.include_router(router)
    app.openapi = _openapi(app)  # type: ignore[method-assign]  # FastAPI's documented way to extend the schema

    @app.exception_handler(Refused)
    async def refused(request: Request, error: Refused):
        """Status, code and headers as the error's type says (see `sync.server.http_errors`)."""
        if isinstance(error, NotAuthenticated):  # a refused enrolment code is audited by devices.enroll itself
            request.app.state.refused.count(client_address(request), error.action, error.code, error.device_id)
        return error_response(error.status, error.code, error.text, error.headers())

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, error: RequestValidationError):
        problems = list(error.errors())
        if any(problem.get("type") in ("json_invalid", "json_type") for problem in problems):
            return error_response(400, p.ERROR_INVALID_REQUEST, "Ongeldig verzoek: de body is geen geldige JSON")
        safe = [{key: value for key, value in problem.items() if key != "input"} for problem in problems]
        return error_response(422, p.ERROR_INVALID_REQUEST, f"Ongeldig verzoek: {describe_validation_error(safe)}")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, error: StarletteHTTPException):
        code, message = {
            404: (p.ERROR_NOT_FOUND, "Dit adres bestaat niet op de server."),
            405: (p.ERROR_METHOD_NOT_ALLOWED, "Deze methode is hier niet toegestaan."),
            408: (p.ERROR_TIMEOUT, str(error.detail)),
            413: (p.ERROR_TOO_LARGE, str(error.detail)),
        }.get(error.status_code, (p.ERROR_INVALID_REQUEST, "Het verzoek kon niet gelezen worden."))
        headers = dict(error.headers or {})  # e.g. Allow on 405
        if error.status_code in (408, 413):
            headers["Connection"] = "close"
        return error_response(error.status_code, code, message, headers or None)

    @app.exception_handler(DatabaseUnavailable)
    async def unavailable(_request: Request, _error: DatabaseUnavailable):
        return error_response(503, p.ERROR_UNAVAILABLE, "De database is tijdelijk niet bereikbaar; probeer het "
                              "zo opnieuw.", headers={"Retry-After": "5"})

    app.add_middleware(Guard, max_body_bytes=settings.max_body_bytes, body_timeout=settings.body_timeout)
    return app


def app_from_environment() -> FastAPI:
    """Factory for `uvicorn --factory` with several workers (database from the environment)."""
    return create_app(Settings.from_environment())


__all__ = ["app_from_environment", "create_app"]
