"""A deadline for the request head: uvicorn has none of its own.

uvicorn's `timeout_keep_alive` only covers the idle time *between* requests, and every
byte received resets it, so a client that sends a request head one byte at a time (the
classic slowloris) holds a connection for as long as it likes, and 300 such clients
hold 300 connections. ASGI middleware cannot help: it runs only once the head is
complete. This subclass of uvicorn's h11 protocol gives every request head
`header_timeout` seconds — from the moment the connection opens, and again after each
response on a kept-alive connection — and closes the connection when the head is not
complete by then. The body has its own deadline in `app.Guard`.

The same approach is used elsewhere for uvicorn (e.g. xorbitsai/inference#5213); it
relies only on uvicorn's documented protocol class hooks (`connection_made`,
`data_received`, `on_response_complete`, `connection_lost`) and h11's connection states.
"""

from __future__ import annotations

import asyncio
import logging
import os

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from sync.server.config import DEFAULT_HEADER_TIMEOUT, environment_variable

log = logging.getLogger("bundelassistent.server")


def header_timeout() -> float:
    """From the environment (`serve` puts its settings there, for every worker)."""
    text = os.environ.get(environment_variable("header_timeout"), "").strip()
    try:
        return float(text) if text else DEFAULT_HEADER_TIMEOUT
    except ValueError:
        return DEFAULT_HEADER_TIMEOUT


class DeadlineH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline for each request head."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.header_timeout = header_timeout()
        self._head_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:  # the head is complete (or the connection is done)
            self._disarm()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and self.conn.their_state is h11.IDLE:
            self._arm()  # the next request on this connection gets its own deadline

    def connection_lost(self, exc) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._disarm()
        self._head_deadline = self.loop.call_later(self.header_timeout, self._head_too_slow)

    def _disarm(self) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
            self._head_deadline = None

    def _head_too_slow(self) -> None:
        self._head_deadline = None
        if self.transport.is_closing() or self.conn.their_state is not h11.IDLE:
            return
        log.info("verbinding gesloten: de aanvraagkop kwam niet binnen %.0f s binnen", self.header_timeout)
        try:
            self.conn.send(h11.ConnectionClosed())
        except h11.LocalProtocolError:
            pass
        self.transport.close()
