"""The window's one way to run slow work off the UI thread (models, predictions, insurer
lookups, sync), in the manner of Anki's `QueryOp`:

    self.operations.run("prediction", lambda: models.predict(patient),
                        success=self._predicted, failure=self._prediction_failed)

`work` runs on a pool thread; `success(result)` or `failure(exception)` — the exception
object itself, so the page decides how to word it — then runs on the UI thread. One rule
drops stale answers: per purpose the newest request wins. An older request that has not
started yet is skipped (as Orange cancels the previous task), and an answer to an older
request, or to an owner that is gone, is never delivered. Long work takes
`progress=callback`; it is then called as `work(report)`, and each `report(value)`
reaches `callback(value)` on the UI thread.

Why the pool thread touches no Qt object made in Python (the start-up crash of issue 12):
each of the four hand-made workers carried a `QObject` of its own for its signal, owned by
Python and referenced only by its runnable. The pool deletes a finished runnable on the
pool thread, so that QObject was destroyed there (tests/desktop/ui/test_background.py
shows it) — on a thread it does not belong to, while the UI thread was delivering its
queued signal. Qt forbids that, and the damage most likely surfaced in the next garbage
collection, which at start-up runs on the model-loading thread (importing scipy allocates
a lot): hence "Garbage-collecting" in the faulthandler dump of the window that vanished in
about one launch of ten. Here the pool thread handles plain Python values only (the work
function, its result or exception, an int ticket) and hands them to `_Dispatcher`, one
QObject made on the UI thread that lives as long as the process; callbacks stay on the UI
thread. So `work` must not capture widgets or other QObjects: give it the plain values it
needs.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import shiboken6
from PySide6.QtCore import QCoreApplication, QObject, Qt, QThread, QThreadPool, Signal

log = logging.getLogger(__name__)

_DONE, _FAILED, _PROGRESS = "done", "failed", "progress"


@dataclass
class _Request:
    owner: "Operations"
    purpose: str
    success: Callable[[Any], None]
    failure: Callable[[Exception], None] | None
    progress: Callable[[Any], None] | None


class _Dispatcher(QObject):
    """Carries answers from pool threads to the UI thread (a queued signal, so `_deliver`
    runs on the thread this object lives on). Made once, on the UI thread, never freed."""

    answered = Signal(int, str, object)  # ticket, kind, value

    def __init__(self) -> None:
        super().__init__()
        self.requests: dict[int, _Request] = {}  # touched on the UI thread only
        self.answered.connect(self._deliver, Qt.ConnectionType.QueuedConnection)

    def _deliver(self, ticket: int, kind: str, value: object) -> None:
        request = self.requests.get(ticket) if kind == _PROGRESS else self.requests.pop(ticket, None)
        if request is None or not shiboken6.isValid(request.owner) or not request.owner.is_latest(request.purpose, ticket):
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
        _dispatcher = _Dispatcher()
    return _dispatcher


_tickets = itertools.count(1)


class Operations(QObject):
    """The background operations of one page or controller; a child of it, so its answers
    stop when it is deleted (a rebuilt page never receives the old page's answers)."""

    def __init__(self, parent: QObject):
        super().__init__(parent)
        self._latest: dict[str, int] = {}  # purpose -> newest ticket; read by pool threads (an atomic dict get)

    def run(self, purpose: str, work: Callable[..., Any], success: Callable[[Any], None],
            failure: Callable[[Exception], None] | None = None,
            progress: Callable[[Any], None] | None = None) -> int:
        """Start `work` on a pool thread; a later `run` with the same purpose replaces this one."""
        dispatcher = _the_dispatcher()
        ticket = next(_tickets)
        self._latest[purpose] = ticket
        dispatcher.requests[ticket] = _Request(self, purpose, success, failure, progress)
        QThreadPool.globalInstance().start(_job(ticket, purpose, self._latest, work, progress is not None,
                                                dispatcher.answered.emit))
        return ticket

    def cancel(self, purpose: str) -> None:
        """Forget the pending request for `purpose`: its answer will not be delivered."""
        self._latest.pop(purpose, None)

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
         answer: Callable[[int, str, object], None]) -> Callable[[], None]:
    """What the pool thread runs: plain values in, plain values out (see the module docstring)."""

    def job() -> None:
        if latest.get(purpose) != ticket:
            answer(ticket, _FAILED, None)  # superseded before it started: only frees the ticket
            return
        try:
            result = work((lambda value: answer(ticket, _PROGRESS, value))) if with_progress else work()
        except Exception as error:
            answer(ticket, _FAILED, error)
        else:
            answer(ticket, _DONE, result)

    return job
