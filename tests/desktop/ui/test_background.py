"""The one background operation: work off the UI thread, answers on it, newest request wins,
and nothing Qt is released on a worker thread (the start-up crash of issue 12)."""

import gc
import os
import subprocess
import sys
import threading
import weakref
from pathlib import Path

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal
from PySide6.QtWidgets import QWidget

from desktop.ui.background import WORKERS, Operations

ROOT = Path(__file__).resolve().parents[3]


class Refused(Exception):
    def __init__(self, field):
        super().__init__(f"{field} refused")
        self.field = field


@pytest.fixture
def owner(qtbot):
    widget = QWidget()
    qtbot.addWidget(widget)
    return widget


@pytest.fixture
def operations(owner):
    return Operations(owner)


def finish(qtbot, operations, *purposes):
    qtbot.waitUntil(lambda: not any(operations.pending(p) for p in purposes), timeout=5000)


def test_work_runs_off_the_ui_thread_and_its_answer_arrives_on_it(qtbot, operations):
    answers = []
    operations.run("lookup", lambda: threading.current_thread(),
                   success=lambda worker: answers.append((worker, threading.current_thread())))
    finish(qtbot, operations, "lookup")
    [(worker, delivered_on)] = answers
    assert worker is not threading.main_thread()
    assert delivered_on is threading.main_thread()


def test_a_failure_is_the_exception_object_itself(qtbot, operations):
    failures, successes = [], []

    def work():
        raise Refused("BMI")

    operations.run("prediction", work, success=successes.append, failure=failures.append)
    finish(qtbot, operations, "prediction")
    [error] = failures
    assert type(error) is Refused and error.field == "BMI" and error.__traceback__ is not None
    assert successes == []


def test_the_newest_request_for_a_purpose_wins(qtbot, operations):
    release = threading.Event()
    answers = []
    operations.run("prediction", lambda: release.wait(5) and "old", success=answers.append, failure=answers.append)
    operations.run("prediction", lambda: release.wait(5) and "new", success=answers.append, failure=answers.append)
    operations.run("sync", lambda: "other purpose", success=answers.append)
    release.set()
    finish(qtbot, operations, "prediction", "sync")
    assert sorted(answers) == ["new", "other purpose"]


def test_an_older_request_still_waiting_for_a_thread_is_skipped_not_run(qtbot, operations):
    release, ran, answers = threading.Event(), [], []
    for number in range(WORKERS):  # every thread busy
        operations.run(f"busy {number}", lambda: release.wait(5), success=lambda _: None)
    operations.run("prediction", lambda: ran.append("old"), success=answers.append)
    operations.run("prediction", lambda: ran.append("new") or "new", success=answers.append)
    release.set()
    finish(qtbot, operations, "prediction", *(f"busy {n}" for n in range(WORKERS)))
    assert ran == ["new"] and answers == ["new"]


def test_a_cancelled_request_is_never_answered(qtbot, operations):
    started, release, done = threading.Event(), threading.Event(), threading.Event()
    answers = []
    operations.run("insurer lookup", lambda: started.set() or (release.wait(5) and done.set()),
                   success=answers.append, failure=answers.append)
    assert started.wait(5)  # already running: cancelling cannot skip it, only drop its answer
    assert operations.pending("insurer lookup")
    before = operations.generation("insurer lookup")
    operations.cancel("insurer lookup")
    assert not operations.pending("insurer lookup")
    release.set()
    assert done.wait(5)
    qtbot.wait(100)  # ten rounds of the UI thread's look for answers
    assert answers == []
    operations.run("insurer lookup", lambda: "again", success=answers.append)
    assert operations.generation("insurer lookup") > before
    finish(qtbot, operations, "insurer lookup")
    assert answers == ["again"]


def test_progress_reaches_the_ui_thread_before_the_answer(qtbot, operations):
    heard = []

    def work(report):
        report("libraries")
        report("files")
        return "models"

    operations.run("models", work, success=lambda r: heard.append(("done", r)),
                   progress=lambda step: heard.append((step, threading.current_thread() is threading.main_thread())))
    finish(qtbot, operations, "models")
    assert heard == [("libraries", True), ("files", True), ("done", "models")]


def test_when_the_page_is_gone_nothing_qt_is_released_on_the_worker_thread(qtbot):
    """The crash: a QObject whose last reference went away on a worker thread was destroyed
    on that thread. Here the page and the object its callback belongs to go away while the
    work runs, and the collector runs on the worker thread (as during the scipy import);
    both must still be released on the UI thread, and no answer may reach them."""
    page = QWidget()
    operations = Operations(page)
    receiver = QObject()  # owned by Python, referenced only by the callback below
    freed_on = []
    weakref.finalize(receiver, lambda: freed_on.append(threading.current_thread()))
    page_gone, released = threading.Event(), threading.Event()
    answers = []

    def work():
        page_gone.wait(5)
        gc.collect()  # as during the scipy import on the model-loading thread
        released.set()
        return "late"

    operations.run("models", work, success=lambda r, keep=receiver: answers.append(r))
    del receiver
    page.deleteLater()
    del page, operations
    qtbot.wait(20)  # the page is deleted by the event loop
    page_gone.set()
    assert released.wait(5)
    qtbot.waitUntil(lambda: bool(freed_on), timeout=5000)
    assert freed_on == [threading.main_thread()]
    assert answers == []


class _OldSignals(QObject):
    finished = Signal(object)


class _OldStyleWorker(QRunnable):
    """The shape of the four workers before issue 12: a runnable carrying its own QObject."""

    def __init__(self, started: threading.Event, go: threading.Event):
        super().__init__()
        self.signals = _OldSignals()
        self.started, self.go = started, go

    def run(self):
        self.started.set()
        self.go.wait(5)


def test_the_old_workers_released_their_qobject_on_the_pool_thread(qtbot):
    """The cause, shown: once the window dropped the runnable, the pool's deleting it after
    `run` was the last reference, so the QObject inside died on the pool thread."""
    started, go, freed_on = threading.Event(), threading.Event(), []
    worker = _OldStyleWorker(started, go)
    weakref.finalize(worker.signals, lambda: freed_on.append(threading.current_thread()))
    QThreadPool.globalInstance().start(worker)
    assert started.wait(5)
    del worker  # as `_start_model_loading` returned
    go.set()
    QThreadPool.globalInstance().waitForDone(5000)
    assert len(freed_on) == 1 and freed_on[0] is not threading.main_thread()


def test_thousands_of_hand_offs_a_second_arrive_and_hurt_nothing():
    """bench/stress_handoffs.py, new shape only, briefly: the old shape aborts within a second
    under PySide6 6.12 (see that file), this one must keep delivering."""
    result = subprocess.run([sys.executable, str(ROOT / "bench" / "stress_handoffs.py"), "--child", "operations",
                             "--seconds", "2"], cwd=ROOT, capture_output=True, text=True, timeout=120,
                            env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert result.returncode == 0, result.stderr[-2000:]
    assert int(result.stdout.rpartition("answers ")[2]) > 1000


def test_five_launches_start_load_the_models_and_close(tmp_path):
    """The start-up stress run of bench/stress_startup.py, small and offscreen (the full run,
    50 launches under Xvfb, is in bench/)."""
    result = subprocess.run([sys.executable, str(ROOT / "bench" / "stress_startup.py"), "--offscreen",
                             "--launches", "5"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "5× ok" in result.stdout and "crashes: 0" in result.stdout


# -- the window's own operations ---------------------------------------------------------------
@pytest.fixture
def window(qtbot, tmp_path):
    from desktop import config
    from desktop.operations.services import Services
    from desktop.store.inclusions import Actor
    from desktop.ui.main_window import MainWindow

    services = Services(config.load(overrides={"data_dir": str(tmp_path / "data"), "location": "Utrecht"}),
                        Actor("suo.test", "suo"))
    window = MainWindow(services, load_models=False, background_sync=False)
    qtbot.addWidget(window)
    window.show()
    yield window
    window.close()
    services.close()


def test_an_insurer_answer_about_the_previous_patient_never_fills_in_the_next(qtbot, window, monkeypatch):
    from desktop.operations.services import InsurerLookup, Services
    from helpers import valid_bsns

    first, second = valid_bsns(2, start=300_000_000)
    release = threading.Event()

    def lookup_insurer(services, bsn, birth_date, on):
        if bsn == first:
            release.wait(5)  # the server is slow for the first patient
            return InsurerLookup("7095", "VGZ", "server", "2025-03-14T09:00:00Z", "gevonden op de server")
        return InsurerLookup("3311", "Zilveren Kruis", "server", "2025-03-14T09:00:01Z", "gevonden op de server")

    monkeypatch.setattr(Services, "lookup_insurer", lookup_insurer)
    window.open_patient(bsn=first, birth_date="1970-05-05")
    window.open_patient(bsn=second, birth_date="1971-06-06")
    qtbot.waitUntil(lambda: window.consultation.insurer_uzovi == "3311", timeout=5000)
    release.set()
    qtbot.wait(200)  # the first answer arrives now, and must be dropped
    assert window.consultation.insurer_uzovi == "3311" and window.steps[1].uzovi.text() == "3311"


def test_a_failed_insurer_lookup_names_the_error_and_asks_for_the_card(qtbot, window, monkeypatch):
    from desktop.operations.services import Services
    from helpers import valid_bsns

    def lookup_insurer(services, bsn, birth_date, on):
        raise PermissionError("keyring locked")

    monkeypatch.setattr(Services, "lookup_insurer", lookup_insurer)
    window.open_patient(bsn=valid_bsns(1, start=300_100_000)[0], birth_date="1970-05-05")
    qtbot.waitUntil(lambda: "opzoeken mislukt" in window.steps[1].source.text(), timeout=5000)
    assert "PermissionError" in window.steps[1].source.text() and "pas" in window.steps[1].source.text()
    assert window.consultation.insurer_uzovi in (None, "")
