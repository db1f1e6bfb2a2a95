"""Large push bodies are read in helper processes, so they cannot starve other devices.

The server is one Python interpreter per worker: while a thread validates the 500 records
of a 2 MB body (about 60 ms) it holds the interpreter, and every other request's thread
must get it back after each of its database round trips (a push makes about fifteen).
With fake 2 MB pushes from a device with a valid token, real pushes went from a p99 of
121 ms to 766 ms (`tests/sync/test_server_noise.py`, quiet 2-core runner).
`push_body.parse_push` is pure, so large bodies go to a small pool of processes started
with `spawn` (no copy of the server's threads or database connections); they run at a
lower CPU priority and send back plain values. Small bodies, the normal case, stay on a
thread: sending them to a process costs more than it saves.

The pool starts with the first large body. If it cannot start or breaks (a killed
helper), that body is read on a thread as before and the next large body starts a new
pool: slower under attack, never refused.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from starlette.concurrency import run_in_threadpool

from sync.server.push_body import BodyRefused, Parsed, parse_push

log = logging.getLogger(__name__)


def _start_helper(server: int) -> None:
    """A helper yields the CPU to the server's own requests (large bodies wait, small ones do
    not), and ends when its server is gone: a server killed outright cannot stop its pool,
    and its helpers would otherwise live on, each holding an interpreter's memory."""
    if hasattr(os, "nice"):  # POSIX; on Windows the helpers keep normal priority
        os.nice(10)
    threading.Thread(target=_end_with, args=(server,), daemon=True, name="ends-with-server").start()


def _end_with(server: int) -> None:
    while os.getppid() == server:  # on POSIX an orphan gets a new parent
        time.sleep(1)
    os._exit(0)


class BodyParsers:
    """A pool of `processes` helper processes for `parse_push`."""

    def __init__(self, processes: int):
        self.processes = processes
        self._pool: ProcessPoolExecutor | None = None
        self._cannot_start = False  # e.g. a platform that allows this process no children

    def _start(self) -> None:
        """Start the pool at the first large body: most servers never get one, and a test
        suite that starts a hundred servers would pay two interpreters for each."""
        try:
            self._pool = ProcessPoolExecutor(self.processes, mp_context=multiprocessing.get_context("spawn"),
                                             initializer=_start_helper, initargs=(os.getpid(),))
        except (OSError, RuntimeError, AssertionError) as error:  # e.g. no children allowed here
            log.warning("hulpprocessen voor grote pushes niet gestart (%s); ze worden op een thread gelezen", error)
            self._pool, self._cannot_start = None, True

    async def parse(self, raw: bytes) -> Parsed | BodyRefused:
        if self._pool is None and not self._cannot_start:
            self._start()
        if self._pool is None:
            return await run_in_threadpool(parse_push, raw)
        try:
            return await asyncio.wrap_future(self._pool.submit(parse_push, raw))
        except (BrokenProcessPool, RuntimeError, OSError) as error:
            log.warning("hulpproces voor grote pushes gestopt (%s); deze push wordt op een thread gelezen, de "
                        "volgende grote start nieuwe hulpprocessen", type(error).__name__)
            self.stop(wait=False)  # the next large body starts a new pool
            return await run_in_threadpool(parse_push, raw)

    def stop(self, wait: bool = True) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=wait, cancel_futures=True)
            self._pool = None
