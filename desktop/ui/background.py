"""The window's one way to run slow work off the UI thread (models, predictions, insurer
lookups, sync), in the manner of Anki's `QueryOp`:

    self.operations.run("prediction", lambda: models.predict(patient),
                        success=self._predicted, failure=self._prediction_failed)

`work` runs on a worker thread; `success(result)` or `failure(exception)` — the exception
object itself, so the page decides how to word it — then runs on the UI thread. One rule
drops stale answers: per purpose the newest request wins. An older request that has not
started yet is skipped (as Orange cancels the previous task), and an answer to an older
request, or to an owner that is gone, is never delivered. Long work takes
`progress=callback`; it is then called as `work(report)`, and each `report(value)`
reaches `callback(value)` on the UI thread.

Why the worker threads never touch Qt (the start-up crash of issue 12): each of the four
hand-made workers was a QRunnable carrying a QObject of its own for its signal, owned by
Python and referenced only by that runnable. Qt's pool deleted the finished runnable on
its own thread, so the QObject was destroyed there, on a thread it does not belong to,
while the UI thread was delivering its queued signal (tests/desktop/ui/test_background.py
shows where it was released). And PySide6 6.12, the version pip installs today, damages
reference counts when threads other than the UI thread run Python for Qt or emit
signals: a loop of such hand-offs aborts within seconds ("deallocating None"), where
6.9.3, 6.10.3 and 6.11.3 did not (bench/stress_handoffs.py). Damage like that most likely
surfaced in the next garbage collection, which at start-up runs on the model-loading
thread (importing scipy allocates a lot): hence "Garbage-collecting" in the faulthandler
dump of the window that vanished. So here the work runs on plain Python threads
(`concurrent.futures`) that hand plain values (an int ticket, the result or the
exception) to a `queue.SimpleQueue`, and a QTimer on the UI thread empties it while
answers are due: no Qt or PySide code runs off the UI thread at all, and callbacks never
leave it. Hence also: `work` must not capture widgets or other QObjects; give it the
plain values it needs.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import shiboken6
from PySide6.QtCore import QCoreApplication, QObject, QThread, QTimer

log = logging.getLogger(__name__)

_DONE, _FAILED, _PROGRESS = "done", "failed", "progress"
POLL_MS = 10  # how often the UI thread looks for answers while any are due
WORKERS = 4  # a slow sync or model load must not hold up predictions


@dataclass
class _Request:
    owner: Operations
    purpose: str
    success: Callable[[Any], None]
    failure: Callable[[Exception], None] | None
    progress: Callable[[Any], None] | None


class _Dispatcher:
    """The UI thread's end: the requests still waiting for an answer, the queue the
    threads answer into, and the timer that empties it. Made once, on the UI thread."""

    def __init__(self, app: QCoreApplication) -> None:
        import queue  # here, not before the window is shown: made when the first operation starts
        from concurrent.futures import ThreadPoolExecutor

        self.requests: dict[int, _Request] = {}  # touched on the UI thread only
        self.answers: queue.SimpleQueue[tuple[int, str, Any]] = queue.SimpleQueue()
        self.pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="background")
        self.timer = QTimer(app, interval=POLL_MS)  # a child of the application: deleted on its thread
        self.timer.timeout.connect(self.deliver)

    def submit(self, ticket: int, request: _Request, job: Callable[[], None]) -> None:
        self.requests[ticket] = request
        self.pool.submit(job)
        if not self.timer.isActive():  # start() would restart the countdown
            self.timer.start()

    def deliver(self) -> None:
        while not self.answers.empty():  # this is the only reader, so what is there stays there
            self._deliver(*self.answers.get_nowait())
        if not self.requests:
            self.timer.stop()

    def _deliver(self, ticket: int, kind: str, value: Any) -> None:
        request = self.requests.get(ticket) if kind == _PROGRESS else self.requests.pop(ticket, None)
        if (request is None or not shiboken6.isValid(request.owner)
                or not request.owner.is_latest(request.purpose, ticket)):
            return  # a newer request for the same purpose, or the page that asked is gone
        if kind == _DONE:
            request.success(value)
        elif kind == _PROGRESS:
            if request.progress is not None:
                request.progress(value)
        elif request.failure is not None:
            request.failure(value)
        else:
            log.error("%s mislukt", request.purpose, exc_info=value)


_dispatcher: _Dispatcher | None = None


def _the_dispatcher() -> _Dispatcher:
    global _dispatcher
    app = QCoreApplication.instance()
    if app is None or QThread.currentThread() is not app.thread():
        raise RuntimeError("background operations start from the UI thread of a running QApplication")
    if _dispatcher is None:
        _dispatcher = _Dispatcher(app)
    return _dispatcher


_tickets = itertools.count(1)


class Operations(QObject):
    """The background operations of one page or controller; a child of it, so its answers
    stop when it is deleted (a rebuilt page never receives the old page's answers)."""

    def __init__(self, parent: QObject):
        super().__init__(parent)
        self._latest: dict[str, int] = {}  # purpose -> newest ticket; read by the threads (an atomic dict get)

    def run(self, purpose: str, work: Callable[..., Any], success: Callable[[Any], None],
            failure: Callable[[Exception], None] | None = None,
            progress: Callable[[Any], None] | None = None) -> int:
        """Start `work` on a worker thread; a later `run` with the same purpose replaces this one."""
        dispatcher = _the_dispatcher()
        ticket = next(_tickets)
        self._latest[purpose] = ticket
        dispatcher.submit(ticket, _Request(self, purpose, success, failure, progress),
                          _job(ticket, purpose, self._latest, work, progress is not None, dispatcher.answers.put))
        return ticket

    def cancel(self, purpose: str) -> None:
        """Forget the pending request for `purpose`: its answer will not be delivered."""
        self._latest[purpose] = next(_tickets)  # a ticket no request has

    def is_latest(self, purpose: str, ticket: int) -> bool:
        return self._latest.get(purpose) == ticket

    def pending(self, purpose: str) -> bool:
        """Whether an answer for `purpose` is still to come."""
        ticket = self._latest.get(purpose)
        return ticket is not None and ticket in _the_dispatcher().requests

    def generation(self, purpose: str) -> int:
        """The ticket of the newest request for `purpose` (0: none yet); grows with each `run`."""
        return self._latest.get(purpose, 0)


def _job(ticket: int, purpose: str, latest: dict[str, int], work: Callable[..., Any], with_progress: bool,
         answer: Callable[[tuple[int, str, Any]], None]) -> Callable[[], None]:
    """What a thread runs: plain values in, plain values out (see the module docstring)."""

    def job() -> None:
        if latest.get(purpose) != ticket:
            answer((ticket, _FAILED, None))  # superseded before it started: only frees the ticket
            return
        try:
            result = work(lambda value: answer((ticket, _PROGRESS, value))) if with_progress else work()
        except Exception as error:
            answer((ticket, _FAILED, error))
        else:
            answer((ticket, _DONE, result))

    return job
