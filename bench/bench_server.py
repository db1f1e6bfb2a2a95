"""Central server: push throughput and 50 concurrent devices, on SQLite and PostgreSQL.

Budgets (brief §10): server ingest on PostgreSQL ≥ 1,000 inclusions/s; 50 concurrent
devices with p99 ≤ 150 ms and no errors.

Baselines, measured in the same run on the same machine:
* ingest: the same rows written straight into a bare table of the same database with one
  executemany per 500 rows and a COMMIT (no HTTP, no validation, no duplicate check);
* latency: GET /v1/health (HTTP + framework + one trivial query) from the same 50 devices.

The server is the real `bundelassistent-server serve` process; PostgreSQL is a throwaway
cluster with fsync on (durable commits, as in production), served with one worker process
per core as docs/IT.md advises (`serve --workers 2` here). The clients run in separate
processes so their own GIL does not count as server latency. Run:
    .venv/bin/python bench/bench_server.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import random
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "tests" / "sync")]

import requests  # noqa: E402

from helpers import valid_bsns  # noqa: E402
from pgcluster import PostgresCluster  # noqa: E402
from serverproc import BIRTH_DATE, ServerProcess, record  # noqa: E402
from sync.protocol import protocol_headers  # noqa: E402

BATCH = 500


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


# -- ingest ---------------------------------------------------------------------------------
def ingest(server: ServerProcess, count: int, start: int) -> float:
    """Inclusions per second pushed in batches of 500 by one device."""
    client = server.enroll("ingest")
    patients = valid_bsns(count, start=start)
    batches = [[record(bsn) for bsn in patients[i:i + BATCH]] for i in range(0, count, BATCH)]
    began = time.perf_counter()
    for batch in batches:
        results = client.push_ok(batch)
        assert all(r["result"] == "accepted" for r in results), results[:3]
    return count / (time.perf_counter() - began)


def raw_rows(count: int) -> list[tuple]:
    rows = []
    for bsn in valid_bsns(count, start=900000000):
        r = record(bsn)
        rows.append((r["id"], json.dumps(r), bsn, r["inclusion_date"], r["end_date"]))
    return rows


def raw_postgres(url: str, count: int) -> float:
    import psycopg

    rows = raw_rows(count)
    with psycopg.connect(url) as conn:
        conn.execute("CREATE TABLE raw (id text PRIMARY KEY, content text, bsn text, d1 date, d2 date)")
        conn.commit()
        began = time.perf_counter()
        for i in range(0, count, BATCH):
            with conn.cursor() as cursor:
                cursor.executemany("INSERT INTO raw VALUES (%s, %s, %s, %s, %s)", rows[i:i + BATCH])
            conn.commit()
        return count / (time.perf_counter() - began)


def raw_sqlite(path: Path, count: int) -> float:
    rows = raw_rows(count)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("CREATE TABLE raw (id text PRIMARY KEY, content text, bsn text, d1 date, d2 date)")
    began = time.perf_counter()
    for i in range(0, count, BATCH):
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany("INSERT INTO raw VALUES (?, ?, ?, ?, ?)", rows[i:i + BATCH])
        conn.execute("COMMIT")
    conn.close()
    return count / (time.perf_counter() - began)


# -- 50 devices -----------------------------------------------------------------------------
def device_worker(url: str, devices: list[tuple[str, str]], operations: int, mode: str, pause: float,
                  seed: int, queue) -> None:
    """One client process driving several devices, each on its own thread."""
    def run(device_id: str, token: str, device_index: int) -> None:
        rng = random.Random(seed * 100 + device_index)
        session = requests.Session()
        session.headers.update(protocol_headers(token))
        patients = valid_bsns(operations * 3, start=950000000 + (seed * 100 + device_index) * 40 * operations)
        samples, errors, cursor = [], 0, 0
        for step in range(operations):
            time.sleep(rng.uniform(0.5 * pause, 1.5 * pause))  # think time between a device's requests
            began = time.perf_counter()
            try:
                if mode == "health":
                    response = session.get(f"{url}/v1/health", timeout=30)
                elif step % 3 == 0:
                    response = session.post(f"{url}/v1/inclusions/push", timeout=30,
                                            json={"records": [record(b, device_id=device_id)
                                                              for b in patients[step * 3:step * 3 + 3]]})
                elif step % 3 == 1:
                    response = session.post(f"{url}/v1/coverage/lookup", timeout=30,
                                            json={"bsn": patients[step * 3], "birth_date": BIRTH_DATE,
                                                  "on": "2025-03-14"})
                else:
                    response = session.get(f"{url}/v1/changes", params={"cursor": cursor, "limit": 200}, timeout=30)
                    if response.status_code == 200:
                        cursor = response.json()["next_cursor"]
                ok = response.status_code == 200
            except requests.RequestException:
                ok = False
            samples.append((time.perf_counter() - began) * 1000)
            errors += not ok
        queue.put((samples, errors))

    threads = [threading.Thread(target=run, args=(device_id, token, index))
               for index, (device_id, token) in enumerate(devices)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def concurrent_devices(server: ServerProcess, tokens: list[tuple[str, str]], operations: int, mode: str,
                       pause: float, seed: int, processes: int = 5) -> tuple[list[float], int, float]:
    queue = multiprocessing.Queue()
    groups = [tokens[i::processes] for i in range(processes)]
    workers = [multiprocessing.Process(target=device_worker,
                                       args=(server.url, group, operations, mode, pause, seed + n, queue))
               for n, group in enumerate(groups)]
    began = time.perf_counter()
    for worker in workers:
        worker.start()
    samples, errors = [], 0
    for _ in tokens:
        device_samples, device_errors = queue.get(timeout=600)
        samples += device_samples
        errors += device_errors
    for worker in workers:
        worker.join()
    return samples, errors, len(samples) / (time.perf_counter() - began)


def enroll_devices(server: ServerProcess, count: int) -> list[tuple[str, str]]:
    tokens = []
    for index in range(count):
        code = server.enroll_code()
        body = requests.post(f"{server.url}/v1/enroll", headers=protocol_headers(), timeout=30,
                             json={"code": code, "device_name": f"bench {index}"}).json()
        tokens.append((body["device_id"], body["token"]))
    return tokens


def coverage_file(folder: Path, operations: int, devices: int) -> Path:
    """Coverage for the patients the devices will look up (about half of them)."""
    path = folder / "coverage.csv"
    lines = ["bsn,birth_date,uzovi,insurer,valid_from,valid_to"]
    for seed in range(5):  # the steady run's client processes (seeds 0-4)
        for index in range(devices // 5 + 1):
            start = 950000000 + (seed * 100 + index) * 40 * operations
            lines.extend(f"{bsn},{BIRTH_DATE},3311,Zilveren Kruis,2024-01-01,"
                         for bsn in valid_bsns(operations * 3, start=start)[::2])
    path.write_text("\n".join(dict.fromkeys(lines)) + "\n")
    return path


PG_WORKERS = 2  # this machine's cores
STEADY_PAUSE = 1.0      # s between a device's requests: a sync cycle every few seconds, and then some
SATURATION_PAUSE = 0.1  # s: what this machine can take when every device hammers it


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="fewer records and operations")
    parser.add_argument("--devices", type=int, default=50)
    args = parser.parse_args()
    count = 2000 if args.quick else 10000
    operations = 20 if args.quick else 60

    rows = []
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        cluster = PostgresCluster(durable=True).start()
        try:
            for kind in ("sqlite", "postgresql"):
                url = cluster.create_database("bench") if kind == "postgresql" else \
                    f"sqlite:///{folder / 'server.sqlite3'}"
                baseline = raw_postgres(cluster.create_database("raw"), count) if kind == "postgresql" else \
                    raw_sqlite(folder / "raw.sqlite3", count)
                # the saturation run looks up faster than the default limit allows (60 a minute,
                # burst 20), and all devices enrol from one address; the limiter's cost is the
                # same whatever its numbers
                # PostgreSQL as docs/IT.md deploys it: a worker process per core (SQLite takes one writer)
                workers = ("--workers", str(PG_WORKERS)) if kind == "postgresql" else ()
                server = ServerProcess(url, folder, kind, ("--lookup-burst", "200", "--enroll-burst", "200", *workers))
                server.start()
                try:
                    server.admin("import-coverage", str(coverage_file(folder, operations, args.devices)))
                    rate = ingest(server, count, start=100000000 if kind == "sqlite" else 500000000)
                    tokens = enroll_devices(server, args.devices)
                    health, _, _ = concurrent_devices(server, tokens, operations, "health", STEADY_PAUSE, 20)
                    steady = concurrent_devices(server, tokens, operations, "mixed", STEADY_PAUSE, 0)
                    saturated = concurrent_devices(server, tokens, operations, "mixed", SATURATION_PAUSE, 10)
                finally:
                    server.stop()
                rows.append((kind, rate, baseline, health, steady, saturated))
        finally:
            cluster.stop()

    print(f"push throughput, one device, batches of {BATCH} (budget on PostgreSQL ≥ 1000/s)")
    print(f"{'database':12} {'inclusions/s':>13} {'raw insert/s':>13} {'ratio':>7}")
    for kind, rate, baseline, *_ in rows:
        flag = "  UNDER BUDGET" if kind == "postgresql" and rate < 1000 else ""
        print(f"{kind:12} {rate:13.0f} {baseline:13.0f} {rate / baseline:6.2f}x{flag}")
    print()
    print(f"{args.devices} concurrent devices, {operations} requests each in turn: push 3 inclusions / coverage "
          f"lookup / pull changes (PostgreSQL: serve --workers {PG_WORKERS})")
    print("(budget p99 ≤ 150 ms and 0 errors at the steady load; baseline: GET /v1/health at the steady load)")
    print(f"{'database':12} {'load':24} {'req/s':>6} {'p50 ms':>8} {'p99 ms':>8} {'health p99':>11} "
          f"{'p99/health':>11} {'errors':>7}")
    for kind, _, _, health, steady, saturated in rows:
        base_p99 = percentile(health, 99)
        for label, (samples, errors, throughput), budgeted in (
                (f"steady (~{STEADY_PAUSE:g} s pause)", steady, True),
                (f"saturation (~{SATURATION_PAUSE:g} s)", saturated, False)):
            p50, p99 = statistics.median(samples), percentile(samples, 99)
            flag = "  OVER BUDGET" if budgeted and (p99 > 150 or errors) else ""
            print(f"{kind:12} {label:24} {throughput:6.0f} {p50:8.1f} {p99:8.1f} {base_p99:11.1f} "
                  f"{p99 / base_p99:10.2f}x {errors:7d}{flag}")


if __name__ == "__main__":
    main()
