"""The refusals a client sees as an `ErrorBody`: each type carries its HTTP status.

The app's handlers answer with `status` and `code` as the error's type gives them and
with its `message` (Dutch, for people) as it is; nothing decides by reading a message.
The modules that refuse raise these; `sync.server.app` turns them into responses.
"""

from __future__ import annotations

from typing import ClassVar

from sync import protocol as p


class Refused(Exception):
    """A request the server answers with `status` and an ErrorBody of `code` and `message`."""

    status: ClassVar[int]
    code: str = p.ERROR_INVALID_REQUEST

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    @property
    def text(self) -> str:
        """The ErrorBody's message."""
        return self.message

    def headers(self) -> dict[str, str]:
        return {}


class InvalidBody(Refused):
    """The body is JSON, but not of the expected shape."""

    status = 422

    @property
    def text(self) -> str:
        return f"Ongeldig verzoek: {self.message}"


class UnreadableBody(InvalidBody):
    """The body is not JSON at all."""

    status = 400


class AccessDenied(Refused):
    """Refused for who is asking; `code` says why (a protocol error code).

    `action` and `device_id` (a revoked device) are what the audit counts it under. The
    server does not read (or even receive) the body of a refused request: the connection closes.
    """

    def __init__(self, code: str, message: str, action: str = "authenticate", device_id: str | None = None):
        super().__init__(message)
        self.code, self.action, self.device_id = code, action, device_id

    def headers(self) -> dict[str, str]:
        return {"Connection": "close"}


class NotAuthenticated(AccessDenied):
    """No, an unknown or a revoked device token; counted per source address (`sync.server.refused`)."""

    status = 401

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": "Bearer", **super().headers()}


class EnrollmentRefused(AccessDenied):
    """An enrolment code that is unknown, used or expired (audited by `devices.enroll`)."""

    status = 403


class RateLimited(Refused):
    """Too many requests: try again after `retry_after` whole seconds."""

    status = 429
    code = p.ERROR_RATE_LIMITED

    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}
