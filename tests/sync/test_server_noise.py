"""Noise cannot starve real devices: slow clients, slow bodies and fake 2 MB pushes.

Measured with the real server on 127.0.0.1: five real devices push small batches back to
back, first alone (the baseline), then while 300 slow clients trickle request heads one byte
at a time, 20 authenticated clients trickle bodies, and two threads send fake 2 MB pushes
back to back (one with a bad token, one with a valid token but records that do not
validate). Everything is bounded: 300 sockets, loopback only, about 15 s per database.

Real pushes must keep their p99 under noise within max(150 ms, 3 × the baseline p99 of the
same run); 150 ms is the p99 budget for 50 devices (bench/bench_server.py). The ratio is
there because the noise comes from this same machine: the test's own 320 sockets and 2 MB
bodies take CPU from the server on a 2-core runner, and on a busy shared machine the
baseline alone can pass 150 ms; a server that lets noise starve devices is far beyond 3×
(fake 2 MB pushes parsed on the server's own interpreter took real pushes from 121 ms to
766 ms on a quiet runner; they are now read in helper processes, `sync.server.parsing`).
"""

from __future__ import annotations

import asyncio
import json
import threading
import time

import pytest
import requests

from helpers import valid_bsns
from serverproc import ServerProcess, record
from sync.protocol import protocol_headers

HEADER_TIMEOUT, BODY_TIMEOUT = 8.0, 3.0
SLOW_CLIENTS, SLOW_BODIES = 300, 20


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


class RealDevices:
    """Devices pushing three new records per request, back to back, on threads; latencies in ms."""

    def __init__(self, server: ServerProcess, count: int = 5):
        self.clients = [server.enroll(f"kamer {index}") for index in range(count)]
        self.patients = iter(valid_bsns(count * 2000, start=300000000))
        self.lock = threading.Lock()

    def run(self, seconds: float, until: float | None = None) -> tuple[list[float], int]:
        """Push for `seconds`; only pushes finished before `until` (monotonic) count."""
        samples: list[float] = []
        failures = [0]

        def work(client) -> None:
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                with self.lock:
                    batch = [record(next(self.patients)) for _ in range(3)]
                began = time.perf_counter()
                response = client.push(batch, timeout=30)
                elapsed = (time.perf_counter() - began) * 1000
                ok = response.status_code == 200 and all(r["result"] == "accepted" for r in response.json()["results"])
                with self.lock:
                    failures[0] += not ok
                    if until is None or time.monotonic() < until:
                        samples.append(elapsed)
                time.sleep(0.02)

        threads = [threading.Thread(target=work, args=(client,)) for client in self.clients]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return samples, failures[0]


class Noise:
    """Slow heads, slow bodies and fake big pushes, on an asyncio loop and a few threads."""

    def __init__(self, server: ServerProcess, token: str):
        self.server, self.token = server, token
        self.head_closed: dict[int, float] = {}   # client -> seconds until the server closed it
        self.body_answers: dict[int, tuple[bytes, float]] = {}
        self.fake_statuses: list[int] = []
        self.stop = threading.Event()
        self.opened = threading.Event()
        self.started = time.monotonic()  # no slow client connected before this
        self.loop_thread = threading.Thread(target=lambda: asyncio.run(self._slow_clients()))
        self.fake_threads = [threading.Thread(target=self._fake_pushes, args=(bad,)) for bad in (True, False)]

    def __enter__(self) -> Noise:
        self.loop_thread.start()
        assert self.opened.wait(30), "slow clients did not connect"
        for thread in self.fake_threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        for thread in self.fake_threads:
            thread.join()
        self.loop_thread.join(60)

    async def _slow_clients(self) -> None:
        connected = []
        tasks = [asyncio.create_task(self._slow_head(index, connected)) for index in range(SLOW_CLIENTS)]
        tasks += [asyncio.create_task(self._slow_body(index, connected)) for index in range(SLOW_BODIES)]
        while len(connected) < SLOW_CLIENTS + SLOW_BODIES and not all(task.done() for task in tasks):
            await asyncio.sleep(0.05)
        self.opened.set()
        await asyncio.wait(tasks, timeout=HEADER_TIMEOUT + 15)
        for task in tasks:
            task.cancel()

    async def _slow_head(self, index: int, connected: list) -> None:
        opened = time.monotonic()  # before connecting: the server cannot start its clock earlier
        reader, writer = await asyncio.open_connection("127.0.0.1", self.server.port)
        connected.append(index)
        writer.write(b"POST /v1/inclusions/push HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Langzaam: ")
        try:
            while time.monotonic() - opened < HEADER_TIMEOUT + 10:
                writer.write(b"x")  # one header byte at a time, never the end of the head
                await writer.drain()
                try:
                    if await asyncio.wait_for(reader.read(1024), 0.5) == b"":
                        self.head_closed[index] = time.monotonic() - opened
                        return
                except TimeoutError:
                    pass
        except (ConnectionError, OSError):
            self.head_closed[index] = time.monotonic() - opened
        finally:
            writer.close()

    async def _slow_body(self, index: int, connected: list) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.server.port)
        connected.append(index)
        head = "".join(f"{name}: {value}\r\n" for name, value in protocol_headers(self.token).items())
        writer.write(f"POST /v1/inclusions/push HTTP/1.1\r\nHost: 127.0.0.1\r\n{head}"
                     "Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n{".encode())
        began = time.monotonic()
        answer = b""
        try:
            while time.monotonic() - began < BODY_TIMEOUT + 10:
                writer.write(b" ")
                await writer.drain()
                try:
                    chunk = await asyncio.wait_for(reader.read(4096), 0.5)
                    if chunk == b"":
                        break
                    answer += chunk
                except TimeoutError:
                    pass
        except (ConnectionError, OSError):
            pass
        finally:
            self.body_answers[index] = (answer, time.monotonic() - began)
            writer.close()

    def _fake_pushes(self, bad_token: bool) -> None:
        """2 MB pushes, as fast as the server takes them."""
        if bad_token:
            body = b'{"records": [' + b'"x",' * 500_000 + b'"x"]}'
            headers = protocol_headers("nep" * 15)
        else:  # a valid token, 500 records that do not validate (an invalid BSN) and fill 2 MB
            filler = record("123456789", name="x" * 200, withdrawal_reason="y" * 2000, initial_treatment="z" * 200)
            fits = (2 * 1024 * 1024 - 100) // (len(json.dumps(filler)) + 2)
            body = json.dumps({"records": [filler] * min(500, fits)}).encode()
            headers = protocol_headers(self.token)
        headers["Content-Type"] = "application/json"
        session = requests.Session()
        while not self.stop.is_set():
            try:
                self.fake_statuses.append(session.post(f"{self.server.url}/v1/inclusions/push", data=body,
                                                       headers=headers, timeout=30).status_code)
            except requests.RequestException:
                self.fake_statuses.append(0)


@pytest.fixture
def noisy_server(fresh_database, db_kind, tmp_path):
    process = ServerProcess(fresh_database, tmp_path, db_kind, serve_args=(
        "--header-timeout", str(HEADER_TIMEOUT), "--body-timeout", str(BODY_TIMEOUT))).start()
    yield process
    process.stop()


def test_300_slow_clients_and_fake_big_pushes_do_not_starve_real_devices(noisy_server):
    server = noisy_server
    devices = RealDevices(server)
    attacker = server.enroll("indringer")
    baseline, failed = devices.run(seconds=3)
    assert failed == 0 and len(baseline) >= 20

    with Noise(server, attacker.token) as noise:
        # measured while every slow client is still open (none closes before its deadline: see below)
        loaded, failed = devices.run(seconds=HEADER_TIMEOUT - 3, until=noise.started + HEADER_TIMEOUT - 0.5)
        while len(noise.head_closed) < SLOW_CLIENTS and time.monotonic() < noise.started + HEADER_TIMEOUT + 6:
            time.sleep(0.2)  # then the head deadline closes them
    assert failed == 0 and len(loaded) >= 20

    # Every real push went through, and its p99 stays within the product budget:
    # max(150 ms, 3x the baseline p99 of this run).
    budget = max(150.0, 3 * percentile(baseline, 99))
    p99 = percentile(loaded, 99)
    print(f"real pushes: baseline p50 {percentile(baseline, 50):.0f} ms p99 {percentile(baseline, 99):.0f} ms; "
          f"under noise p50 {percentile(loaded, 50):.0f} ms p99 {p99:.0f} ms (budget {budget:.0f} ms); "
          f"{len(noise.fake_statuses)} fake 2 MB pushes")
    assert p99 <= budget

    # every slow head was cut at its deadline, not before and not much after
    assert len(noise.head_closed) == SLOW_CLIENTS
    assert min(noise.head_closed.values()) >= HEADER_TIMEOUT - 0.1
    assert max(noise.head_closed.values()) <= HEADER_TIMEOUT + 5
    # every slow body got 408 at its deadline
    for answer, seconds in noise.body_answers.values():
        assert answer.startswith(b"HTTP/1.1 408") and b"request_timeout" in answer, answer[:200]
        assert BODY_TIMEOUT - 0.5 <= seconds <= BODY_TIMEOUT + 5
    assert len(noise.body_answers) == SLOW_BODIES
    # the fake pushes were refused (401) or rejected record by record, never a 5xx
    assert noise.fake_statuses and set(noise.fake_statuses) <= {200, 401}
    assert server.process.poll() is None


def test_the_limits_are_settings_with_safe_defaults_and_clear_errors(monkeypatch, tmp_path):
    from sync.server.cli import main
    from sync.server.config import ConfigError, Settings

    defaults = Settings.from_environment(f"sqlite:///{tmp_path / 'a.sqlite3'}")
    assert (defaults.header_timeout, defaults.body_timeout, defaults.keep_alive_timeout) == (10, 30, 5)
    assert (defaults.limit_concurrency, defaults.large_body_slots, defaults.same_location_revisions) == (1000, 4, False)
    monkeypatch.setenv("BUNDELASSISTENT_SERVER_HEADER_TIMEOUT", "2.5")
    monkeypatch.setenv("BUNDELASSISTENT_SERVER_SAME_LOCATION_REVISIONS", "ja")
    chosen = Settings.from_environment(f"sqlite:///{tmp_path / 'a.sqlite3'}", limit_concurrency=50)
    assert (chosen.header_timeout, chosen.same_location_revisions, chosen.limit_concurrency) == (2.5, True, 50)
    assert chosen.environment(with_database=False)["BUNDELASSISTENT_SERVER_HEADER_TIMEOUT"] == "2.5"
    monkeypatch.setenv("BUNDELASSISTENT_SERVER_HEADER_TIMEOUT", "snel")
    with pytest.raises(ConfigError, match="BUNDELASSISTENT_SERVER_HEADER_TIMEOUT"):
        Settings.from_environment(f"sqlite:///{tmp_path / 'a.sqlite3'}")
    monkeypatch.delenv("BUNDELASSISTENT_SERVER_HEADER_TIMEOUT")
    assert main(["--database", str(tmp_path / "b.sqlite3"), "serve", "--body-timeout", "0"]) == 2
