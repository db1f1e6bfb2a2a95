"""The service object the window and the command line share.

It owns the settings, the loaded bundles and the registry, and offers the few operations
a consultation needs. The window renders what these return; it never touches SQL.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cached_property

from desktop import config
from desktop.bundles import Bundle, LoadReport, load_bundles
from desktop.cases import InclusionRequest
from desktop.eligibility import Case, Decision, evaluate
from desktop.registry import Actor, Registry


@dataclass(frozen=True)
class SyncStatus:
    state: str  # "Online" or "Offline"
    last_sync: str | None = None
    error: str | None = None


class Services:
    def __init__(self, settings: config.Settings, actor: Actor | None = None):
        self.settings = settings
        self.actor = actor or Actor.from_os(settings.role)

    @cached_property
    def bundles(self) -> LoadReport:
        return load_bundles(self.settings.bundles_dir)

    @cached_property
    def registry(self) -> Registry:
        return Registry.in_folder(self.settings.data_dir, self.actor)

    def close(self) -> None:
        registry = self.__dict__.get("registry")
        if registry is not None:
            registry.close()

    def check(self, case: Case, bundle: Bundle, audit: bool = True) -> Decision:
        """Evaluate a case against the registry's episodes for this patient.

        The lookup is audited; the window re-evaluates on every keystroke and audits
        once when it opens the patient instead (`audit=False`).
        """
        episodes = []
        if case.bsn:
            episodes = self.registry.episodes_for(case.bsn, bundle.id)
            if audit:
                self.registry.audit("read", case.bsn, None, "episodes", {"purpose": "eligibility", "bundle": bundle.id})
        return evaluate(case, bundle, episodes)

    def register(self, request: InclusionRequest) -> dict:
        """Durably register; raises registry.NotEligible when the fresh check says no."""
        return self.registry.register(request, lambda episodes: evaluate(request.case, request.bundle, episodes))

    def today(self) -> dt.date:
        return dt.date.today()

    def audit_patient_opened(self, bsn: str, patient_id: str = "") -> None:
        """One audit entry when a consultation opens a patient (not one per keystroke)."""
        if bsn:
            self.registry.audit("open", bsn, None, "patient", {"patient_id_given": bool(patient_id)})

    def sync_status(self) -> SyncStatus:
        return SyncStatus("Offline")

    def load_models(self) -> tuple[str, str]:
        """Load the prediction models (slow: imports scikit-learn); call off the UI thread.

        Returns a state for the status bar ('gereed' or 'niet beschikbaar') and a detail.
        """
        import resources

        cards = sorted(resources.path("models").glob("*.json")) if resources.path("models").is_dir() else []
        if not cards:
            return "niet beschikbaar", "geen modelbestanden in resources/models"
        return "niet beschikbaar", "modellen gevonden; koppeling volgt"
