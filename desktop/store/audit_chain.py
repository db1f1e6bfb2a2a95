"""The local audit log as a hash chain: each row carries the hash of the row before it.

Triggers refuse UPDATE and DELETE, but whoever can write the file can drop them. The
chain makes that evident: a deleted, edited or inserted row no longer matches its
neighbours, and the head (last number and hash, kept in `meta`) shows rows cut off the
end. It cannot stop someone who recomputes the whole chain; the server's copy of what
was synced is the check on that. Pure functions only: the registry calls them inside
its write transaction, the self-test to verify.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

FIELDS = ("seq", "at", "user", "role", "acted_for", "patient_bsn", "action", "object_type", "object_id",
          "device_id", "system", "details")
GENESIS = "0" * 64  # the "previous hash" of the first row
HEAD_KEY = "audit_chain_head"  # meta key: "<seq> <hash>" of the newest row
TRIGGERS = {
    "audit_log_no_update": "BEFORE UPDATE ON audit_log",
    "audit_log_no_delete": "BEFORE DELETE ON audit_log",
}
MAX_LISTED = 5


def row_hash(previous: str, row: Mapping[str, Any]) -> str:
    """SHA-256 over the previous hash and a canonical encoding of the row's fields.

    JSON of the values in a fixed field order, ASCII-only, so the bytes do not depend on
    the platform, on dict order or on how SQLite hands back text.
    """
    canonical = json.dumps([previous, *(row[name] for name in FIELDS)], ensure_ascii=True,
                           separators=(",", ":"))
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


@dataclass(frozen=True)
class Head:
    seq: int
    hash: str

    def encode(self) -> str:
        return f"{self.seq} {self.hash}"

    @classmethod
    def decode(cls, text: str | None) -> Head | None:
        try:
            seq, digest = (text or "").split()
            return cls(int(seq), digest)
        except ValueError:
            return None


START = Head(0, GENESIS)


def verify(rows: Iterable[Mapping[str, Any]], head_text: str | None) -> list[str]:
    """Walk the rows in seq order; return what is wrong (Dutch), empty if the chain holds."""
    problems: list[str] = []
    last = START
    for row in rows:
        seq = row["seq"]
        if seq != last.seq + 1:
            gone = f"{last.seq + 1}" if seq == last.seq + 2 else f"{last.seq + 1}–{seq - 1}"
            problems.append(f"rij {gone} ontbreekt (verwijderd)" if seq > last.seq
                            else f"rij {seq} staat niet op zijn plaats")
        elif not row["row_hash"]:
            problems.append(f"rij {seq} heeft geen hash (buiten de app geschreven)")
        elif row_hash(last.hash, row) != row["row_hash"]:
            problems.append(f"rij {seq} is na het schrijven gewijzigd")
        last = Head(seq, row["row_hash"] or "")  # go on from what is there, to find every break
    head = Head.decode(head_text)
    if head is None:
        if last != START:
            problems.append("het laatste rijnummer en de laatste hash ontbreken (meta)")
    elif head.seq > last.seq:
        gone = f"{last.seq + 1}" if head.seq == last.seq + 1 else f"{last.seq + 1}–{head.seq}"
        problems.append(f"rij {gone} aan het eind ontbreekt (afgekapt)")
    elif head != last:
        problems.append(f"de laatste rij ({last.seq}) is niet de rij die de app het laatst schreef")
    if len(problems) > MAX_LISTED:
        problems = problems[:MAX_LISTED] + [f"en nog {len(problems) - MAX_LISTED} onderbreking(en)"]
    return problems


def trigger_problems(trigger_sql: Mapping[str, str]) -> list[str]:
    """The append-only triggers must exist and still refuse (their name alone proves nothing)."""
    problems = []
    for name, event in TRIGGERS.items():
        sql = " ".join((trigger_sql.get(name) or "").split()).upper()
        if not sql:
            problems.append(f"trigger {name} ontbreekt")
        elif event.upper() not in sql or "RAISE(ABORT" not in sql.replace(" ", ""):
            problems.append(f"trigger {name} is veranderd en weigert niet meer")
    return problems
