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
from desktop.core.messages import Plain, Translatable, joined, msg, text
from desktop.core.states import Side

# The rules a record is checked on, by name (for the reason a user reads).
RULE_NAMES = {
    "bundle": msg("core.record.rule.bundle"), "birth_date": msg("core.record.rule.birth_date"),
    "inclusion_date": msg("core.record.rule.inclusion_date"), "agreed": msg("core.record.rule.agreed"),
    "eligibility_status": msg("core.record.rule.eligibility_status"), "insurer": msg("core.record.rule.insurer"),
    "contract_window": msg("core.record.rule.contract_window"), "diagnosis": msg("core.record.rule.diagnosis"),
    "age": msg("core.record.rule.age"), "condition": msg("core.record.rule.condition"),
    "end_date": msg("core.record.rule.end_date"), "episode_side": msg("core.record.rule.episode_side"),
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
    message: Translatable

    def text(self, language: str = "nl") -> str:
        """'regel leeftijd: Patiënt is 16 jaar …' — the rule named in words; the server answers in Dutch."""
        return text("core.record.failed", language, rule=RULE_NAMES.get(self.rule, Plain(self.rule)),
                    problem=self.message)


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
        failures.append(RuleFailed("agreed", msg("core.record.not_agreed")))
    if facts.eligibility_status != ELIGIBLE:
        failures.append(RuleFailed("eligibility_status", msg("core.record.not_eligible")))
    if failures:
        return failures  # the rules below assume plausible dates
    case = Case(bundle=bundle.id, inclusion_date=facts.inclusion_date, birth_date=facts.birth_date,
                diagnosis=facts.diagnosis, side=Side(facts.side) if facts.side else None,
                insurer_uzovi=facts.insurer_uzovi)
    decision = evaluate(case, bundle)
    failures += [RuleFailed(outcome.kind, outcome.reason) for outcome in decision.rules
                 if outcome.kind not in NOT_RECHECKED and outcome.outcome != PASS]
    if decision.condition is not None and facts.condition != decision.condition.id:
        failures.append(RuleFailed("condition", msg("core.record.other_condition", code=facts.diagnosis,
                                                    expected=decision.condition.id, given=facts.condition)))
    if decision.condition is None and not any(f.rule == "diagnosis" for f in failures):
        ids = joined(c.id for c in bundle.conditions)
        failures.append(RuleFailed("diagnosis", msg("core.record.no_condition", code=facts.diagnosis, ids=ids)))
    if facts.end_date != decision.end_date:
        failures.append(RuleFailed("end_date", msg("core.record.end_date", end=decision.end_date.isoformat(),
                                                   days=bundle.episode_days)))
    expected = expected_episode_side(bundle, facts.side)
    if facts.episode_side != expected:
        failures.append(RuleFailed("episode_side", msg("core.record.episode_side", side=expected)
                                   if expected else msg("core.record.episode_side_empty")))
    return failures
