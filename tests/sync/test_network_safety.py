"""Safe networking against a real misbehaving server on 127.0.0.1 (tests/sync/hostile_server.py).

Plain http only to this computer; redirects refused and nothing marked synced; an
overall deadline per request however slowly the server trickles; paging that must
advance and stops after a bounded number of pages; push answers matched by id and
revision; an answer of 300 MB neither read whole nor kept in memory.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from desktop import config
from desktop.operations.services import Services
from desktop.store.inclusions import Actor, Registry
from helpers import CLI, inclusion, jsonl, valid_bsns
from sync import engine
from sync.client import ServerClient, UnsafeServer, normalise_server_url

HOSTILE = Path(__file__).with_name("hostile_server.py")
BSNS = valid_bsns(4, start=100_000_000 + 7_000)


class Hostile:
    """The hostile server as a subprocess; `requests()` is what each of its listeners received."""

    def __init__(self, mode: str, folder: Path, host: str = "127.0.0.1"):
        self.log = folder / f"hostile-{mode}.log"
        self.log.touch()
        self.process = subprocess.Popen([sys.executable, str(HOSTILE), mode, str(self.log), host],
                                        stdout=subprocess.PIPE, text=True)
        port, other = self.process.stdout.readline().split()
        self.url = f"http://{host}:{port}"
        self.other_port = int(other)

    def requests(self) -> list[str]:
        return self.log.read_text().splitlines()

    def stop(self) -> None:
        self.process.kill()
        self.process.wait(10)


@pytest.fixture
def hostile(tmp_path):
    started = []

    def start(mode: str, host: str = "127.0.0.1") -> Hostile:
        started.append(Hostile(mode, tmp_path, host))
        return started[-1]

    yield start
    for server in started:
        server.stop()


class Device:
    def __init__(self, tmp_path: Path):
        self.data = tmp_path / "data"
        self.logs = tmp_path / "logs"
        self.env = dict(os.environ, BUNDELASSISTENT_LOG_DIR=str(self.logs))

    def run(self, *args, timeout=120, wrapper=()) -> subprocess.CompletedProcess:
        return subprocess.run([*(wrapper or CLI), "--data-dir", str(self.data), *map(str, args)],
                              capture_output=True, text=True, timeout=timeout, env=self.env)

    def enroll(self, url: str) -> Device:
        result = self.run("enroll", "--server", url, "--code", "ABCD-EFGH-JKLM")
        assert result.returncode == 0, result.stderr
        return self

    def register(self, bsns) -> list[str]:
        path = self.data.parent / "batch.jsonl"
        path.write_text(jsonl([inclusion(bsn) for bsn in bsns]), encoding="utf-8")
        result = self.run("register", "--jsonl", path)
        assert result.returncode == 0, result.stderr
        return result.stdout.split()

    def pending(self) -> set[str]:
        with Registry.in_folder(self.data, Actor("test", "suo")) as registry:
            return set(registry.pending_ids())

    def states(self) -> dict[str, str]:
        with Registry.in_folder(self.data, Actor("test", "suo")) as registry:
            return {record["id"]: record["state"] for record in registry.inclusions()}


def no_traceback(result: subprocess.CompletedProcess) -> None:
    assert "Traceback" not in result.stderr + result.stdout


def outward_address() -> str | None:
    """An address of this computer that is not loopback (what a remote server would have)."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("192.0.2.1", 9))  # TEST-NET-1: nothing is sent, the OS just picks a route
        address = probe.getsockname()[0]
    except OSError:
        return None
    finally:
        probe.close()
    return None if address.startswith("127.") else address


# -- https unless on this computer ----------------------------------------------------------
@pytest.mark.parametrize("url", ["http://127.0.0.1:8470", "http://127.9.8.7", "http://[::1]:8470/",
                                 "http://localhost:8470", "https://server.kliniek.example",
                                 "https://10.1.2.3:8443"])
def test_https_or_loopback_is_accepted(url):
    assert normalise_server_url(url) == url.rstrip("/")


@pytest.mark.parametrize("url", ["http://server.kliniek.example", "http://10.1.2.3:8470",
                                 "http://127.0.0.1.kliniek.example", "http://localhost.kliniek.example",
                                 "ftp://server.kliniek.example", "server.kliniek.example",
                                 "https://iemand:geheim@server.kliniek.example", "https://"])
def test_anything_else_is_refused_with_a_dutch_message(url):
    with pytest.raises(UnsafeServer) as refused:
        normalise_server_url(url)
    assert "https://" in str(refused.value)


def test_plain_http_to_another_computer_sends_nothing_for_enrol_sync_or_self_test(tmp_path, hostile):
    address = outward_address()
    if address is None:
        pytest.skip("deze computer heeft geen adres buiten loopback")
    server = hostile("normal", host=address)
    device = Device(tmp_path)
    enrolled = device.run("enroll", "--server", server.url, "--code", "ABCD-EFGH-JKLM")
    assert enrolled.returncode == 2
    assert enrolled.stderr.startswith("fout: aanmelden mislukt: serveradres") and "gebruik https://" in enrolled.stderr
    device.env["BUNDELASSISTENT_SERVER_URL"] = server.url
    synced = device.run("sync", "--once")
    assert synced.returncode == 2 and "niet beveiligd" in synced.stderr
    checked = device.run("self-test", "--no-window")
    assert checked.returncode == 1 and "niet beveiligd" in checked.stdout
    for result in (enrolled, synced, checked):
        no_traceback(result)
    assert server.requests() == []


# -- an overall deadline --------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["trickle", "trickle-body"])
def test_insurer_lookup_gives_up_within_three_seconds_however_slowly_the_server_trickles(tmp_path, hostile, mode):
    server = hostile(mode)
    device = Device(tmp_path).enroll(server.url)
    settings = config.load(None, {"data_dir": str(device.data)})
    services = Services(settings)
    try:
        started = time.monotonic()
        found = services.lookup_insurer(BSNS[0], dt.date(1971, 6, 2), dt.date(2026, 12, 1))
        elapsed = time.monotonic() - started
    finally:
        services.close()
    assert elapsed < 3.5, elapsed
    assert found.uzovi is None and "niet binnen 3 s" in found.message.get("nl")
    assert BSNS[0] not in found.message.get("nl") + found.message.get("en")


@pytest.mark.parametrize("mode", ["trickle", "trickle-body"])
def test_a_sync_request_has_a_wall_clock_deadline_and_the_record_stays_queued(tmp_path, hostile, mode):
    server = hostile(mode)
    device = Device(tmp_path).enroll(server.url)
    (record_id,) = device.register(BSNS[:1])
    with Registry.in_folder(device.data, Actor("test", "suo")) as registry:
        run = engine.SyncEngine(registry, ServerClient(server.url, "t" * 43, deadline=2.0), {})
        before = len(server.requests())
        started = time.monotonic()
        summary = run.run_once()
        elapsed = time.monotonic() - started
        run.client.close()
    requests_sent = server.requests()[before:]
    assert 1 <= len(requests_sent) <= 2  # (the key deposit, then) the push; then the run stopped
    assert elapsed < 2.0 * len(requests_sent) + 1.0, (elapsed, requests_sent)  # 2 s each, however slow the bytes
    assert "niet binnen 2 s" in summary.error
    assert device.pending() == {record_id}


# -- redirects --------------------------------------------------------------------------------
def test_a_redirect_to_another_origin_is_refused_and_nothing_is_marked_synced(tmp_path, hostile):
    server = hostile("redirect")
    device = Device(tmp_path).enroll(server.url)
    ids = device.register(BSNS[:2])
    result = device.run("sync", "--once")
    no_traceback(result)
    assert result.returncode == 1
    assert f"probeerde door te sturen naar http://127.0.0.1:{server.other_port}" in result.stdout
    assert device.pending() == set(ids)
    assert set(device.states().values()) == {"registered"}
    assert not [line for line in server.requests() if line.startswith(f"{server.other_port} ")]


# -- push answers by id ---------------------------------------------------------------------
def test_push_answers_are_matched_by_id_and_revision_never_by_position(tmp_path, hostile):
    server = hostile("lie")
    device = Device(tmp_path).enroll(server.url)
    ids = device.register(BSNS)
    result = device.run("sync", "--once")
    no_traceback(result)
    assert result.returncode == 1
    assert "geen antwoord voor 3 inclusie(s)" in result.stdout
    states = device.states()
    assert states[ids[0]] == "synced"
    assert {states[i] for i in ids[1:]} == {"registered"}
    assert device.pending() == set(ids[1:])
    pushes = [line for line in server.requests() if "/v1/inclusions/push" in line]
    assert len(pushes) == 1  # the unanswered records are not pushed again in the same run
    logged = "".join(path.read_text(encoding="utf-8") for path in device.logs.rglob("*.log"))
    assert "genegeerd" in logged
    assert not any(identifier in logged for identifier in ids + BSNS)


# -- paging ---------------------------------------------------------------------------------
def test_a_feed_that_says_more_without_moving_its_cursor_stops_with_an_error(tmp_path, hostile):
    server = hostile("page-forever")
    device = Device(tmp_path).enroll(server.url)
    started = time.monotonic()
    result = device.run("sync", "--once", timeout=60)
    no_traceback(result)
    assert result.returncode == 1 and "zonder voortgang" in result.stdout
    assert time.monotonic() - started < 30
    assert len([line for line in server.requests() if "/v1/changes" in line]) == 1


def test_a_feed_that_advances_forever_is_read_for_a_bounded_number_of_pages(tmp_path, hostile):
    server = hostile("page-endless")
    device = Device(tmp_path).enroll(server.url)
    result = device.run("sync", "--once", timeout=120)
    no_traceback(result)
    assert result.returncode == 0, result.stdout + result.stderr
    pages = [line for line in server.requests() if "/v1/changes" in line]
    assert len(pages) == engine.MAX_PAGES_PER_SYNC
    with Registry.in_folder(device.data, Actor("test", "suo")) as registry:
        assert registry.meta("sync_cursor") == str(engine.MAX_PAGES_PER_SYNC)  # the next run goes on from here


# -- size cap -------------------------------------------------------------------------------
MEASURED_CLI = [sys.executable, "-c", "import resource, sys\n"
                "from desktop.cli import main\n"
                "code = main(sys.argv[1:])\n"
                "print('maxrss-kb', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
                "sys.exit(code)\n"]


def test_a_300_mb_answer_is_cut_off_at_the_cap_without_filling_memory(tmp_path, hostile):
    server = hostile("huge")
    device = Device(tmp_path).enroll(server.url)
    baseline = device.run("inclusions", wrapper=MEASURED_CLI)
    result = device.run("sync", "--once", wrapper=MEASURED_CLI)
    no_traceback(result)
    assert result.returncode == 1 and "groter dan 32 MB" in result.stdout

    def peak_mb(run):
        return int(run.stderr.split("maxrss-kb")[1].split()[0]) / 1024

    assert peak_mb(result) < peak_mb(baseline) + 100, (peak_mb(baseline), peak_mb(result))


def test_the_window_says_why_a_plain_http_server_is_not_used(qtbot, tmp_path):
    pytest.importorskip("PySide6")
    from desktop.ui.main_window import MainWindow

    settings = config.load(overrides={"data_dir": str(tmp_path / "data"), "server_url": "http://10.1.2.3:8470"})
    services = Services(settings, Actor("suo.test", "suo"))
    try:
        window = MainWindow(services, load_models=False)
        qtbot.addWidget(window)
        window.show()
        qtbot.waitUntil(lambda: window.sync.status is not None, timeout=10_000)
        assert "niet beveiligd" in window.sync_label.text() + window.sync_label.toolTip()
    finally:
        services.close()
