"""Interface texts: Dutch is the source language, English the translation.

Widgets call `tr("Dutch text")`; switching language rebuilds the window from the
consultation state, so nothing has to be re-translated in place.
"""

from __future__ import annotations

ENGLISH = {
    "Patiënt": "Patient",
    "Verzekering & bundel": "Insurance & bundle",
    "Uitleg": "Explanation",
    "Samen beslissen": "Shared decision",
    "Inclusie": "Inclusion",
    "Werklijst": "Worklist",
    "BSN": "BSN (citizen service number)",
    "Geboortedatum": "Date of birth",
    "Naam (optioneel)": "Name (optional)",
    "Patiëntnummer EPD (optioneel)": "EHR patient number (optional)",
    "JJJJ-MM-DD": "YYYY-MM-DD",
    "Bundel": "Bundle",
    "Verzekeraar": "Insurer",
    "UZOVI-code": "UZOVI code",
    "Diagnose (ICD-10)": "Diagnosis (ICD-10)",
    "Zijde": "Side",
    "links": "left",
    "rechts": "right",
    "beide": "both",
    "onbekend": "unknown",
    "Inclusiedatum": "Inclusion date",
    "Vragen bij de intake": "Intake questions",
    "ja": "yes",
    "nee": "no",
    "Beoordeling": "Assessment",
    "Komt in aanmerking": "Eligible",
    "Komt niet in aanmerking": "Not eligible",
    "Informatie nodig": "Information needed",
    "Nog niet beoordeeld": "Not yet assessed",
    "Nederlands": "Dutch",
    "Engels": "English",
    "Print / opslaan als PDF…": "Print / save as PDF…",
    "Opslaan als PDF…": "Save as PDF…",
    "Afdrukken…": "Print…",
    "Handout opgeslagen": "Handout saved",
    "Behandelaar (AGB)": "Clinician (AGB)",
    "Locatie": "Location",
    "Uitgelegd door": "Explained by",
    "Eerste behandeling": "Initial treatment",
    "nog niet gekozen": "not chosen yet",
    "conservatief": "conservative",
    "operatie": "surgery",
    "Patiënt stemt in met deelname": "Patient agrees to take part",
    "Handout meegegeven": "Handout given",
    "Inclusie registreren": "Register inclusion",
    "Geregistreerd": "Registered",
    "Intrekken…": "Withdraw…",
    "Corrigeren…": "Correct…",
    "Reden": "Reason",
    "Vandaag": "Today",
    "Niet verzonden": "Not sent",
    "Afgewezen of dubbel": "Rejected or duplicate",
    "Alles": "All",
    "Datum": "Date",
    "Aandoening": "Condition",
    "Status": "Status",
    "Verzending": "Sync",
    "te verzenden": "to send",
    "verzonden": "sent",
    "Offline": "Offline",
    "Online": "Online",
    "laatste synchronisatie": "last sync",
    "nooit": "never",
    "Modellen": "Models",
    "laden…": "loading…",
    "gereed": "ready",
    "niet beschikbaar": "not available",
    "Vorige": "Previous",
    "Volgende": "Next",
    "Nieuwe patiënt": "New patient",
    "Taal": "Language",
    "Instellingen": "Settings",
    "Nu synchroniseren": "Sync now",
    "Stappen": "Steps",
    "Sluiten": "Close",
    "&Synchronisatie": "&Sync",
    "Synchronisatie": "Sync",
    "Synchronisatie gestopt": "Sync stopped",
    "Synchroniseren…": "Syncing…",
    "controleren…": "checking…",
    "nieuwe poging over": "next attempt in",
    "Alleen lokaal (geen server ingesteld)": "Local only (no server configured)",
    "Niet aangemeld bij de server": "Not enrolled with the server",
    "Verzekering opzoeken…": "Looking up insurance…",
    "Bron": "Source",
    "gecontroleerd": "checked",
    "Bron van de verzekeringsgegevens": "Source of the insurance details",
    "Opnieuw opzoeken": "Look up again",
    "Verzekering opnieuw opzoeken bij de server": "Look up the insurance at the server again",
    "opgezocht bij de centrale server": "looked up at the central server",
    "uit de lokale cache": "from the local cache",
    "ingevuld van de verzekeringspas": "typed from the insurance card",
    "gekozen uit de UZOVI-tabel": "picked from the UZOVI table",
    "gevonden op de server": "found at the server",
    "Melding": "Message",
    "geregistreerd": "registered",
    "dubbel": "duplicate",
    "afgewezen": "rejected",
    "ingetrokken": "withdrawn",
}

_language = "nl"


def set_language(language: str) -> None:
    global _language
    _language = language if language in ("nl", "en") else "nl"


def language() -> str:
    return _language


def tr(text: str) -> str:
    return ENGLISH.get(text, text) if _language == "en" else text
