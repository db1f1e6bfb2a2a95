"""CSV exports that Dutch Excel opens as they are, for the insurer and for the research team.

A profile says which columns a receiver gets, so it gets only what it needs:

- `insurer` (the default): what an insurer needs to pay a bundle and to match it to its own
  member — who (BSN and birth date, as every Dutch declaration identifies a patient), with
  which insurer (UZOVI), from which care provider (the clinic's AGB), which bundle and
  version (the price), for which condition and side (the contract's scope; each hand can be
  its own episode), for which period, and whether it still stands (state, withdrawal time).
  No name, no withdrawal reason (free text about the patient), no staff names or devices.
- `research`: what the data/research team needs to describe and model inclusions, without
  identifiers: a pseudonym per patient (random, kept by the server, different from the FHIR
  Patient.id, so an insurer's or EHR's file cannot re-identify it), age instead of birth
  date, no BSN, name, inclusion id or staff. Withdrawn inclusions are left out: the patient
  stepped out of the bundle.

`--columns` picks any columns of `COLUMNS` instead (in the order given).

Format: `;` between cells and UTF-8 with a byte-order mark (what Dutch Excel expects),
CRLF line ends. Codes are written as text exactly as stored, leading zeros included.
Date-times are Europe/Amsterdam local time with the offset and without microseconds
(`2025-03-15T11:00:00+01:00`), dates are ISO (`2025-03-14`). A cell that would start with
`=`, `+`, `-`, `@`, a tab, CR or LF gets a leading `'` (the OWASP rule against CSV
injection), so a location field `=HYPERLINK(…)` stays inert text.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from functools import lru_cache

from desktop.core.states import RecordState
from sync.server.devices import AdminError

COLUMNS = {
    "inclusion_id": "id van de inclusie (UUID); dezelfde in elke export en in FHIR",
    "revision": "revisie van het record (1, 2, …)",
    "state": "registered of withdrawn",
    "withdrawn_at": "tijdstip van intrekking",
    "withdrawal_reason": "reden van intrekking (vrije tekst)",
    "bsn": "burgerservicenummer",
    "birth_date": "geboortedatum",
    "patient_pseudonym": "willekeurig pseudoniem per patiënt voor onderzoek (niet het FHIR Patient.id)",
    "age_at_inclusion": "leeftijd in hele jaren op de inclusiedatum",
    "insurer_uzovi": "UZOVI-code van de verzekeraar",
    "insurer_source": "waar de verzekeraar vandaan kwam (server, cache, pas)",
    "insurer_checked_at": "tijdstip van de verzekeringscontrole",
    "clinic_agb": "AGB-code van de kliniek (serverinstelling clinic_agb)",
    "clinician_agb": "AGB-code van de behandelaar",
    "location": "locatie van het apparaat",
    "bundle": "id van de zorgbundel",
    "bundle_version": "versie van de bundeldefinitie",
    "condition": "aandoening (id in de bundel)",
    "diagnosis": "ICD-10-code",
    "side": "zijde: L, R of both",
    "episode_side": "zijde in de episodesleutel (leeg als de bundel zijde niet meetelt)",
    "inclusion_date": "inclusiedatum",
    "end_date": "einddatum van de bundelperiode",
    "initial_treatment": "gekozen eerste behandeling",
    "eligibility_status": "uitkomst van de regels op het apparaat",
    "explained_by": "wie de bundel uitlegde",
    "explained_at": "wanneer de bundel werd uitgelegd",
    "explanation_language": "taal van de uitleg (nl, en)",
    "handout_printed": "folder meegegeven (true/false)",
    "agreed": "patiënt akkoord (true/false)",
    "device_id": "apparaat-id zoals het record zegt",
    "user": "gebruiker op het apparaat",
    "created_at": "aangemaakt op het apparaat",
    "updated_at": "laatst gewijzigd op het apparaat",
    "received_at": "laatst ontvangen door de server",
    "prediction_model_version": "versie van het voorspelmodel waarvan Samen beslissen de getallen toonde",
    "predicted_at": "wanneer die getallen getoond werden",
    "questionnaire_completed_at": "datum (of tijdstip) van de intakevragenlijst waarop ze berustten",
    **{name: f"voorspeld bij registratie: {what}" for name, what in {
        "conservative_pain_mcid_prob": "kans op relevant minder pijn na 12 maanden, conservatief",
        "surgery_pain_mcid_prob": "kans op relevant minder pijn na 12 maanden, operatie",
        "conservative_function_mcid_prob": "kans op relevant betere functie na 12 maanden, conservatief",
        "surgery_function_mcid_prob": "kans op relevant betere functie na 12 maanden, operatie",
        "conservative_rtw6w_prob": "kans weer aan het werk binnen 6 weken, conservatief (leeg: niet werkend)",
        "surgery_rtw6w_prob": "kans weer aan het werk binnen 6 weken, operatie (leeg: niet werkend)",
        "conservative_surgery12m_prob": "kans op toch een operatie binnen 12 maanden, conservatief",
    }.items()},
}
# The decision support's own keys (stored as JSON per inclusion), as columns.
DECISION_COLUMNS = {"prediction_model_version": "model_version", "predicted_at": "computed_at",
                    "questionnaire_completed_at": "questionnaire_completed_at"}
PREDICTION_CSV_COLUMNS = ("conservative_pain_mcid_prob", "surgery_pain_mcid_prob", "conservative_function_mcid_prob",
                          "surgery_function_mcid_prob", "conservative_rtw6w_prob", "surgery_rtw6w_prob",
                          "conservative_surgery12m_prob")

PROFILES = {
    "insurer": ("inclusion_id", "bsn", "birth_date", "insurer_uzovi", "clinic_agb", "bundle", "bundle_version",
                "condition", "diagnosis", "side", "inclusion_date", "end_date", "state", "withdrawn_at"),
    "research": ("patient_pseudonym", "age_at_inclusion", "bundle", "bundle_version", "condition", "diagnosis",
                 "side", "inclusion_date", "end_date", "location", "initial_treatment", "eligibility_status",
                 "explanation_language", "handout_printed", "prediction_model_version",
                 *PREDICTION_CSV_COLUMNS),
}
DEFAULT_PROFILE = "insurer"

FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")
BOM = "\ufeff"


@lru_cache(maxsize=1)
def amsterdam() -> dt.tzinfo:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo("Europe/Amsterdam")
    except ZoneInfoNotFoundError:  # no tz database: Windows without the tzdata package
        raise AdminError("de tijdzonegegevens ontbreken; installeer het pakket tzdata "
                         "(pip install tzdata)") from None


def choose_columns(profile: str = DEFAULT_PROFILE, columns: str | None = None) -> tuple[str, ...]:
    """The profile's columns, or the comma-separated `--columns` list checked against COLUMNS."""
    if columns is None:
        return PROFILES[profile]
    chosen = tuple(name.strip() for name in columns.split(",") if name.strip())
    unknown = [name for name in chosen if name not in COLUMNS]
    if unknown or not chosen:
        problem = f"onbekende kolom {', '.join(unknown)}" if unknown else "geen kolommen genoemd"
        raise AdminError(f"--columns: {problem}; kies uit {', '.join(COLUMNS)}")
    if len(set(chosen)) != len(chosen):
        raise AdminError("--columns: een kolom staat er meer dan eens in")
    return chosen


def rows_for(profile: str, rows: list[dict]) -> list[dict]:
    """The research profile leaves withdrawn inclusions out; the insurer needs them to undo."""
    return [row for row in rows if row["state"] != RecordState.WITHDRAWN] if profile == "research" else rows


def decision_cells(support_json: str | None) -> dict[str, object]:
    """The decision support's columns of one row (empty without one); probabilities with 4 decimals
    and a point, as `python -m predictors.batch` writes them."""
    if not support_json:
        return {}
    support = json.loads(support_json)
    cells: dict[str, object] = {column: support[key] for column, key in DECISION_COLUMNS.items()}
    for name in PREDICTION_CSV_COLUMNS:
        value = support["predictions"][name]
        cells[name] = None if value is None else f"{value:.4f}"
    return cells


def text(value) -> str:
    """One value as the text of a cell (before the formula guard)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.astimezone(amsterdam()).replace(microsecond=0).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def cell(value) -> str:
    """A cell no spreadsheet will run: text that starts like a formula gets a leading quote."""
    content = text(value)
    if content.startswith(FORMULA_START) or content.lstrip().startswith(FORMULA_START):
        return "'" + content
    return content


def to_csv(rows: list[dict], columns: tuple[str, ...]) -> bytes:
    out = io.StringIO(newline="")
    out.write(BOM)
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([cell(row.get(name)) for name in columns])
    return out.getvalue().encode("utf-8")
