"""The outbox in the local database: what to push, and what the server said about it.

What the server sends back (other devices' records, insurer coverage) is in `remote_copies`.

An outbox row moves pending → sending (written *before* the request) → done (written
only *after* the server answered for it), or back to pending with the error when no
answer came. A row a crash left in 'sending' is simply sent again: the server's push is
idempotent, so a resumed sync can never create a second copy. Nothing is deleted, ever.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from desktop.core.messages import text
from desktop.core.states import SENDABLE, OutboxState, RecordState, ServerResult
from desktop.store.inclusions import Registry, utc_now


@dataclass(frozen=True)
class Outgoing:
    """The current revision of some inclusions and the outbox rows it settles."""

    records: list[dict[str, Any]]
    seqs: list[int]

    def __bool__(self) -> bool:
        return bool(self.records)


@dataclass(frozen=True)
class ServerAnswer:
    """What the server said about one pushed record (a `protocol.PushResult`, unpacked)."""

    result: ServerResult
    duplicate_of: str | None = None
    duplicate_date: str | None = None
    duplicate_location: str | None = None
    reason: str | None = None
    code: str | None = None


# What the worklist says for a rejection whose cause is not in the record itself; stored in Dutch.
REJECTION_KEYS = {
    "not_owner": "operations.rejection.not_owner",
    "device_mismatch": "operations.rejection.device_mismatch",
    "revision_gap": "operations.rejection.revision_gap",
}


def next_batch(registry: Registry, limit: int) -> Outgoing:
    """Up to `limit` unconfirmed revisions, oldest change first.

    Every unconfirmed revision of an inclusion goes, in order (older ones from its
    history): the server takes only the revision after the one it has.
    """
    ids = [row[0] for row in registry.db.execute(
        "SELECT inclusion_id FROM outbox WHERE state IN (?, ?) GROUP BY inclusion_id ORDER BY min(seq) LIMIT ?",
        [*SENDABLE, limit])]
    if not ids:
        return Outgoing([], [])
    marks = ",".join("?" * len(ids))
    by_id = {row["id"]: row for row in registry.db.table("inclusions").rows_where(f"id IN ({marks})", ids)}
    pending: dict[str, list[tuple[int, int]]] = {}
    for seq, inclusion_id, revision in registry.db.execute(
            f"SELECT seq, inclusion_id, revision FROM outbox WHERE state IN (?, ?) AND inclusion_id IN ({marks}) "
            "ORDER BY seq", [*SENDABLE, *ids]):
        pending.setdefault(inclusion_id, []).append((seq, revision))
    records: list[dict[str, Any]] = []
    seqs: list[int] = []
    for inclusion_id in ids:
        current = by_id[inclusion_id]
        older = sorted({revision for _, revision in pending[inclusion_id] if revision < current["revision"]})
        from_history = [_revision_from_history(registry, inclusion_id, revision) for revision in older]
        revisions = [record for record in from_history if record is not None] + [current]
        if records and len(records) + len(revisions) > limit:
            break
        records += revisions
        seqs += [seq for seq, _ in pending[inclusion_id]]
    return Outgoing(records, seqs)


def _revision_from_history(registry: Registry, inclusion_id: str, revision: int) -> dict[str, Any] | None:
    row = registry.db.execute("SELECT record FROM inclusion_history WHERE inclusion_id = ? AND revision = ? "
                              "ORDER BY seq DESC LIMIT 1", [inclusion_id, revision]).fetchone()
    return json.loads(row[0]) if row else None


def _set_outbox_state(registry: Registry, seqs: list[int], sql_set: str, params: list[Any]) -> None:
    for start in range(0, len(seqs), 500):  # SQLite's host-parameter limit
        chunk = seqs[start:start + 500]
        registry.db.execute(f"UPDATE outbox SET {sql_set} WHERE seq IN ({','.join('?' * len(chunk))})",
                            [*params, *chunk])


def mark_sending(registry: Registry, batch: Outgoing) -> None:
    registry.write(lambda: _set_outbox_state(
        registry, batch.seqs, "state = ?, attempts = attempts + 1, updated_at = ?", [OutboxState.SENDING, utc_now()]))


def mark_unsent(registry: Registry, batch: Outgoing, error: str) -> None:
    """No answer came: the rows go back to pending with the reason, ready for a retry."""
    registry.write(lambda: _set_outbox_state(
        registry, batch.seqs, "state = ?, last_error = ?, updated_at = ?", [OutboxState.PENDING, error, utc_now()]))


def newest_revisions(records: list[dict[str, Any]]) -> dict[str, int]:
    """The newest revision per inclusion in a batch (older ones are sent ahead of it)."""
    newest: dict[str, int] = {}
    for record in records:
        newest[record["id"]] = max(newest.get(record["id"], 0), record["revision"])
    return newest


def apply_answers(registry: Registry, batch: Outgoing, answers: dict[str, ServerAnswer], server: str,
                  unanswered: str) -> None:
    """Settle the outbox and the records with the server's answers (by id), in one transaction.

    Only the revision that was pushed is settled: if the user withdrew or corrected the
    record while the request was under way, the newer revision stays pending. A record
    the server did not answer for goes back to pending with `unanswered` as its error.
    """
    now = utc_now()

    newest = newest_revisions(batch.records)

    def work() -> None:
        for record in batch.records:
            if record["revision"] != newest[record["id"]]:
                continue  # an older revision sent ahead of the newest: settled with it
            answer = answers.get(record["id"])
            if answer is None:
                registry.db.execute(
                    "UPDATE outbox SET state = ?, last_error = ?, updated_at = ? WHERE inclusion_id = ? AND state = ?",
                    [OutboxState.PENDING, unanswered, now, record["id"], OutboxState.SENDING])
                continue
            pushed = record["revision"]
            registry.db.execute(
                "UPDATE outbox SET state = ?, last_error = ?, updated_at = ? "
                "WHERE inclusion_id = ? AND revision <= ? AND state != ?",
                [OutboxState.DONE, answer.reason if answer.result == ServerResult.REJECTED else None, now,
                 record["id"], pushed, OutboxState.DONE])
            current = registry.db.execute("SELECT revision, state FROM inclusions WHERE id = ?",
                                          [record["id"]]).fetchone()
            if current and current[0] == pushed:
                registry.db.table("inclusions").update(record["id"], _record_changes(current[1], answer, now))
            registry.audit_within("sync", record["bsn"], record["id"], details={
                "server": server, "revision": pushed, "result": answer.result})

    registry.write(work)


def _record_changes(state: str, answer: ServerAnswer, now: str) -> dict[str, Any]:
    result = ServerResult(answer.result)
    changes: dict[str, Any] = {"server_result": result, "synced_at": now,
                               "server_message": None, "duplicate_of": None}
    if result == ServerResult.DUPLICATE:
        changes["duplicate_of"] = answer.duplicate_of
        where = f" ({answer.duplicate_location})" if answer.duplicate_location else ""
        changes["server_message"] = f"al geïncludeerd vanaf {answer.duplicate_date}{where}"
    elif result == ServerResult.REJECTED:
        known = REJECTION_KEYS.get(answer.code or "")
        changes["server_message"] = (text(known, "nl") if known else answer.reason) or text(
            "operations.rejection.unexplained", "nl")
    changes["state"] = RecordState.WITHDRAWN if state == RecordState.WITHDRAWN else result.record_state
    return changes


def wire_state(record: dict[str, Any]) -> RecordState:
    """Locally a record can be synced, duplicate, …; on the wire it is registered or withdrawn."""
    return RecordState(record["state"]).on_wire
