"""The eligibility engine: a case, a bundle and the patient's episodes in, a decision out.

Plain Python with no I/O, so the window can re-evaluate on every keystroke and the
same rules run in the CLI, the tests and the benchmark. Each rule says pass, fail (with
a reason in Dutch or English, read when shown) or unknown (naming the missing input); the overall
status is `not_eligible` when any rule fails, else `needs_information` when any is
unknown, else `eligible`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from desktop.core.bundles import Bundle, Condition, Rule
from desktop.core.identifiers import age_on, insurer_name
from desktop.core.messages import Translatable, either, joined, msg
from desktop.core.states import RecordState, Side

PASS, FAIL, UNKNOWN = "pass", "fail", "unknown"
ELIGIBLE, NOT_ELIGIBLE, NEEDS_INFORMATION = "eligible", "not_eligible", "needs_information"



@dataclass(frozen=True)
class Episode:
    """An inclusion that may block a new one: from the registry or told by the caller."""

    bundle: str
    condition: str | None
    side: Side | None
    start: dt.date
    end: dt.date
    state: RecordState  # a CASE file's own words are read by `inputs.parse_record_state`
    inclusion_id: str | None = None

    @property
    def open(self) -> bool:
        return RecordState(self.state).holds_episode


@dataclass
class Case:
    bundle: str
    inclusion_date: dt.date
    birth_date: dt.date | None = None
    diagnosis: str | None = None
    side: Side | None = None
    insurer_uzovi: str | None = None
    facts: dict[str, Any] = field(default_factory=dict)
    previous_inclusions: list[Episode] = field(default_factory=list)
    bsn: str | None = None


@dataclass(frozen=True)
class RuleOutcome:
    kind: str
    outcome: str
    reason: Translatable  # a catalogue message, or the bundle file's own fail_reason
    missing: tuple[str, ...] = ()
    fact: str | None = None

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"kind": self.kind, "outcome": self.outcome, "reason": self.reason.get("nl")}
        if self.fact:
            data["fact"] = self.fact
        if self.missing:
            data["missing"] = list(self.missing)
        return data


@dataclass(frozen=True)
class Decision:
    status: str
    rules: tuple[RuleOutcome, ...]
    bundle: Bundle
    condition: Condition | None
    inclusion_date: dt.date

    @property
    def failed_rules(self) -> list[str]:
        return _unique(r.kind for r in self.rules if r.outcome == FAIL)

    @property
    def missing(self) -> list[str]:
        return _unique(m for r in self.rules for m in r.missing)

    def reasons(self, language: str = "nl") -> list[str]:
        return [r.reason.get(language) for r in self.rules if r.outcome != PASS]

    @property
    def end_date(self) -> dt.date:
        return self.bundle.end_date(self.inclusion_date)

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "failed_rules": self.failed_rules,
            "missing": self.missing,
            "reasons": self.reasons("nl"),
            "bundle": self.bundle.id,
            "bundle_version": self.bundle.version,
            "condition": self.condition.id if self.condition else None,
            "inclusion_date": self.inclusion_date.isoformat(),
            "end_date": self.end_date.isoformat(),
            "rules": [r.as_dict() for r in self.rules],
        }


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


def evaluate(case: Case, bundle: Bundle, episodes: Sequence[Episode] = ()) -> Decision:
    """Decide eligibility; `episodes` are the patient's inclusions held in the registry."""
    condition = bundle.condition_for_code(case.diagnosis) if case.diagnosis else None
    all_episodes = [*episodes, *case.previous_inclusions]
    outcomes = tuple(
        _RULES[rule.kind](rule, case, bundle, condition, all_episodes) for rule in bundle.rules
    )
    kinds = {o.outcome for o in outcomes}
    status = NOT_ELIGIBLE if FAIL in kinds else NEEDS_INFORMATION if UNKNOWN in kinds else ELIGIBLE
    return Decision(status, outcomes, bundle, condition, case.inclusion_date)


def _insurer(rule: Rule, case: Case, bundle: Bundle, condition: Condition | None,
             episodes: list[Episode]) -> RuleOutcome:
    if not case.insurer_uzovi:
        return RuleOutcome("insurer", UNKNOWN, msg("core.eligibility.insurer.unknown"), missing=("insurer_uzovi",))
    name = insurer_name(case.insurer_uzovi)
    if case.insurer_uzovi in bundle.contracted_uzovi:
        return RuleOutcome("insurer", PASS, msg("core.eligibility.insurer.pass", insurer=name))
    contracted = either(insurer_name(code) for code in sorted(bundle.contracted_uzovi))
    return RuleOutcome("insurer", FAIL, rule.fail_reason or msg(
        "core.eligibility.insurer.fail", insurer=name, contracted=contracted))


def _contract_window(rule: Rule, case: Case, bundle: Bundle, condition: Condition | None,
                     episodes: list[Episode]) -> RuleOutcome:
    own = [c for c in bundle.contracts if case.insurer_uzovi in c.uzovi]
    contracts = own or list(bundle.contracts)
    day = case.inclusion_date
    if any(c.covers(day) for c in contracts):
        return RuleOutcome("contract_window", PASS, msg("core.eligibility.contract_window.pass", day=day))
    periods = joined((msg("core.eligibility.contract_window.period", start=c.start, end=c.end) for c in contracts),
                     "; ")
    return RuleOutcome("contract_window", FAIL, rule.fail_reason or msg(
        "core.eligibility.contract_window.fail", day=day, periods=periods))


def _diagnosis(rule: Rule, case: Case, bundle: Bundle, condition: Condition | None,
               episodes: list[Episode]) -> RuleOutcome:
    if not case.diagnosis:
        return RuleOutcome("diagnosis", UNKNOWN, msg("core.eligibility.diagnosis.unknown"), missing=("diagnosis",))
    if condition:
        return RuleOutcome("diagnosis", PASS, msg(
            "core.eligibility.diagnosis.pass", code=case.diagnosis, condition=condition.label))
    accepted = joined((msg("core.eligibility.diagnosis.covered", condition=c.label, codes=c.code_summary())
                       for c in bundle.conditions), "; ")
    return RuleOutcome("diagnosis", FAIL, rule.fail_reason or msg(
        "core.eligibility.diagnosis.fail", code=case.diagnosis, accepted=accepted))


def _age(rule: Rule, case: Case, bundle: Bundle, condition: Condition | None,
         episodes: list[Episode]) -> RuleOutcome:
    if not case.birth_date:
        return RuleOutcome("age", UNKNOWN, msg("core.eligibility.age.unknown"), missing=("birth_date",))
    age = age_on(case.birth_date, case.inclusion_date)
    low, high = rule.min_age, rule.max_age
    if low is not None and high is not None:
        allowed = msg("core.eligibility.age.between", low=low, high=high)
    elif low is not None:
        allowed = msg("core.eligibility.age.from", low=low)
    else:
        allowed = msg("core.eligibility.age.up_to", high=high)
    if (low is None or age >= low) and (high is None or age <= high):
        return RuleOutcome("age", PASS, msg("core.eligibility.age.pass", age=age, allowed=allowed))
    return RuleOutcome("age", FAIL, rule.fail_reason or msg("core.eligibility.age.fail", age=age, allowed=allowed))


def sides_overlap(a: str | None, b: str | None) -> bool:
    """Two episodes' sides overlap when equal, when one is both hands, or when one is not known."""
    return a is None or b is None or a == b or Side.BOTH in (a, b)


def _active_episode(rule: Rule, case: Case, bundle: Bundle, condition: Condition | None,
                    episodes: list[Episode]) -> RuleOutcome:
    start, end = case.inclusion_date, bundle.end_date(case.inclusion_date)
    overlapping = [
        e for e in episodes
        if e.bundle == bundle.id and e.open and e.start <= end and start <= e.end
    ]
    if not overlapping:
        return RuleOutcome("active_episode", PASS, msg("core.eligibility.active_episode.none"))
    if case.diagnosis is None:
        return RuleOutcome("active_episode", UNKNOWN, msg("core.eligibility.active_episode.needs_diagnosis"),
                           missing=("diagnosis",))
    if condition is None:
        return RuleOutcome("active_episode", PASS, msg("core.eligibility.active_episode.none_for_diagnosis"))
    same = [e for e in overlapping if e.condition is None or e.condition == condition.id]
    by_side = "side" in bundle.episode_key
    if by_side and case.side is None and any(e.side is not None for e in same):
        return RuleOutcome("active_episode", UNKNOWN, msg(
            "core.eligibility.active_episode.needs_side", condition=condition.label), missing=("side",))
    if by_side:
        same = [e for e in same if sides_overlap(e.side, case.side)]
    if not same:
        return RuleOutcome("active_episode", PASS, msg(
            "core.eligibility.active_episode.none_for_condition", condition=condition.label))
    first = min(same, key=lambda e: e.start)
    return RuleOutcome("active_episode", FAIL, rule.fail_reason or msg(
        "core.eligibility.active_episode.running", condition=condition.label, start=first.start, end=first.end,
        next=first.end + dt.timedelta(days=1)))


def fact_satisfied(rule: Rule, value: Any) -> bool:
    """Whether an answer (already coerced to the fact's type) meets the rule."""
    if rule.fact_type == "boolean":
        return bool(value == rule.equals)
    if rule.fact_type == "text":
        return str(value).strip().lower() in {str(a).strip().lower() for a in rule.allowed}
    if rule.allowed and value not in rule.allowed:
        return False
    if rule.minimum is not None and value < rule.minimum:
        return False
    return rule.maximum is None or value <= rule.maximum


def _fact(rule: Rule, case: Case, bundle: Bundle, condition: Condition | None,
          episodes: list[Episode]) -> RuleOutcome:
    fact, question = rule.fact, rule.question
    if fact is None or question is None:  # parse_bundle gives every fact rule both
        raise ValueError(f"bundle {bundle.id}: a fact rule without 'fact' or 'question'")
    value = case.facts.get(fact)
    if value is None:
        return RuleOutcome("fact", UNKNOWN, msg("core.eligibility.fact.unknown", question=question),
                           missing=(fact,), fact=fact)
    answer: object = value
    if rule.fact_type == "boolean" and isinstance(value, bool):
        answer = msg("core.answer.yes") if value else msg("core.answer.no")
    if fact_satisfied(rule, value):
        return RuleOutcome("fact", PASS, msg("core.eligibility.fact.pass", question=question, answer=answer),
                           fact=rule.fact)
    reason = rule.fail_reason or msg("core.eligibility.fact.fail", question=question, answer=answer)
    return RuleOutcome("fact", FAIL, reason, fact=rule.fact)


_RULES: dict[str, Callable[[Rule, Case, Bundle, Condition | None, list[Episode]], RuleOutcome]] = {
    "insurer": _insurer,
    "contract_window": _contract_window,
    "diagnosis": _diagnosis,
    "age": _age,
    "active_episode": _active_episode,
    "fact": _fact,
}
