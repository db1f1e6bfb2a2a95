"""An intake questionnaire's answers as the models' baseline columns: mapping and scoring.

The patient fills in the intake at home (a PROM platform sends it); the predictions need
those answers as the cohort's baseline columns (`nrs_pain_0`, `pcs`, `bctq_fss_0`, …).
This module turns one response's answers into those columns and nothing else: no files,
no database, so the central server's import and (later) the device use the same rules.

* A linkId equal to a column (`nrs_pain_0`, `work_status`, …) is that column's answer.
* Item-level answers (`bctq_sss_q1` … `bctq_sss_q11`, `pcs_q1` … `pcs_q13`, …) are
  scored by the instrument's published rule (`SCALES`, each citing its source).
* A clinic's mapping file (TOML, `parse_mapping`) renames other linkIds and codes onto
  these.

A response is checked whole: one answer that is out of range or unknown rejects it
(`IntakeRejected`, one `Problem` per linkId, never the value: an answer field may hold
anything, an identifier too). LinkIds that map to nothing are ignored and named.
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal, NamedTuple

AnswerKind = Literal["integer", "decimal", "string", "coding", "boolean", "text"]
Value = float | str


@dataclass(frozen=True)
class Column:
    """A baseline column a questionnaire may answer directly. kind: number, binary, category.

    The same names, kinds and ranges as the models' schema (`predictors.schema`); a test
    keeps the two equal (the domain core may not import the predictors)."""

    name: str
    kind: Literal["number", "binary", "category"]
    low: float = 0.0
    high: float = 1.0
    levels: tuple[str, ...] = ()
    integer: bool = False


def _binary(name: str) -> Column:
    return Column(name, "binary")


COLUMNS: tuple[Column, ...] = (
    Column("sex", "category", levels=("F", "M")),
    Column("bmi", "number", 10, 80),
    _binary("diabetes"),
    _binary("smoker"),
    Column("work_status", "category", levels=("office", "physical", "not_working", "retired")),
    Column("symptom_duration_months", "number", 0, 600),
    _binary("dominant_hand_affected"),
    _binary("bilateral"),
    Column("pcs", "number", 0, 52),
    Column("phq4", "number", 0, 12),
    Column("expectation", "number", 0, 10),
    _binary("prior_injection"),
    Column("nrs_pain_0", "number", 0, 10),
    Column("ncs_severity", "number", 0, 3, integer=True),
    _binary("thenar_atrophy"),
    _binary("night_symptoms"),
    Column("bctq_sss_0", "number", 1, 5),
    Column("bctq_fss_0", "number", 1, 5),
    Column("eaton_stage", "number", 1, 4, integer=True),
    _binary("mcp_hyperextension"),
    Column("key_pinch_kg", "number", 0, 40),
    Column("mhq_pain_0", "number", 0, 100),
    Column("mhq_function_0", "number", 0, 100),
)
BY_NAME = {column.name: column for column in COLUMNS}


# -- the instruments ----------------------------------------------------------------------
def _fewer_than_half_missing(answered: int, items: int) -> bool:
    return 2 * (items - answered) < items


def mean_of_answered(items: dict[int, float], count: int) -> float | None:
    """BCTQ (Levine DW et al., J Bone Joint Surg Am 1993;75:1585-92): each scale's score
    is the mean of its item scores (1-5), unanswered items left out of the mean. Levine
    gives no minimum; we score a scale only when fewer than half of its items are missing,
    the rule the MHQ's authors publish for theirs (see `mhq_scale`), so a scale is never
    the mean of one or two answers (SSS: at least 6 of 11, FSS: at least 5 of 8)."""
    if not _fewer_than_half_missing(len(items), count):
        return None
    return sum(items.values()) / len(items)


def complete_sum(items: dict[int, float], count: int) -> float | None:
    """PCS (Sullivan MJL, Bishop SR, Pivik J, Psychol Assess 1995;7:524-32): the total is
    the sum of the 13 items (0-4), 0-52. PHQ-4 (Kroenke K et al., Psychosomatics
    2009;50:613-21): the sum of its 4 items (0-3), 0-12. Neither publishes a rule for
    missing items, and a sum with items left out is too low, so the total is scored only
    when every item is answered; otherwise the column stays empty (the models estimate
    it) and the response is still imported."""
    if len(items) != count:
        return None
    return float(sum(items.values()))


def mhq_scale(reversed_items: frozenset[int], none_if_first: float | None = None
              ) -> Callable[[dict[int, float], int], float | None]:
    """MHQ (Chung KC et al., J Hand Surg Am 1998;23:575-87, appendix; the MHQ scoring
    instructions of the University of Michigan): items 1-5; the reverse-coded items are
    turned around (x -> 6 - x); raw = the sum; score = (raw - 5) / 20 x 100 for a 5-item
    scale. With fewer than half of the items missing, each missing item gets the mean of
    the answered ones; with half or more missing the scale is not scored. Pain: high
    scores mean more pain; function: high scores mean better function. Pain question 1
    answered "never" (5) skips questions 2-5 on the form: that patient's pain score is 0."""
    def score(items: dict[int, float], count: int) -> float | None:
        if none_if_first is not None and set(items) == {1} and items[1] == none_if_first:
            return 0.0
        if not _fewer_than_half_missing(len(items), count):
            return None
        turned = {n: (6 - value if n in reversed_items else value) for n, value in items.items()}
        mean = sum(turned.values()) / len(turned)
        raw = sum(turned.values()) + mean * (count - len(turned))
        return (raw - count) / (4 * count) * 100
    return score


@dataclass(frozen=True)
class Scale:
    """Items `{prefix}1` … `{prefix}{items}`, each a whole number `low`-`high`, scored into `column`."""

    column: str
    prefix: str
    items: int
    low: int
    high: int
    rule: Callable[[dict[int, float], int], float | None]

    def link_ids(self) -> list[str]:
        return [f"{self.prefix}{n}" for n in range(1, self.items + 1)]


SCALES: tuple[Scale, ...] = (
    Scale("bctq_sss_0", "bctq_sss_q", 11, 1, 5, mean_of_answered),
    Scale("bctq_fss_0", "bctq_fss_q", 8, 1, 5, mean_of_answered),
    Scale("pcs", "pcs_q", 13, 0, 4, complete_sum),
    Scale("phq4", "phq4_q", 4, 0, 3, complete_sum),
    # pain: 1 how often (always 1 … never 5, reversed), 2 how severe (very mild 1 … very
    # severe 5), 3-5 how often it disturbed sleep / daily activities / made unhappy (reversed)
    Scale("mhq_pain_0", "mhq_pain_q", 5, 1, 5, mhq_scale(frozenset({1, 3, 4, 5}), none_if_first=5)),
    # overall hand function, the affected hand: 1 very good … 5 very poor, all reversed
    Scale("mhq_function_0", "mhq_function_q", 5, 1, 5, mhq_scale(frozenset({1, 2, 3, 4, 5}))),
)
ITEMS: dict[str, tuple[Scale, int]] = {f"{scale.prefix}{n}": (scale, n) for scale in SCALES
                                        for n in range(1, scale.items + 1)}
TARGETS = frozenset(BY_NAME) | frozenset(ITEMS)
SCALE_PREFIXES = {scale.prefix: scale for scale in SCALES}
# A reported scale score may differ from the one scored from its items by rounding only.
AGREEMENT = 0.01


# -- answers, problems, the mapping ---------------------------------------------------------
class Answer(NamedTuple):
    """One answer as the file gave it: its kind (FHIR value[x], or `text` for a CSV cell).

    A tuple rather than a dataclass: an export has tens of them per response."""

    link_id: str
    kind: AnswerKind
    value: int | float | str | bool


class Problem(NamedTuple):
    """What is wrong with one linkId's answer; `reason` never repeats the answer."""

    link_id: str
    reason: str


class IntakeRejected(ValueError):
    def __init__(self, problems: list[Problem]):
        super().__init__("; ".join(f"{p.link_id}: {p.reason}" for p in problems))
        self.problems = problems


class MappingError(ValueError):
    """The clinic's mapping file is wrong; the message names the key."""


@dataclass(frozen=True)
class Mapping:
    """A clinic's linkIds and codes: `links` {linkId: target}, `codes` {target or scale
    prefix: {code: value}}, `ignore` linkIds not to name as ignored."""

    links: dict[str, str] = field(default_factory=dict)
    codes: dict[str, dict[str, Value]] = field(default_factory=dict)
    ignore: frozenset[str] = frozenset()

    def target(self, link_id: str) -> str | None:
        if link_id in self.links:
            return self.links[link_id]
        return link_id if link_id in TARGETS else None

    def code_table(self, target: str) -> dict[str, Value] | None:
        """The target's own table, else (an item) its prefix's."""
        return self._tables.get(target)

    @cached_property
    def _tables(self) -> dict[str, dict[str, Value]]:
        tables = {}
        for target in TARGETS:
            table = self.codes.get(target)
            if table is None and target in ITEMS:
                table = self.codes.get(ITEMS[target][0].prefix)
            if table is not None:
                tables[target] = table
        return tables


DEFAULT_MAPPING = Mapping()


def parse_mapping(text: str) -> Mapping:
    """The mapping file's TOML text (see docs/IT.md) to a `Mapping`; MappingError names the key."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise MappingError(f"geen geldige TOML ({error})") from None
    unknown = set(data) - {"links", "codes", "ignore"}
    if unknown:
        raise MappingError(f"onbekende sleutel {sorted(unknown)[0]!r}; verwacht links, codes en ignore")
    links: dict[str, str] = {}
    for link_id, target in _table(data, "links").items():
        if not isinstance(target, str) or target not in TARGETS:
            raise MappingError(f"links.{link_id}: {target!r} is geen kolom of item van het codeboek")
        links[link_id] = target
    codes: dict[str, dict[str, Value]] = {}
    for target, table in _table(data, "codes").items():
        if target not in TARGETS and target not in SCALE_PREFIXES:
            raise MappingError(f"codes.{target}: geen kolom, item of itemvoorvoegsel (zoals bctq_sss_q) van het "
                               "codeboek")
        if not isinstance(table, dict):
            raise MappingError(f"codes.{target}: moet een tabel zijn (code = waarde)")
        checked: dict[str, Value] = {}
        for code, value in table.items():
            try:
                checked[code] = _checked_code_value(target, value)
            except ValueError as problem:
                raise MappingError(f"codes.{target}.{code}: {problem}") from None
        codes[target] = checked
    ignore = data.get("ignore", [])
    if not isinstance(ignore, list) or not all(isinstance(item, str) for item in ignore):
        raise MappingError("ignore: moet een lijst van linkIds zijn")
    return Mapping(links=links, codes=codes, ignore=frozenset(ignore))


def _table(data: dict[str, object], key: str) -> dict[str, object]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise MappingError(f"{key}: moet een tabel zijn")
    return value


def _checked_code_value(target: str, value: object) -> Value:
    """A code table's value must itself be a valid answer for its target."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError("moet een getal of tekst zijn")
    scale = SCALE_PREFIXES.get(target)
    name = f"{scale.prefix}1" if scale else target
    kind: AnswerKind = "string" if isinstance(value, str) else "decimal"
    return _interpret(name, Answer(name, kind, value), None)


# -- scoring ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Scored:
    """The baseline columns one response gives, and the linkIds that mapped to nothing."""

    values: dict[str, Value]
    ignored: frozenset[str]


def score(answers: Iterable[Answer], mapping: Mapping = DEFAULT_MAPPING) -> Scored:
    """One response's answers to baseline columns; IntakeRejected lists every bad answer."""
    problems: list[Problem] = []
    direct: dict[str, Value] = {}
    items: dict[str, dict[int, float]] = {}
    seen: dict[str, str] = {}
    ignored: set[str] = set()
    for answer in answers:
        target = mapping.target(answer.link_id)
        if target is None:
            if answer.link_id not in mapping.ignore:
                ignored.add(answer.link_id)
            continue
        if target in seen:
            problems.append(Problem(answer.link_id, f"tweede antwoord voor {target} (ook {seen[target]})"
                                    if seen[target] != answer.link_id else "komt meer dan eens voor"))
            continue
        seen[target] = answer.link_id
        try:
            value = _interpret(target, answer, mapping.code_table(target))
        except ValueError as problem:
            problems.append(Problem(answer.link_id, str(problem)))
            continue
        if target in ITEMS:
            scale, number = ITEMS[target]
            items.setdefault(scale.column, {})[number] = float(value)
        else:
            direct[target] = value
    values = dict(direct)
    for scale in SCALES:
        answered = items.get(scale.column)
        if not answered:
            continue
        scored = scale.rule(answered, scale.items)
        if scored is None:
            continue
        reported = direct.get(scale.column)
        column = BY_NAME[scale.column]
        if isinstance(reported, float) and abs(reported - scored) > AGREEMENT * (column.high - column.low):
            problems.append(Problem(seen[scale.column], f"verschilt van de score uit de items {scale.prefix}…"))
            continue
        values[scale.column] = scored
    if problems:
        raise IntakeRejected(problems)
    return Scored(values, frozenset(ignored))


def _interpret(target: str, answer: Answer, codes: dict[str, Value] | None) -> Value:
    """The answer as `target`'s value, or ValueError saying what is allowed (not the answer)."""
    if codes is not None and answer.kind in ("coding", "string", "text", "integer") \
            and str(answer.value).strip() in codes:
        return codes[str(answer.value).strip()]
    if target in ITEMS:
        scale, _ = ITEMS[target]
        number = _number(answer, whole=True)
        if not scale.low <= number <= scale.high:
            raise ValueError(f"buiten bereik; verwacht een geheel getal van {scale.low} t/m {scale.high}")
        return number
    column = BY_NAME[target]
    if column.kind == "category":
        if answer.kind not in ("coding", "string", "text"):
            raise ValueError(f"verwacht een code of tekst: één van {', '.join(column.levels)}")
        text = str(answer.value).strip()
        for level in column.levels:
            if text.lower() == level.lower():
                return level
        raise ValueError(f"onbekend antwoord; verwacht één van {', '.join(column.levels)}")
    if column.kind == "binary":
        if answer.kind == "boolean":
            return 1.0 if answer.value else 0.0
        yes_no = "verwacht ja/nee: waar/onwaar of de code 0 of 1"
        try:
            number = _number(answer, whole=True)
        except ValueError:
            raise ValueError(yes_no) from None
        if number not in (0.0, 1.0):
            raise ValueError(yes_no)
        return number
    number = _number(answer, whole=column.integer)
    if not column.low <= number <= column.high:
        kind = "een geheel getal" if column.integer else "een getal"
        raise ValueError(f"buiten bereik; verwacht {kind} van {column.low:g} t/m {column.high:g}")
    return number


NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:[.,][0-9]*)?|[.,][0-9]+)")


def _number(answer: Answer, whole: bool) -> float:
    if type(answer.value) is int:  # the common case, first
        return float(answer.value)
    if answer.kind == "boolean" or isinstance(answer.value, bool):
        raise ValueError("verwacht een getal, geen ja/nee")
    if isinstance(answer.value, (int, float)):
        number = float(answer.value)
    else:
        text = str(answer.value).strip()
        if not NUMBER.fullmatch(text):
            raise ValueError("verwacht een getal" + (" (een geheel getal)" if whole else ""))
        number = float(text.replace(",", "."))
    if not math.isfinite(number):
        raise ValueError("verwacht een eindig getal")
    if whole and number != math.floor(number):
        raise ValueError("verwacht een geheel getal")
    return number + 0.0
