"""What a registered inclusion must satisfy, as the server re-checks every pushed record.

The device decided eligibility with `evaluate`; the server, which trusts no device,
runs the same `evaluate` on the record against its own copy of the bundle, plus the
checks the device's input parser made (plausible birth date, no future inclusion date,
consent) and the values the device computed (condition, end date, episode side).
Facts (the clinician's answers) are not on the wire and cannot be re-checked; the
active-episode rule is the server's own, race-free duplicate check.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from desktop.core.bundles import Bundle
from desktop.core.eligibility import ELIGIBLE, PASS, Case, evaluate
from desktop.core.identifiers import InvalidField, validate_birth_date, validate_inclusion_date
from desktop.core.states import Side

# The rules a record is checked on, by their Dutch name (for the reason a user reads).
RULE_NAMES = {
    "bundle": "bundel", "birth_date": "geboortedatum", "inclusion_date": "inclusiedatum",
    "agreed": "instemming", "eligibility_status": "uitkomst", "insurer": "verzekeraar",
    "contract_window": "contractperiode", "diagnosis": "diagnose", "age": "leeftijd",
    "condition": "aandoening", "end_date": "einddatum", "episode_side": "zijde van de episode",
}
NOT_RECHECKED = ("fact", "active_episode")


@dataclass(frozen=True)
class RecordFacts:
    """The fields of an inclusion record that its eligibility depends on."""

    condition: str
    diagnosis: str
    side: str | None
    episode_side: str | None
    birth_date: dt.date
    insurer_uzovi: str | None
    inclusion_date: dt.date
    end_date: dt.date
    agreed: bool
    eligibility_status: str


@dataclass(frozen=True)
class RuleFailed:
    rule: str
    message: str

    def text(self) -> str:
        """'regel leeftijd: Patiënt is 16 jaar …' — the rule named in plain Dutch."""
        return f"regel {RULE_NAMES.get(self.rule, self.rule)}: {self.message}"


def expected_episode_side(bundle: Bundle, side: str | None) -> str | None:
    """The side is part of the episode only when the bundle's episode key says so."""
    return side if "side" in bundle.episode_key else None


def record_failures(facts: RecordFacts, bundle: Bundle, latest_inclusion_date: dt.date) -> list[RuleFailed]:
    """Every rule the record breaks (empty: it holds); `latest_inclusion_date` is today
    on the device, today plus a day of clock slack on the server."""
    failures: list[RuleFailed] = []
    checks: tuple[tuple[str, Callable[[], object]], ...] = (
        ("birth_date", lambda: validate_birth_date(facts.birth_date, facts.inclusion_date)),
        ("inclusion_date", lambda: validate_inclusion_date(facts.inclusion_date, latest_inclusion_date)))
    for rule, check in checks:
        try:
            check()
        except InvalidField as problem:
            failures.append(RuleFailed(rule, problem.message))
    if facts.agreed is not True:
        failures.append(RuleFailed("agreed", "de patiënt heeft niet ingestemd met deelname; zonder instemming "
                                             "geen inclusie"))
    if facts.eligibility_status != ELIGIBLE:
        failures.append(RuleFailed("eligibility_status", "het apparaat zegt zelf dat de patiënt niet in "
                                                         "aanmerking komt; alleen 'eligible' wordt ingesloten"))
    if failures:
        return failures  # the rules below assume plausible dates
    case = Case(bundle=bundle.id, inclusion_date=facts.inclusion_date, birth_date=facts.birth_date,
                diagnosis=facts.diagnosis, side=Side(facts.side) if facts.side else None,
                insurer_uzovi=facts.insurer_uzovi)
    decision = evaluate(case, bundle)
    failures += [RuleFailed(outcome.kind, outcome.reason.nl) for outcome in decision.rules
                 if outcome.kind not in NOT_RECHECKED and outcome.outcome != PASS]
    if decision.condition is not None and facts.condition != decision.condition.id:
        failures.append(RuleFailed("condition", f"diagnose {facts.diagnosis} hoort bij aandoening "
                                                f"{decision.condition.id}, niet bij {facts.condition}"))
    if decision.condition is None and not any(f.rule == "diagnosis" for f in failures):
        ids = ", ".join(c.id for c in bundle.conditions)
        failures.append(RuleFailed("diagnosis", f"diagnose {facts.diagnosis} valt onder geen aandoening van "
                                                f"deze bundel ({ids})"))
    if facts.end_date != decision.end_date:
        failures.append(RuleFailed("end_date", f"moet {decision.end_date.isoformat()} zijn: "
                                               f"{bundle.episode_days} dagen vanaf de inclusiedatum"))
    expected = expected_episode_side(bundle, facts.side)
    if facts.episode_side != expected:
        failures.append(RuleFailed("episode_side", f"moet {expected or 'leeg'} zijn voor deze bundel"))
    return failures
