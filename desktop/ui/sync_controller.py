"""Background sync for the window: runs on a worker thread, retries with capped backoff.

Each run uses its own database connection (`Services.worker_copy`), so a consultation
can save while a sync is under way. After a revoked device or an unknown token the
controller stops retrying and says why until the device is enrolled again.
"""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import QObject, QTimer, Signal

from desktop.operations.services import Backoff
from desktop.ui import theme
from desktop.ui.background import Operations
from desktop.ui.i18n import local_datetime, say, t

FIRST_SYNC_DELAY_MS = 1500
SYNC = "sync"


def _sync(services, push_and_pull: bool):
    """On the worker thread, with its own connection: (SyncSummary or None, SyncStatus)."""
    summary = None
    status = services.sync_status()
    if push_and_pull and status.enrolled:
        summary = services.sync_once()
        status = services.sync_status()
    return summary, status


class SyncController(QObject):
    """Owns the timer and the backoff; the window listens to `updated`."""

    updated = Signal()

    def __init__(self, services, parent=None, automatic: bool = True):
        super().__init__(parent)
        self.services = services
        self.automatic = automatic
        self.backoff = Backoff()
        self.status = None
        self.last_summary = None
        self.running = False
        self.operations = Operations(self)
        self.timer = QTimer(self, singleShot=True)
        self.timer.timeout.connect(lambda: self.sync_now(manual=False))

    def start(self) -> None:
        self._launch(push_and_pull=False)

    def sync_now(self, manual: bool = True) -> None:
        if self.running:
            return
        if manual:
            self.backoff.failures = 0
        self._launch(push_and_pull=True)

    def stop(self) -> None:
        """For a closed window: no next round, and the answer of a run under way is dropped."""
        self.automatic = False
        self.timer.stop()
        self.operations.cancel(SYNC)
        self.running = False

    def _launch(self, push_and_pull: bool) -> None:
        """A newer run replaces an older one still under way: only the newest answer counts."""
        self.running = push_and_pull
        services = self.services
        self.operations.run(SYNC, lambda: services.on_own_connection(lambda own: _sync(own, push_and_pull)),
                            success=lambda answer: self._finished(*answer), failure=self._failed)
        self.updated.emit()

    def _failed(self, error: Exception) -> None:
        """Keyring or database trouble: shown in the status bar, never a crash."""
        from desktop.operations.services import SyncStatus

        self._finished(None, SyncStatus(configured=True, enrolled=False, error=f"{type(error).__name__}: {error}"))

    def _finished(self, summary, status) -> None:
        self.running = False
        self.status = status
        if summary is not None:
            self.last_summary = summary
        self.updated.emit()
        if not self.automatic or not status.enrolled or status.auth_problem:
            self.timer.stop()
            return
        if summary is None:
            self.timer.start(FIRST_SYNC_DELAY_MS)
        else:
            self.timer.start(int(self.backoff.next_delay(summary.error is None) * 1000))

    # -- what the status bar says --------------------------------------------------------
    def text(self, pending: int) -> tuple[str, str]:
        """The status line and its colour."""
        status = self.status
        queue = t("window.sync.queue", count=pending)
        if status is None:
            return t("window.sync.checking", queue=queue), theme.MUTED
        last = _time(status.last_sync) or t("window.sync.never")
        if status.auth_problem:
            return t("window.sync.stopped", problem=say(status.auth_problem), queue=queue), theme.WRONG
        if not status.configured:
            return t("window.sync.local_only", queue=queue), theme.MUTED
        if not status.enrolled:
            return t("window.sync.not_enrolled", queue=queue), theme.ATTENTION
        if self.running:
            return t("window.sync.running", queue=queue), theme.MUTED
        if status.upgrade_problem:
            return t("window.sync.upgrade", problem=say(status.upgrade_problem), queue=queue), theme.WRONG
        if status.error:
            wait = self.timer.remainingTime() // 1000 if self.timer.isActive() else None
            text = t("window.sync.offline", error=say(status.error), queue=queue, last=last)
            if wait is not None and wait >= 0:
                text = t("window.sync.offline_retry", error=say(status.error), queue=queue, last=last, seconds=wait)
            return text, theme.ATTENTION
        return t("window.sync.online", queue=queue, last=last), theme.GOOD


def _time(value: str | None) -> str | None:
    moment = local_datetime(value)
    if moment is None:
        return None
    return moment.strftime("%H:%M") if moment.date() == dt.date.today() else moment.strftime("%d-%m %H:%M")
