"""Cyclic garbage is collected on the UI thread only, also while a worker allocates."""

import gc
import threading
import weakref

import pytest

pytest.importorskip("PySide6")

from desktop.ui.collector import UiThreadCollector


class _Cycle:
    def __init__(self):
        self.me = self


def test_a_cycle_made_garbage_on_a_worker_is_freed_on_the_ui_thread(qtbot, qapp):
    gc.enable()  # as in the app before the collector starts
    collector = UiThreadCollector(qapp, interval_ms=20)
    freed_on = []
    try:
        def allocate():
            cycle = _Cycle()
            weakref.finalize(cycle, lambda: freed_on.append(threading.current_thread()))
            del cycle
            for _ in range(50_000):  # far past generation 0's threshold: the automatic collector would run here
                _Cycle()

        worker = threading.Thread(target=allocate)
        worker.start()
        worker.join()
        assert freed_on == []  # nothing was collected on the worker
        qtbot.waitUntil(lambda: bool(freed_on), timeout=5000)
        assert freed_on == [threading.main_thread()]
    finally:
        collector.stop()
        gc.disable()


def test_stopping_gives_back_the_collector_as_it_was(qapp):
    gc.enable()
    try:
        collector = UiThreadCollector(qapp)
        assert not gc.isenabled()
        collector.stop()
        assert gc.isenabled()
    finally:
        gc.disable()
    collector = UiThreadCollector(qapp)
    collector.stop()
    assert not gc.isenabled()  # it was off before (as in the test session): it stays off
