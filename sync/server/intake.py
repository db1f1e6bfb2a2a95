"""Intake questionnaires: imported from the PROM platform's export, looked up by devices.

The patient's own intake answers (pain, function, work, …) feed the predictions in the
consultation. IT imports what the PROM platform exports — FHIR R4 JSON (a Bundle of type
searchset, collection or transaction, or one QuestionnaireResponse) or a CSV — with
`bundelassistent-server import-intake FILE [--mapping MAPPING.toml]`. Answers become
baseline columns by the domain core's rules (`desktop.core.intake`: mapping and the
instruments' scoring); only those columns are stored, never the item answers or names.

* The subject is a Patient entry of the same Bundle (as a search with `_include`
  returns it: `Reference.reference` is its `Patient/id`, its `fullUrl` or a `urn:uuid:`)
  or `Reference.identifier` with the BSN NamingSystem; the birth date comes from that
  Patient (a device's lookup must give it too). A response without one is rejected.
* Only `completed` and `amended` responses count; others are counted and left out.
* Each response is checked whole; a bad one is reported by its entry number and linkId
  (never a value or a BSN) and skipped, the rest imported.
* Idempotent: each response has a key (its identifier, else its id, else — CSV — the
  patient and time) and a hash of what is stored; the same file again changes nothing,
  a changed response replaces the stored one.
* Audited per patient (one row per patient and import), plus one row for the file.

A lookup (`POST /v1/intake/lookup`) answers the newest response completed on or before
the consultation date only when BSN *and* birth date match; a wrong birth date gets the
answer an unknown BSN gets (the audit row tells them apart), as the coverage lookup does.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select, update

from desktop.core import intake as core
from desktop.core.identifiers import BSN_OID, InvalidField, is_digits, validate_bsn
from sync.protocol import IntakeLookupRequest, IntakeLookupResponse
from sync.server import tables as t
from sync.server.coverage import EARLIEST_BIRTH_DATE
from sync.server.devices import AdminError, Device, checked_organisation
from sync.server.storage import Storage, Transaction

BSN_SYSTEMS = ("http://fhir.nl/fhir/NamingSystem/bsn", f"urn:oid:{BSN_OID}")
COUNTED = ("completed", "amended")
BUNDLE_TYPES = ("searchset", "collection", "transaction")
CSV_REQUIRED = ("bsn", "birth_date", "completed_at")
CLINIC_ZONE = ZoneInfo("Europe/Amsterdam")  # a time without a zone is the clinic's local time
CHUNK = 500
MAX_SHOWN = 50


class IntakeFileError(AdminError):
    """The file cannot be used at all (exit 2); nothing was imported."""


@dataclass(frozen=True)
class Response:
    """One checked response, as stored."""

    key: str
    bsn: str
    birth_date: dt.date
    completed_on: dt.date
    completed_at: dt.datetime | None
    status: str
    values: dict[str, core.Value]

    @property
    def content_hash(self) -> str:
        content = {"bsn": self.bsn, "birth_date": self.birth_date.isoformat(), "status": self.status,
                   "completed_on": self.completed_on.isoformat(),
                   "completed_at": self.completed_at.isoformat() if self.completed_at else None,
                   "values": self.values}
        return hashlib.sha256(json.dumps(content, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


@dataclass
class IntakeFile:
    """What a file gave: the responses to store, the rejected ones (entry: problems) and
    the not completed ones, and the linkIds that mapped to nothing."""

    responses: list[Response] = field(default_factory=list)
    rejected: list[tuple[str, list[core.Problem]]] = field(default_factory=list)
    not_completed: int = 0
    ignored: set[str] = field(default_factory=set)
    more_pages: bool = False  # a searchset with a `next` link: this file is one page of the search

    def reject(self, where: str, problems: list[core.Problem]) -> None:
        self.rejected.append((where, problems))

    def messages(self) -> list[str]:
        lines = [f"{where}: " + "; ".join(f"{shown(p.link_id)}: {p.reason}" for p in problems)
                 for where, problems in self.rejected]
        return lines[:MAX_SHOWN] + ([f"… en nog {len(lines) - MAX_SHOWN}"] if len(lines) > MAX_SHOWN else [])


def shown(link_id: str) -> str:
    """A linkId from the file as it may be printed: short, printable, and a nine-digit run
    (it could be a BSN someone used as a linkId) masked."""
    text = re.sub(r"[0-9]{9}", "*********", link_id[:80])
    return "".join(ch if ch.isprintable() else "?" for ch in text)


@dataclass(frozen=True)
class ImportSummary:
    read: int
    added: int
    changed: int
    unchanged: int
    rejected: int
    not_completed: int
    patients: int


# -- reading ------------------------------------------------------------------------------
def load_mapping(path: Path | None) -> core.Mapping:
    if path is None:
        return core.DEFAULT_MAPPING
    try:
        return core.parse_mapping(_text(Path(path)))
    except core.MappingError as error:
        raise IntakeFileError(f"{path}: {error}") from None


def _text(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise IntakeFileError(f"{path}: kan het bestand niet lezen ({error.strerror or error})") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise IntakeFileError(f"{path}: het bestand is geen UTF-8-tekst") from None


def read_intake(path: Path, mapping: core.Mapping = core.DEFAULT_MAPPING) -> IntakeFile:
    """FHIR JSON or CSV (by its first character); IntakeFileError if unusable."""
    text = _text(Path(path))
    stripped = text.lstrip()
    if stripped.startswith(("{", "[")):
        return read_fhir(text, path, mapping)
    return read_csv(text, path, mapping)


def read_fhir(text: str, path: Path, mapping: core.Mapping) -> IntakeFile:
    try:
        document = json.loads(text, parse_constant=_no_constant)
    except (ValueError, RecursionError):
        raise IntakeFileError(f"{path}: geen geldige JSON; verwacht een FHIR-Bundle of QuestionnaireResponse") \
            from None
    if not isinstance(document, dict):
        raise IntakeFileError(f"{path}: verwacht één JSON-object (een FHIR-Bundle of QuestionnaireResponse)")
    kind = document.get("resourceType")
    if kind == "QuestionnaireResponse":
        entries = [{"resource": document}]
    elif kind == "Bundle":
        if document.get("type") not in BUNDLE_TYPES:
            raise IntakeFileError(f"{path}: Bundle.type moet een van {', '.join(BUNDLE_TYPES)} zijn")
        entries = document.get("entry", [])
        if not isinstance(entries, list) or not all(isinstance(entry, dict) for entry in entries):
            raise IntakeFileError(f"{path}: Bundle.entry moet een lijst van objecten zijn")
    else:
        raise IntakeFileError(f"{path}: resourceType moet Bundle of QuestionnaireResponse zijn")
    patients = Patients(entries)
    result = IntakeFile()
    links = document.get("link") if kind == "Bundle" else None
    result.more_pages = isinstance(links, list) and any(isinstance(link, dict) and link.get("relation") == "next"
                                                        for link in links)
    keys: dict[str, str] = {}
    found = 0
    for number, entry in enumerate(entries, start=1):
        resource = entry.get("resource")
        if not isinstance(resource, dict) or resource.get("resourceType") != "QuestionnaireResponse":
            continue
        found += 1
        where = f"entry {number}" if kind == "Bundle" else "QuestionnaireResponse"
        if resource.get("status") not in COUNTED:
            result.not_completed += 1
            continue
        try:
            response = _fhir_response(resource, entry, patients, mapping, result)
        except core.IntakeRejected as rejected:
            result.reject(where, rejected.problems)
            continue
        if response.key in keys:
            result.reject(where, [core.Problem("id", f"dezelfde response staat ook in {keys[response.key]}")])
            continue
        keys[response.key] = where
        result.responses.append(response)
    if not found:
        raise IntakeFileError(f"{path}: bevat geen QuestionnaireResponse")
    return result


def _no_constant(name: str) -> None:
    raise ValueError(name)


class Patients:
    """The Patient entries of a Bundle, found by fullUrl, by `Patient/id` and by BSN."""

    def __init__(self, entries: list[dict]):
        self.by_url: dict[str, dict] = {}
        self.by_id: dict[str, dict] = {}
        self.by_bsn: dict[str, dict] = {}
        for entry in entries:
            resource = entry.get("resource")
            if not isinstance(resource, dict) or resource.get("resourceType") != "Patient":
                continue
            if isinstance(entry.get("fullUrl"), str):
                self.by_url[entry["fullUrl"]] = resource
            if isinstance(resource.get("id"), str):
                self.by_id[resource["id"]] = resource
            bsn = bsn_of(resource.get("identifier"))
            if bsn:
                self.by_bsn.setdefault(bsn, resource)

    def resolve(self, reference: str, contained: list) -> dict | None:
        if reference.startswith("#"):
            return next((r for r in contained if isinstance(r, dict) and r.get("resourceType") == "Patient"
                         and r.get("id") == reference[1:]), None)
        if reference in self.by_url:
            return self.by_url[reference]
        parts = reference.rstrip("/").split("/")
        if len(parts) >= 2 and parts[-2].lower() == "patient":
            return self.by_id.get(parts[-1])
        return None


def bsn_of(identifiers: object) -> str | None:
    """The value of the first identifier with the BSN system (not yet checked)."""
    if not isinstance(identifiers, list):
        identifiers = [identifiers] if isinstance(identifiers, dict) else []
    for identifier in identifiers:
        if isinstance(identifier, dict) and identifier.get("system") in BSN_SYSTEMS \
                and isinstance(identifier.get("value"), str):
            return identifier["value"].strip()
    return None


def _fhir_response(resource: dict, entry: dict, patients: Patients, mapping: core.Mapping,
                   result: IntakeFile) -> Response:
    problems: list[core.Problem] = []
    bsn, birth_date = _subject(resource, patients, problems)
    completed_on, completed_at = _authored(resource.get("authored"), problems)
    answers = _answers(resource.get("item"), problems)
    try:
        scored = core.score(answers, mapping)
        result.ignored |= scored.ignored
    except core.IntakeRejected as rejected:
        problems += rejected.problems
        scored = None
    if birth_date and completed_on and birth_date > completed_on:
        problems.append(core.Problem("authored", "ligt vóór de geboortedatum van de patiënt"))
    if problems or scored is None or bsn is None or birth_date is None or completed_on is None:
        raise core.IntakeRejected(problems)
    return Response(_key(resource, entry), bsn, birth_date, completed_on, completed_at, resource["status"],
                    scored.values)


def _key(resource: dict, entry: dict) -> str:
    """Its identifier, else its id, else its fullUrl, else its content: what names the
    response again in the next export. A long one is hashed (it must fit and stay unique)."""
    identifiers = resource.get("identifier")
    identifier = identifiers[0] if isinstance(identifiers, list) and identifiers else identifiers
    url = entry.get("fullUrl")
    if isinstance(identifier, dict) and isinstance(identifier.get("value"), str):
        key = f"identifier:{identifier.get('system') or ''}|{identifier['value']}"
    elif isinstance(resource.get("id"), str):
        key = f"id:{resource['id']}"
    elif isinstance(url, str) and not url.startswith("urn:"):
        key = f"url:{url}"
    else:
        content = json.dumps({k: v for k, v in resource.items() if k != "meta"}, sort_keys=True)
        return "content:" + hashlib.sha256(content.encode()).hexdigest()
    return key if len(key) <= 200 else "sha256:" + hashlib.sha256(key.encode()).hexdigest()


def _subject(resource: dict, patients: Patients, problems: list[core.Problem]
             ) -> tuple[str | None, dt.date | None]:
    subject = resource.get("subject")
    if not isinstance(subject, dict):
        problems.append(core.Problem("subject", "ontbreekt; verwacht een verwijzing naar de Patient of een BSN"))
        return None, None
    patient = None
    reference = subject.get("reference")
    if isinstance(reference, str) and reference:
        patient = patients.resolve(reference, resource.get("contained") or [])
        if patient is None:
            problems.append(core.Problem("subject", "de Patient waarnaar verwezen wordt staat niet in het bestand "
                                                    "(exporteer met _include=QuestionnaireResponse:subject)"))
            return None, None
    given = bsn_of(subject.get("identifier"))
    bsn = bsn_of(patient.get("identifier")) if patient else given
    if bsn is None:
        problems.append(core.Problem("subject", "geen BSN (identifier met system "
                                                "http://fhir.nl/fhir/NamingSystem/bsn)"))
        return None, None
    if given is not None and given != bsn:
        problems.append(core.Problem("subject", "het BSN van de verwijzing verschilt van dat van de Patient"))
        return None, None
    problem = bsn_problem(bsn)
    if problem:
        problems.append(core.Problem("subject", f"BSN {problem}"))
        return None, None
    patient = patient or patients.by_bsn.get(bsn)
    if patient is None:
        problems.append(core.Problem("subject", "geen geboortedatum: voeg de Patient (met birthDate) toe aan de "
                                                "Bundle"))
        return bsn, None
    return bsn, _birth_date(patient.get("birthDate"), problems)


@lru_cache(maxsize=4096)
def bsn_problem(bsn: str) -> str | None:
    """What is wrong with a BSN from a file (only the digits 0-9, the 11-proef), or None.

    Cached: an export names the same patients again and again."""
    if not (len(bsn) == 9 and is_digits(bsn)):
        return "moet uit precies 9 cijfers (0-9) bestaan"
    try:
        validate_bsn(bsn)
    except InvalidField as invalid:
        return invalid.message.get("nl")
    return None


def _birth_date(value: object, problems: list[core.Problem]) -> dt.date | None:
    if not isinstance(value, str) or not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
        problems.append(core.Problem("Patient.birthDate", "ontbreekt of is geen volledige datum (JJJJ-MM-DD)"))
        return None
    try:
        born = dt.date.fromisoformat(value)
    except ValueError:
        problems.append(core.Problem("Patient.birthDate", "is geen bestaande datum"))
        return None
    if not EARLIEST_BIRTH_DATE <= born <= dt.date.today():
        problems.append(core.Problem("Patient.birthDate", "ligt in de toekomst of vóór 1890"))
        return None
    return born


def _authored(value: object, problems: list[core.Problem], name: str = "authored"
              ) -> tuple[dt.date | None, dt.datetime | None]:
    """A date (then no time) or a date-time; without a zone, the clinic's local time."""
    if isinstance(value, str) and re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value.strip()):
        try:
            return dt.date.fromisoformat(value.strip()), None
        except ValueError:
            pass
    elif isinstance(value, str) and re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9:.]+(Z|[+-][0-9:]+)?",
                                                 value.strip()):
        try:
            moment = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            pass
        else:
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=CLINIC_ZONE)
            if moment.astimezone(dt.UTC) > dt.datetime.now(dt.UTC) + dt.timedelta(days=1):
                problems.append(core.Problem(name, "ligt in de toekomst"))
                return None, None
            return moment.astimezone(CLINIC_ZONE).date(), moment.astimezone(dt.UTC)
    problems.append(core.Problem(name, "ontbreekt of is geen datum of tijdstip (JJJJ-MM-DD of JJJJ-MM-DDTuu:mm:ss)"))
    return None, None


VALUE_KINDS: dict[str, core.AnswerKind] = {"valueInteger": "integer", "valueDecimal": "decimal",
                                           "valueString": "string", "valueCoding": "coding",
                                           "valueBoolean": "boolean"}


def _answers(items: object, problems: list[core.Problem]) -> list[core.Answer]:
    """Every answered item through groups (`item[].item[]`) and through items nested under
    an answer. `answer` may be a list (FHIR) or one object (GemsTracker). Written for speed:
    an export has tens of items per response."""
    found: list[core.Answer] = []
    stack = [items]
    while stack:
        level = stack.pop()
        if type(level) is not list:
            continue
        nested = []
        for item in level:
            if type(item) is not dict:
                continue
            link_id = item.get("linkId")
            answers = item.get("answer")
            if answers is not None and type(link_id) is str:
                given = [answers] if type(answers) is dict else \
                    [answer for answer in answers if type(answer) is dict] if type(answers) is list else []
                values = [value for value in (_value(link_id, answer, problems) for answer in given) if value]
                if len(values) > 1:
                    problems.append(core.Problem(link_id, "meer dan één antwoord"))
                elif values:
                    found.append(values[0])
                nested += [answer["item"] for answer in given if "item" in answer]
            if "item" in item:
                nested.append(item["item"])
        stack += reversed(nested)
    return found


VALUE_TYPES: dict[str, tuple[type, ...]] = {"integer": (int,), "decimal": (int, float), "string": (str,),
                                            "boolean": (bool,)}


def _value(link_id: str, answer: dict, problems: list[core.Problem]) -> core.Answer | None:
    for key, value in answer.items():
        kind = VALUE_KINDS.get(key)
        if kind is None:
            continue
        if kind == "coding":
            code = value.get("code") if isinstance(value, dict) else None
            if not isinstance(code, (str, int)) or isinstance(code, bool):
                problems.append(core.Problem(link_id, "valueCoding zonder code"))
                return None
            return core.Answer(link_id, kind, str(code))
        if type(value) not in VALUE_TYPES[kind]:  # type, not isinstance: True is no valueInteger
            problems.append(core.Problem(link_id, f"{key} heeft niet het juiste type"))
            return None
        return core.Answer(link_id, kind, value)
    if any(key.startswith("value") for key in answer):
        problems.append(core.Problem(link_id, "antwoordsoort niet ondersteund; verwacht valueInteger, valueDecimal, "
                                              "valueString, valueCoding of valueBoolean"))
    return None


def read_csv(text: str, path: Path, mapping: core.Mapping) -> IntakeFile:
    """Header `bsn,birth_date,completed_at` plus baseline columns or items (`,` or `;`)."""
    sample = text[:4096]
    delimiter = ";" if sample.count(";") > sample.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = [name.strip() for name in next(reader)]
    except StopIteration:
        raise IntakeFileError(f"{path}: het bestand is leeg") from None
    except csv.Error as error:
        raise IntakeFileError(f"{path}: regel 1 is geen CSV ({error})") from None
    missing = [name for name in CSV_REQUIRED if name not in header]
    if missing:
        raise IntakeFileError(f"{path}: regel 1: kolom(men) {', '.join(missing)} ontbreken; verwacht "
                              f"{','.join(CSV_REQUIRED)} en de kolommen van het codeboek")
    if len(set(header)) != len(header):
        raise IntakeFileError(f"{path}: regel 1: een kolomnaam komt twee keer voor")
    result = IntakeFile()
    keys: dict[str, int] = {}
    try:
        for values in reader:
            line = reader.line_num
            if not any(value.strip() for value in values):
                continue
            where = f"regel {line}"
            if len(values) != len(header):
                result.reject(where, [core.Problem("regel", f"verwacht {len(header)} velden, gevonden {len(values)}")])
                continue
            try:
                response = _csv_response(dict(zip(header, values)), mapping, result)
            except core.IntakeRejected as rejected:
                result.reject(where, rejected.problems)
                continue
            if response.key in keys:
                result.reject(where, [core.Problem("completed_at", f"dezelfde patiënt en tijd staan ook op regel "
                                                                   f"{keys[response.key]}")])
                continue
            keys[response.key] = line
            result.responses.append(response)
    except csv.Error as error:
        raise IntakeFileError(f"{path}: regel {reader.line_num} is geen CSV ({error})") from None
    return result


def _csv_response(row: dict[str, str], mapping: core.Mapping, result: IntakeFile) -> Response:
    problems: list[core.Problem] = []
    bsn = row["bsn"].strip()
    problem = bsn_problem(bsn)
    if problem:
        problems.append(core.Problem("bsn", problem))
    birth_date = _birth_date(row["birth_date"].strip(), problems)
    completed_on, completed_at = _authored(row["completed_at"], problems, "completed_at")
    answers = [core.Answer(name, "text", value.strip()) for name, value in row.items()
               if name not in CSV_REQUIRED and value.strip()]
    try:
        scored = core.score(answers, mapping)
        result.ignored |= scored.ignored | {name for name in row if name not in CSV_REQUIRED
                                            and mapping.target(name) is None and name not in mapping.ignore}
    except core.IntakeRejected as rejected:
        problems += rejected.problems
        scored = None
    if problems or scored is None or birth_date is None or completed_on is None:
        raise core.IntakeRejected(problems)
    moment = completed_at.isoformat() if completed_at else completed_on.isoformat()
    key = "csv:" + hashlib.sha256(f"{bsn}|{moment}".encode()).hexdigest()
    return Response(key, bsn, birth_date, completed_on, completed_at, "completed", scored.values)


# -- storing ------------------------------------------------------------------------------
def import_intake(storage: Storage, path: Path, mapping_path: Path | None = None,
                  organisation: str | None = None) -> tuple[ImportSummary, IntakeFile]:
    """Read and store a file; with `organisation`, only that organisation's devices can look
    its responses up (a server shared by several clinics discloses a patient's answers to
    the clinic that asked for them, not to every clinic that knows the BSN)."""
    if organisation is not None:
        organisation = checked_organisation(organisation)
    mapping = load_mapping(mapping_path)
    parsed = read_intake(Path(path), mapping)
    name = Path(path).name

    def work(tx: Transaction) -> ImportSummary:
        return store(tx, parsed, name, organisation)

    return storage.write(work), parsed


def store(tx: Transaction, parsed: IntakeFile, file_name: str, organisation: str | None = None) -> ImportSummary:
    """Add new responses, replace changed ones (content or organisation); audit per patient and for the file."""
    c = t.intake_responses.c
    existing: dict[str, tuple[str, str, str | None]] = {}
    keys = sorted({response.key for response in parsed.responses})
    for start in range(0, len(keys), CHUNK):
        for key, content_hash, bsn, owner in tx.conn.execute(
                select(c.source_key, c.content_hash, c.bsn, c.organisation)
                .where(c.source_key.in_(keys[start:start + CHUNK]))):
            existing[key] = (content_hash, bsn, owner)
    added: list[dict] = []
    changed: list[tuple[Response, str, dict]] = []  # with the BSN it had and its new row
    for response in parsed.responses:
        row = _row(response, tx.now, organisation)
        old = existing.get(response.key)
        if old is None:
            added.append(row)
        elif (old[0], old[2]) != (row["content_hash"], organisation):
            changed.append((response, old[1], row))
    tx.insert_many(t.intake_responses, added)
    for response, _, row in changed:
        tx.conn.execute(update(t.intake_responses).where(c.source_key == response.key)
                        .values({k: v for k, v in row.items() if k != "source_key"}))
    per_patient: dict[str, dict[str, int]] = {}
    for row in added:
        per_patient.setdefault(row["bsn"], {"added": 0, "changed": 0})["added"] += 1
    for response, old_bsn, _ in changed:
        per_patient.setdefault(response.bsn, {"added": 0, "changed": 0})["changed"] += 1
        if old_bsn != response.bsn:  # moved to another patient: the one it left is audited too
            per_patient.setdefault(old_bsn, {"added": 0, "changed": 0})["changed"] += 1
    for bsn in sorted(per_patient):
        counts = per_patient[bsn]
        tx.audit("intake_import", "changed" if counts["changed"] else "added", patient_bsn=bsn,
                 object_type="intake_file", object_id=file_name[:100], details=counts)
    summary = ImportSummary(read=len(parsed.responses) + len(parsed.rejected) + parsed.not_completed,
                            added=len(added), changed=len(changed),
                            unchanged=len(parsed.responses) - len(added) - len(changed),
                            rejected=len(parsed.rejected), not_completed=parsed.not_completed,
                            patients=len(per_patient))
    tx.audit("intake_import", "ok" if not parsed.rejected else "partial", object_type="intake_file",
             object_id=file_name[:100], details={"added": summary.added, "changed": summary.changed,
                                                 "unchanged": summary.unchanged, "rejected": summary.rejected,
                                                 "not_completed": summary.not_completed})
    return summary


def _row(response: Response, now: dt.datetime, organisation: str | None) -> dict[str, Any]:
    return {"source_key": response.key, "content_hash": response.content_hash, "bsn": response.bsn,
            "birth_date": response.birth_date, "completed_on": response.completed_on,
            "completed_at": response.completed_at, "status": response.status,
            "answers": json.dumps(response.values, sort_keys=True, separators=(",", ":")), "imported_at": now,
            "organisation": organisation}


# -- the device's lookup ------------------------------------------------------------------
def lookup(tx: Transaction, device: Device, request: IntakeLookupRequest) -> IntakeLookupResponse:
    """The newest response completed on or before `request.on` when BSN and birth date
    match, among those of the device's organisation or of none; audited for the patient
    (found / not_found / birth_date_mismatch). Another organisation's response is not
    found, exactly as an unknown BSN."""
    c = t.intake_responses.c
    rows = tx.conn.execute(select(c.id, c.birth_date, c.completed_on, c.completed_at, c.answers)
                           .where(c.bsn == request.bsn, c.completed_on <= request.on,
                                  or_(c.organisation.is_(None), c.organisation == device.organisation))).all()
    matching = [row for row in rows if row.birth_date == request.birth_date]
    newest = max(matching, key=lambda row: (row.completed_on, row.completed_at or dt.datetime.min.replace(
        tzinfo=dt.UTC), row.id), default=None)
    outcome = "found" if newest else ("birth_date_mismatch" if rows else "not_found")
    tx.audit("intake_lookup", outcome, device_id=device.id, patient_bsn=request.bsn, object_type="intake_response",
             object_id=str(newest.id) if newest else None, details={"on": request.on.isoformat()})
    if newest is None:
        return IntakeLookupResponse(found=False, checked_at=tx.now)
    return IntakeLookupResponse(found=True, completed_on=newest.completed_on, completed_at=newest.completed_at,
                                values=json.loads(newest.answers), checked_at=tx.now)
