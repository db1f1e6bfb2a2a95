"""The worklist's rows: what an assistant needs to find a patient and act on an inclusion.

The window shows these rows and filters them as the user types; the rules for what a
row says (bundle and condition names from the bundle definitions, a server's refusal in
plain words with the next step) and for what a search matches live here, without Qt, so
they are tested and benchmarked on their own. Every loaded list is an audited view.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from desktop.core.bundles import Bundle, Text
from desktop.core.identifiers import mask_bsn
from desktop.core.labels import FIELD_LABELS
from desktop.core.messages import Msg, Translatable, msg, text
from desktop.core.states import PROBLEM_STATES, RecordState, ServerResult
from desktop.operations.services import Services
from desktop.store.outbox import REJECTION_KEYS

KINDS = ("today", "unsent", "problems", "all")
BSN_DIGITS_SHOWN = 4  # with name and birth date enough to tell two patients apart (see README, Worklist)

# Shortcut names the advice refers to; the window binds the same keys (desktop/ui/worklist.py).
WITHDRAW_KEYS = "Ctrl+Shift+I"
CORRECT_KEYS = "F2"

# Fields a refusal names ("record 3: side: …") that the worklist can correct; it names every field by its label.
CORRECTABLE = ("side", "clinician_agb", "location", "explained_by", "name")

_FIELD_REFUSAL = re.compile(r"^record \d+: *([A-Za-z_]+)[^:]*: *(.*)$", re.DOTALL)
_DUPLICATE = re.compile(r"^al geïncludeerd vanaf (\d{4}-\d{2}-\d{2})(?: \((.*)\))?$", re.DOTALL)


@dataclass(frozen=True)
class Entry:
    """One inclusion as a worklist row; `bsn` is for searching, the screen shows `bsn_shown`."""

    id: str
    inclusion_date: str  # ISO, so it sorts as a date
    birth_date: str      # ISO or ""
    name: str
    bsn: str
    side: str | None
    explained_by: str
    bundle: Text
    condition: Text
    state: RecordState
    pending: bool
    message: Translatable | None
    problem: bool
    name_key: str
    digits_key: str

    @property
    def bsn_shown(self) -> str:
        return mask(self.bsn)


def mask(bsn: str | None) -> str:
    """All but the last four digits hidden: the list shows many patients on a screen others can see."""
    return mask_bsn(bsn, BSN_DIGITS_SHOWN)


def day_text(iso: str | None) -> str:
    """dd-mm-jjjj, as everywhere on screen; what cannot be read stays as it is."""
    try:
        return dt.date.fromisoformat(iso or "").strftime("%d-%m-%Y")
    except ValueError:
        return iso or ""


# Letters Unicode does not decompose into a plain letter and an accent, as a Dutch keyboard types them.
_UNDECOMPOSED = str.maketrans({"ł": "l", "ø": "o", "đ": "d", "ħ": "h", "ŧ": "t", "æ": "ae", "œ": "oe", "ı": "i"})


def fold(text: str | None) -> str:
    """Lower case without accents, so 'Muller' finds 'Müller', 'een' finds 'Eén' and 'Yildiz' finds 'Yıldız'."""
    decomposed = unicodedata.normalize("NFKD", (text or "").casefold())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return plain.casefold().translate(_UNDECOMPOSED)


def load(services: Services, kind: str, today: dt.date, audit: bool = True) -> list[Entry]:
    """The rows of one filter, newest first.

    Showing them is an audited view (the filter and the count, no BSN); a reload nobody
    sees (after a background sync, with the list hidden) is not, or the log would fill
    with a row a minute.
    """
    registry = services.registry
    records = registry.worklist(kind if kind in KINDS else "all", today)
    if audit:
        registry.audit("read", None, None, "worklist", {"filter": kind, "rows": len(records)})
    pending = registry.pending_ids()
    bundles = services.bundles.bundles
    return [entry(record, bundles.get(record["bundle"]), record["id"] in pending) for record in records]


def entry(record: dict, bundle: Bundle | None, pending: bool) -> Entry:
    """A stored record as a row: names from its bundle definition (the id when that is gone)."""
    condition = bundle.find_condition(record["condition"]) if bundle else None
    state = RecordState(record["state"])
    birth = record.get("birth_date") or ""
    return Entry(
        id=record["id"], inclusion_date=record["inclusion_date"], birth_date=birth, name=record.get("name") or "",
        bsn=record["bsn"], side=record.get("side"), explained_by=record.get("explained_by") or "",
        bundle=bundle.name if bundle else Text(record["bundle"], record["bundle"]),
        condition=condition.label if condition else Text(record["condition"] or "", record["condition"] or ""),
        state=state, pending=pending, message=message(record),
        problem=state in PROBLEM_STATES or record.get("server_result") == ServerResult.REJECTED,
        name_key=fold(record.get("name")), digits_key=f"{record['bsn']}|{_day_digits(birth)}",
    )


def _day_digits(iso: str) -> str:
    """'1971-06-02' as '02061971', the digits of dd-mm-jjjj, so a typed birth date matches."""
    return iso[8:10] + iso[5:7] + iso[0:4] if len(iso) == 10 else ""


def message(record: dict) -> Translatable | None:
    """What the server said, or why it was withdrawn, in plain words with what to do next."""
    said = record.get("server_message")
    if said:
        return server_words(said)
    if record.get("withdrawal_reason"):
        return msg("operations.worklist.withdrawn", reason=record["withdrawal_reason"])
    return None


def server_words(said: str) -> Msg:
    """The server's answer (Dutch, as stored) as the worklist shows it, with the next step."""
    keys = {"correct_keys": CORRECT_KEYS, "withdraw_keys": WITHDRAW_KEYS}
    duplicate = _DUPLICATE.match(said)
    if duplicate:
        since, where = day_text(duplicate.group(1)), duplicate.group(2)
        if where:
            return msg("operations.worklist.duplicate_at", since=since, where=where, **keys)
        return msg("operations.worklist.duplicate", since=since, **keys)
    for key in REJECTION_KEYS.values():
        if said[:1].upper() + said[1:] == text(key, "nl"):  # stored in lower case before the catalogue
            return msg(key)
    refusal = _FIELD_REFUSAL.match(said)
    if refusal and refusal.group(1) in FIELD_LABELS:
        field, problem = refusal.group(1), refusal.group(2).strip()
        label = FIELD_LABELS[field]
        if field in CORRECTABLE:
            return msg("operations.worklist.field_correctable", field=label, problem=problem, **keys)
        return msg("operations.worklist.field_not_correctable", field=label, problem=problem, **keys)
    return msg("operations.worklist.rejected", said=said, **keys)


def matcher(query: str):
    """A test for one typed search: digits (with - . / or spaces) look in BSN and birth date, words in the name.

    A birth date may be typed as dd-mm-jjjj, d-m-jjjj or only its digits (02061971).
    """
    text = query.strip()
    if not text:
        return lambda entry: True
    if re.fullmatch(r"[\d\s./-]+", text):
        parts = re.split(r"[\s./-]+", text)
        if len(parts) == 3 and all(parts) and len(parts[2]) == 4:
            digits = parts[0].zfill(2) + parts[1].zfill(2) + parts[2]  # d-m-jjjj
        else:
            digits = "".join(parts)
        return lambda entry: digits in entry.digits_key
    words = fold(text).split()
    return lambda entry: all(word in entry.name_key for word in words)


def search(entries: Sequence[Entry], query: str) -> list[int]:
    """Positions of the entries that match, in order."""
    test = matcher(query)
    return [index for index, entry in enumerate(entries) if test(entry)]
