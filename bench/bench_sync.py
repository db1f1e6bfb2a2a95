"""The desktop sync of a full queue to a local server, against a bare push of the same records.

Budget (brief §10): 10,000 queued inclusions synced to a local server in ≤ 15 s.
The baseline pushes the same wire records straight from memory with requests, in the
same batch size, to a second fresh server: what the server's ingest costs by itself. The
ratio is what the client adds (reading the outbox, writing states before and after
every batch, the audit entry per record).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "tests" / "sync"))
os.environ.setdefault("PYTHON_KEYRING_BACKEND", "keyrings.alt.file.PlaintextKeyring")

import requests  # noqa: E402

from desktop import config  # noqa: E402
from desktop.core.inputs import parse_inclusion  # noqa: E402
from desktop.operations.services import Services  # noqa: E402
from desktop.store.inclusions import Actor  # noqa: E402
from helpers import inclusion, valid_bsns  # noqa: E402
from serverproc import ServerProcess  # noqa: E402
from sync import engine, protocol  # noqa: E402

COUNT = int(os.environ.get("BENCH_SYNC_COUNT", "10000"))
BUDGET_S = 15.0


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        os.environ["HOME"] = str(folder / "home")
        os.environ["XDG_DATA_HOME"] = str(folder / "home" / "share")
        settings = config.load(overrides={"data_dir": str(folder / "device")})
        services = Services(settings, Actor("bench", "suo"))
        bsns = valid_bsns(COUNT, start=200_000_000)
        started = time.perf_counter()
        for bsn in bsns:
            services.register(parse_inclusion(inclusion(bsn), services.bundles))
        print(f"queued {COUNT} inclusions in {time.perf_counter() - started:.1f} s")
        records = [services.registry.get(row["id"]) for row in services.registry.inclusions()]

        baseline_server = ServerProcess(f"sqlite:///{folder / 'baseline.sqlite3'}", folder, "sqlite").start()
        device_server = ServerProcess(f"sqlite:///{folder / 'device.sqlite3'}", folder, "sqlite").start()
        try:
            baseline_device = baseline_server.enroll()
            token = baseline_device.token
            wire = [engine.wire_record(record, services.bundles.bundles, baseline_device.device_id)
                    for record in records]
            headers = protocol.protocol_headers(token)
            session = requests.Session()
            started = time.perf_counter()
            for start in range(0, COUNT, engine.PUSH_BATCH):
                response = session.post(f"{baseline_server.url}/v1/inclusions/push", headers=headers,
                                        json={"records": wire[start:start + engine.PUSH_BATCH]}, timeout=120)
                response.raise_for_status()
            baseline = time.perf_counter() - started

            services.enroll(device_server.url, device_server.enroll_code())
            started = time.perf_counter()
            summary = services.sync_once()
            ours = time.perf_counter() - started
        finally:
            baseline_server.stop()
            device_server.stop()
        assert summary.ok and summary.results.get("accepted") == COUNT, summary.text()
        print(f"baseline: bare push of {COUNT} records in batches of {engine.PUSH_BATCH}: {baseline:.2f} s")
        print(f"sync --once of {COUNT} queued inclusions: {ours:.2f} s "
              f"({COUNT / ours:,.0f}/s; {ours / baseline:.2f}× baseline; budget {BUDGET_S:.0f} s: "
              f"{'OK' if ours <= BUDGET_S * COUNT / 10000 else 'OVER'})")


if __name__ == "__main__":
    main()
