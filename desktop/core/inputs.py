"""Reading eligibility cases and inclusion requests from JSON-like dicts.

These are the boundaries where files, command lines and forms come in. Every problem
becomes a message naming the field and how to fix it; all problems of one input are
collected so the user can fix them in one go. Nothing here touches storage. Each field
is checked with the record contract's rule (`desktop.core.fields`), the one the server
applies to what the device pushes.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ParamSpec, TypeVar

from desktop.core.bundles import Bundle, LoadReport, Rule
from desktop.core.decision_support import check_decision_support
from desktop.core.eligibility import Case, Episode
from desktop.core.fields import (
    EXPLANATION_LANGUAGES,
    INSURER_SOURCES,
    SIDES,
    TEXT_MAX,
    TREATMENTS,
    check_choice,
    check_text,
    parse_timestamp,
)
from desktop.core.identifiers import (
    InvalidField,
    normalize_icd10,
    parse_date,
    validate_agb,
    validate_birth_date,
    validate_bsn,
    validate_inclusion_date,
    validate_uzovi,
)
from desktop.core.messages import Listing, Msg, Translatable, either, joined, msg
from desktop.core.states import InsurerSource, RecordState, Side, TreatmentOption

CASE_FIELDS = ("bundle", "inclusion_date", "birth_date", "diagnosis", "side", "insurer_uzovi",
               "facts", "previous_inclusions", "bsn")
INCLUSION_FIELDS = CASE_FIELDS + (
    "name", "clinician_agb", "location", "explained_by", "agreed", "explanation_language",
    "explained_at", "handout_printed", "initial_treatment", "insurer_source", "insurer_checked_at",
    "decision_support",
)
REQUIRED_ON_RECORD = ("clinician_agb", "location", "explained_by", "explanation_language", "handout_printed")
# Input vocabularies: the words a file or form may use, each read into its named state.
_SIDE_WORDS = {"l": Side.LEFT, "left": Side.LEFT, "links": Side.LEFT, "r": Side.RIGHT, "right": Side.RIGHT,
               "rechts": Side.RIGHT, "both": Side.BOTH, "beide": Side.BOTH, "bilateral": Side.BOTH,
               "bilateraal": Side.BOTH}
# A previous inclusion's status in a CASE file, also in other systems' words: these no longer
# hold an episode open; any other word means one that does (registered).
_CLOSED_STATUS_WORDS = {
    **dict.fromkeys(("ingetrokken", "cancelled", "canceled", "draft", "concept", "expired", "ended", "closed",
                     "completed", "beeindigd", "beëindigd"), RecordState.WITHDRAWN),
    "afgewezen": RecordState.REJECTED,
}
_TRUE_WORDS = {"true", "ja", "yes", "j", "y", "1", "waar"}
_FALSE_WORDS = {"false", "nee", "no", "n", "0", "onwaar"}


class InputError(ValueError):
    """One input (a CASE file, a JSONL line, a form) with one or more bad fields."""

    def __init__(self, problems: list[InvalidField]):
        self.problems = problems
        super().__init__(self.text("nl"))

    def text(self, language: str = "nl") -> str:
        """Every problem, each field named by its label: 'Inclusiedatum: …; BSN: …'."""
        return self.message.get(language)

    @property
    def message(self) -> Listing:
        return joined(self.problems, "; ")


P = ParamSpec("P")
R = TypeVar("R")


class _Collector:
    def __init__(self) -> None:
        self.problems: list[InvalidField] = []

    def run(self, function: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R | None:
        """The function's value, or None with its problem collected."""
        try:
            return function(*args, **kwargs)
        except InvalidField as problem:
            self.problems.append(problem)
            return None

    def add(self, field_name: str, message: Msg, label: Translatable | None = None) -> None:
        self.problems.append(InvalidField(field_name, message, label))

    def raise_if_any(self) -> None:
        if self.problems:
            raise InputError(self.problems)


def _optional(data: dict[str, Any], key: str) -> Any:
    value = data.get(key)
    return None if isinstance(value, str) and not value.strip() else value


def parse_side(value: Any, field_name: str = "side") -> Side | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    side = _SIDE_WORDS.get(value.strip().lower()) if isinstance(value, str) else None
    if side is None:
        raise InvalidField(field_name, msg("core.invalid.side", choices=joined(SIDES)))
    return side


def parse_record_state(word: str) -> RecordState:
    """A previous inclusion's status as a CASE file gives it (see `_CLOSED_STATUS_WORDS`)."""
    word = word.strip().lower()
    try:
        return RecordState(word)
    except ValueError:
        return _CLOSED_STATUS_WORDS.get(word, RecordState.REGISTERED)


def coerce_fact(rule: Rule, value: Any, field_name: str) -> Any:
    """Turn an answer into the fact's type: ja/nee for booleans, a number for numbers."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if rule.fact_type == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, (int, str)) and str(value).strip().lower() in _TRUE_WORDS | _FALSE_WORDS:
            return str(value).strip().lower() in _TRUE_WORDS
        raise InvalidField(field_name, msg("core.invalid.yes_no"), rule.question)
    if rule.fact_type == "number":
        if isinstance(value, bool):
            raise InvalidField(field_name, msg("core.invalid.number_not_yes_no"), rule.question)
        if isinstance(value, (int, float)):
            return value
        if isinstance(value, str) and re.fullmatch(r"-?[0-9]+([.,][0-9]+)?", value.strip()):
            number = float(value.strip().replace(",", "."))
            return int(number) if number.is_integer() else number
        raise InvalidField(field_name, msg("core.invalid.number"), rule.question)
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        raise InvalidField(field_name, msg("core.invalid.text"), rule.question)
    return str(value).strip()


def _bundle(report: LoadReport, data: dict[str, Any], c: _Collector) -> Bundle | None:
    bundle_id = data.get("bundle")
    if not isinstance(bundle_id, str) or not bundle_id.strip():
        c.add("bundle", msg("core.invalid.bundle_missing", available=joined(sorted(report.bundles))))
        return None
    bundle = report.bundles.get(bundle_id.strip())
    if bundle:
        return bundle
    broken = [p for p in report.errors if p.stem == bundle_id.strip()]
    if broken:
        c.add("bundle", msg("core.invalid.bundle_broken", bundle=bundle_id.strip(),
                               problems=joined(report.errors[broken[0]], "; ")))
    else:
        c.add("bundle", msg("core.invalid.bundle_unknown", bundle=bundle_id.strip(),
                               available=joined(sorted(report.bundles))))
    return None


def _previous(report: LoadReport, items: Any, c: _Collector) -> list[Episode]:
    if items is None:
        return []
    if not isinstance(items, list):
        c.add("previous_inclusions", msg("core.invalid.list"))
        return []
    episodes: list[Episode] = []
    for index, item in enumerate(items):
        where = f"previous_inclusions[{index}]"
        if not isinstance(item, dict):
            c.add(where, msg("core.invalid.previous_object"))
            continue
        bundle_id = item.get("bundle")
        if not isinstance(bundle_id, str) or not bundle_id.strip():
            c.add(f"{where}.bundle", msg("core.invalid.missing"))
            continue
        start = c.run(parse_date, item.get("inclusion_date"), f"{where}.inclusion_date")
        status = item.get("status") or item.get("state") or RecordState.REGISTERED
        if not isinstance(status, str) or not status.strip():
            c.add(f"{where}.status", msg("core.invalid.status_text"))
            continue
        state = parse_record_state(status)
        side = c.run(parse_side, item.get("side"), f"{where}.side")
        condition = _optional(item, "condition")
        bundle = report.bundles.get(bundle_id)
        if condition is not None and not isinstance(condition, str):
            c.add(f"{where}.condition", msg("core.invalid.text"))
            continue
        if condition is not None and bundle is not None:
            found = bundle.find_condition(condition)
            if found is None:
                c.add(f"{where}.condition", msg("core.invalid.condition_unknown", condition=condition, bundle=bundle_id,
                                                ids=either(x.id for x in bundle.conditions)))
                continue
            condition = found.id
        if start is None:
            continue
        end = _optional(item, "end_date")
        if end is not None:
            end = c.run(parse_date, end, f"{where}.end_date")
        if end is None:
            days = bundle.episode_days if bundle else 365
            end = start + dt.timedelta(days=days - 1)
        episodes.append(Episode(bundle_id, condition, side, start, end, state, item.get("id")))
    return episodes


def parse_case(data: Any, report: LoadReport, today: dt.date | None = None) -> tuple[Case, Bundle]:
    """Validate a CASE dict against the bundles; raise InputError listing every bad field."""
    today = today or dt.date.today()
    if not isinstance(data, dict):
        raise InputError([InvalidField("(bestand)", msg("core.invalid.case_object"))])
    c = _Collector()
    bundle = _bundle(report, data, c)
    inclusion_value = _optional(data, "inclusion_date")
    inclusion_date = today if inclusion_value is None else c.run(parse_date, inclusion_value, "inclusion_date")
    birth_value = _optional(data, "birth_date")
    birth_date = None
    if birth_value is not None:
        birth_date = c.run(validate_birth_date, birth_value, inclusion_date or today)
    diagnosis = _optional(data, "diagnosis")
    if diagnosis is not None:
        diagnosis = c.run(normalize_icd10, diagnosis, "diagnosis")
    side = c.run(parse_side, data.get("side"))
    insurer = _optional(data, "insurer_uzovi")
    if insurer is not None:
        insurer = c.run(validate_uzovi, insurer, "insurer_uzovi")
    bsn = _optional(data, "bsn")
    if bsn is not None:
        bsn = c.run(validate_bsn, bsn, "bsn")
    facts_in = data.get("facts") or {}
    facts: dict[str, Any] = {}
    if not isinstance(facts_in, dict):
        c.add("facts", msg("core.invalid.facts_object"))
    elif bundle:
        for rule in bundle.fact_rules:
            if rule.fact:  # every fact rule names its fact (parse_bundle)
                facts[rule.fact] = c.run(coerce_fact, rule, facts_in.get(rule.fact), f"facts.{rule.fact}")
    previous = _previous(report, data.get("previous_inclusions"), c)
    c.raise_if_any()
    assert bundle is not None and inclusion_date is not None  # else a problem was collected above
    case = Case(bundle=bundle.id, inclusion_date=inclusion_date, birth_date=birth_date,
                diagnosis=diagnosis, side=side, insurer_uzovi=insurer, facts=facts,
                previous_inclusions=previous, bsn=bsn)
    return case, bundle


@dataclass
class InclusionRequest:
    """Everything needed to register an inclusion besides the eligibility decision."""

    case: Case
    bundle: Bundle
    bsn: str
    clinician_agb: str
    location: str
    explained_by: str
    name: str | None = None
    explanation_language: str = "nl"
    explained_at: str | None = None
    handout_printed: bool = False
    initial_treatment: TreatmentOption | None = None
    insurer_source: InsurerSource = InsurerSource.MANUAL
    insurer_checked_at: str | None = None
    decision_support: dict[str, Any] | None = None  # what Samen beslissen showed (desktop.core.decision_support)
    extra: dict[str, Any] = field(default_factory=dict)


def _text(data: dict[str, Any], key: str, c: _Collector, missing: Msg | None = None,
          limit: int = TEXT_MAX) -> str | None:
    """A text field; `missing` is the message when it is required and absent (None: optional)."""
    value = _optional(data, key)
    if value is None:
        if missing is not None:
            c.add(key, missing)
        return None
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        c.add(key, msg("core.invalid.text"))
        return None
    return c.run(check_text, str(value).strip(), key, limit)


def parse_inclusion(data: Any, report: LoadReport, today: dt.date | None = None,
                    default_location: str | None = None) -> InclusionRequest:
    """Validate an inclusion request (a CASE plus patient, clinician and consent fields)."""
    today = today or dt.date.today()
    if not isinstance(data, dict):
        raise InputError([InvalidField("(regel)", msg("core.invalid.inclusion_object"))])
    c = _Collector()
    case: Case | None
    bundle: Bundle | None
    try:
        case, bundle = parse_case(data, report, today)
    except InputError as error:
        c.problems.extend(error.problems)
        case = bundle = None
    if case and _optional(data, "inclusion_date") is not None:
        c.run(validate_inclusion_date, case.inclusion_date, today)
    for key, missing in (("birth_date", msg("core.invalid.birth_date_needed")),
                         ("diagnosis", msg("core.invalid.diagnosis_needed")),
                         ("insurer_uzovi", msg("core.invalid.insurer_needed")),
                         ("bsn", msg("core.invalid.bsn_needed"))):
        if _optional(data, key) is None:
            c.add(key, missing)
    agb = c.run(validate_agb, data.get("clinician_agb"), "clinician_agb")
    location = _text(data, "location", c, None if default_location else msg("core.invalid.location_needed"))
    if location is None and default_location and _optional(data, "location") is None:
        location = _text({"location": default_location}, "location", c, msg("core.invalid.location_needed"))
    explained_by = _text(data, "explained_by", c, msg("core.invalid.explained_by_needed"))
    name = _text(data, "name", c)
    agreed = data.get("agreed")
    if agreed is not True:
        c.add("agreed", msg("core.invalid.not_agreed"))
    language = _optional(data, "explanation_language") or "nl"
    if language not in EXPLANATION_LANGUAGES:
        c.add("explanation_language", msg("core.invalid.choice", choices=either(EXPLANATION_LANGUAGES)))
    treatment = _optional(data, "initial_treatment")
    if treatment is not None and treatment not in TREATMENTS:
        c.add("initial_treatment", msg("core.invalid.choice", choices=either(TREATMENTS)))
    treatment = TreatmentOption(treatment) if treatment in TREATMENTS else None
    source = _optional(data, "insurer_source") or InsurerSource.MANUAL
    if source not in INSURER_SOURCES:
        c.add("insurer_source", msg("core.invalid.choice", choices=either(INSURER_SOURCES)))
    handout = data.get("handout_printed", False)
    if not isinstance(handout, bool):
        c.add("handout_printed", msg("core.invalid.true_false"))
    for key in ("explained_at", "insurer_checked_at"):
        if _optional(data, key) is not None and not isinstance(data[key], str):
            c.add(key, msg("core.invalid.timestamp_text"))
        elif _optional(data, key) is not None:
            c.run(parse_timestamp, data[key], key)
    support = None
    if data.get("decision_support") is not None and case is not None and bundle is not None:
        condition = bundle.condition_for_code(case.diagnosis) if case.diagnosis else None
        support = c.run(check_decision_support, data["decision_support"], condition.id if condition else "")
    c.raise_if_any()
    # else a problem was collected above (a missing bsn too: parse_case checks it when given)
    assert case is not None and bundle is not None and case.bsn is not None
    assert agb is not None and location is not None and explained_by is not None
    return InclusionRequest(
        case=case, bundle=bundle, bsn=case.bsn, clinician_agb=agb, location=location,
        explained_by=explained_by, name=name, explanation_language=language,
        explained_at=_optional(data, "explained_at"), handout_printed=handout,
        initial_treatment=treatment, insurer_source=InsurerSource(source),
        insurer_checked_at=_optional(data, "insurer_checked_at"), decision_support=support,
    )


def parse_correction(changes: dict[str, Any]) -> dict[str, Any]:
    """Corrected administrative fields, under the rules they had at registration.

    Side words are normalised ('links' → 'L') and texts trimmed, so a corrected record
    keeps to the record contract; the optional fields may be cleared (None).
    """
    c = _Collector()
    clean: dict[str, Any] = {}
    for key, value in changes.items():
        if (value is None or (isinstance(value, str) and not value.strip())) and key in REQUIRED_ON_RECORD:
            c.add(key, msg("core.invalid.required"))
        elif value is None or (isinstance(value, str) and not value.strip()):
            clean[key] = None
        elif key == "side":
            clean[key] = c.run(parse_side, value)
        elif key == "clinician_agb":
            clean[key] = c.run(validate_agb, value, key)
        elif key in ("name", "location", "explained_by"):
            clean[key] = _text(changes, key, c)
        elif key == "explanation_language":
            clean[key] = c.run(check_choice, value, EXPLANATION_LANGUAGES, key)
        elif key == "initial_treatment":
            clean[key] = c.run(check_choice, value, TREATMENTS, key)
        elif key == "handout_printed":
            if not isinstance(value, bool):
                c.add(key, msg("core.invalid.true_false"))
            clean[key] = value
        else:
            c.add(key, msg("core.invalid.not_correctable"))
    c.raise_if_any()
    return clean
