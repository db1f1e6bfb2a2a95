"""HTTP client for the central server, speaking `sync.protocol` over requests.

It knows the wire and nothing of the local database: the desktop's sync service decides
what to push and what to do with the answers. Every failure is turned into one of a few
exceptions that say what the user or IT can do about it:

* `ServerUnavailable` — network down, timeout, 5xx, proxy trouble: retry later
  (`RateLimited`, HTTP 429: retry after `retry_after` seconds);
* `AuthenticationFailed` — token unknown or device revoked: stop and enrol again;
* `ProtocolError` — the server sent something that does not match the schema;
  `UpgradeRequired` (HTTP 426) says whether this app or the server must be upgraded.

TLS is verified against the operating system's certificate store (truststore), so a
hospital's own CA works without extra files; a CA bundle file can replace it.

The network is not trusted either (see `Deadline` and `ServerClient._call`): plain http only to this computer,
no redirects, an overall deadline per request and a cap on the size of an answer.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import os
import socket
import ssl
import threading
import time
from typing import Any, ClassVar, TypeVar
from urllib.parse import urlsplit

import requests
from pydantic import BaseModel, ValidationError
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from sync import protocol

CONNECT_TIMEOUT = 5.0
REQUEST_DEADLINE = 60.0  # seconds, all-in, for every sync request
LOOKUP_DEADLINE = 3.0  # a consultation waits for this one (the README promises 2–3 s)
LOOKUP_CONNECT_TIMEOUT = 2.0
MAX_RESPONSE_BYTES = 32 * 1024 * 1024  # a page of 1000 changes is a few MB
LOOPBACK_NAMES = ("localhost",)

log = logging.getLogger(__name__)

Model = TypeVar("Model", bound=BaseModel)


class SyncError(Exception):
    """Base class; the message is plain Dutch and never contains a BSN."""


class ServerUnavailable(SyncError):
    pass


class AuthenticationFailed(SyncError):
    def __init__(self, message: str, revoked: bool):
        super().__init__(message)
        self.revoked = revoked


class RateLimited(ServerUnavailable):
    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after


class ProtocolError(SyncError):
    pass


class NotFound(ProtocolError):
    """HTTP 404: the server has no such endpoint (an older server)."""


class IntakeUnsupported(NotFound):
    """The server predates the intake lookup."""


class UpgradeRequired(ProtocolError):
    """The server speaks another protocol version; the message says who must upgrade."""


class EnrollmentRefused(SyncError):
    pass


class UnsafeServer(SyncError):
    """The address or the server's answer would put data at risk: fix the configuration."""


def is_loopback(host: str | None) -> bool:
    """127.0.0.0/8, ::1 or localhost: traffic that never leaves this computer."""
    host = (host or "").lower().rstrip(".")
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def normalise_server_url(url: str) -> str:
    """The server address without a trailing slash; https unless the server is on this computer.

    Checked before anything is sent: the enrolment code, the token and the records
    must never cross a network in clear text.
    """
    url = (url or "").strip().rstrip("/")
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        raise UnsafeServer(f"serveradres {url!r} is geen geldig adres; gebruik https://server.ziekenhuis.nl") from None
    if parts.scheme not in ("https", "http") or not host:
        raise UnsafeServer(f"serveradres {url!r} moet met https:// beginnen, bijvoorbeeld https://server.ziekenhuis.nl")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise UnsafeServer(f"serveradres {url!r} mag geen gebruikersnaam, wachtwoord, ? of # bevatten")
    if parts.scheme == "http" and not is_loopback(host):
        raise UnsafeServer(f"serveradres {url} is niet beveiligd: gebruik https:// (http:// mag alleen voor een "
                           "server op deze computer: 127.0.0.1, ::1 of localhost); er is niets verstuurd")
    return url


def make_session(proxy: str | None = None, ca_bundle: str | os.PathLike[str] | None = None) -> requests.Session:
    session = requests.Session()
    session.mount("http://", _GuardedAdapter())
    if ca_bundle:
        session.verify = str(ca_bundle)
        session.mount("https://", _GuardedAdapter())
    else:
        session.mount("https://", _TruststoreAdapter())
    if proxy:
        session.proxies = {"http": proxy, "https": proxy}
        session.trust_env = False
    return session


# -- an overall deadline per request ------------------------------------------------------
# requests (urllib3) only has per-read timeouts: a server that sends one byte a second
# never trips them. A `Deadline` is a wall-clock limit for one request: the connections
# the request opens or reuses register their socket with it, and a timer shuts those
# sockets down when the time is up, which ends any blocking connect, send or read at
# once. The body is streamed and the deadline checked between chunks too.
_active = threading.local()


class DeadlineExceeded(Exception):
    pass


class Deadline:
    def __init__(self, seconds: float):
        self.seconds = seconds
        self.ends = time.monotonic() + seconds
        self.expired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def __enter__(self) -> Deadline:
        _active.deadline = self
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()
        _active.deadline = None

    def remaining(self) -> float:
        return self.ends - time.monotonic()

    def check(self) -> None:
        if self.expired or self.remaining() <= 0:
            self.expired = True
            raise DeadlineExceeded()

    def watch(self, sock: socket.socket | None) -> None:
        if sock is None:
            return
        with self._lock:
            self._sockets.append(sock)
            if self.expired:
                _shut(sock)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            for sock in self._sockets:
                _shut(sock)


def _shut(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # already closed


def _watch(sock: socket.socket | None) -> None:
    deadline = getattr(_active, "deadline", None)
    if deadline is not None:
        deadline.watch(sock)


class _WatchedHTTPConnection(HTTPConnection):
    """Every socket it opens or reuses is watched by the request's deadline (in HTTPS too:
    `_WatchedHTTPSConnection` puts this class before urllib3's HTTPSConnection)."""

    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        _watch(sock)
        return sock

    def request(self, *args: Any, **kwargs: Any) -> None:
        _watch(self.sock)  # a kept-alive connection this request reuses
        super().request(*args, **kwargs)


class _WatchedHTTPSConnection(_WatchedHTTPConnection, HTTPSConnection):
    pass


class _WatchedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


class _GuardedAdapter(HTTPAdapter):
    """Connections whose sockets a `Deadline` can cut; never a retry."""

    WATCHED_POOLS: ClassVar[dict[str, type]] = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = dict(self.WATCHED_POOLS)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        manager.pool_classes_by_scheme = dict(self.WATCHED_POOLS)
        return manager


class _TruststoreAdapter(_GuardedAdapter):
    """Verifies server certificates with the OS store (Windows, macOS, Linux)."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        import truststore

        kwargs["ssl_context"] = truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        super().init_poolmanager(*args, **kwargs)


class ServerClient:
    """One server, one device token (None before enrolment).

    `deadline` bounds every request from the first byte sent to the last byte read;
    `max_response_bytes` bounds what an answer may weigh in memory.
    """

    def __init__(self, base_url: str, token: str | None = None, session: requests.Session | None = None,
                 deadline: float = REQUEST_DEADLINE, max_response_bytes: int = MAX_RESPONSE_BYTES):
        self.base_url = normalise_server_url(base_url)
        self.token = token
        self.session = session or make_session()
        if is_loopback(urlsplit(self.base_url).hostname):
            self.session.proxies, self.session.trust_env = {}, False  # never via a proxy, in clear text
        self.deadline = deadline
        self.max_response_bytes = max_response_bytes

    def close(self) -> None:
        self.session.close()

    # -- endpoints ----------------------------------------------------------------------
    def health(self) -> protocol.HealthResponse:
        return self._call("GET", "/v1/health", protocol.HealthResponse)

    def enroll(self, code: str, device_name: str, location: str | None,
               retry_key: str | None = None) -> protocol.EnrollResponse:
        request = protocol.EnrollRequest(code=code.strip(), device_name=device_name[:100], location=location,
                                         retry_key=retry_key)
        return self._call("POST", "/v1/enroll", protocol.EnrollResponse, body=request)

    def deposit_key(self, key: str) -> protocol.DeviceKeyReceipt:
        """Hand the database key to the server's escrow (see sync.server.device_keys)."""
        return self._call("POST", "/v1/device/key", protocol.DeviceKeyReceipt, body=protocol.DeviceKeyDeposit(key=key))

    def push(self, records: list[dict[str, Any]]) -> list[protocol.PushResult]:
        """Push wire-record dicts; the caller matches the results by id and revision."""
        payload = {"records": records}
        return self._call("POST", "/v1/inclusions/push", protocol.PushResponse, json_body=payload).results

    def changes(self, cursor: int, limit: int = protocol.DEFAULT_CHANGES_LIMIT) -> protocol.ChangesResponse:
        return self._call("GET", "/v1/changes", protocol.ChangesResponse, params={"cursor": cursor, "limit": limit})

    def lookup_coverage(self, bsn: str, birth_date: dt.date, on: dt.date,
                        deadline: float = LOOKUP_DEADLINE) -> protocol.CoverageLookupResponse:
        request = protocol.CoverageLookupRequest(bsn=bsn, birth_date=birth_date, on=on)
        return self._call("POST", "/v1/coverage/lookup", protocol.CoverageLookupResponse, body=request,
                          deadline=min(deadline, self.deadline), connect_timeout=LOOKUP_CONNECT_TIMEOUT)

    def lookup_intake(self, bsn: str, birth_date: dt.date, on: dt.date,
                      deadline: float = LOOKUP_DEADLINE) -> protocol.IntakeLookupResponse:
        """The newest intake questionnaire on or before `on` (BSN and birth date must match).

        A server from before the intake lookup answers 404: `IntakeUnsupported`."""
        request = protocol.IntakeLookupRequest(bsn=bsn, birth_date=birth_date, on=on)
        try:
            return self._call("POST", "/v1/intake/lookup", protocol.IntakeLookupResponse, body=request,
                              deadline=min(deadline, self.deadline), connect_timeout=LOOKUP_CONNECT_TIMEOUT)
        except NotFound:
            raise IntakeUnsupported("de server kent nog geen intakevragenlijsten; vraag IT de centrale server bij "
                                    "te werken") from None

    # -- transport ----------------------------------------------------------------------
    def _call(self, method: str, path: str, model: type[Model], body: BaseModel | None = None,
              json_body: Any = None, params: dict[str, Any] | None = None, deadline: float | None = None,
              connect_timeout: float = CONNECT_TIMEOUT) -> Model:
        if body is not None:
            json_body = body.model_dump(mode="json")
        seconds = deadline or self.deadline
        timeout = (min(connect_timeout, seconds), seconds)  # per read; the Deadline bounds the whole
        # A configured CA file is passed per request: requests lets REQUESTS_CA_BUNDLE in
        # the environment override a session's own setting.
        ca_file = self.session.verify if isinstance(self.session.verify, str) else None
        with Deadline(seconds) as limit:
            try:
                response = self.session.request(
                    method, self.base_url + path, json=json_body, params=params, verify=ca_file,
                    headers=protocol.protocol_headers(self.token), timeout=timeout, stream=True,
                    allow_redirects=False)
                try:
                    self._refuse_redirect(response)
                    # _parse reads response.content: fill it with the capped body.
                    response._content = self._read_body(response, limit)
                finally:
                    response.close()
            except (DeadlineExceeded, requests.exceptions.RequestException) as error:
                if limit.expired:
                    raise ServerUnavailable(f"server {self.base_url} antwoordde niet binnen {seconds:g} s; "
                                            "later opnieuw") from None
                raise self._transport_error(error) from None
        return self._parse(response, model)

    def _refuse_redirect(self, response: requests.Response) -> None:
        if 300 <= response.status_code < 400:
            target = urlsplit(response.headers.get("location", ""))
            where = f" naar {target.scheme}://{target.netloc}" if target.netloc else ""
            raise UnsafeServer(f"server {self.base_url} probeerde door te sturen{where} (HTTP "
                               f"{response.status_code}); doorsturen wordt niet gevolgd en er is niets als "
                               "verstuurd gemarkeerd — controleer het serveradres")

    def _read_body(self, response: requests.Response, limit: Deadline) -> bytes:
        cap = self.max_response_bytes
        too_big = ProtocolError(f"antwoord van de server is groter dan {cap / 2**20:g} MB; afgebroken — "
                                "werk de app of de server bij")
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > cap:
            raise too_big
        chunks, size = [], 0
        for chunk in response.iter_content(64 * 1024):
            size += len(chunk)
            if size > cap:
                raise too_big
            chunks.append(chunk)
            limit.check()
        limit.check()  # a cut connection without Content-Length looks like the end of the body
        return b"".join(chunks)

    def _transport_error(self, error: Exception) -> SyncError:
        if isinstance(error, requests.exceptions.SSLError):
            return ServerUnavailable(f"beveiligde verbinding met {self.base_url} geweigerd: certificaat niet "
                                     f"vertrouwd ({short_error(error)}); vraag IT het CA-certificaat te installeren")
        if isinstance(error, requests.exceptions.ProxyError):
            return ServerUnavailable(f"proxy weigert de verbinding met {self.base_url}; controleer de proxy-instelling")
        if isinstance(error, requests.exceptions.Timeout):
            return ServerUnavailable(f"server {self.base_url} antwoordt niet op tijd")
        return ServerUnavailable(f"server {self.base_url} niet bereikbaar ({type(error).__name__})")

    def _parse(self, response: requests.Response, model: type[Model]) -> Model:
        status = response.status_code
        if status == 200:
            try:
                return model.model_validate_json(response.content)
            except ValidationError as error:
                raise ProtocolError(f"onverwacht antwoord van de server ({error.error_count()} fout(en) in "
                                    f"{model.__name__}); werk de app of de server bij") from None
        body = _error_body(response)
        message = body.message if body else f"HTTP {status}"
        if status == 401:
            revoked = bool(body and body.code == protocol.ERROR_DEVICE_REVOKED)
            text = ("dit apparaat is ingetrokken op de server; meld het opnieuw aan met een nieuwe code"
                    if revoked else "de server herkent dit apparaat niet; meld het opnieuw aan")
            raise AuthenticationFailed(text, revoked)
        if status == 403 and body and body.code.startswith("enrollment_code"):
            raise EnrollmentRefused(message)
        if status == 426:
            raise UpgradeRequired(upgrade_message(response.headers.get(protocol.PROTOCOL_HEADER), message))
        if status == 429:
            retry_after = _seconds(response.headers.get("Retry-After"))
            raise RateLimited(f"server vraagt even te wachten: {message}", retry_after)
        if status == 404 and body and body.code == protocol.ERROR_NOT_FOUND:
            raise NotFound(f"server kent dit adres niet (HTTP 404): {message}")
        if status >= 500 or status == 408:
            raise ServerUnavailable(f"server tijdelijk niet beschikbaar (HTTP {status}): {message}")
        raise ProtocolError(f"server weigerde het verzoek (HTTP {status}): {message}")


def upgrade_message(server_version: str | None, server_message: str) -> str:
    """Who must upgrade, from the version the server names in its 426 answer."""
    ours = protocol.PROTOCOL_VERSION
    theirs = int(server_version) if server_version and server_version.strip().isdigit() else None
    if theirs is not None and theirs < ours:
        return (f"de server is ouder dan deze app (server: protocolversie {theirs}, app: {ours}); vraag IT de "
                "centrale server bij te werken. Inclusies blijven veilig op dit apparaat tot de server is bijgewerkt.")
    if theirs is not None and theirs > ours:
        return (f"deze app is te oud voor de server (server: protocolversie {theirs}, app: {ours}); installeer de "
                "nieuwe versie van Bundelassistent (vraag IT). Inclusies blijven veilig op dit apparaat.")
    return f"server en app spreken een andere protocolversie: {server_message}"


def _seconds(value: str | None) -> int:
    """Retry-After in seconds (the server sends whole seconds); unreadable: a minute."""
    return int(value) if value and value.strip().isdigit() else 60


def _error_body(response: requests.Response) -> protocol.ErrorBody | None:
    try:
        return protocol.ErrorBody.model_validate_json(response.content)
    except ValidationError:
        return None


def short_error(error: Exception) -> str:
    """An exception's text, cut to one readable line for a message."""
    text = str(error) or "geen details"
    return text if len(text) < 120 else text[:117] + "…"
