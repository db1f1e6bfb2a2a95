"""The service object the window and the command line share.

It owns the settings, the loaded bundles and the registry, and offers the few operations
a consultation needs. The window renders what these return; it never touches SQL.
"""

from __future__ import annotations

import datetime as dt
from functools import cached_property

from desktop import config
from desktop.bundles import Bundle, LoadReport, load_bundles
from desktop.cases import InclusionRequest
from desktop.eligibility import Case, Decision, evaluate
from desktop.registry import Actor, Registry


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

    def check(self, case: Case, bundle: Bundle) -> Decision:
        """Evaluate a case against the registry's episodes for this patient (audited)."""
        episodes = []
        if case.bsn:
            episodes = self.registry.episodes_for(case.bsn, bundle.id)
            self.registry.audit("read", case.bsn, None, "episodes", {"purpose": "eligibility", "bundle": bundle.id})
        return evaluate(case, bundle, episodes)

    def register(self, request: InclusionRequest) -> dict:
        """Durably register; raises registry.NotEligible when the fresh check says no."""
        return self.registry.register(request, lambda episodes: evaluate(request.case, request.bundle, episodes))

    def today(self) -> dt.date:
        return dt.date.today()
