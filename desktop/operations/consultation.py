"""One consultation: the patient in the room and what has been filled in so far.

The window keeps a `Consultation`, writes every field into it as the user types, and asks
it for the current eligibility decision and per-field messages. Partial and wrong input
is normal while typing, so evaluation never raises: a bad field gets its message and
counts as missing until it is fixed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from desktop.core.eligibility import Decision
from desktop.core.identifiers import InvalidField, age_on, mask_bsn, validate_birth_date, validate_bsn
from desktop.core.inputs import InclusionRequest, InputError, parse_case, parse_inclusion
from desktop.core.messages import Translatable
from desktop.core.states import InsurerSource
from desktop.operations.services import Services

CASE_KEYS = ("bundle", "inclusion_date", "birth_date", "diagnosis", "side", "insurer_uzovi", "bsn")


@dataclass
class Consultation:
    bundle: str = "hand-wrist"
    bsn: str = ""
    birth_date: str = ""
    name: str = ""
    patient_id: str = ""
    insurer_uzovi: str = ""
    insurer_source: InsurerSource = InsurerSource.MANUAL
    insurer_checked_at: str | None = None
    diagnosis: str = ""
    side: str = ""
    inclusion_date: str = field(default_factory=lambda: dt.date.today().isoformat())
    facts: dict[str, Any] = field(default_factory=dict)
    explanation_language: str = "nl"
    explained_by: str = ""
    handout_printed: bool = False
    clinician_agb: str = ""
    location: str = ""
    initial_treatment: str = ""
    agreed: bool = False
    intake: dict[str, Any] = field(default_factory=dict)  # predictor values typed on Samen beslissen
    questionnaire: dict[str, Any] = field(default_factory=dict)  # the intake questionnaire's answers, if any
    questionnaire_completed_at: str | None = None  # its date (or time), for the record and the handout
    decision_support: dict[str, Any] | None = None  # what Samen beslissen shows now, kept with the inclusion
    registered: dict[str, Any] | None = None  # the inclusion saved in this consultation

    def has_unsaved_input(self) -> bool:
        """Something typed here and not saved: what a new EHR launch must not throw away unasked.

        What the window fills in itself (the location, the explainer, an insurer found by the
        lookup) is not counted; it comes back for the next patient."""
        if self.registered:
            return False
        typed = ("diagnosis", "side", "facts", "intake", "clinician_agb", "agreed", "handout_printed",
                 "initial_treatment")
        fresh = Consultation(bundle=self.bundle)
        if any(getattr(self, name) != getattr(fresh, name) for name in typed):
            return True
        return bool(self.insurer_uzovi) and self.insurer_source in (InsurerSource.CARD, InsurerSource.MANUAL)

    def _case_data(self, drop: Collection[str] = frozenset()) -> dict:
        data = {key: (getattr(self, key) or None) for key in CASE_KEYS if key not in drop}
        data["facts"] = {k: v for k, v in self.facts.items() if f"facts.{k}" not in drop}
        return data

    def evaluate(self, services: Services) -> tuple[Decision | None, dict[str, Translatable]]:
        """The decision on what is valid so far, and a message per invalid field (read when shown)."""
        problems: dict[str, Translatable] = {}
        for _ in range(len(CASE_KEYS) + len(self.facts) + 1):
            try:
                case, bundle = parse_case(self._case_data(set(problems)), services.bundles)
            except InputError as error:
                new = {p.field: p.message for p in error.problems if p.field not in problems}
                if not new or "bundle" in new or "inclusion_date" in new:
                    problems.update(new)
                    return None, problems
                problems.update(new)
                continue
            saved_as = self.registered["id"] if self.registered else None  # once saved: its own check again
            return services.check(case, bundle, audit=False, saved_as=saved_as), problems
        return None, problems

    def inclusion_request(self, services: Services) -> InclusionRequest:
        """Validate everything for saving; raises InputError with every bad field."""
        data = self._case_data()
        data.update(
            name=self.name or None, clinician_agb=self.clinician_agb, location=self.location or None,
            explained_by=self.explained_by, agreed=self.agreed,
            explanation_language=self.explanation_language, handout_printed=self.handout_printed,
            initial_treatment=self.initial_treatment or None, insurer_source=self.insurer_source,
            insurer_checked_at=self.insurer_checked_at, decision_support=self.decision_support,
        )
        return parse_inclusion(data, services.bundles, default_location=services.settings.location)

    def prediction_patient(self, condition: str) -> dict[str, Any]:
        """The predictors' patient row (`prediction.patient_row`): the questionnaire, what was
        typed over it, age and both hands."""
        from desktop.operations.prediction import patient_row

        try:
            age: int | None = age_on(validate_birth_date(self.birth_date, dt.date.today()), self.lookup_date())
        except InvalidField:
            age = None
        return patient_row(condition, age=age, side=self.side or None, questionnaire=self.questionnaire,
                           entered=self.intake)

    # -- the patient header -------------------------------------------------------------
    def valid_bsn(self) -> str | None:
        try:
            return validate_bsn(self.bsn)
        except InvalidField:
            return None

    def valid_birth_date(self) -> dt.date | None:
        try:
            return validate_birth_date(self.birth_date, dt.date.today())
        except InvalidField:
            return None

    def lookup_date(self) -> dt.date:
        """The day the insurer must be valid on: the inclusion date when it is a date, else today."""
        try:
            return dt.date.fromisoformat(self.inclusion_date)
        except (TypeError, ValueError):
            return dt.date.today()

    def masked_bsn(self) -> str:
        try:
            return mask_bsn(validate_bsn(self.bsn))
        except InvalidField:
            return ""

    def age(self) -> int | None:
        try:
            today = dt.date.today()
            return age_on(validate_birth_date(self.birth_date, today), today)
        except InvalidField:
            return None
