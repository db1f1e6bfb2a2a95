"""Python's cyclic garbage collector, run on the UI thread only.

Automatic collection runs on whichever thread happens to allocate when a threshold is
crossed. At start-up that is often the model-loading thread while it imports scipy; if
the garbage then holds a cycle with a PySide wrapper (a closed dialog, a page's lambda),
its Qt object is destroyed on that worker thread and the process dies with a segmentation
fault ("Garbage-collecting" in faulthandler's trace). The background operation keeps Qt
objects off worker threads, but it cannot stop the collector from visiting them there.
So automatic collection is switched off and a timer on the UI thread collects the
generations that are due — the pattern PyQt's and Anki's start-up code use.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

INTERVAL_MS = 500


class UiThreadCollector(QObject):
    def __init__(self, parent: QObject | None = None, interval_ms: int = INTERVAL_MS):
        super().__init__(parent)
        self._was_enabled = gc.isenabled()
        gc.disable()
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.collect_due)
        self._timer.start(interval_ms)

    def collect_due(self) -> int:
        """Collect the oldest generation whose threshold is crossed (as the automatic GC would)."""
        counts, thresholds = gc.get_count(), gc.get_threshold()
        due = [generation for generation in range(3)
               if thresholds[generation] and counts[generation] > thresholds[generation]]
        return gc.collect(due[-1]) if due else 0

    def stop(self) -> None:
        """Give back the collector as it was (a test session keeps it off throughout)."""
        self._timer.stop()
        if self._was_enabled:
            gc.enable()
