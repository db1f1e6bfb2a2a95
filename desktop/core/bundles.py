"""Bundle definitions: what a bundle is and how its TOML text is checked.

A clinic's staff edit these definitions, so every problem is reported with the field and
what is wrong. Pure: it parses text it is given; the device reads its folders in
`desktop/bundle_files.py`, the server parses the text it stored at `import-bundles`.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from desktop.core.fields import SHORT_TEXT_MAX, check_text
from desktop.core.identifiers import InvalidField, normalize_icd10, validate_uzovi
from desktop.core.messages import Msg, Plain, joined, msg

T = TypeVar("T")

RULE_KINDS = ("insurer", "diagnosis", "age", "contract_window", "active_episode", "fact")
FACT_TYPES = ("boolean", "number", "text")
EPISODE_KEY_PARTS = ("patient", "condition", "side")
LANGUAGES = ("nl", "en")


@dataclass(frozen=True)
class Text:
    """A text in Dutch and English; Dutch is always present and is the fallback."""

    nl: str
    en: str

    def get(self, language: str) -> str:
        return self.en if language == "en" and self.en else self.nl


@dataclass(frozen=True)
class Contract:
    insurer: str
    uzovi: frozenset[str]
    start: dt.date
    end: dt.date

    def covers(self, day: dt.date) -> bool:
        return self.start <= day <= self.end


@dataclass(frozen=True)
class Condition:
    id: str
    label: Text
    codes: tuple[str, ...]
    laterality: bool
    aliases: tuple[str, ...] = ()

    def matches_code(self, code: str) -> bool:
        """A code matches itself and its subcodes: G56.0 covers G56.01, M18 covers M18.1."""
        return any(code == c or code.startswith(c if "." in c else c + ".") for c in self.codes)

    def code_summary(self) -> str:
        """'M18.0–M18.9' rather than ten codes, so reasons stay readable."""
        parts: list[str] = []
        run: list[str] = []
        for code in (*self.codes, None):
            if run and code and code[:3] == run[-1][:3] and code[4:].isdigit() and run[-1][4:].isdigit() \
                    and len(code) == len(run[-1]) and int(code[4:]) == int(run[-1][4:]) + 1:
                run.append(code)
                continue
            if run:
                parts.append(f"{run[0]}–{run[-1]}" if len(run) > 2 else ", ".join(run))
            run = [code] if code else []
        return ", ".join(parts)


@dataclass(frozen=True)
class Rule:
    kind: str
    min_age: int | None = None
    max_age: int | None = None
    fact: str | None = None
    fact_type: str = "boolean"
    question: Text | None = None
    equals: Any = None
    allowed: tuple[Any, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    fail_reason: Text | None = None


@dataclass(frozen=True)
class Moment:
    id: str
    label: Text
    months: int | None
    event: str | None


@dataclass(frozen=True)
class Bundle:
    id: str
    version: str
    name: Text
    active: bool
    episode_days: int
    episode_key: tuple[str, ...]
    contracts: tuple[Contract, ...]
    conditions: tuple[Condition, ...]
    rules: tuple[Rule, ...]
    moments: tuple[Moment, ...]
    explanation: dict[str, dict[str, Any]]
    source: Path
    notes: str = ""

    @property
    def any_insurer(self) -> bool:
        return not self.contracts

    @property
    def contracted_uzovi(self) -> frozenset[str]:
        return frozenset().union(*(c.uzovi for c in self.contracts)) if self.contracts else frozenset()

    def condition_for_code(self, code: str) -> Condition | None:
        return next((c for c in self.conditions if c.matches_code(code)), None)

    def find_condition(self, text: str | None) -> Condition | None:
        """Resolve a condition given by id ('CTS', 'cmc1-oa'), alias or diagnosis code."""
        if not text:
            return None
        folded = _fold(text)
        for condition in self.conditions:
            if folded == _fold(condition.id) or folded in {_fold(a) for a in condition.aliases}:
                return condition
        try:
            return self.condition_for_code(normalize_icd10(text))
        except InvalidField:
            return None

    def end_date(self, inclusion: dt.date) -> dt.date:
        """Last day of the episode, inclusive: 365 days starting on the inclusion date."""
        return inclusion + dt.timedelta(days=self.episode_days - 1)

    @property
    def fact_rules(self) -> tuple[Rule, ...]:
        return tuple(r for r in self.rules if r.kind == "fact")


def _fold(text: str) -> str:
    return text.strip().lower().replace("-", "_").replace(" ", "_")


CONTRACT_WARNING_DAYS = 30


@dataclass(frozen=True)
class ContractEnd:
    """A contract of an active bundle that ends soon or has ended, with no successor in place."""

    bundle: Bundle
    contract: Contract
    days_left: int  # 0 on the last day; negative once it has ended

    @property
    def ended(self) -> bool:
        return self.days_left < 0

    def message(self) -> Msg:
        """What IT and the SUO need to know, and which file and key to update."""
        c = self.contract
        values = {"bundle": self.bundle.id, "codes": joined(sorted(c.uzovi)), "end": c.end.isoformat(),
                  "next": (c.end + dt.timedelta(days=1)).isoformat(), "source": str(self.bundle.source),
                  "insurer": Plain(c.insurer) if c.insurer else msg("core.contract_end.the_insurer")}
        if self.ended:
            return msg("core.contract_end.ended", **values)
        if self.days_left == 0:
            return msg("core.contract_end.today", **values)
        if self.days_left == 1:
            return msg("core.contract_end.tomorrow", **values)
        return msg("core.contract_end.soon", days=self.days_left, **values)


def contract_ends(bundles: list[Bundle], today: dt.date, within_days: int = CONTRACT_WARNING_DAYS) -> list[ContractEnd]:
    """Contracts of active bundles that end within `within_days` of `today`, or have ended.

    A contract counts only if no other contract of the bundle covers all its UZOVI codes
    on the day after it ends: a renewal already in the file needs no warning.
    """
    found = []
    for bundle in bundles:
        if not bundle.active:
            continue
        for contract in bundle.contracts:
            days_left = (contract.end - today).days
            if days_left > within_days or contract.start > today:
                continue
            next_day = contract.end + dt.timedelta(days=1)
            successors = [other for other in bundle.contracts if other is not contract and other.covers(next_day)]
            if contract.uzovi <= frozenset().union(*(other.uzovi for other in successors)):
                continue
            found.append(ContractEnd(bundle, contract, days_left))
    return sorted(found, key=lambda end: (end.contract.end, end.bundle.id))


@dataclass
class LoadReport:
    """What loading a folder of bundle files gave: the valid bundles and every problem."""

    bundles: dict[str, Bundle] = field(default_factory=dict)
    errors: dict[Path, list[str]] = field(default_factory=dict)

    def active(self) -> list[Bundle]:
        return [b for b in self.bundles.values() if b.active]


class BundleError(ValueError):
    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


class _Reader:
    """Reads typed fields out of parsed TOML, collecting a message per problem."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def problem(self, where: str, message: str) -> None:
        self.problems.append(f"veld '{where}': {message}")

    def get(self, table: dict[str, Any], key: str, where: str, kind: type | tuple[type, ...], required: bool = True,
            default: Any = None) -> Any:
        path = f"{where}.{key}" if where else key
        if key not in table:
            if required:
                self.problem(path, "ontbreekt")
            return default
        value = table[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if isinstance(value, bool) and bool not in kinds:
            self.problem(path, f"moet {_kind_name(kinds)} zijn, niet {value!r}")
            return default
        if not isinstance(value, kinds):
            self.problem(path, f"moet {_kind_name(kinds)} zijn, niet {type(value).__name__} {value!r}")
            return default
        return value

    def identifier(self, table: dict[str, Any], key: str, where: str,
                   kinds: type | tuple[type, ...] = str) -> str | None:
        """An id or version: it travels in every record, so it obeys the record's text rule."""
        value = self.get(table, key, where, kinds)
        if value is None:
            return None
        try:
            return check_text(str(value), f"{where}.{key}" if where else key, SHORT_TEXT_MAX)
        except InvalidField as error:
            self.problem(error.field, error.message.get("nl"))
            return None

    def text(self, table: dict[str, Any], key: str, where: str, required: bool = True) -> Text | None:
        path = f"{where}.{key}" if where else key
        value = table.get(key)
        if value is None:
            if required:
                self.problem(path, "ontbreekt (een tabel met nl en en)")
            return None
        if isinstance(value, str):
            return Text(value, value)
        if not isinstance(value, dict) or not isinstance(value.get("nl"), str) or not value["nl"].strip():
            self.problem(path, "moet een tekst zijn of een tabel met minstens 'nl' (en liefst 'en')")
            return None
        english = value.get("en", "")
        if not isinstance(english, str):
            self.problem(f"{path}.en", "moet tekst zijn")
            english = ""
        return Text(value["nl"], english)


def _kind_name(kinds: tuple[type, ...]) -> str:
    names = {str: "tekst", int: "een geheel getal", float: "een getal", bool: "true of false",
             list: "een lijst", dict: "een tabel", dt.date: "een datum (JJJJ-MM-DD)"}
    return " of ".join(names.get(k, k.__name__) for k in kinds)


def parse_bundle(data: dict[str, Any], source: Path) -> Bundle:
    """Turn parsed TOML into a Bundle, or raise BundleError listing every problem."""
    r = _Reader()
    bundle_id = r.identifier(data, "id", "") or ""
    version = r.identifier(data, "version", "", (str, int)) or ""
    name = r.text(data, "name", "")
    active = r.get(data, "active", "", bool, required=False, default=False)
    episode_days = r.get(data, "episode_days", "", int)
    if isinstance(episode_days, int) and episode_days < 1:
        r.problem("episode_days", "moet minstens 1 dag zijn")
    episode_key = r.get(data, "episode_key", "", list, required=False, default=["patient", "condition"])
    for part in episode_key or []:
        if part not in EPISODE_KEY_PARTS:
            r.problem("episode_key", f"onbekend onderdeel {part!r}; kies uit {', '.join(EPISODE_KEY_PARTS)}")
    if episode_key and "patient" not in episode_key:
        r.problem("episode_key", "moet 'patient' bevatten")

    contracts = [_parse_contract(r, c, i) for i, c in enumerate(_tables(r, data, "contracts", required=False))]
    conditions = [_parse_condition(r, c, i) for i, c in enumerate(_tables(r, data, "conditions"))]
    rules = [_parse_rule(r, c, i) for i, c in enumerate(_tables(r, data, "rules"))]
    moments = [_parse_moment(r, c, i) for i, c in enumerate(_tables(r, data, "moments", required=False))]

    kinds = [rule.kind for rule in rules if rule]
    if not contracts and ("insurer" in kinds or "contract_window" in kinds):
        r.problem("rules", "een regel 'insurer' of 'contract_window' vraagt om minstens één [[contracts]]")
    if contracts and "insurer" not in kinds:
        r.problem("rules", "een bundel met contracten moet een regel kind = \"insurer\" hebben")
    fact_names = [rule.fact for rule in rules if rule and rule.kind == "fact"]
    if len(set(fact_names)) != len(fact_names):
        r.problem("rules", "elk feit mag maar één keer gevraagd worden")
    condition_ids = [c.id for c in conditions if c]
    if len(set(condition_ids)) != len(condition_ids):
        r.problem("conditions", "elke aandoening moet een eigen id hebben")

    explanation = r.get(data, "explanation", "", dict, required=False, default={}) or {}
    for language in explanation:
        if language not in LANGUAGES or not isinstance(explanation[language], dict):
            r.problem(f"explanation.{language}", "verwacht [explanation.nl] en [explanation.en] met teksten")

    if r.problems or name is None:  # no name is always one of the problems
        raise BundleError(r.problems)
    return Bundle(
        id=bundle_id, version=version, name=name, active=active, episode_days=episode_days,
        episode_key=tuple(episode_key), contracts=_present(contracts), conditions=_present(conditions),
        rules=_present(rules), moments=_present(moments), explanation=explanation, source=source,
        notes=data.get("notes", "") if isinstance(data.get("notes"), str) else "",
    )


def _present(parsed: list[T | None]) -> tuple[T, ...]:
    """The parsed items; without problems none is missing (None)."""
    return tuple(item for item in parsed if item is not None)


def _tables(r: _Reader, data: dict[str, Any], key: str, required: bool = True) -> list[dict[str, Any]]:
    value = data.get(key)
    if value is None:
        if required:
            r.problem(key, f"ontbreekt; voeg minstens één [[{key}]] toe")
        return []
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        r.problem(key, f"moet een lijst van tabellen zijn ([[{key}]])")
        return []
    return value


def _parse_contract(r: _Reader, table: dict[str, Any], index: int) -> Contract | None:
    where = f"contracts[{index}]"
    insurer = r.get(table, "insurer", where, str) or ""
    codes = r.get(table, "uzovi", where, list) or []
    uzovi: set[str] = set()
    for code in codes:
        try:
            uzovi.add(validate_uzovi(code, f"{where}.uzovi"))
        except InvalidField as error:
            r.problem(error.field, error.message.get("nl"))
    if isinstance(table.get("uzovi"), list) and not codes:
        r.problem(f"{where}.uzovi", "moet minstens één UZOVI-code bevatten (een contract is een set codes)")
    start = r.get(table, "start", where, dt.date)
    end = r.get(table, "end", where, dt.date)
    if start and end and end < start:
        r.problem(f"{where}.end", "ligt voor start")
    if not (start and end and uzovi):
        return None
    return Contract(insurer, frozenset(uzovi), start, end)


def _parse_condition(r: _Reader, table: dict[str, Any], index: int) -> Condition | None:
    where = f"conditions[{index}]"
    condition_id = r.identifier(table, "id", where)
    label = r.text(table, "label", where)
    codes: list[str] = []
    for code in r.get(table, "codes", where, list) or []:
        try:
            codes.append(normalize_icd10(code, f"{where}.codes"))
        except InvalidField as error:
            r.problem(error.field, f"{code!r} {error.message}")
    if isinstance(table.get("codes"), list) and not table["codes"]:
        r.problem(f"{where}.codes", "moet minstens één ICD-10-code bevatten")
    laterality = r.get(table, "laterality", where, bool, required=False, default=False)
    aliases = r.get(table, "aliases", where, list, required=False, default=[]) or []
    if not (condition_id and label and codes):
        return None
    return Condition(condition_id, label, tuple(codes), laterality, tuple(str(a) for a in aliases))


def _parse_rule(r: _Reader, table: dict[str, Any], index: int) -> Rule | None:
    where = f"rules[{index}]"
    kind = r.get(table, "kind", where, str)
    if kind is None:
        return None
    if kind not in RULE_KINDS:
        r.problem(f"{where}.kind", f"onbekende soort {kind!r}; kies uit {', '.join(RULE_KINDS)}")
        return None
    fail_reason = r.text(table, "fail_reason", where, required=False)
    if kind == "age":
        low = r.get(table, "min", where, int, required=False)
        high = r.get(table, "max", where, int, required=False)
        if low is None and high is None:
            r.problem(where, "een leeftijdsregel heeft 'min' en/of 'max' nodig")
        if low is not None and high is not None and high < low:
            r.problem(f"{where}.max", "is kleiner dan min")
        return Rule(kind, min_age=low, max_age=high, fail_reason=fail_reason)
    if kind != "fact":
        return Rule(kind, fail_reason=fail_reason)

    fact = r.get(table, "fact", where, str)
    fact_type = r.get(table, "type", where, str, required=False, default="boolean")
    if fact_type not in FACT_TYPES:
        r.problem(f"{where}.type", f"onbekend type {fact_type!r}; kies uit {', '.join(FACT_TYPES)}")
        return None
    question = r.text(table, "question", where)
    equals = table.get("equals")
    allowed = r.get(table, "allowed", where, list, required=False, default=[]) or []
    minimum = r.get(table, "min", where, (int, float), required=False)
    maximum = r.get(table, "max", where, (int, float), required=False)
    if fact_type == "boolean" and not isinstance(equals, bool):
        r.problem(f"{where}.equals", "een ja/nee-feit heeft equals = true of equals = false nodig")
    if fact_type == "number" and not allowed and minimum is None and maximum is None:
        r.problem(where, "een getal-feit heeft 'allowed', 'min' of 'max' nodig")
    if fact_type == "number" and any(isinstance(a, bool) or not isinstance(a, (int, float)) for a in allowed):
        r.problem(f"{where}.allowed", "moet een lijst getallen zijn")
    if fact_type == "text" and not allowed:
        r.problem(f"{where}.allowed", "een tekst-feit heeft een lijst toegestane antwoorden nodig")
    if not (fact and question):
        return None
    return Rule(kind, fact=fact, fact_type=fact_type, question=question, equals=equals,
                allowed=tuple(allowed), minimum=minimum, maximum=maximum, fail_reason=fail_reason)


def _parse_moment(r: _Reader, table: dict[str, Any], index: int) -> Moment | None:
    where = f"moments[{index}]"
    moment_id = r.get(table, "id", where, str)
    label = r.text(table, "label", where)
    months = r.get(table, "months", where, int, required=False)
    event = r.get(table, "event", where, str, required=False)
    if months is None and event is None:
        r.problem(where, "een meetmoment heeft 'months' (maanden na inclusie) of 'event' nodig")
    if months is not None and months < 0:
        r.problem(f"{where}.months", "mag niet negatief zijn")
    if not (moment_id and label):
        return None
    return Moment(moment_id, label, months, event)


def parse_bundle_toml(text: str, source: Path) -> Bundle:
    """Parse a bundle definition from TOML text; raise BundleError naming the problems."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise BundleError([f"geen geldige TOML: {error}"]) from None
    except RecursionError:  # tomllib recurses per nesting level; a hostile file exhausts the stack
        raise BundleError(["geen bruikbare TOML: tabellen of lijsten zijn te diep genest"]) from None
    return parse_bundle(data, source)
