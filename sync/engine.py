"""The device's sync engine: enrolment, the device token, push and pull, backoff.

It lives next to the client it drives (`sync/client.py`) and works on the device's local
store (`desktop/store/`); the central server (`sync/server/`) never imports it.

The engine works on its own `Registry` connection, so the window can run it on a worker
thread while the consultation goes on. It pushes the outbox in batches (each batch's
state is written before and after the request: see `desktop.store.outbox`), then pulls the
changes feed page by page with the cursor saved alongside each page. Failures stop the
run and leave everything in place for the next one.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import random
import secrets
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import keyring

from desktop.core.bundles import Bundle
from desktop.core.states import ServerResult
from desktop.store import outbox, remote_copies
from desktop.store.inclusions import Registry, utc_now
from sync import protocol
from sync.client import (
    AuthenticationFailed,
    ProtocolError,
    ServerClient,
    UpgradeRequired,
    make_session,
    short_error,
)
from sync.client import SyncError as SyncError  # re-exported: the operations import no client
from sync.client import normalise_server_url as normalise_server_url  # re-exported, as above

KEYRING_SERVICE = "Bundelassistent"
PUSH_BATCH = 500
MAX_PAGES_PER_SYNC = 200  # 200 × 500 changes; the rest comes with the next run
SERVER_BUNDLES_FOLDER = "bundles-from-server"
log = logging.getLogger("bundelassistent.sync")

log = logging.getLogger(__name__)


class NotEnrolled(SyncError):
    pass


# -- enrolment and the device token -------------------------------------------------------
class KeyringUnavailable(NotEnrolled):
    pass


def _keyring_user(server_url: str) -> str:
    return f"device-token {server_url}"


def save_token(server_url: str, device_id: str, token: str) -> None:
    keyring.set_password(KEYRING_SERVICE, _keyring_user(server_url),
                         json.dumps({"device_id": device_id, "token": token}))


def load_token(server_url: str) -> str | None:
    try:
        stored = keyring.get_password(KEYRING_SERVICE, _keyring_user(server_url))
    except keyring.errors.KeyringError as error:
        raise NotEnrolled(f"sleutelbos niet bruikbaar ({error}); vraag IT om hulp") from None
    if not stored:
        return None
    try:
        token = json.loads(stored)["token"]
    except (ValueError, KeyError, TypeError):
        return None
    return token if isinstance(token, str) else None  # a damaged entry reads as not enrolled, like bad JSON


def check_keyring() -> None:
    """Write, read back and delete a probe entry; KeyringUnavailable says why not."""
    probe_user, probe = "probe", secrets.token_urlsafe(16)
    try:
        keyring.set_password(KEYRING_SERVICE, probe_user, probe)
        read_back = keyring.get_password(KEYRING_SERVICE, probe_user)
        keyring.delete_password(KEYRING_SERVICE, probe_user)
    except Exception as error:  # every backend has its own errors (D-Bus, Windows, files)
        raise KeyringUnavailable(f"de sleutelbos van het systeem werkt niet ({type(error).__name__}: "
                                 f"{short_error(error)})") from None
    if read_back != probe:
        raise KeyringUnavailable("de sleutelbos van het systeem gaf een andere waarde terug")


def configured_server(registry: Registry, setting: str | None) -> str | None:
    """The server from the configuration, else the one this device enrolled with."""
    url = setting or registry.meta("server_url")
    return normalise_server_url(url) if url else None


def enroll(registry: Registry, client: ServerClient, code: str, location: str | None) -> protocol.EnrollResponse:
    """Enrol with a one-time code; the token goes to the keyring, the server to the database.

    The code is spent only when the keyring works (checked first). Should storing the
    token still fail, the device's retry key lets the same code enrol this device again
    for ENROLL_RETRY_MINUTES (the server then replaces the lost token).
    """
    try:
        check_keyring()
    except KeyringUnavailable as error:
        raise KeyringUnavailable(f"{error}; de koppelcode is niet gebruikt en blijft geldig — laat IT de "
                                 "sleutelbos herstellen en probeer het opnieuw") from None
    name = registry.meta("device_name") or socket.gethostname()
    retry_key = registry.meta("enroll_retry_key")
    if not retry_key:
        retry_key = secrets.token_urlsafe(32)
        registry.set_meta({"enroll_retry_key": retry_key})
    answer = client.enroll(code, name, location, retry_key)
    try:
        save_token(client.base_url, answer.device_id, answer.token)
    except Exception as error:  # the backend's own error type
        raise KeyringUnavailable(
            f"de server heeft dit apparaat aangemeld, maar het token kon niet in de sleutelbos worden bewaard "
            f"({type(error).__name__}: {short_error(error)}); dezelfde koppelcode werkt nog "
            f"{protocol.ENROLL_RETRY_MINUTES} minuten voor dit apparaat — herstel de sleutelbos en voer dezelfde "
            "opdracht opnieuw uit") from None
    registry.set_meta({"server_url": client.base_url, "server_device_id": answer.device_id,
                       "sync_cursor": "0", "auth_problem": None})
    registry.audit("enroll", None, answer.device_id, "device", {"server": client.base_url})
    deposit_key_after_enrolment(registry, client, answer.token)
    return answer


def deposit_key_after_enrolment(registry: Registry, client: ServerClient, token: str) -> None:
    """Enrolled all the same if this fails: the next sync deposits the key."""
    client.token = token
    try:
        deposit_key(registry, client)
    except SyncError:
        pass


def deposit_key(registry: Registry, client: ServerClient) -> bool:
    """Give the server this register's key once per key and server; True if sent now.

    Without it a lost keyring would lose every record not yet synced. Devices enrolled
    before keys were deposited do it at their next sync.
    """
    from desktop.store import keys

    entry = keys.load(registry.path)
    if entry is None:
        return False
    receipt_name = f"{client.base_url} {hashlib.sha256(bytes.fromhex(entry.key)).hexdigest()[:16]}"
    if registry.meta("key_deposited") == receipt_name:
        return False
    client.deposit_key(entry.key)
    registry.set_meta({"key_deposited": receipt_name})
    registry.audit("key_deposit", None, None, "database", {"server": client.base_url})
    return True


# -- one sync run -------------------------------------------------------------------------
@dataclass
class SyncSummary:
    pushed: int = 0
    results: dict[str, int] = field(default_factory=dict)
    pulled: int = 0
    pending: int = 0
    error: str | None = None
    auth_failed: bool = False
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (inclusion id, reason)

    @property
    def ok(self) -> bool:
        return self.error is None and not self.rejected

    def text(self) -> str:
        counts = ", ".join(f"{name} {count}" for name, count in sorted(self.results.items())) or "niets"
        lines = [f"verstuurd: {self.pushed} ({counts})", f"opgehaald: {self.pulled} wijziging(en)",
                 f"nog te versturen: {self.pending}"]
        lines += [f"geweigerd: {inclusion_id}: {reason}" for inclusion_id, reason in self.rejected]
        if self.error:
            lines.append(f"fout: {self.error}")
        return "\n".join(lines)


UNANSWERED = "geen antwoord van de server voor deze inclusie; volgende keer opnieuw"


def match_answers(records: list[dict[str, Any]], results: list[protocol.PushResult]) -> dict[str, outbox.ServerAnswer]:
    """The server's answer per pushed record (its newest revision in the batch), matched by
    id and revision, never by position.

    A record without a matching answer stays unsent; answers for records that were not
    sent (or for another revision) are ignored and only counted in the log.
    """
    newest = outbox.newest_revisions(records)
    pushed = {(record["id"], record["revision"]) for record in records}
    answers: dict[str, outbox.ServerAnswer] = {}
    ignored = 0
    for result in results:
        record_id = str(result.id)
        already_answered = record_id in answers and result.revision == newest[record_id]
        if (record_id, result.revision) not in pushed or already_answered:
            ignored += 1
            continue
        if result.revision == newest[record_id]:  # older revisions in the batch lead up to it
            answers[record_id] = _answer(result)
    if ignored:
        log.warning("server gaf %d antwoord(en) voor inclusies die niet zo verstuurd waren; genegeerd", ignored)
    return answers


def _answer(result: protocol.PushResult) -> outbox.ServerAnswer:
    duplicate = result.duplicate_of
    return outbox.ServerAnswer(
        result=ServerResult(result.result), reason=result.reason, code=result.code,
        duplicate_of=str(duplicate.id) if duplicate else None,
        duplicate_date=duplicate.inclusion_date.isoformat() if duplicate else None,
        duplicate_location=duplicate.location if duplicate else None)


def episode_side(record: dict[str, Any], bundles: dict[str, Bundle]) -> str | None:
    bundle = bundles.get(record["bundle"])
    keyed_by_side = bundle is None or "side" in bundle.episode_key  # unknown bundle: keep the side
    return record.get("side") if keyed_by_side else None


def wire_record(record: dict[str, Any], bundles: dict[str, Bundle], device_id: str | None = None) -> dict[str, Any]:
    """A local inclusion row as the record this device pushes.

    The server knows this device by the id it gave at enrolment (`device_id`) and
    accepts no other, so that id replaces the locally made one.
    """
    wire = protocol.record_from_row({**record, "state": outbox.wire_state(record),
                                     "episode_side": episode_side(record, bundles)})
    wire = {key: None if value == "" else value for key, value in wire.items()}
    wire["user"] = wire.get("user") or "onbekend"
    wire["device_id"] = device_id or wire.get("device_id")
    return wire


class SyncEngine:
    def __init__(self, registry: Registry, client: ServerClient, bundles: dict[str, Bundle],
                 bundles_folder: Path | None = None):
        self.registry = registry
        self.client = client
        self.bundles = bundles
        self.bundles_folder = bundles_folder

    def run_once(self) -> SyncSummary:
        summary = SyncSummary()
        try:
            self._deposit_key()
            self._push(summary)
            self._pull(summary)
            self.registry.set_meta({"last_sync_at": utc_now(), "last_sync_error": None, "auth_problem": None,
                                    "upgrade_problem": None})
        except UpgradeRequired as error:  # retried as usual: the server may be upgraded meanwhile
            summary.error = str(error)
            self.registry.set_meta({"last_sync_error": str(error), "upgrade_problem": str(error)})
        except AuthenticationFailed as error:
            summary.error, summary.auth_failed = str(error), True
            self.registry.set_meta({"last_sync_error": str(error), "auth_problem": str(error)})
        except SyncError as error:
            summary.error = str(error)
            self.registry.set_meta({"last_sync_error": str(error)})
        summary.pending = self.registry.pending_count()
        return summary

    def _deposit_key(self) -> None:
        """A server that cannot take the key now (or an older one) must not hold up the records."""
        try:
            deposit_key(self.registry, self.client)
        except AuthenticationFailed:
            raise
        except SyncError as error:
            log.warning("databasesleutel niet afgegeven, volgende keer opnieuw: %s", error)

    def _push(self, summary: SyncSummary) -> None:
        while batch := outbox.next_batch(self.registry, PUSH_BATCH):
            device_id = self.registry.meta("server_device_id")
            wire = [wire_record(record, self.bundles, device_id) for record in batch.records]
            outbox.mark_sending(self.registry, batch)
            try:
                results = self.client.push(wire)
            except SyncError as error:
                outbox.mark_unsent(self.registry, batch, str(error))
                raise
            answers = match_answers(batch.records, results)
            outbox.apply_answers(self.registry, batch, answers, self.client.base_url, UNANSWERED)
            summary.pushed += len(answers)
            for record_id, answer in answers.items():
                summary.results[answer.result] = summary.results.get(answer.result, 0) + 1
                if answer.result == ServerResult.REJECTED:
                    summary.rejected.append((record_id, answer.reason or ""))
            unanswered = len({record["id"] for record in batch.records}) - len(answers)
            if unanswered:  # the same records would come back in the next batch: stop here
                raise ProtocolError(f"de server gaf geen antwoord voor {unanswered} inclusie(s); die blijven in "
                                    "de wachtrij voor de volgende synchronisatie")

    def _pull(self, summary: SyncSummary) -> None:
        cursor = int(self.registry.meta("sync_cursor") or 0)
        for _ in range(MAX_PAGES_PER_SYNC):
            page = self.client.changes(cursor)
            if page.next_cursor < cursor or (page.more and page.next_cursor == cursor):
                raise ProtocolError(f"de server gaf een pagina zonder voortgang (cursor {cursor} → "
                                    f"{page.next_cursor}); ophalen gestopt — meld dit aan IT")
            inclusions = [change.inclusion.model_dump(mode="json") for change in page.changes
                          if change.kind == "inclusion" and change.inclusion]
            coverage = [change.coverage.model_dump(mode="json") for change in page.changes
                        if change.kind == "coverage" and change.coverage]
            for change in page.changes:
                if change.kind == "bundle" and change.bundle:
                    self._save_bundle(change.bundle)
            remote_copies.store_changes(self.registry, inclusions, coverage, page.next_cursor)
            summary.pulled += len(page.changes)
            cursor = page.next_cursor
            if not page.more:
                return

    def _save_bundle(self, definition: protocol.BundleDefinition) -> None:
        """Write a pulled bundle definition atomically; the loader validates it like any file."""
        if self.bundles_folder is None:
            return
        safe_id = "".join(c for c in definition.id if c.isalnum() or c in "-_") or "bundle"
        self.bundles_folder.mkdir(parents=True, exist_ok=True)
        target = self.bundles_folder / f"{safe_id}.toml"
        partial = target.with_suffix(".toml.part")
        partial.write_text(definition.toml, encoding="utf-8")
        partial.replace(target)


def make_client(server_url: str, token: str | None, proxy: str | None,
                ca_bundle: str | os.PathLike[str] | None) -> ServerClient:
    return ServerClient(server_url, token, session=make_session(proxy, ca_bundle))


# -- when to try again --------------------------------------------------------------------
@dataclass
class Backoff:
    """Capped exponential backoff with jitter; a success resets it to the normal interval."""

    interval: float = 60.0
    first_retry: float = 5.0
    cap: float = 300.0
    failures: int = 0

    def next_delay(self, succeeded: bool, rng: random.Random | None = None) -> float:
        if succeeded:
            self.failures = 0
            return self.interval
        self.failures += 1
        delay = min(self.cap, self.first_retry * 2.0 ** (self.failures - 1))
        return delay * (0.8 + 0.4 * (rng.random() if rng else random.random()))

