"""Prediction models: load time, one patient's predictions, batch throughput.

Budget (brief §10): all predictions for a patient (both options, all outcomes) ≤ 30 ms
after load; models load in the background. `influence` runs with each prediction on
the same worker thread (Samen beslissen's order of inputs, personal or general). Baselines, measured in the same run:
- load: reading the same model files' bytes on a worker thread (the I/O floor);
- one patient: a bare scikit-learn LogisticRegression.predict_proba on one row;
- batch: reading the same CSV with csv.DictReader (rows/s the file format allows).
"""

from __future__ import annotations

import csv
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np

import resources
from predictors import load_models
from predictors.batch import run as run_batch
from timing import percentile, timed

ROUNDS = 300
BATCH_ROWS = 10_000


def on_worker(function):
    """Run on a background thread (as the window does) and return the wall time in ms."""
    result = {}

    def work():
        result["value"] = function()

    start = time.perf_counter()
    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    return (time.perf_counter() - start) * 1000, result.get("value")


def cohort_rows() -> list[dict]:
    rows = []
    for name in ("cohort_cts.csv", "cohort_cmc1.csv"):
        with open(resources.path("cohorts", name), newline="", encoding="utf-8") as handle:
            rows += list(csv.DictReader(handle))
    return rows


def main() -> None:
    from sklearn.linear_model import LogisticRegression

    folder = resources.path("models")
    files = sorted(p for p in folder.iterdir() if p.suffix in (".json", ".npz"))
    read_bytes = [on_worker(lambda: [p.read_bytes() for p in files])[0] for _ in range(30)]
    loads = []
    models = None
    for _ in range(30):
        elapsed, models = on_worker(load_models)
        loads.append(elapsed)

    rows = cohort_rows()
    patients = [rows[i * 17 % len(rows)] for i in range(ROUNDS)]
    x = np.random.default_rng(0).normal(size=(2000, 25))
    y = (x[:, 0] + np.random.default_rng(1).normal(size=2000) > 0).astype(int)
    bare = LogisticRegression(max_iter=1000).fit(x, y)
    one_row = x[:1]
    baseline_one = timed(lambda i: bare.predict_proba(one_row), ROUNDS)
    for patient in patients[:20]:  # warm-up
        models.predict(patient)
    predictions = timed(lambda i: models.predict(patients[i]), ROUNDS)
    similar = timed(lambda i: models.similar_patients(patients[i], "surgery", k=20), rounds=100)
    influence = timed(lambda i: models.influence(patients[i]), rounds=100)

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        source = tmp / "batch.csv"
        fields = list(dict.fromkeys(k for r in rows for k in r))
        with open(source, "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=fields)
            writer.writeheader()
            for i in range(BATCH_ROWS):
                writer.writerow(dict(rows[i % len(rows)], patient_id=f"B{i:06d}"))
        start = time.perf_counter()
        with open(source, newline="", encoding="utf-8") as handle:
            count = sum(1 for _ in csv.DictReader(handle))
        read_rate = count / (time.perf_counter() - start)

        class Quiet:
            def write(self, _):
                pass

        start = time.perf_counter()
        code = run_batch(source, tmp / "out.csv", err=Quiet())
        batch_seconds = time.perf_counter() - start
        assert code == 0
        batch_rate = BATCH_ROWS / batch_seconds

    print(f"{'measure':52} {'p50 ms':>9} {'p95 ms':>9} {'budget':>8} {'p95/baseline':>13}")
    load_base = percentile(read_bytes, 95)
    one_base = percentile(baseline_one, 95)
    table = [
        ("read model files on a worker thread (baseline)", read_bytes, None, None),
        ("load_models() on a worker thread (verify + parse)", loads, None, load_base),
        ("bare LogisticRegression.predict_proba, 1 row (baseline)", baseline_one, None, None),
        ("predict(patient): both options, all outcomes", predictions, 30.0, one_base),
        ("similar_patients(patient, k=20)", similar, None, one_base),
        ("influence(patient): the inputs' order, personal or general", influence, None, one_base),
    ]
    for name, samples, budget, base in table:
        p50, p95 = statistics.median(samples), percentile(samples, 95)
        budget_text = f"≤{budget:g}" if budget else "-"
        ratio = f"{p95 / base:12.1f}x" if base else f"{'-':>13}"
        flag = "" if budget is None or p95 <= budget else "  OVER BUDGET"
        print(f"{name:52} {p50:9.3f} {p95:9.3f} {budget_text:>8} {ratio}{flag}")
    print()
    print(f"{'throughput':52} {'rows/s':>9} {'vs baseline':>13}")
    print(f"{'read the CSV with csv.DictReader (baseline)':52} {read_rate:9.0f} {'-':>13}")
    print(f"{'batch CLI run(): read, check, predict, write':52} {batch_rate:9.0f} "
          f"{batch_rate / read_rate:12.3f}x   ({BATCH_ROWS} rows in {batch_seconds:.2f} s)")


if __name__ == "__main__":
    main()
