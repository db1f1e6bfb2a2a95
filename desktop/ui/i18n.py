"""Interface texts: Dutch is the source language, English the translation.

Widgets call `tr("Dutch text")`; switching language rebuilds the window from the
consultation state, so nothing has to be re-translated in place.
"""

from __future__ import annotations

import datetime as dt

ENGLISH = {
    "Patiënt": "Patient",
    "de verzekeraar": "the insurer",
    "Het contract met {insurer} voor {bundle} is geëindigd op {date}: patiënten van deze verzekeraar "
    "komen niet meer in aanmerking. Meld het aan IT als het contract is verlengd.":
        "The contract with {insurer} for {bundle} ended on {date}: this insurer's patients are no longer "
        "eligible. Tell IT if the contract has been renewed.",
    "Het contract met {insurer} voor {bundle} eindigt vandaag ({date}). Vanaf morgen komen patiënten "
    "van deze verzekeraar niet meer in aanmerking, tenzij IT het verlengde contract invoert.":
        "The contract with {insurer} for {bundle} ends today ({date}). From tomorrow this insurer's patients "
        "are no longer eligible, unless IT enters the renewed contract.",
    "Het contract met {insurer} voor {bundle} eindigt op {date} (over {days} dagen). Daarna komen "
    "patiënten van deze verzekeraar niet meer in aanmerking, tenzij IT het verlengde contract invoert.":
        "The contract with {insurer} for {bundle} ends on {date} (in {days} days). After that this insurer's "
        "patients are no longer eligible, unless IT enters the renewed contract.",
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
    "Niet opgeslagen": "Not saved",
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
    "Let op": "Attention",
    "Melding voor IT": "Notice for IT",
    "Sluiten": "Close",
    "&Synchronisatie": "&Sync",
    "&Bestand": "&File",
    "Geïncludeerd": "Included",
    "t/m": "until",
    "Synchronisatie": "Sync",
    "Synchronisatie gestopt": "Sync stopped",
    "Bijwerken nodig": "Upgrade needed",
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
    "uit het registratiebestand": "from the registration file",
    "gevonden op de server": "found at the server",
    "Melding": "Message",
    "Naam": "Name",
    "Zoek op BSN, naam of geboortedatum (dd-mm-jjjj)": "Search by BSN, name or date of birth (dd-mm-yyyy)",
    "Zoeken in de werklijst": "Search the worklist",
    "Melding bij de gekozen inclusie": "Message about the chosen inclusion",
    "Filter werklijst": "Worklist filter",
    "{shown} van {total}": "{shown} of {total}",
    "Waarom wordt deze inclusie ingetrokken?": "Why is this inclusion withdrawn?",
    "Geef een reden voor het intrekken; er is niets ingetrokken.":
        "Give a reason for the withdrawal; nothing has been withdrawn.",
    "Zijde (L, R of both)": "Side (L, R or both)",
    "Er is niets gewijzigd.": "Nothing has changed.",
    "Geef een reden voor de correctie.": "Give a reason for the correction.",
    "geregistreerd": "registered",
    "dubbel": "duplicate",
    "afgewezen": "rejected",
    "ingetrokken": "withdrawn",
    "Deze getallen komen uit een demonstratiemodel.": "These numbers come from a demonstration model.",
    "Functie": "Function",
    "Pijn": "Pain",
    "Geen modelkaart beschikbaar.": "No model card available.",
    "Geen voorspelling": "No prediction",
    "Gegevens voor de voorspelling": "Details for the prediction",
    "Getallen: verwachte score, tussen haakjes het bereik van 80% van de patiënten.": "Numbers: expected score, in brackets the range of 80% of patients.",
    "Kans op alsnog een operatie binnen 12 maanden": "Chance of surgery after all within 12 months",
    "Leeftijd": "Age",
    "Modelkaart": "Model card",
    "Modelkaart tonen": "Show the model card",
    "Modelkaart…": "Model card…",
    "Onbekend, dus geschat uit de overige gegevens": "Unknown, so estimated from the other details",
    "Synthetische referentiedata — niet voor klinisch gebruik.": "Synthetic reference data — not for clinical use.",
    "Voorspellingen": "Predictions",
    "Voorspellingsmodellen worden op de achtergrond geladen…": "Prediction models are loading in the background…",
    "Er zijn geen voorspellingsmodellen beschikbaar. Zonder modellen toont deze stap geen voorspellingen; bespreek de behandelopties zoals gebruikelijk.": "No prediction models are available. Without models this step shows no predictions; discuss the treatment options as usual.",
    "Vul eerst de diagnose in (stap 2): voorspellingen zijn er voor carpaletunnelsyndroom en duimbasisartrose.": "Enter the diagnosis first (step 2): predictions exist for carpal tunnel syndrome and thumb-base osteoarthritis.",
    "Weer aan het werk": "Back at work",
    "binnen 12 weken": "within 12 weeks",
    "binnen 6 weken": "within 6 weeks",
    "dagen": "days",
    "de meesten stoppen niet met werken": "most do not stop working",
    "geboortedatum": "date of birth",
    "hoger = beter": "higher = better",
    "lager = beter": "lower = better",
    "kunnen hun hand duidelijk beter gebruiken": "can use their hand clearly better",
    "lijn: mediaan, vlak: 80% van de": "line: median, band: 80% of the",
    "mediaan": "median",
    "meest vergelijkbare patiënten per behandeling": "most similar patients per treatment",
    "mnd": "mo",
    "patiënten zoals u hebben na 12 maanden duidelijk minder pijn": "patients like you have clearly less pain after 12 months",
    "van de 100": "out of 100",
    "Geslacht": "Sex",
    "BMI (kg/m²)": "BMI (kg/m²)",
    "Diabetes": "Diabetes",
    "Rookt": "Smokes",
    "Werk": "Work",
    "Klachtduur (maanden)": "Symptom duration (months)",
    "Dominante hand aangedaan": "Dominant hand affected",
    "Klachten aan beide handen": "Symptoms in both hands",
    "Pijncatastroferen (PCS 0–52)": "Pain catastrophizing (PCS 0–52)",
    "Angst/somberheid (PHQ-4, 0–12)": "Anxiety/depression (PHQ-4, 0–12)",
    "Verwachte verbetering (0–10)": "Expected improvement (0–10)",
    "Eerder injectie gehad": "Earlier injection",
    "Pijn nu (NRS 0–10)": "Pain now (NRS 0–10)",
    "Zenuwgeleidingsonderzoek": "Nerve conduction study",
    "Thenaratrofie": "Thenar atrophy",
    "Nachtelijke klachten": "Night symptoms",
    "BCTQ symptomen (1–5)": "BCTQ symptoms (1–5)",
    "BCTQ functie (1–5)": "BCTQ function (1–5)",
    "Eaton-stadium": "Eaton stage",
    "MCP-hyperextensie": "MCP hyperextension",
    "Knijpkracht sleutelgreep (kg)": "Key pinch strength (kg)",
    "MHQ pijn (0–100)": "MHQ pain (0–100)",
    "MHQ functie (0–100)": "MHQ function (0–100)",
    "vrouw": "female",
    "man": "male",
    "werkt, vooral kantoorwerk": "employed, mainly office work",
    "werkt, vooral lichamelijk werk": "employed, mainly manual work",
    "werkt niet": "not working",
    "gepensioneerd": "retired",
    "0 normaal": "0 normal",
    "1 licht": "1 mild",
    "2 matig": "2 moderate",
    "3 ernstig": "3 severe",
    "stadium 1": "stage 1",
    "stadium 2": "stage 2",
    "stadium 3": "stage 3",
    "stadium 4": "stage 4",
    "Conservatief": "Conservative",
    "Operatie": "Surgery",
    "spalk, injectie, handtherapie": "splint, injection, hand therapy",
    "met nazorg en handtherapie": "with aftercare and hand therapy",
}

_language = "nl"


def set_language(language: str) -> None:
    global _language
    _language = language if language in ("nl", "en") else "nl"


def language() -> str:
    return _language


def tr(text: str) -> str:
    return ENGLISH.get(text, text) if _language == "en" else text



def local_datetime(moment: str | None) -> dt.datetime | None:
    """A stored ISO time ('…Z' is UTC) in the PC's own time zone; None when empty or unreadable."""
    try:
        when = dt.datetime.fromisoformat(moment.replace("Z", "+00:00"))
    except (AttributeError, ValueError):
        return None
    return when.astimezone() if when.tzinfo else when


_qt_translator = None


def install_qt_translations(code: str) -> bool:
    """Qt's own dialogs (file chooser, print dialog, message box buttons) in the same language.

    Qt imports are local so this module stays importable without a display.
    """
    global _qt_translator
    from PySide6.QtCore import QCoreApplication, QLibraryInfo, QTranslator

    app = QCoreApplication.instance()
    if app is None:
        return False
    if _qt_translator is not None:
        app.removeTranslator(_qt_translator)
        _qt_translator = None
    if code == "en":
        return True
    translator = QTranslator(app)
    if translator.load(f"qtbase_{code}", QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)):
        app.installTranslator(translator)
        _qt_translator = translator
        return True
    return False
