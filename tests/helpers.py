"""Builders for test inputs: valid BSNs and inclusion lines as a consultation would give."""

import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CLI = [sys.executable, "-m", "desktop"]  # the desktop command line, as a user runs it


def valid_bsns(count: int, start: int = 100000000):
    """The first `count` 9-digit numbers from `start` that pass the 11-proef."""
    found, number = [], start
    weights = [9, 8, 7, 6, 5, 4, 3, 2, -1]
    while len(found) < count:
        digits = f"{number:09d}"
        if sum(int(d) * w for d, w in zip(digits, weights)) % 11 == 0:
            found.append(digits)
        number += 1
    return found


def inclusion(bsn: str, **changes) -> dict:
    line = {
        "bundle": "hand-wrist", "inclusion_date": "2025-03-14", "birth_date": "1971-06-02",
        "diagnosis": "G56.0", "side": "R", "insurer_uzovi": "3311", "facts": {},
        "previous_inclusions": [], "bsn": bsn, "name": "J. Jansen", "clinician_agb": "01234567",
        "location": "Utrecht", "explained_by": "SUO Bakker", "agreed": True,
    }
    line.update(changes)
    return line


def jsonl(lines) -> str:
    return "".join(json.dumps(line) + "\n" for line in lines)


def open_register(path):
    """A plain connection to an (encrypted) register file, keyed from the keyring as the app does."""
    from desktop.store import keys
    from desktop.store.database import raw_connect

    return raw_connect(Path(path), keys.load(Path(path)))


def bundles_with_contract_end(folder: Path, end) -> Path:
    """A copy of the shipped bundles whose hand-wrist contract ends on `end` (test data only).

    Tests that must not depend on today's date lying inside the shipped contract window
    use this, with `end` relative to today; the shipped file itself is never changed.
    """
    import shutil

    import resources

    shutil.copytree(resources.path("bundles"), folder)
    source = folder / "hand-wrist.toml"
    text = source.read_text(encoding="utf-8")
    assert "end = 2026-12-31" in text, "the shipped contract end moved: update this helper"
    source.write_text(text.replace("end = 2026-12-31", f"end = {end.isoformat()}"), encoding="utf-8")
    return folder


def worklist_records(count: int, today) -> list[dict]:
    """`count` stored-record-shaped inclusions with varied names, birth and inclusion dates (worklist tests, bench)."""
    import datetime as dt

    first = ("Jan", "Maria", "Piet", "Fatima", "Anouk", "Mohamed", "Sanne", "Daan")
    last = ("Jansen", "de Vries", "Bakker", "Yılmaz", "van Dijk", "Müller", "El Amrani", "Visser")
    return [{**inclusion(bsn, name=f"{first[i % 8]} {last[(i // 8) % 8]} {i}",
                         birth_date=f"{1930 + i % 70}-{1 + i % 12:02d}-{1 + i % 28:02d}",
                         inclusion_date=(today - dt.timedelta(days=i % 400)).isoformat()),
             "id": f"id-{i}", "state": "registered", "condition": "CTS", "withdrawal_reason": None,
             "server_message": None, "server_result": None} for i, bsn in enumerate(valid_bsns(count))]


def save_in_window(window, treatment: str = "surgery", agb: str = "01234567"):
    """The inclusion step as the surgeon completes it: first treatment, AGB, consent, save."""
    window.go_to(4)
    inclusion = window.steps[4]
    inclusion.treatment.setCurrentIndex(inclusion.treatment.findData(treatment))
    inclusion.agb.setText(agb)
    inclusion.agreed.setChecked(True)
    inclusion.save()
    return inclusion
