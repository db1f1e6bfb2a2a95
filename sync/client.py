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
"""

from __future__ import annotations

import datetime as dt
import ssl
from typing import Any, TypeVar

import requests
from pydantic import BaseModel, ValidationError
from requests.adapters import HTTPAdapter

from sync import protocol

DEFAULT_TIMEOUT = (5.0, 30.0)  # connect, read (seconds)
LOOKUP_TIMEOUT = (2.0, 3.0)  # a consultation waits for this one

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


class UpgradeRequired(ProtocolError):
    """The server speaks another protocol version; the message says who must upgrade."""


class EnrollmentRefused(SyncError):
    pass


class _TruststoreAdapter(HTTPAdapter):
    """Verifies server certificates with the OS store (Windows, macOS, Linux)."""

    def init_poolmanager(self, *args, **kwargs):
        import truststore

        kwargs["ssl_context"] = truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        return super().init_poolmanager(*args, **kwargs)


def normalise_server_url(url: str) -> str:
    url = (url or "").strip().rstrip("/")
    if not url.startswith(("https://", "http://")):
        raise SyncError(f"serveradres {url!r} moet met https:// beginnen")
    return url


def make_session(proxy: str | None = None, ca_bundle: str | None = None) -> requests.Session:
    session = requests.Session()
    if ca_bundle:
        session.verify = ca_bundle
    else:
        session.mount("https://", _TruststoreAdapter())
    if proxy:
        session.proxies = {"http": proxy, "https": proxy}
        session.trust_env = False
    return session


class ServerClient:
    """One server, one device token (None before enrolment)."""

    def __init__(self, base_url: str, token: str | None = None, session: requests.Session | None = None,
                 timeout: tuple[float, float] = DEFAULT_TIMEOUT):
        self.base_url = normalise_server_url(base_url)
        self.token = token
        self.session = session or make_session()
        self.timeout = timeout

    def close(self) -> None:
        self.session.close()

    # -- endpoints ----------------------------------------------------------------------
    def health(self) -> protocol.HealthResponse:
        return self._call("GET", "/v1/health", protocol.HealthResponse)

    def enroll(self, code: str, device_name: str, location: str | None) -> protocol.EnrollResponse:
        request = protocol.EnrollRequest(code=code.strip(), device_name=device_name[:100], location=location)
        return self._call("POST", "/v1/enroll", protocol.EnrollResponse, body=request)

    def deposit_key(self, key: str) -> protocol.DeviceKeyReceipt:
        """Hand the database key to the server's escrow (see sync.server.device_keys)."""
        return self._call("POST", "/v1/device/key", protocol.DeviceKeyReceipt, body=protocol.DeviceKeyDeposit(key=key))

    def push(self, records: list[dict[str, Any]]) -> list[protocol.PushResult]:
        """Push wire-record dicts; one result per record, in order."""
        payload = {"records": records}
        response = self._call("POST", "/v1/inclusions/push", protocol.PushResponse, json_body=payload)
        if len(response.results) != len(records):
            raise ProtocolError(f"server gaf {len(response.results)} resultaten voor {len(records)} inclusies")
        return response.results

    def changes(self, cursor: int, limit: int = protocol.DEFAULT_CHANGES_LIMIT) -> protocol.ChangesResponse:
        return self._call("GET", "/v1/changes", protocol.ChangesResponse, params={"cursor": cursor, "limit": limit})

    def lookup_coverage(self, bsn: str, birth_date: dt.date, on: dt.date,
                        timeout=LOOKUP_TIMEOUT) -> protocol.CoverageLookupResponse:
        request = protocol.CoverageLookupRequest(bsn=bsn, birth_date=birth_date, on=on)
        return self._call("POST", "/v1/coverage/lookup", protocol.CoverageLookupResponse, body=request,
                          timeout=timeout)

    # -- transport ----------------------------------------------------------------------
    def _call(self, method: str, path: str, model: type[Model], body: BaseModel | None = None,
              json_body: Any = None, params: dict | None = None, timeout=None) -> Model:
        if body is not None:
            json_body = body.model_dump(mode="json")
        try:
            # A configured CA file is passed per request: requests lets REQUESTS_CA_BUNDLE in
            # the environment override a session's own setting.
            ca_file = self.session.verify if isinstance(self.session.verify, str) else None
            response = self.session.request(
                method, self.base_url + path, json=json_body, params=params, verify=ca_file,
                headers=protocol.protocol_headers(self.token), timeout=timeout or self.timeout)
        except requests.exceptions.SSLError as error:
            raise ServerUnavailable(f"beveiligde verbinding met {self.base_url} geweigerd: certificaat niet "
                                    f"vertrouwd ({_short(error)}); vraag IT het CA-certificaat te installeren") from None
        except requests.exceptions.ProxyError:
            raise ServerUnavailable(f"proxy weigert de verbinding met {self.base_url}; controleer de proxy-instelling") from None
        except requests.exceptions.Timeout:
            raise ServerUnavailable(f"server {self.base_url} antwoordt niet op tijd") from None
        except requests.exceptions.RequestException as error:
            raise ServerUnavailable(f"server {self.base_url} niet bereikbaar ({type(error).__name__})") from None
        return self._parse(response, model)

    def _parse(self, response: requests.Response, model: type[Model]) -> Model:
        status = response.status_code
        if status == 200:
            try:
                return model.model_validate_json(response.content)
            except ValidationError as error:
                raise ProtocolError(f"onverwacht antwoord van de server ({error.error_count()} fout(en) in "
                                    f"{model.__name__}); werk de app of de server bij") from None
        error = _error_body(response)
        message = error.message if error else f"HTTP {status}"
        if status == 401:
            revoked = bool(error and error.code == protocol.ERROR_DEVICE_REVOKED)
            text = ("dit apparaat is ingetrokken op de server; meld het opnieuw aan met een nieuwe code"
                    if revoked else "de server herkent dit apparaat niet; meld het opnieuw aan")
            raise AuthenticationFailed(text, revoked)
        if status == 403 and error and error.code.startswith("enrollment_code"):
            raise EnrollmentRefused(message)
        if status == 426:
            raise UpgradeRequired(upgrade_message(response.headers.get(protocol.PROTOCOL_HEADER), message))
        if status == 429:
            retry_after = _seconds(response.headers.get("Retry-After"))
            raise RateLimited(f"server vraagt even te wachten: {message}", retry_after)
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


def _short(error: Exception) -> str:
    text = str(error)
    return text if len(text) < 120 else text[:117] + "…"
