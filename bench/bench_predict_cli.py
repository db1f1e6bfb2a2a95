"""`bundelassistent predict --json` as a process, against a `check-eligibility` process in the same run.

Budget (issue 14): the `predict --json` process takes at most 2× a `check-eligibility` process.

Both run as a user runs them (`python -m desktop …`, a new process each time) on the same
enrolled device register, against the real server process on 127.0.0.1 (SQLite) with the
patient's intake questionnaire imported: `predict` looks it up there (as at patient open),
imports the predictors, verifies and loads the models and predicts both options;
`check-eligibility` loads the bundles, opens the register and decides. They alternate, so a
busy machine slows both alike. Run:
    .venv/bin/python bench/bench_predict_cli.py [--rounds N]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "tests" / "sync")]

import intake_exports as fx  # noqa: E402
from helpers import CLI  # noqa: E402
from serverproc import ServerProcess  # noqa: E402
from timing import percentile  # noqa: E402

BSN, BORN = "111222333", "1971-06-02"
BUDGET = 2.0


def run(folder: Path, env: dict, *args: str) -> float:
    """One process, wall time in ms; it must succeed."""
    start = time.perf_counter()
    done = subprocess.run([*CLI, "--data-dir", str(folder / "device"), *args], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=120)
    elapsed = (time.perf_counter() - start) * 1000
    if done.returncode != 0:
        raise SystemExit(f"{args[0]} gaf {done.returncode}: {done.stderr}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        env = dict(os.environ, BUNDELASSISTENT_LOG_DIR=str(folder / "logs"))
        answers = fx.response("tok-1", fx.gems_reference("1001"), "2025-03-01T08:30:00+01:00", {
            "nrs_pain_0": 6, "work_status": ("office", "Kantoorwerk"), **fx.bctq("bctq_sss_q", [3] * 11)})
        export = fx.searchset(("match", answers), ("include", fx.patient("1001", BSN, BORN)))
        server = ServerProcess(f"sqlite:///{folder / 'server.sqlite3'}", folder, "sqlite", bundles=False)
        server.admin("import-intake", str(fx.write(folder / "intake.json", export)))
        server.start()
        try:
            run(folder, env, "enroll", "--server", server.url, "--code", server.enroll_code())
            case = {"bsn": BSN, "birth_date": BORN, "diagnosis": "G56.0", "side": "R", "inclusion_date": "2025-03-14",
                    "bundle": "hand-wrist", "insurer_uzovi": "3311"}
            eligibility, prediction = folder / "eligibility.json", folder / "predict.json"
            eligibility.write_text(json.dumps(case), encoding="utf-8")
            prediction.write_text(json.dumps({k: case[k] for k in ("bsn", "birth_date", "diagnosis", "side",
                                                                   "inclusion_date")} | {"intake": {"sex": "F"}}),
                                  encoding="utf-8")
            for _ in range(2):  # warm the file cache and the keyring for both
                run(folder, env, "check-eligibility", "--json", str(eligibility))
                run(folder, env, "predict", "--json", str(prediction))
            checks, predictions = [], []
            for _ in range(args.rounds):
                checks.append(run(folder, env, "check-eligibility", "--json", str(eligibility)))
                predictions.append(run(folder, env, "predict", "--json", str(prediction)))
        finally:
            server.stop()
    for name, samples in (("check-eligibility", checks), ("predict --json", predictions)):
        print(f"{name:18} p50 {statistics.median(samples):7.0f} ms   p95 {percentile(samples, 95):7.0f} ms   "
              f"({len(samples)} processes)")
    ratio = statistics.median(predictions) / statistics.median(checks)
    verdict = "within" if ratio <= BUDGET else "OVER"
    print(f"ratio (p50 predict / p50 check-eligibility): {ratio:.2f}  budget ≤ {BUDGET:g}  {verdict}")


if __name__ == "__main__":
    main()
