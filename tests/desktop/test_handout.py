"""The handout a patient can act on (issue 13 item 8): the clinic to call, the patient's own facts,
in the chosen language — content from the domain core, no Qt; and its personal page (issue 14 item 4)."""

from __future__ import annotations

import copy
import datetime as dt
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from desktop.bundle_files import load_bundles
from desktop.core import messages
from desktop.core.chances import personal_html
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


@pytest.fixture(scope="module")
def shown_support():
    """The decision support Samen beslissen keeps for a patient with carpal tunnel syndrome."""
    from desktop.operations.prediction import decision_support
    from predictors import load_models

    patient = {"condition": "CTS", "age": 61, "sex": "F", "work_status": "office", "nrs_pain_0": 7}
    return decision_support(load_models().predict(patient), patient, {"nrs_pain_0": 7}, "2026-11-28T18:05:00.000Z")


@given(st.floats(0, 1), st.floats(0, 1), st.floats(0, 10), st.floats(0, 10))
@settings(max_examples=60, deadline=None)
def test_the_personal_page_writes_each_chance_as_so_many_of_100_and_each_score_to_its_scale(
        shown_support, conservative, surgery, low, high):
    low, high = sorted((low, high))
    support = copy.deepcopy(shown_support)
    support["predictions"].update(conservative_pain_mcid_prob=conservative, surgery_pain_mcid_prob=surgery,
                                  surgery_pain12_p10=low, surgery_pain12_p90=high)
    page = plain(personal_html(support, "CTS", "nl", synthetic=False))
    for count in (round(conservative * 100), round(surgery * 100)):
        assert f"Van de 100 mensen zoals u hadden er na 12 maanden ongeveer {count} duidelijk minder pijn" in page
    assert f"({low:.1f} tot {high:.1f})".replace(".", ",") in page
    assert "demonstratiemodel" not in page


def test_the_personal_page_is_there_only_with_predictions_and_before_the_footer(bundle, shown_support):
    assert personal_html(None, "CTS", "nl", synthetic=True) == ""
    assert personal_html(shown_support, "CLAUDICATION", "nl", synthetic=True) == ""  # no model for it
    page = personal_html(shown_support, "CTS", "en", synthetic=True)
    text = plain(explanation_html(bundle, bundle.condition_for_code("G56.0"), dt.date(2027, 3, 2), "en",
                                  dt.date(2027, 3, 2), clinic=CLINIC, personal_page=page))
    assert text.index("Phone: 030 123 45 67") < text.index("Your chances with each treatment") < text.index(
        "Printed on 2 March 2027")
    assert "demonstration model" in text
    day = dt.datetime(2026, 11, 28, 18, 5, tzinfo=dt.UTC).astimezone().date()  # the questionnaire's day here
    assert f"calculated from your questionnaire of {day.day} November 2026" in text
