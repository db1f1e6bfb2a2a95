"""Intake import: responses per second on PostgreSQL (and SQLite), against a raw insert.

Budget (issue 14): `import-intake` takes ≥ 1,000 responses/s on PostgreSQL.

The file is a FHIR searchset shaped like a PROM platform's export (tests/sync/intake_exports.py):
per patient a Patient entry and one completed QuestionnaireResponse with a full intake
(NRS pain, work, BCTQ SSS 11 + FSS 8 items, PCS 13, PHQ-4 4 items, in groups). Measured:
reading, checking, scoring and storing the file (`sync.server.intake.import_intake`, as the
CLI runs it after its start-up), then the same file again (all unchanged).

Also the intake lookup at patient open (budget p95 ≤ 300 ms), next to the coverage lookup on
the same server and patients, 200 patients in a row: on the wire (`POST /v1/intake/lookup`
on the real server process) and as the window makes it when a patient is opened
(`Services.lookup_intake` on a worker's own connection to an enrolled device's encrypted
register: token, HTTPS client, cache write and audit included; `lookup_insurer` beside it).

Baseline, in the same run on the same database: `json.load` of the same file and the
responses' stored rows written straight into a bare table of the same shape (one
executemany and COMMIT; no resolving, no scoring, no audit). Run:
    .venv/bin/python bench/bench_intake.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "tests" / "sync")]

import intake_exports as fx  # noqa: E402
from helpers import valid_bsns  # noqa: E402
from pgcluster import PostgresCluster  # noqa: E402
from serverproc import ServerProcess  # noqa: E402
from sync.server import intake  # noqa: E402
from sync.server.config import Settings  # noqa: E402
from sync.server.storage import Storage  # noqa: E402

BUDGET = 1000


def export(folder: Path, count: int) -> Path:
    entries = []
    for n, bsn in enumerate(valid_bsns(count, start=300000000)):
        number = str(10000 + n)
        answers = {"nrs_pain_0": n % 11, "work_status": ("office", "Kantoor"), "diabetes": False,
                   **fx.bctq("bctq_sss_q", [1 + (n + i) % 5 for i in range(11)]),
                   **fx.bctq("bctq_fss_q", [1 + (n + i) % 5 for i in range(8)]),
                   **fx.bctq("pcs_q", [(n + i) % 5 for i in range(13)]), **fx.bctq("phq4_q", [n % 4] * 4)}
        entries += [("include", fx.patient(number, bsn, "1971-06-02")),
                    ("match", fx.response(f"tok-{n}", fx.gems_reference(number), "2025-03-01T10:00:00+01:00",
                                          answers))]
    return fx.write(folder / "intake.json", fx.searchset(*entries))


def timed_import(url: str, path: Path) -> tuple[float, float]:
    storage = Storage(Settings.from_url(url, None))
    try:
        storage.migrate()
        rates = []
        for _ in range(2):
            began = time.perf_counter()
            summary, _ = intake.import_intake(storage, path)
            rates.append(summary.read / (time.perf_counter() - began))
        return rates[0], rates[1]
    finally:
        storage.dispose()


def baseline(url: str, path: Path) -> float:
    from sqlalchemy import create_engine, text

    engine = create_engine(Settings.from_url(url, None).database_url)
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE raw (source_key varchar(200) PRIMARY KEY, content_hash varchar(64), "
                              "bsn varchar(9), birth_date date, completed_on date, answers text)"))
        began = time.perf_counter()
        document = json.loads(path.read_text(encoding="utf-8"))
        rows = [{"k": e["resource"]["id"], "h": "0" * 64, "b": "111222333", "d": "1971-06-02", "c": "2025-03-01",
                 "a": json.dumps(e["resource"]["item"])} for e in document["entry"]
                if e["resource"]["resourceType"] == "QuestionnaireResponse"]
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO raw VALUES (:k, :h, :b, CAST(:d AS date), CAST(:c AS date), :a)"), rows)
        return len(rows) / (time.perf_counter() - began)
    finally:
        engine.dispose()


Timings = dict[str, list[float]]  # "intake", "coverage" -> milliseconds per lookup


def lookups(url: str, kind: str, folder: Path, count: int) -> tuple[Timings, Timings]:
    """Milliseconds per intake lookup and per coverage lookup for the imported patients: on the
    wire, and at patient open on a device."""
    server = ServerProcess(url, folder, kind, ("--lookup-rate", "1000000", "--lookup-burst", "1000000"),
                           bundles=False).start()
    try:
        patients = valid_bsns(count, start=300000000)[:200]
        return wire_lookups(server, patients), device_lookups(server, folder / f"device-{kind}", patients)
    finally:
        server.stop()


def wire_lookups(server: ServerProcess, patients: list[str]) -> Timings:
    device = server.enroll("bench")
    timings: Timings = {"intake": [], "coverage": []}
    for bsn in patients:
        for path, label in (("/v1/intake/lookup", "intake"), ("/v1/coverage/lookup", "coverage")):
            began = time.perf_counter()
            answer = device.session.post(f"{server.url}{path}", json={"bsn": bsn, "birth_date": "1971-06-02",
                                                                      "on": "2025-03-14"}, timeout=30)
            timings[label].append((time.perf_counter() - began) * 1000)
            assert answer.status_code == 200, answer.text
    return timings


def device_lookups(server: ServerProcess, folder: Path, patients: list[str]) -> Timings:
    """As the window's background operation at patient open (`MainWindow.look_up_intake` and
    `look_up_insurer`): the services on their own connection, the answer kept in the cache."""
    import datetime as dt

    from desktop import config
    from desktop.operations.services import Services
    from desktop.store.inclusions import Actor

    settings = config.load(overrides={"data_dir": str(folder), "location": "Utrecht"})
    services = Services(settings, Actor("bench", "suo"))
    try:
        services.enroll(server.url, server.enroll_code())
        born, on = dt.date(1971, 6, 2), dt.date(2025, 3, 14)
        timings: Timings = {"intake": [], "coverage": []}
        for bsn in patients:
            for label, lookup in (("intake", lambda own, bsn=bsn: own.lookup_intake(bsn, born, on)),
                                  ("coverage", lambda own, bsn=bsn: own.lookup_insurer(bsn, born, on))):
                began = time.perf_counter()
                found = services.on_own_connection(lookup)
                timings[label].append((time.perf_counter() - began) * 1000)
                assert found.source == "server" or label == "coverage", found
        return timings
    finally:
        services.close()


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="2,000 responses instead of 10,000")
    args = parser.parse_args()
    count = 2000 if args.quick else 10000
    results = []
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        own_home(folder / "home")
        path = export(folder, count)
        cluster = PostgresCluster(durable=True).start()
        try:
            for kind in ("sqlite", "postgresql"):
                url = cluster.create_database("intake") if kind == "postgresql" else \
                    f"sqlite:///{folder / 'server.sqlite3'}"
                raw = cluster.create_database("raw") if kind == "postgresql" else f"sqlite:///{folder / 'raw.sqlite3'}"
                first, again = timed_import(url, path)
                results.append((kind, first, again, baseline(raw, path), *lookups(url, kind, folder, count)))
        finally:
            cluster.stop()
    print(f"import-intake of {count} responses (FHIR searchset with Patient includes; budget on PostgreSQL "
          f"≥ {BUDGET}/s)")
    print(f"{'database':12} {'responses/s':>12} {'again/s':>9} {'raw insert/s':>13} {'ratio':>7}")
    for kind, first, again, raw_rate, *_ in results:
        flag = "  UNDER BUDGET" if kind == "postgresql" and first < BUDGET else ""
        print(f"{kind:12} {first:12.0f} {again:9.0f} {raw_rate:13.0f} {first / raw_rate:6.2f}x{flag}")
    print()
    print("lookup at patient open, 200 patients in a row (budget intake p95 ≤ 300 ms; next to the coverage lookup)")
    print(f"{'database':12} {'measured':10} {'intake p50':>11} {'intake p95':>11} {'coverage p95':>13} "
          f"{'ratio p95':>10}")
    for kind, *_, wire, device in results:
        for where, timings in (("wire", wire), ("device", device)):
            p95, base = percentile(timings["intake"], 95), percentile(timings["coverage"], 95)
            flag = "  OVER BUDGET" if p95 > 300 else ""
            print(f"{kind:12} {where:10} {statistics.median(timings['intake']):11.1f} {p95:11.1f} {base:13.1f} "
                  f"{p95 / base:9.2f}x{flag}")


def own_home(home: Path) -> None:
    """The device half runs in a home of its own: no machine config, a file keyring for its token."""
    home.mkdir()
    os.environ.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"), XDG_DATA_HOME=str(home / ".local"),
                      BUNDELASSISTENT_SYSTEM_CONFIG=str(home / "no-system-config.toml"),
                      PYTHON_KEYRING_BACKEND="keyrings.alt.file.PlaintextKeyring")


if __name__ == "__main__":
    main()
