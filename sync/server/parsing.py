"""Large push bodies are read in helper processes, so they cannot starve other devices.

The server is one Python interpreter per worker: while a thread validates the 500 records
of a 2 MB body it holds the interpreter, and every other request's thread waits for it at
each step (a real device's push, about fifteen database round trips, waited up to 5 ms
at each). Measured with fake 2 MB pushes from a device with a valid token, real pushes
went from 21 ms to several hundred. `push_body.parse_push` is pure, so large bodies go
to a small pool of processes started with `spawn` (no copy of the server's threads or
database connections), run at a lower CPU priority, and come back as plain values. Small bodies, the normal case, stay
on a thread: sending them to a process costs more than it saves.

If the pool cannot start or breaks (a killed helper), bodies are read on a thread as
before and the pool is started again on the next large body: slower under attack, never
refused.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from starlette.concurrency import run_in_threadpool

from sync.server.push_body import BodyRefused, Parsed, parse_push

log = logging.getLogger(__name__)
WARM_BODY = b'{"records": []}'


def _lower_priority() -> None:
    """A helper yields the CPU to the server's own requests: large bodies wait, small ones do not."""
    if hasattr(os, "nice"):  # POSIX; on Windows the helpers keep normal priority
        os.nice(10)


class BodyParsers:
    """A pool of `processes` helper processes for `parse_push`."""

    def __init__(self, processes: int):
        self.processes = processes
        self._pool: ProcessPoolExecutor | None = None

    def start(self) -> BodyParsers:
        """Start the pool and have each helper import the protocol (not waited for)."""
        try:
            self._pool = ProcessPoolExecutor(self.processes, mp_context=multiprocessing.get_context("spawn"),
                                             initializer=_lower_priority)
            for _ in range(self.processes):
                self._pool.submit(parse_push, WARM_BODY)
        except (OSError, RuntimeError, AssertionError) as error:  # e.g. no children allowed here
            log.warning("hulpprocessen voor grote pushes niet gestart (%s); ze worden op een thread gelezen", error)
            self._pool = None
        return self

    async def parse(self, raw: bytes) -> Parsed | BodyRefused:
        if self._pool is None:
            return await run_in_threadpool(parse_push, raw)
        try:
            return await asyncio.wrap_future(self._pool.submit(parse_push, raw))
        except (BrokenProcessPool, RuntimeError) as error:
            log.warning("hulpproces voor grote pushes gestopt (%s); opnieuw gestart", type(error).__name__)
            self.stop()
            self.start()
            return await run_in_threadpool(parse_push, raw)

    def stop(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
