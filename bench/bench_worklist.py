"""Filtering the worklist of 10,000 inclusions as the user types, against a plain Python filter.

Budget (issue 13): a search over 10,000 records within 100 ms, including resetting the
table model the window shows (`desktop/ui/worklist.WorklistModel`). The
baseline, measured in the same run on the same rows, is a bare list comprehension testing
the name, BSN and birth date of each stored record, the least any search must do.
"""

from __future__ import annotations

import datetime as dt
import os
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import resources
from desktop.bundle_files import load_bundles
from desktop.operations import worklist as rows
from helpers import worklist_records
from timing import percentile, timed

COUNT = 10_000
ROUNDS = 30
BUDGET_MS = 100
QUERIES = ("jansen", "maria van", "1000", "02-06-1971", "23111985", "")


def main() -> None:
    from PySide6.QtCore import QCoreApplication, Qt

    from desktop.ui.worklist import WorklistModel

    _app = QCoreApplication.instance() or QCoreApplication([])
    today = dt.date.today()
    bundle = load_bundles(resources.path("bundles")).bundles["hand-wrist"]
    records = worklist_records(COUNT, today)
    model = WorklistModel()
    model.set_entries([rows.entry(record, bundle, pending=False) for record in records])
    model.sort(2, Qt.SortOrder.AscendingOrder)

    def baseline(index: int) -> None:
        typed = QUERIES[index % len(QUERIES)].casefold()
        _ = [r for r in records if typed in r["name"].casefold() or typed in r["bsn"] or typed in r["birth_date"]]

    def search(index: int) -> None:
        model.set_query(QUERIES[index % len(QUERIES)])

    def sort(index: int) -> None:  # a click on a column header, for comparison
        model.sort(index % 3, Qt.SortOrder.AscendingOrder if index % 2 else Qt.SortOrder.DescendingOrder)

    base = timed(baseline, ROUNDS * len(QUERIES))
    ours = timed(search, ROUNDS * len(QUERIES))
    model.set_query("")
    sorting = timed(sort, ROUNDS)
    base_p95, p95 = percentile(base, 95), percentile(ours, 95)
    print(f"{COUNT} records, queries {', '.join(repr(q) for q in QUERIES)}")
    print(f"{'measure':40} {'p50 ms':>8} {'p95 ms':>8} {'budget':>8} {'p95/baseline':>13}")
    print(f"{'plain Python filter (baseline)':40} {statistics.median(base):8.2f} {base_p95:8.2f} {'':>8} {1:12.2f}x")
    flag = "" if p95 <= BUDGET_MS else "  OVER BUDGET"
    print(f"{'worklist search (filter+model reset)':40} {statistics.median(ours):8.2f} {p95:8.2f} "
          f"{BUDGET_MS:>6}ms {p95 / base_p95:12.2f}x{flag}")
    print(f"{'sort all rows by a column':40} {statistics.median(sorting):8.2f} {percentile(sorting, 95):8.2f} "
          f"{'':>8} {percentile(sorting, 95) / base_p95:12.2f}x")


if __name__ == "__main__":
    main()
