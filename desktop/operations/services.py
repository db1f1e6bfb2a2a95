"""The service object the window and the command line share.

It owns the settings, the loaded bundles and the register, and offers the few operations
a consultation needs: it is where the window and the CLI reach the local store
(`desktop/store/`), the sync engine (`sync/engine.py`) and the predictors. The window
renders what these return; it never touches SQL.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import TypeVar

from desktop import config
from desktop.bundle_files import load_bundles
from desktop.core.bundles import Bundle, ContractEnd, LoadReport, contract_ends
from desktop.core.clinic import StaffMember
from desktop.core.eligibility import Case, Decision, evaluate
from desktop.core.inputs import InclusionRequest
from desktop.core.intake import BY_NAME as INTAKE_COLUMNS
from desktop.core.messages import Msg, Plain, Translatable, msg
from desktop.core.states import InsurerSource, IntakeSource, ModelState
from desktop.store import remote_copies
from desktop.store.inclusions import Actor, Registry
from sync import engine
from sync.client import RateLimited, ServerClient
from sync.engine import SERVER_BUNDLES_FOLDER, Backoff
from sync.protocol import IntakeLookupResponse

__all__ = ["Backoff", "InsurerLookup", "IntakeLookup", "Services", "SyncStatus", "bundles_in_use"]

T = TypeVar("T")
EXPLAINER_KEY = "explained_by_agb:"  # meta key per workstation user: the AGB of their last 'Uitgelegd door'


@dataclass(frozen=True)
class SyncStatus:
    """What the status bar shows; `configured` is False for a stand-alone device."""

    configured: bool
    enrolled: bool
    last_sync: str | None = None
    error: str | None = None
    auth_problem: str | None = None
    upgrade_problem: str | None = None  # this app or the server must be upgraded (HTTP 426)


@dataclass(frozen=True)
class InsurerLookup:
    """Where the insurer came from: the server, the local cache or nowhere (source None)."""

    uzovi: str | None
    insurer: str | None
    source: InsurerSource | None
    checked_at: str | None
    message: Translatable


@dataclass(frozen=True)
class IntakeLookup:
    """The patient's newest intake questionnaire on or before the consultation date, and
    where it came from."""

    source: IntakeSource
    completed_on: dt.date | None
    completed_at: str | None  # when, if the PROM platform gave a time (UTC, ISO)
    values: dict[str, float | str]
    message: Translatable
    server_answered: bool = False  # the server was asked and answered (with none: "no questionnaire")

    def as_dict(self) -> dict:
        """The `bundelassistent intake --json` answer; `completed_at` is the date without a time."""
        when = self.completed_at or (self.completed_on.isoformat() if self.completed_on else None)
        return {"source": self.source, "completed_at": when, "values": dict(self.values)}


def bundles_in_use(settings: config.Settings) -> LoadReport:
    """Shipped (or configured) definitions, overlaid by those the server sent."""
    report = load_bundles(settings.bundles_dir)
    pulled_folder = settings.data_dir / SERVER_BUNDLES_FOLDER
    if pulled_folder.is_dir():
        pulled = load_bundles(pulled_folder)
        report.bundles.update(pulled.bundles)
        report.errors.update(pulled.errors)
    return report


class Services:
    def __init__(self, settings: config.Settings, actor: Actor | None = None):
        self.settings = settings
        self.actor = actor or Actor.from_os(settings.role)
        self.models = None  # a predictors.ModelSet once the window has loaded them (load_models)

    @cached_property
    def bundles(self) -> LoadReport:
        return bundles_in_use(self.settings)

    def bundle_files(self) -> LoadReport:
        """The definitions in the bundles folder alone, read afresh (to validate them)."""
        return load_bundles(self.settings.bundles_dir)

    @cached_property
    def registry(self) -> Registry:
        return Registry.in_folder(self.settings.data_dir, self.actor)

    def close(self) -> None:
        registry = self.__dict__.get("registry")
        if registry is not None:
            registry.close()

    def check(self, case: Case, bundle: Bundle, audit: bool = True, saved_as: str | None = None) -> Decision:
        """Evaluate a case against the registry's episodes for this patient.

        The lookup is audited; the window re-evaluates on every keystroke and audits
        once when it opens the patient instead (`audit=False`). `saved_as`: the inclusion this
        case was saved as, which is not an earlier episode of its own.
        """
        episodes = []
        if case.bsn:
            episodes = [episode for episode in self.registry.episodes_for(case.bsn, bundle.id)
                        if saved_as is None or episode.inclusion_id != saved_as]
            if audit:
                self.registry.audit("read", case.bsn, None, "episodes", {"purpose": "eligibility", "bundle": bundle.id})
        return evaluate(case, bundle, episodes)

    def register(self, request: InclusionRequest) -> dict:
        """Durably register; raises registry.NotEligible when the fresh check says no."""
        return self.registry.register(request, lambda episodes: evaluate(request.case, request.bundle, episodes))

    def remembered_explainer(self) -> StaffMember | None:
        """Who this workstation user last chose as 'Uitgelegd door', if still on the clinic's staff list."""
        agb = self.registry.meta(EXPLAINER_KEY + self.actor.user)
        return next((member for member in self.settings.staff if member.agb == agb), None)

    def remember_explainer(self, member: StaffMember) -> None:
        self.registry.set_meta({EXPLAINER_KEY + self.actor.user: member.agb})

    def today(self) -> dt.date:
        return dt.date.today()

    def contract_ends(self, today: dt.date | None = None) -> list[ContractEnd]:
        """Contracts of active bundles ending within 30 days or ended: IT and the SUO must act."""
        return contract_ends(self.bundles.active(), today or self.today())

    def audit_patient_opened(self, bsn: str, patient_id: str = "") -> None:
        """One audit entry when a consultation opens a patient (not one per keystroke)."""
        if bsn:
            self.registry.audit("open", bsn, None, "patient", {"patient_id_given": bool(patient_id)})

    def worker_copy(self) -> Services:
        """Same settings and bundles, own database connection: for a worker thread."""
        copy = Services(self.settings, self.actor)
        if "bundles" in self.__dict__:
            copy.__dict__["bundles"] = self.bundles
        return copy

    def on_own_connection(self, do: Callable[[Services], T]) -> T:
        """For a worker thread: `do` gets a `worker_copy`, closed again afterwards."""
        copy = self.worker_copy()
        try:
            return do(copy)
        finally:
            copy.close()

    # -- central server -------------------------------------------------------------------
    def server_url(self) -> str | None:
        return engine.configured_server(self.registry, self.settings.server_url)

    def client(self) -> ServerClient:
        url = self.server_url()
        if not url:
            raise NotEnrolled(msg("operations.sync.no_server"))
        token = engine.load_token(url)
        if not token:
            raise NotEnrolled(msg("operations.sync.not_enrolled", url=url))
        return engine.make_client(url, token, self.settings.proxy, self.settings.ca_bundle)

    def enroll(self, server_url: str, code: str):
        client = engine.make_client(server_url, None, self.settings.proxy, self.settings.ca_bundle)
        try:
            return engine.enroll(self.registry, client, code, self.settings.location)
        finally:
            client.close()

    def sync_once(self) -> engine.SyncSummary:
        client = self.client()
        try:
            run = engine.SyncEngine(self.registry, client, self.bundles.bundles,
                                    self.settings.data_dir / SERVER_BUNDLES_FOLDER)
            return run.run_once()
        finally:
            client.close()

    def sync_status(self) -> SyncStatus:
        registry = self.registry
        try:
            url = self.server_url()
        except engine.SyncError as error:  # e.g. http:// to another computer: sync stops and says why
            return SyncStatus(configured=True, enrolled=False, error=str(error), auth_problem=str(error))
        enrolled = bool(url and engine.load_token(url))
        return SyncStatus(configured=bool(url), enrolled=enrolled,
                          last_sync=registry.meta("last_sync_at"), error=registry.meta("last_sync_error"),
                          auth_problem=registry.meta("auth_problem"), upgrade_problem=registry.meta("upgrade_problem"))

    def _lookup_client(self) -> tuple[ServerClient | None, Translatable]:
        """The client for a lookup, or None and why not (answer from the cache then)."""
        try:
            return self.client(), Plain("")
        except engine.SyncError as error:
            return None, _lookup_problem(error)

    def lookup_insurer(self, bsn: str, birth_date: dt.date, on: dt.date) -> InsurerLookup:
        """Ask the server (briefly) with BSN and birth date, else the local cache; slow:
        call off the UI thread."""
        client, problem = self._lookup_client()
        if client is not None:
            try:
                answer = client.lookup_coverage(bsn, birth_date, on)
            except engine.SyncError as error:
                problem = _lookup_problem(error)
            else:
                checked = answer.checked_at.isoformat().replace("+00:00", "Z")
                self.registry.audit("read", bsn, None, "coverage", {"source": InsurerSource.SERVER})
                if answer.found:
                    entry = {"bsn": bsn, "uzovi": answer.uzovi, "insurer": answer.insurer,
                             "valid_from": answer.valid_from, "valid_to": answer.valid_to}
                    remote_copies.cache_coverage(self.registry, entry, InsurerSource.SERVER, checked)
                    return InsurerLookup(answer.uzovi, answer.insurer, InsurerSource.SERVER, checked,
                                         msg("operations.lookup.found_on_server"))
                problem = msg("operations.lookup.no_coverage")
            finally:
                client.close()
        cached = remote_copies.cached_coverage(self.registry, bsn, on)
        if cached:
            return InsurerLookup(cached["uzovi"], cached["insurer"], InsurerSource.CACHE, cached["checked_at"],
                                 msg("operations.lookup.coverage_from_cache", problem=problem))
        return InsurerLookup(None, None, None, None, msg("operations.lookup.choose_insurer", problem=problem))

    def lookup_intake(self, bsn: str, birth_date: dt.date, on: dt.date) -> IntakeLookup:
        """The newest intake completed on or before `on`: from the server (then kept in the
        encrypted register), else, offline or on a server error, from that cache; audited
        per patient. A server that knows none answers "none", whatever the cache holds.
        Slow: call off the UI thread."""
        client, problem = self._lookup_client()
        found, answered = None, False
        if client is not None:
            try:
                answer = client.lookup_intake(bsn, birth_date, on)
            except engine.SyncError as error:  # an older server too (IntakeUnsupported)
                problem = _lookup_problem(error)
            else:
                answered, found = True, self._kept_intake(bsn, birth_date, on, answer)
                problem = msg("operations.lookup.no_intake")
            finally:
                client.close()
        if not answered:
            found = self._cached_intake(bsn, birth_date, on, problem)
        result = found or IntakeLookup(IntakeSource.NONE, None, None, {},
                                       msg("operations.lookup.enter_answers", problem=problem), answered)
        self.registry.audit("read", bsn, None, "intake", {"source": result.source, "on": on.isoformat()})
        return result

    def _kept_intake(self, bsn: str, birth_date: dt.date, on: dt.date,
                     answer: IntakeLookupResponse) -> IntakeLookup | None:
        """Cache what the server found; what it no longer has for this period leaves the cache,
        so an offline lookup later cannot show answers the server has dropped."""
        if not answer.found or answer.completed_on is None:
            remote_copies.forget_intakes(self.registry, bsn, birth_date, on)
            return None
        remote_copies.forget_intakes(self.registry, bsn, birth_date, on, after=answer.completed_on)
        values = {name: value for name, value in answer.values.items() if name in INTAKE_COLUMNS}
        completed_at = _utc_text(answer.completed_at) if answer.completed_at else None
        remote_copies.cache_intake(self.registry, bsn, birth_date, answer.completed_on, completed_at, values,
                                   _utc_text(answer.checked_at))
        return IntakeLookup(IntakeSource.SERVER, answer.completed_on, completed_at, values,
                            msg("operations.lookup.found_on_server"), server_answered=True)

    def _cached_intake(self, bsn: str, birth_date: dt.date, on: dt.date,
                       problem: Translatable) -> IntakeLookup | None:
        cached = remote_copies.cached_intake(self.registry, bsn, birth_date, on)
        if cached is None:
            return None
        values = {name: value for name, value in cached["values"].items() if name in INTAKE_COLUMNS}
        return IntakeLookup(IntakeSource.CACHE, dt.date.fromisoformat(cached["completed_on"]), cached["completed_at"],
                            values, msg("operations.lookup.intake_from_cache",
                                        fetched=dt.date.fromisoformat(cached["checked_at"][:10]), problem=problem))

    def prediction_models(self):
        """The models, loaded once for this session (see `load_models`)."""
        if self.models is None:
            self.models = self.load_models()
        return self.models

    def load_models(self, progress: Callable[[ModelState], None] = lambda state: None):
        """Read, verify and return the prediction models (a `predictors.ModelSet`); slow (the
        import alone takes seconds), so call it off the UI thread. `progress` hears when the
        import is done and the files are being checked. Raises `predictors.ModelFileError`
        for missing or changed files, anything else for a broken installation."""
        progress(ModelState.LOADING)
        from predictors import load_models

        progress(ModelState.VERIFYING)
        return load_models(self.settings.models_dir)


class NotEnrolled(engine.NotEnrolled):
    """No server or no token: `said` is the message in either language, `str()` the Dutch one."""

    def __init__(self, said: Msg) -> None:
        super().__init__(said.get("nl"))
        self.said = said


def _lookup_problem(error: engine.SyncError) -> Translatable:
    """Why a lookup got no answer from the server, in the words the window shows; the sync
    client's own messages are Dutch."""
    if isinstance(error, RateLimited):
        return msg("operations.lookup.rate_limited", seconds=error.retry_after)
    if isinstance(error, NotEnrolled):
        return error.said
    return Plain(str(error))


def _utc_text(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
