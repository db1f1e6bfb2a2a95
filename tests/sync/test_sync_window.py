"""The window's background sync against a real server: status, per-record results, stops
when the device is revoked. Offscreen Qt; the sync runs on a worker thread."""

import pytest

pytest.importorskip("PySide6")

from PySide6.QtWidgets import QApplication

from desktop import config
from desktop.core.inputs import parse_inclusion
from desktop.operations.services import Services
from desktop.store.inclusions import Actor
from desktop.ui.main_window import MainWindow
from helpers import inclusion, valid_bsns
from serverproc import BIRTH_DATE, OtherVersionServer, ServerProcess
from sync import engine


@pytest.fixture
def services(tmp_path):
    settings = config.load(overrides={"data_dir": str(tmp_path / "data"), "location": "Utrecht"})
    services = Services(settings, Actor("suo.test", "suo"))
    yield services
    services.close()


def open_window(qtbot, services):
    window = MainWindow(services, load_models=False)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.sync.status is not None, timeout=10_000)
    return window


def sync_now(qtbot, window):
    window.sync.sync_now()
    qtbot.waitUntil(lambda: not window.sync.running, timeout=30_000)
    QApplication.processEvents()


def test_background_sync_sends_and_the_worklist_shows_the_servers_answer(qtbot, services, server):
    services.enroll(server.url, server.enroll_code())
    for bsn in valid_bsns(2, start=400_000_000):
        services.register(parse_inclusion(inclusion(bsn), services.bundles))
    window = open_window(qtbot, services)
    assert "2 te verzenden" in window.sync_label.text()
    sync_now(qtbot, window)
    assert window.sync_label.text().startswith("Online · 0 te verzenden")
    window.worklist.filter.setCurrentIndex(window.worklist.filter.findData("all"))
    worklist = window.worklist
    states = {worklist.cell(row, "sync") for row in range(worklist.model.rowCount())}
    assert states == {"verzonden"}
    assert window.sync.timer.isActive()  # the next round is planned


def test_an_unreachable_server_shows_offline_with_the_reason_and_retries_with_backoff(qtbot, services, server):
    services.enroll(server.url, server.enroll_code())
    services.register(parse_inclusion(inclusion(valid_bsns(1, start=400_100_000)[0]), services.bundles))
    server.stop()
    window = open_window(qtbot, services)
    sync_now(qtbot, window)
    text = window.sync_label.text()
    assert text.startswith("Offline: ") and "niet bereikbaar" in text and "1 te verzenden" in text
    assert "nieuwe poging over" in text
    first_wait = window.sync.timer.remainingTime()
    window.sync._launch(push_and_pull=True)  # the timer's own retry, now
    qtbot.waitUntil(lambda: not window.sync.running, timeout=30_000)
    assert window.sync.timer.remainingTime() > first_wait  # waits longer after a second failure


def test_a_revoked_device_stops_syncing_and_says_why(qtbot, services, server):
    services.enroll(server.url, server.enroll_code())
    server.admin("revoke", services.registry.meta("server_device_id"))
    window = open_window(qtbot, services)
    sync_now(qtbot, window)
    assert "Synchronisatie gestopt" in window.sync_label.text() and "ingetrokken" in window.sync_label.text()
    assert not window.sync.timer.isActive()


def test_backoff_doubles_up_to_its_cap_and_resets_after_success():
    import random

    backoff = engine.Backoff(interval=60, first_retry=5, cap=300)
    rng = random.Random(7)
    delays = [backoff.next_delay(False, rng) for _ in range(8)]
    for delay, nominal in zip(delays, (5, 10, 20, 40, 80, 160, 300, 300)):
        assert 0.8 * nominal <= delay <= 1.2 * nominal
    assert backoff.next_delay(True, rng) == 60
    assert backoff.next_delay(False, rng) <= 6


def coverage_file(tmp_path, *bsns):
    path = tmp_path / "dekking.csv"
    path.write_text("bsn,birth_date,uzovi,insurer,valid_from,valid_to\n"
                    + "".join(f"{bsn},{BIRTH_DATE},3311,Zilveren Kruis,2024-01-01,\n" for bsn in bsns),
                    encoding="utf-8")
    return str(path)


def look_up(qtbot, window, bsn, birth_date=BIRTH_DATE):
    window.open_patient(bsn=bsn, birth_date=birth_date)
    step = window.steps[1]
    qtbot.waitUntil(lambda: step.lookup_text and step.lookup_text != "Verzekering opzoeken…", timeout=30_000)
    return step


@pytest.fixture
def limited_server(fresh_database, db_kind, tmp_path):
    """Two lookups at once, then one a minute: the third patient in a row is refused."""
    process = ServerProcess(fresh_database, tmp_path, db_kind, ("--lookup-rate", "1", "--lookup-burst", "2")).start()
    yield process
    process.stop()


def test_the_insurer_lookup_sends_the_birth_date_and_a_rate_limit_says_in_dutch_to_wait(
        qtbot, services, limited_server, tmp_path):
    known, other, third = valid_bsns(3, start=400_200_000)
    limited_server.admin("import-coverage", coverage_file(tmp_path, known, other))
    services.enroll(limited_server.url, limited_server.enroll_code())
    window = open_window(qtbot, services)
    step = look_up(qtbot, window, known)
    assert window.consultation.insurer_uzovi == "3311" and window.consultation.insurer_source == "server"
    assert "gevonden op de server" in step.source.text()
    step = look_up(qtbot, window, other, birth_date="1980-02-03")  # the server answers only for the right one
    assert window.consultation.insurer_uzovi == ""
    assert "BSN en geboortedatum" in step.lookup_text and "kies de verzekeraar van de pas" in step.lookup_text
    step = look_up(qtbot, window, third)
    assert "te veel opzoekingen" in step.lookup_text and "seconden" in step.lookup_text
    assert "kies de verzekeraar van de pas" in step.lookup_text  # typing the UZOVI still works
    step = look_up(qtbot, window, known)  # refused again, but this patient is in the local cache
    assert window.consultation.insurer_uzovi == "3311" and window.consultation.insurer_source == "cache"
    assert "uit de lokale cache" in step.lookup_text and "te veel opzoekingen" in step.lookup_text
    window.sync.timer.stop()
    qtbot.waitUntil(lambda: not window.sync.running, timeout=30_000)


def test_a_server_of_another_version_is_shown_in_the_status_bar(qtbot, services, server):
    services.enroll(server.url, server.enroll_code())
    server.stop()
    with OtherVersionServer(server.port, version=3):
        window = open_window(qtbot, services)
        sync_now(qtbot, window)
        text = window.sync_label.text()
        assert text.startswith("Bijwerken nodig: deze app is te oud voor de server")
        assert "installeer de nieuwe versie van Bundelassistent" in text
        assert window.sync.timer.isActive()  # still tried again later: IT may upgrade meanwhile
        window.sync.timer.stop()
        step = look_up(qtbot, window, valid_bsns(1, start=400_300_000)[0])
        assert "installeer de nieuwe versie" in step.lookup_text
        qtbot.waitUntil(lambda: not window.sync.running, timeout=30_000)
