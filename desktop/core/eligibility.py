"""The eligibility engine: a case, a bundle and the patient's episodes in, a decision out.

Plain Python with no I/O, so the window can re-evaluate on every keystroke and the
same rules run in the CLI, the tests and the benchmark. Each rule says pass, fail (with
a reason in plain Dutch and English) or unknown (naming the missing input); the overall
status is `not_eligible` when any rule fails, else `needs_information` when any is
unknown, else `eligible`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from desktop.core.bundles import Bundle, Condition, Rule, Text
from desktop.core.identifiers import age_on, insurer_name
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
    reason: Text
    missing: tuple[str, ...] = ()
    fact: str | None = None

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"kind": self.kind, "outcome": self.outcome, "reason": self.reason.nl}
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


def _date(day: dt.date) -> str:
    return day.strftime("%d-%m-%Y")


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
    contracted = ", ".join(insurer_name(code) for code in sorted(bundle.contracted_uzovi))
    if not case.insurer_uzovi:
        return RuleOutcome("insurer", UNKNOWN, Text(
            "Verzekeraar onbekend: zoek de verzekering op of vul de UZOVI-code van de verzekeringspas in.",
            "Insurer unknown: look up the coverage or enter the UZOVI code from the insurance card."),
            missing=("insurer_uzovi",))
    name = insurer_name(case.insurer_uzovi)
    if case.insurer_uzovi in bundle.contracted_uzovi:
        return RuleOutcome("insurer", PASS, Text(
            f"Verzekeraar {name} heeft een contract voor deze bundel.",
            f"Insurer {name} has a contract for this bundle."))
    return RuleOutcome("insurer", FAIL, rule.fail_reason or Text(
        f"Verzekeraar {name} heeft geen contract voor deze bundel; alleen {contracted} is gecontracteerd.",
        f"Insurer {name} has no contract for this bundle; only {contracted} is contracted."))


def _contract_window(rule: Rule, case: Case, bundle: Bundle, condition: Condition | None,
                     episodes: list[Episode]) -> RuleOutcome:
    own = [c for c in bundle.contracts if case.insurer_uzovi in c.uzovi]
    contracts = own or list(bundle.contracts)
    day = case.inclusion_date
    if any(c.covers(day) for c in contracts):
        return RuleOutcome("contract_window", PASS, Text(
            f"Inclusiedatum {_date(day)} valt binnen de contractperiode.",
            f"Inclusion date {_date(day)} is within the contract period."))
    periods = "; ".join(f"{_date(c.start)} t/m {_date(c.end)}" for c in contracts)
    periods_en = "; ".join(f"{_date(c.start)} to {_date(c.end)}" for c in contracts)
    return RuleOutcome("contract_window", FAIL, rule.fail_reason or Text(
        f"Inclusiedatum {_date(day)} valt buiten de contractperiode ({periods}).",
        f"Inclusion date {_date(day)} is outside the contract period ({periods_en})."))


def _diagnosis(rule: Rule, case: Case, bundle: Bundle, condition: Condition | None,
               episodes: list[Episode]) -> RuleOutcome:
    if not case.diagnosis:
        return RuleOutcome("diagnosis", UNKNOWN, Text(
            "Diagnose ontbreekt: vul de ICD-10-code in.", "Diagnosis missing: enter the ICD-10 code."),
            missing=("diagnosis",))
    if condition:
        return RuleOutcome("diagnosis", PASS, Text(
            f"Diagnose {case.diagnosis} valt onder {condition.label.nl}.",
            f"Diagnosis {case.diagnosis} is {condition.label.en}."))
    accepted = "; ".join(f"{c.label.nl} ({c.code_summary()})" for c in bundle.conditions)
    accepted_en = "; ".join(f"{c.label.en} ({c.code_summary()})" for c in bundle.conditions)
    return RuleOutcome("diagnosis", FAIL, rule.fail_reason or Text(
        f"Diagnose {case.diagnosis} valt niet onder deze bundel; de bundel geldt voor {accepted}.",
        f"Diagnosis {case.diagnosis} is not covered by this bundle; it covers {accepted_en}."))


def _age(rule: Rule, case: Case, bundle: Bundle, condition: Condition | None,
         episodes: list[Episode]) -> RuleOutcome:
    if not case.birth_date:
        return RuleOutcome("age", UNKNOWN, Text(
            "Geboortedatum ontbreekt: vul de geboortedatum in.", "Birth date missing: enter the birth date."),
            missing=("birth_date",))
    age = age_on(case.birth_date, case.inclusion_date)
    low, high = rule.min_age, rule.max_age
    if low is not None and high is not None:
        allowed, allowed_en = f"{low} tot en met {high} jaar", f"{low} to {high} years"
    elif low is not None:
        allowed, allowed_en = f"{low} jaar en ouder", f"{low} years and older"
    else:
        allowed, allowed_en = f"tot en met {high} jaar", f"up to {high} years"
    if (low is None or age >= low) and (high is None or age <= high):
        return RuleOutcome("age", PASS, Text(
            f"Leeftijd {age} jaar op de inclusiedatum; de bundel geldt voor {allowed}.",
            f"Age {age} on the inclusion date; the bundle is for {allowed_en}."))
    return RuleOutcome("age", FAIL, rule.fail_reason or Text(
        f"Patiënt is {age} jaar op de inclusiedatum; de bundel geldt alleen voor {allowed}.",
        f"Patient is {age} on the inclusion date; the bundle is only for {allowed_en}."))


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
        return RuleOutcome("active_episode", PASS, Text(
            "Geen lopende episode voor deze patiënt in deze bundel.",
            "No running episode for this patient in this bundle."))
    if case.diagnosis is None:
        return RuleOutcome("active_episode", UNKNOWN, Text(
            "Er loopt al een episode in deze bundel; vul de diagnose in om te zien of het dezelfde aandoening is.",
            "An episode is already running in this bundle; enter the diagnosis to see if it is the same condition."),
            missing=("diagnosis",))
    if condition is None:
        return RuleOutcome("active_episode", PASS, Text(
            "Geen lopende episode voor deze diagnose.", "No running episode for this diagnosis."))
    same = [e for e in overlapping if e.condition is None or e.condition == condition.id]
    by_side = "side" in bundle.episode_key
    if by_side and case.side is None and any(e.side is not None for e in same):
        return RuleOutcome("active_episode", UNKNOWN, Text(
            f"Er loopt al een episode voor {condition.label.nl} aan één kant; vul de zijde in.",
            f"An episode for {condition.label.en} is running on one side; enter the side."),
            missing=("side",))
    if by_side:
        same = [e for e in same if sides_overlap(e.side, case.side)]
    if not same:
        return RuleOutcome("active_episode", PASS, Text(
            f"Geen lopende episode voor {condition.label.nl}.",
            f"No running episode for {condition.label.en}."))
    first = min(same, key=lambda e: e.start)
    return RuleOutcome("active_episode", FAIL, rule.fail_reason or Text(
        f"Er loopt al een episode voor {condition.label.nl}: ingesloten op {_date(first.start)}, "
        f"loopt t/m {_date(first.end)}. Een nieuwe inclusie kan vanaf {_date(first.end + dt.timedelta(days=1))}.",
        f"An episode for {condition.label.en} is already running: included on {_date(first.start)}, "
        f"until {_date(first.end)}. A new inclusion is possible from {_date(first.end + dt.timedelta(days=1))}."))


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
        raise ValueError(f"bundel {bundle.id}: een feitregel zonder 'fact' of 'question'")
    value = case.facts.get(fact)
    if value is None:
        return RuleOutcome("fact", UNKNOWN, Text(
            f"Nog te beantwoorden: {question.nl}", f"Still to answer: {question.en}"),
            missing=(fact,), fact=fact)
    shown = {True: "ja", False: "nee"}.get(value, value) if rule.fact_type == "boolean" else value
    shown_en = {True: "yes", False: "no"}.get(value, value) if rule.fact_type == "boolean" else value
    if fact_satisfied(rule, value):
        return RuleOutcome("fact", PASS, Text(
            f"{question.nl} Antwoord: {shown}.", f"{question.en} Answer: {shown_en}."), fact=rule.fact)
    reason = rule.fail_reason or Text(
        f"Niet voldaan: {question.nl} Antwoord: {shown}.", f"Not met: {question.en} Answer: {shown_en}.")
    return RuleOutcome("fact", FAIL, reason, fact=rule.fact)


_RULES: dict[str, Callable[[Rule, Case, Bundle, Condition | None, list[Episode]], RuleOutcome]] = {
    "insurer": _insurer,
    "contract_window": _contract_window,
    "diagnosis": _diagnosis,
    "age": _age,
    "active_episode": _active_episode,
    "fact": _fact,
}
