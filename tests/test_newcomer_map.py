"""A newcomer finds the code by file name alone (issue 12): each question below names the
file that answers it and the code in it. Move that code away and this test fails, so the
map and the folders cannot drift apart.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

WHERE = {
    # the age rule itself, and the bundle definition that sets its lower bound to 18
    "a patient under 18 is refused": [("desktop/core/eligibility.py", r"def _age\("),
                                      ("desktop/core/eligibility.py", r'"age": _age'),
                                      ("resources/bundles/hand-wrist.toml", r"(?m)^min = 18$")],
    # the timer and the backoff: when to sync, and when to try again
    "the window decides to sync": [("desktop/ui/sync_controller.py", r"class SyncController\("),
                                   ("desktop/ui/sync_controller.py", r"def sync_now\("),
                                   ("desktop/ui/sync_controller.py", r"self\.backoff")],
    # the 10th and 90th percentile of each predicted score
    "the 80 % range is computed": [("predictors/linear.py", r"Z10, Z90 = -1\.28"),
                                   ("predictors/linear.py", r"def quantile\("),
                                   ("predictors/model.py", r"p10 = .*quantile\(.*Z10"),
                                   ("predictors/model.py", r"p90 = .*quantile\(.*Z90")],
    # the server's own check that a patient is not included twice in one bundle period
    "the server detects duplicates": [("sync/server/duplicates.py", r"def duplicate_of\("),
                                      ("sync/server/inclusions.py", r"duplicates\.duplicate_of\(")],
    # the device's schema: the numbered migrations, and the registry that applies them on open
    "the device's database gets a new table": [("desktop/store/migrations.py", r"MIGRATIONS: list\["),
                                                ("desktop/store/migrations.py", r"def migrate\("),
                                                ("desktop/store/inclusions.py", r"migrations\.migrate\(self\.db\)")],
    "the PDF is made": [("desktop/ui/handout_pdf.py", r"def save_pdf\("),
                        ("desktop/ui/handout_pdf.py", r"QPrinter\.OutputFormat\.PdfFormat"),
                        ("desktop/ui/steps/explanation.py", r"handout_pdf\.save_pdf\(")],
}


@pytest.mark.parametrize("question", WHERE)
def test_the_file_named_for_it_holds_the_code(question):
    for path, code in WHERE[question]:
        file = ROOT / path
        assert file.is_file(), f"{question}: {path} is gone; update the README layout table and this map"
        assert re.search(code, file.read_text(encoding="utf-8")), f"{question}: {path} no longer has {code!r}"
