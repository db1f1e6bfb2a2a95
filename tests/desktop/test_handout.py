"""The handout a patient can act on (issue 13 item 8): the clinic to call, the patient's own facts,
in the chosen language — content from the domain core, no Qt."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from desktop.bundle_files import load_bundles
from desktop.core import messages
from desktop.core.clinic import Clinic
from desktop.core.handout import Consultation, explanation_html

CLINIC = Clinic("Handkliniek Utrecht", "Voorbeeldlaan 1, 3500 AA Utrecht", "030 123 45 67",
                "het secretariaat, werkdagen 8.30–17.00 uur")


@pytest.fixture(scope="module")
def bundle():
    return load_bundles().bundles["hand-wrist"]


def plain(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_the_handout_says_whom_to_call_to_stop_and_the_patients_own_facts(bundle):
    condition = bundle.condition_for_code("G56.0")
    facts = Consultation(day=dt.date(2027, 3, 2), side="R", explained_by="Dr. A. de Vries")
    text = plain(explanation_html(bundle, condition, dt.date(2027, 3, 2), "nl", consultation=facts, clinic=CLINIC))
    assert "U kunt altijd stoppen" in text and "het secretariaat, werkdagen 8.30–17.00 uur" in text
    assert "Telefoon: 030 123 45 67" in text and "Handkliniek Utrecht" in text and "Voorbeeldlaan 1" in text
    assert "Gesprek op 2 maart 2027" in text and "Uitgelegd door Dr. A. de Vries" in text
    assert f"{condition.label.get('nl')}, rechterhand" in text


def test_the_english_handout_has_no_dutch_fixed_phrase(bundle):
    condition = bundle.condition_for_code("M18.1")
    facts = Consultation(day=dt.date(2027, 3, 2), side="both", explained_by="B. Jansen")
    text = plain(explanation_html(bundle, condition, dt.date(2027, 3, 2), "en", dt.date(2027, 3, 2), facts, CLINIC))
    assert "both hands" in text and "Consultation on 2 March 2027" in text and "Phone: 030 123 45 67" in text
    english = messages.catalogue("en")
    dutch = [phrase for key, phrase in messages.catalogue("nl").items() if key.startswith("core.handout.")
             and phrase != english[key] and "{" not in phrase and len(phrase) > 3]
    assert dutch and [phrase for phrase in dutch if phrase in text] == []


def test_without_a_clinic_there_is_no_empty_contact_block(bundle):
    text = plain(explanation_html(bundle, None, dt.date(2027, 3, 2), "nl"))
    assert "Vragen, of toch niet meedoen?" not in text and "Telefoon" not in text
    phone_only = plain(explanation_html(bundle, None, dt.date(2027, 3, 2), "nl", clinic=Clinic(phone="030 1")))
    assert "Telefoon: 030 1" in phone_only
