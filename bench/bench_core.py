"""Eligibility and durable registration, against a raw SQLite insert+commit.

Budgets (brief §10): eligibility decision ≤ 5 ms, durable registration ≤ 15 ms p95, and
(issue 11) durable registration p95 within 3× the baseline, encryption included.
The baseline is the cheapest durable write plain SQLite can do on this disk: one INSERT
and a COMMIT in WAL mode with synchronous=FULL, the same settings the registry uses, in
the same folder, on a row the size of a registration's writes. The same write on an
SQLCipher connection is shown as well, so the cost of the encryption itself is visible.
"""

from __future__ import annotations

import os
import sqlite3
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from desktop import config
from desktop.core.eligibility import Episode, evaluate
from desktop.core.inputs import parse_case, parse_inclusion
from desktop.operations.services import Services
from desktop.store.inclusions import Actor
from helpers import inclusion, valid_bsns
from timing import percentile, timed

ROUNDS = 500


PAYLOAD_BYTES = 3000  # a registration writes the record, a history copy, an outbox and an audit row


def raw_sqlite_baseline(folder: Path, connect=sqlite3.connect, name: str = "raw.sqlite3") -> list[float]:
    connection = connect(str(folder / name), isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=FULL")
    connection.execute("CREATE TABLE t (id TEXT PRIMARY KEY, payload TEXT)")

    def insert(index: int) -> None:
        connection.execute("BEGIN")
        connection.execute("INSERT INTO t VALUES (?, ?)", [f"id-{index}", "x" * PAYLOAD_BYTES])
        connection.execute("COMMIT")

    return timed(insert, ROUNDS)


def encrypted_connect(path: str, isolation_level=None):
    """An SQLCipher connection keyed as the registry keys its own (a random raw key)."""
    from desktop.store.database import raw_connect
    from desktop.store.keys import KeyEntry, new_key

    return raw_connect(Path(path), KeyEntry(key=new_key()), isolation_level=isolation_level)


def use_a_file_keyring(folder: Path) -> None:
    """The register's key is read from the keyring once per process; a file keyring in the
    bench folder keeps the run independent of the machine's keyring without changing timings."""
    os.environ["PYTHON_KEYRING_BACKEND"] = "keyrings.alt.file.PlaintextKeyring"
    os.environ["XDG_DATA_HOME"] = str(folder / "keyring")


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        use_a_file_keyring(folder)
        baseline = raw_sqlite_baseline(folder)
        encrypted = raw_sqlite_baseline(folder, encrypted_connect, "raw-sqlcipher.sqlite3")
        settings = config.load(overrides={"data_dir": str(folder / "data")})
        services = Services(settings, Actor("bench", "suo"))
        bundles = services.bundles

        case, bundle = parse_case(inclusion(valid_bsns(1)[0]), bundles)
        history = [Episode("hand-wrist", "CMC1_OA", "L", case.inclusion_date.replace(year=2024),
                           case.inclusion_date.replace(year=2025), "synced") for _ in range(3)]
        decisions = timed(lambda i: evaluate(case, bundle, history), rounds=5000)

        requests = [parse_inclusion(inclusion(bsn), bundles) for bsn in valid_bsns(ROUNDS, start=300000000)]
        registrations = timed(lambda i: services.register(requests[i]), ROUNDS)
        services.close()

    base_p95 = percentile(baseline, 95)
    rows = [
        ("raw SQLite insert+commit (baseline)", baseline, None),
        ("same on SQLCipher (encryption's cost)", encrypted, None),
        ("eligibility decision", decisions, 5.0),
        ("durable registration", registrations, 15.0),
    ]
    print(f"{'measure':40} {'p50 ms':>8} {'p95 ms':>8} {'budget':>8} {'p95/baseline':>13}")
    ratio_budget = {"durable registration": 3.0}
    for name, samples, budget in rows:
        p50, p95 = statistics.median(samples), percentile(samples, 95)
        budget_text = f"≤{budget:g}" if budget else "-"
        flag = "" if budget is None or p95 <= budget else "  OVER BUDGET"
        if p95 / base_p95 > ratio_budget.get(name, float("inf")):
            flag += f"  OVER {ratio_budget[name]:g}x"
        print(f"{name:40} {p50:8.3f} {p95:8.3f} {budget_text:>8} {p95 / base_p95:12.2f}x{flag}")


if __name__ == "__main__":
    main()
