"""The FHIR R4 export: a `collection` Bundle in the shape Dutch receivers (Nictiz nl-core) expect.

Per export: one Organization for the clinic (AGB, server settings `clinic_agb`/`clinic_name`),
one per insurer (UZOVI) and one Practitioner per clinician (AGB). Per patient one Patient
(BSN; `Patient.id` is the random id the server keeps in `patients`, never derived from the
BSN). Per inclusion:

- Condition: the diagnosis (ICD-10) and, in bodySite, where and which side (SNOMED CT). A
  diagnosis outside the hand-wrist bundle has no coded body site here, so its Condition does
  not claim nl-core-Problem (which requires one) when it carries a side.
- Coverage: type "Basis" (hand care is basic insurance), the bundle period, payor → insurer.
- Account: R4 EpisodeOfCare has no coverage element; `EpisodeOfCare.account` → Account, whose
  `coverage` → Coverage, is how R4 says which insurance pays for an episode (no extension).
- EpisodeOfCare: the bundle episode (id = inclusion id), diagnosis → Condition, the clinic as
  managing organization, the clinician as care manager. Status: planned / active / finished
  by the dates; a withdrawal is `cancelled`, with `statusHistory` (active until the
  withdrawal) and its `period` ending at the withdrawal.
- RiskAssessment, one per treatment option, when the device kept the decision support shown
  at registration: `subject` the Patient, `basis` the EpisodeOfCare (and `condition` its
  Condition), `occurrenceDateTime` when the numbers were shown, `method` the model version.
  Each `prediction[]` is one outcome with `probabilityDecimal` (a clinically relevant
  improvement of pain and of function at 12 months, with the expected score and its 80 %
  range as `rationale`; back at work within 6 and 12 weeks; surgery within 12 months for
  the conservative option) and `whenRange` (how long after the start). R4 has no element for
  an expected score, so it is text; `qualitativeRisk` (low/high) would lose the number. The
  option the patient chose (`initial_treatment`) says so in `note`, with the questionnaire
  date and the inputs that were estimated.
- Provenance (withdrawals only): R4 EpisodeOfCare has no element for *why* its status changed;
  Provenance is R4's standard resource for who changed what, when and why (`reason`,
  `occurredDateTime`), so any receiver can read the reason without a private extension.

Identifier systems and profiles follow Nictiz zib2020 / nl-core (repository
Nictiz/Nictiz-R4-zib2020, release 0.12.1-beta.1): the NamingSystems bsn, uzovi and agb-z are
the patterns of the slices in zib-Patient, zib-Payer-Organization,
zib-HealthcareProvider-Organization and zib-HealthProfessional-Practitioner; the profile
canonicals are the `url`s of resources/nl-core/nl-core-*.xml; laterality is the extension
ext-AnatomicalLocation.Laterality with the codes of its value set (LateraliteitCodelijst
2.16.840.1.113883.2.4.3.11.60.40.2.20.7.2); verification status and problem type codes are
from VerificatieStatusCodelijst and ProbleemTypeCodelijst; Coverage.type from
VerzekeringssoortCodelijst; body sites are SNOMED CT body structures as in the nl-core
examples (8205005 wrist region) and 85562004 hand structure (thumb base). The profiles'
conformance was checked by hand against their differentials; there is no offline FHIR
profile validator here, so a receiver should run its own once.

`validate` checks every export before anything is written: the `fhir.resources` models
(R4B: fhir.resources has no pure R4 build on pydantic 2) and the official FHIR R4 JSON Schema
(`fhir_r4_schema`), which refuses codes outside a required value set such as an
EpisodeOfCare status "withdrawn".
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

from desktop.core.states import InputSource, RecordState, Side, TreatmentOption
from sync.server.devices import AdminError
from sync.server.fhir_r4_schema import schema_problems

BSN_SYSTEM = "http://fhir.nl/fhir/NamingSystem/bsn"
UZOVI_SYSTEM = "http://fhir.nl/fhir/NamingSystem/uzovi"
AGB_SYSTEM = "http://fhir.nl/fhir/NamingSystem/agb-z"
ICD10_SYSTEM = "http://hl7.org/fhir/sid/icd-10"
ICD10_NL_SYSTEM = "http://hl7.org/fhir/sid/icd-10-nl"  # what nl-core's ProbleemNaamCodelijst holds
SNOMED = "http://snomed.info/sct"
INSURANCE_TYPE_SYSTEM = "urn:oid:2.16.840.1.113883.2.4.3.11.60.101.5.1"  # Verzekeringssoort
CONDITION_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
DATA_OPERATION = "http://terminology.hl7.org/CodeSystem/v3-DataOperation"
UUID_SYSTEM = "urn:ietf:rfc:3986"
BUNDLE_SYSTEM = "urn:bundelassistent:bundle"
CONDITION_SYSTEM = "urn:bundelassistent:condition"
MODEL_SYSTEM = "urn:bundelassistent:prediction-model"
UCUM = "http://unitsofmeasure.org"
OPTION_WORDS = {TreatmentOption.CONSERVATIVE: "conservatieve behandeling", TreatmentOption.SURGERY: "operatie"}
OUTCOME_WORDS = {"pain": "pijn", "function": "functie"}
LATERALITY_EXTENSION = "http://nictiz.nl/fhir/StructureDefinition/ext-AnatomicalLocation.Laterality"

NL_CORE = "http://nictiz.nl/fhir/StructureDefinition/"
PROFILES = {
    "Patient": NL_CORE + "nl-core-Patient",
    "clinic": NL_CORE + "nl-core-HealthcareProvider-Organization",
    "insurer": NL_CORE + "nl-core-Payer-Organization",
    "Practitioner": NL_CORE + "nl-core-HealthProfessional-Practitioner",
    "Condition": NL_CORE + "nl-core-Problem",
    "Coverage": NL_CORE + "nl-core-Payer.InsuranceCompany",
    "EpisodeOfCare": NL_CORE + "nl-core-EpisodeOfCare",
}

LATERALITY: dict[str, tuple[str, str]] = {  # side → SNOMED CT qualifier (LateraliteitCodelijst), the Dutch word
    Side.LEFT: ("7771000", "links"),
    Side.RIGHT: ("24028007", "rechts"),
    Side.BOTH: ("51440002", "beide zijden"),
}
BODY_SITES = {  # ICD-10 prefix → SNOMED CT body structure
    "G56": ("8205005", "pols"),          # carpal tunnel syndrome: wrist region structure
    "M18": ("85562004", "duimbasis"),    # thumb-base osteoarthritis: hand structure
}
ORGANISATION_IDS = uuid.UUID("0b7d7a49-2f5c-4d59-9d7e-3c2f8a1e6b40")  # ids of public codes (AGB, UZOVI)


def _id_for(kind: str, code: str) -> str:
    """A stable resource id for a public code (an AGB or UZOVI code is no secret)."""
    return str(uuid.uuid5(ORGANISATION_IDS, f"{kind}:{code}"))


def _child_id(inclusion_id: str, kind: str) -> str:
    return str(uuid.uuid5(uuid.UUID(inclusion_id), kind))


def _ref(resource_id: str, display: str | None = None) -> dict:
    reference = {"reference": f"urn:uuid:{resource_id}"}
    if display:
        reference["display"] = display
    return reference


def _instant(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _profiled(resource: dict, profile: str) -> dict:
    return {"resourceType": resource.pop("resourceType"), "id": resource.pop("id"),
            "meta": {"profile": [profile]}, **resource}


def _within(value: int, unit: str, words: str) -> dict:
    """`whenRange`: from the start of the treatment up to `value` (UCUM `mo` or `wk`)."""
    return {"low": {"value": 0, "unit": words, "system": UCUM, "code": unit},
            "high": {"value": value, "unit": words, "system": UCUM, "code": unit}}


def episode_status(row: dict, today: dt.date) -> str:
    if row["state"] == RecordState.WITHDRAWN:
        return "cancelled"
    if row["inclusion_date"] > today:
        return "planned"
    return "finished" if row["end_date"] < today else "active"


class Builder:
    """Collects the entries of one export; each shared resource (organisation, patient) once."""

    def __init__(self, clinic_agb: str | None, clinic_name: str | None, insurer_names: dict[str, str]):
        self.entries: list[dict] = []
        self.seen: set[str] = set()
        self.insurer_names = insurer_names
        self.clinic_id = self._clinic(clinic_agb, clinic_name)

    def add(self, resource: dict) -> str:
        if resource["id"] not in self.seen:
            self.seen.add(resource["id"])
            self.entries.append({"fullUrl": f"urn:uuid:{resource['id']}", "resource": resource})
        return resource["id"]

    def _clinic(self, agb: str | None, name: str | None) -> str | None:
        if not (agb or name):  # org-1: an Organization has a name or an identifier
            return None
        clinic: dict[str, Any] = {"resourceType": "Organization", "id": _id_for("clinic", agb or name or ""),
                                  "active": True}
        if agb:
            clinic["identifier"] = [{"system": AGB_SYSTEM, "value": agb}]
        if name:
            clinic["name"] = name
        return self.add(_profiled(clinic, PROFILES["clinic"]))

    def insurer(self, uzovi: str) -> str:
        insurer = {"resourceType": "Organization", "id": _id_for("uzovi", uzovi),
                   "identifier": [{"system": UZOVI_SYSTEM, "value": uzovi}],
                   "name": self.insurer_names.get(uzovi) or f"UZOVI {uzovi}"}
        return self.add(_profiled(insurer, PROFILES["insurer"]))

    def practitioner(self, agb: str) -> str:
        practitioner = {"resourceType": "Practitioner", "id": _id_for("agb", agb),
                        "identifier": [{"system": AGB_SYSTEM, "value": agb}]}
        return self.add(_profiled(practitioner, PROFILES["Practitioner"]))

    def patient(self, row: dict) -> str:
        patient = {"resourceType": "Patient", "id": row["patient_fhir_id"],
                   "identifier": [{"system": BSN_SYSTEM, "value": row["bsn"]}],
                   "birthDate": row["birth_date"].isoformat()}
        if row.get("name"):
            patient["name"] = [{"text": row["name"]}]
        return self.add(_profiled(patient, PROFILES["Patient"]))

    def inclusion(self, row: dict, today: dt.date) -> None:
        patient = _ref(self.patient(row))
        clinician = self.practitioner(row["clinician_agb"]) if row.get("clinician_agb") else None
        condition = self.add(self._condition(row, patient, clinician))
        coverage = self.add(self._coverage(row, patient))
        account = self.add(self._account(row, patient, coverage))
        episode = self.add(self._episode(row, today, patient, condition, account, clinician))
        if row.get("decision_support"):
            support = json.loads(row["decision_support"])
            for option in OPTION_WORDS:
                self.add(self._risk_assessment(row, support, option, patient, episode, condition))
        if row["state"] == RecordState.WITHDRAWN:
            self.add(self._withdrawal(row, episode))

    def _condition(self, row: dict, patient: dict, clinician: str | None) -> dict:
        code = row["diagnosis"]
        condition = {
            "resourceType": "Condition", "id": _child_id(row["id"], "condition"),
            "verificationStatus": {"coding": [
                {"system": CONDITION_VERIFICATION, "code": "confirmed"},
                {"system": SNOMED, "code": "410605003", "display": "aanwezigheid bevestigd"}]},
            "category": [{"coding": [{"system": SNOMED, "code": "282291009", "display": "diagnose"}]}],
            "code": {"coding": [{"system": ICD10_SYSTEM, "code": code}, {"system": ICD10_NL_SYSTEM, "code": code}],
                     "text": f"{row['condition']} ({code})"},
            "subject": patient,
            "recordedDate": row["inclusion_date"].isoformat(),
        }
        body_site = self._body_site(code, row.get("side"))
        if body_site:
            condition["bodySite"] = [body_site]
        if clinician:
            condition["asserter"] = _ref(clinician)
        if body_site and "coding" not in body_site:
            return condition  # nl-core-Problem wants a coded body site: a plain R4 Condition, not a false claim
        return _profiled(condition, PROFILES["Condition"])

    @staticmethod
    def _body_site(diagnosis: str, side: str | None) -> dict | None:
        site = BODY_SITES.get(diagnosis[:3])
        laterality = LATERALITY.get(side or "")
        if not (site or laterality):
            return None
        body_site: dict = {}
        if laterality:
            body_site["extension"] = [{"url": LATERALITY_EXTENSION, "valueCodeableConcept": {
                "coding": [{"system": SNOMED, "code": laterality[0], "display": laterality[1]}]}}]
        if site:
            body_site["coding"] = [{"system": SNOMED, "code": site[0]}]
        body_site["text"] = " ".join(part for part in (site[1] if site else None,
                                                       laterality[1] if laterality else None) if part)
        return body_site

    def _coverage(self, row: dict, patient: dict) -> dict:
        uzovi = row["insurer_uzovi"]
        coverage = {
            "resourceType": "Coverage", "id": _child_id(row["id"], "coverage"),
            "status": "cancelled" if row["state"] == RecordState.WITHDRAWN else "active",
            "type": {"coding": [{"system": INSURANCE_TYPE_SYSTEM, "code": "B", "display": "Basis"}]},
            "beneficiary": patient,
            # the insurer at inclusion pays the whole bundle: the coverage that matters is for its period
            "period": {"start": row["inclusion_date"].isoformat(), "end": row["end_date"].isoformat()},
            "payor": [dict(_ref(self.insurer(uzovi)), identifier={"system": UZOVI_SYSTEM, "value": uzovi})],
        }
        return _profiled(coverage, PROFILES["Coverage"])

    def _account(self, row: dict, patient: dict, coverage: str) -> dict:
        account = {
            "resourceType": "Account", "id": _child_id(row["id"], "account"),
            "status": "inactive" if row["state"] == RecordState.WITHDRAWN else "active",
            "name": f"Zorgbundel {row['bundle']} {row['bundle_version']}",
            "subject": [patient],
            "servicePeriod": {"start": row["inclusion_date"].isoformat(), "end": row["end_date"].isoformat()},
            "coverage": [{"coverage": _ref(coverage), "priority": 1}],
        }
        if self.clinic_id:
            account["owner"] = _ref(self.clinic_id)
        return account

    def _episode(self, row: dict, today: dt.date, patient: dict, condition: str, account: str,
                 clinician: str | None) -> dict:
        status = episode_status(row, today)
        start = row["inclusion_date"].isoformat()
        end = _instant(row["withdrawn_at"]) if status == "cancelled" else row["end_date"].isoformat()
        episode = {
            "resourceType": "EpisodeOfCare", "id": row["id"],
            "identifier": [{"system": UUID_SYSTEM, "value": f"urn:uuid:{row['id']}"}],
            "status": status,
            "type": [
                {"coding": [{"system": BUNDLE_SYSTEM, "code": row["bundle"], "version": row["bundle_version"]}],
                 "text": f"Zorgbundel {row['bundle']}"},
                {"coding": [{"system": CONDITION_SYSTEM, "code": row["condition"]}]},
            ],
            "diagnosis": [{"condition": _ref(condition), "rank": 1}],
            "patient": patient,
            "period": {"start": start, "end": end},
            "account": [_ref(account)],
        }
        if status in ("finished", "cancelled"):
            episode["statusHistory"] = [{"status": "active", "period": {"start": start, "end": end}}]
        if self.clinic_id:
            episode["managingOrganization"] = _ref(self.clinic_id)
        if clinician:
            episode["careManager"] = _ref(clinician)
        return _profiled(episode, PROFILES["EpisodeOfCare"])

    @staticmethod
    def _risk_assessment(row: dict, support: dict, option: TreatmentOption, patient: dict, episode: str,
                         condition: str) -> dict:
        numbers = support["predictions"]
        predictions = []
        for outcome in OUTCOME_WORDS:
            mean, low, high = (numbers[f"{option}_{outcome}12_{stat}"] for stat in ("mean", "p10", "p90"))
            predictions.append({
                "outcome": {"text": f"klinisch relevante verbetering van {OUTCOME_WORDS[outcome]} na 12 maanden"},
                "probabilityDecimal": numbers[f"{option}_{outcome}_mcid_prob"],
                "whenRange": _within(12, "mo", "maanden"),
                "rationale": f"verwachte {OUTCOME_WORDS[outcome]}score na 12 maanden {mean:g} "
                             f"(80% van vergelijkbare patiënten: {low:g}–{high:g})"})
        for weeks in (6, 12):
            probability = numbers[f"{option}_rtw{weeks}w_prob"]
            if probability is not None:  # employed patients only
                predictions.append({"outcome": {"text": f"weer aan het werk binnen {weeks} weken"},
                                    "probabilityDecimal": probability, "whenRange": _within(weeks, "wk", "weken")})
        if option == TreatmentOption.CONSERVATIVE:
            predictions.append({"outcome": {"text": "toch een operatie binnen 12 maanden"},
                                "probabilityDecimal": numbers["conservative_surgery12m_prob"],
                                "whenRange": _within(12, "mo", "maanden")})
        estimated = [name for name, item in support["inputs"].items() if item["source"] == InputSource.ESTIMATED]
        notes = [f"gekozen als eerste behandeling: {OPTION_WORDS[option]}"] if row.get("initial_treatment") == option \
            else []
        if support.get("questionnaire_completed_at"):
            notes.append(f"op basis van de intakevragenlijst van {support['questionnaire_completed_at'][:10]}")
        if estimated:
            notes.append(f"onbekend en geschat uit de overige gegevens: {', '.join(estimated)}")
        assessment = {
            "resourceType": "RiskAssessment", "id": _child_id(row["id"], f"risk-{option}"),
            "status": "final",
            "method": {"coding": [{"system": MODEL_SYSTEM, "code": support["model_version"]}],
                       "text": f"Bundelassistent-voorspelmodel {row['condition']}, versie {support['model_version']}"},
            "code": {"text": f"Samen beslissen: {OPTION_WORDS[option]}"},
            "subject": patient,
            "occurrenceDateTime": support["computed_at"],
            "condition": _ref(condition),
            "basis": [_ref(episode)],
            "prediction": predictions,
        }
        if notes:
            assessment["note"] = [{"text": text} for text in notes]
        return assessment

    def _withdrawal(self, row: dict, episode: str) -> dict:
        at = _instant(row["withdrawn_at"])
        provenance = {
            "resourceType": "Provenance", "id": _child_id(row["id"], "withdrawal"),
            "target": [_ref(episode)],
            "occurredDateTime": at,
            "recorded": at,
            "activity": {"coding": [{"system": DATA_OPERATION, "code": "ABORT", "display": "abort"}],
                         "text": "inclusie ingetrokken"},
            "agent": [{"who": _ref(self.clinic_id) if self.clinic_id else {"display": row.get("location")
                                                                            or "kliniek"}}],
        }
        if (row.get("withdrawal_reason") or "").strip():
            provenance["reason"] = [{"text": row["withdrawal_reason"].strip()}]
        return provenance


def fhir_bundle(rows: list[dict], clinic_agb: str | None = None, clinic_name: str | None = None,
                insurer_names: dict[str, str] | None = None, today: dt.date | None = None,
                now: dt.datetime | None = None) -> dict:
    """The export as a plain FHIR JSON dict; each row carries `patient_fhir_id`."""
    today = today or dt.date.today()
    builder = Builder(clinic_agb, clinic_name, insurer_names or {})
    for row in rows:
        builder.inclusion(row, today)
    bundle: dict[str, Any] = {"resourceType": "Bundle", "type": "collection",
                              "timestamp": _instant(now or dt.datetime.now(dt.UTC))}
    if builder.entries:  # FHIR JSON has no empty arrays
        bundle["entry"] = builder.entries
    return bundle


def validate(data: dict) -> None:
    """Refuse (AdminError, in Dutch, without values) a Bundle that is not valid FHIR R4."""
    from fhir.resources.R4B.bundle import Bundle
    from pydantic import ValidationError

    problems = schema_problems(data)
    if not problems:
        try:
            Bundle.model_validate(data)
        except ValidationError as error:
            problems = [f"{'.'.join(str(part) for part in e['loc'])}: {e['type']}"
                        for e in error.errors(include_input=False)]
    if problems:
        shown = "; ".join(problems[:5]) + (f"; en nog {len(problems) - 5}" if len(problems) > 5 else "")
        raise AdminError(f"de FHIR-export is geen geldige FHIR R4 en is niet geschreven: {shown}")


def to_fhir(rows: list[dict], **options) -> bytes:
    data = fhir_bundle(rows, **options)
    validate(data)
    return json.dumps(data, ensure_ascii=False, indent=1).encode("utf-8")
