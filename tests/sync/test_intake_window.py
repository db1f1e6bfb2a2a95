"""Samen beslissen filled from the patient's own intake questionnaire, in the real window
(offscreen Qt) against the real server process, with a PROM platform's FHIR export imported
by the real `import-intake`.

As soon as BSN and birth date are valid the window asks (in the background) for the newest
completed questionnaire on or before the consultation date; its answers fill the form, each
field says where its value comes from (also to a screen reader), a typed correction wins and
is kept as entered, clearing it goes back to the questionnaire. Offline the encrypted cache
answers; with no questionnaire the form stays empty. A slow answer for one patient never
reaches the form of the next. What the window shows and keeps is what `predict --json`
computes, to the last digit.
"""

from __future__ import annotations

import datetime as dt
import json
import threading

import pytest

pytest.importorskip("PySide6")

from PySide6.QtGui import QAccessible
from PySide6.QtWidgets import QApplication, QComboBox

import intake_exports as fx
from desktop import config
from desktop.core.messages import day
from desktop.operations.services import Services
from desktop.store.inclusions import Actor
from desktop.ui import background
from desktop.ui.decision.page import PREDICTION
from desktop.ui.main_window import INSURER_LOOKUP, INTAKE_LOOKUP, MainWindow
from helpers import bundles_with_contract_end, save_in_window, valid_bsns
from test_device_intake import A_BORN, B_BORN, A, B, Device
from test_predict_cli import predict

C = valid_bsns(1, start=400_300_000)[0]  # a patient without any questionnaire
TODAY = dt.date.today()
A_DAY = TODAY - dt.timedelta(days=19)  # A's newest completed questionnaire before today


def authored(on: dt.date) -> str:
    return f"{on.isoformat()}T09:30:00+01:00"


def export() -> dict:
    """A answered twice (the newest: pain 6, PCS 26, PHQ-4 2, office work, BCTQ 3 and 2.5) and
    left one unfinished since; B answered differently."""
    a, b = fx.patient("1001", A, A_BORN), fx.patient("1002", B, B_BORN)
    earlier = fx.response("tok-a0", fx.gems_reference("1001"), authored(TODAY - dt.timedelta(days=90)),
                          {"nrs_pain_0": 9, "work_status": ("physical", "Lichamelijk werk")})
    newest = fx.response("tok-a1", fx.gems_reference("1001"), authored(A_DAY), {
        "nrs_pain_0": 6, "work_status": ("office", "Kantoorwerk"), **fx.bctq("pcs_q", [2] * 13),
        **fx.bctq("phq4_q", [1, 1, 0, 0]), **fx.bctq("bctq_sss_q", [3] * 11),
        **fx.bctq("bctq_fss_q", [3, 3, 2, 2, 3, 3, 2, 2])})
    unfinished = fx.response("tok-a2", fx.gems_reference("1001"), authored(TODAY - dt.timedelta(days=2)),
                             {"nrs_pain_0": 1}, status="in-progress")
    b1 = fx.response("tok-b1", fx.gems_reference("1002"), authored(TODAY - dt.timedelta(days=5)), {
        "nrs_pain_0": 3, **fx.bctq("bctq_fss_q", [4] * 8)})
    return fx.searchset(("match", earlier), ("include", a), ("match", newest), ("match", unfinished),
                        ("match", b1), ("include", b))


ESTIMATED = "geschat — nog niet ingevuld"
A_SHOWN = {"nrs_pain_0": "6", "pcs": "26", "phq4": "2", "bctq_sss_0": "3", "bctq_fss_0": "2.5"}


@pytest.fixture
def server(tmp_path):
    process = fx.serving(tmp_path, export())
    yield process
    process.stop()


@pytest.fixture(scope="module")
def models():
    from predictors import load_models

    return load_models()


@pytest.fixture
def services(tmp_path, server):
    bundles = bundles_with_contract_end(tmp_path / "bundles", TODAY + dt.timedelta(days=365))
    settings = config.load(overrides={"data_dir": str(tmp_path / "data"), "bundles_dir": str(bundles),
                                      "location": "Utrecht"})
    services = Services(settings, Actor("werkplek-3", "SUO"))
    services.enroll(server.url, server.enroll_code())
    yield services
    services.close()


@pytest.fixture
def window(qtbot, services, models):
    window = MainWindow(services, load_models=False, background_sync=False)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    window._models_loaded(models)
    yield window
    lookup_done(qtbot, window)  # before the register closes: an answer still due would find it closed


def lookup_done(qtbot, window) -> None:
    """Both lookups a patient starts have answered (the questionnaire and the insurer)."""
    qtbot.waitUntil(lambda: not window.operations.pending(INTAKE_LOOKUP)
                    and not window.operations.pending(INSURER_LOOKUP), timeout=30_000)
    QApplication.processEvents()


def open_patient(qtbot, window, bsn, born, diagnosis="G56.0"):
    """The next patient from the EHR; the clinician types the diagnosis and goes to Samen beslissen."""
    window.new_patient()
    window.open_patient(bsn=bsn, birth_date=born)
    QApplication.processEvents()
    window.steps[1].diagnosis.setEditText(diagnosis)
    lookup_done(qtbot, window)
    window.go_to(3)
    view = window.steps[3].view
    settle(qtbot, view)
    return view


def settle(qtbot, view):
    """Wait for the prediction of what the form holds now."""
    view.timer.stop()
    before = view.operations.generation(PREDICTION)
    view._predict()
    qtbot.waitUntil(lambda: view.operations.generation(PREDICTION) > before
                    and not view.operations.pending(PREDICTION), timeout=10_000)
    QApplication.processEvents()


def shown(view) -> dict[str, object]:
    """What each field of the form shows (a line edit its text, a choice its value)."""
    return {name: widget.currentData() if isinstance(widget, QComboBox) else widget.text()
            for name, widget in view.inputs.items()}


def said(view, name) -> str:
    """A field's source line under it."""
    return view.provenance[name].text()


def heard(view, name) -> str:
    """What a screen reader hears with the field besides its name."""
    return QAccessible.queryAccessibleInterface(view.inputs[name]).text(QAccessible.Text.Description)


def retype(qtbot, widget, text):
    widget.setFocus()
    widget.selectAll()
    if text:
        qtbot.keyClicks(widget, text)
    else:
        widget.del_()
    widget.clearFocus()  # leaving the field, as Tab does
    QApplication.processEvents()


def test_the_questionnaire_fills_the_form_says_where_each_value_comes_from_and_a_correction_wins(
        qtbot, window, services, server, tmp_path):
    view = open_patient(qtbot, window, A, A_BORN)
    of_a_day = f"uit de vragenlijst van {day(A_DAY)}"
    assert view.intake_status.isVisible()
    assert view.intake_status.text() == f"Vragenlijst van {day(A_DAY)} gebruikt"
    assert window.consultation.questionnaire == {"nrs_pain_0": 6.0, "pcs": 26.0, "phq4": 2.0,
                                                 "work_status": "office", "bctq_sss_0": 3.0, "bctq_fss_0": 2.5}
    form = shown(view)
    assert {name: form[name] for name in A_SHOWN} == A_SHOWN and form["work_status"] == "office"
    assert form["bmi"] == "" and form["sex"] is None
    for name in (*A_SHOWN, "work_status"):
        assert said(view, name) == of_a_day
        assert heard(view, name) == f"Uit de vragenlijst van de patiënt van {day(A_DAY)}."
    assert said(view, "bmi") == ESTIMATED and said(view, "sex") == ESTIMATED
    assert heard(view, "bmi").startswith("Geschat")
    assert window.consultation.intake == {}  # filled in by the window, not typed

    retype(qtbot, view.inputs["nrs_pain_0"], "8")  # the patient says it is worse today
    retype(qtbot, view.inputs["bmi"], "27")
    nerve = view.inputs["ncs_severity"]  # a clinical finding, not in any questionnaire
    nerve.setCurrentIndex(nerve.findData(1))
    settle(qtbot, view)
    assert said(view, "nrs_pain_0") == "hier ingevuld" and said(view, "bmi") == "hier ingevuld"
    assert heard(view, "nrs_pain_0") == "Hier ingevuld."
    kept = window.consultation.decision_support
    assert kept["inputs"]["nrs_pain_0"] == {"value": 8.0, "source": "entered"}
    assert kept["inputs"]["pcs"] == {"value": 26.0, "source": "questionnaire"}
    assert kept["inputs"]["work_status"] == {"value": "office", "source": "questionnaire"}
    assert kept["inputs"]["sex"] == {"value": None, "source": "estimated"}
    assert kept["questionnaire_completed_at"].startswith(f"{A_DAY.isoformat()}T08:30:00")  # 09:30 in Amsterdam

    retype(qtbot, view.inputs["nrs_pain_0"], "")  # the correction cleared: the questionnaire's answer again
    settle(qtbot, view)
    assert view.inputs["nrs_pain_0"].text() == "6" and said(view, "nrs_pain_0") == of_a_day
    assert window.consultation.decision_support["inputs"]["nrs_pain_0"] == {"value": 6.0, "source": "questionnaire"}
    work = view.inputs["work_status"]
    work.setCurrentIndex(work.findData("retired"))
    settle(qtbot, view)
    assert said(view, "work_status") == "hier ingevuld"
    work.setCurrentIndex(0)  # "onbekend": the correction undone
    settle(qtbot, view)
    assert work.currentData() == "office" and said(view, "work_status") == of_a_day
    retype(qtbot, view.inputs["nrs_pain_0"], "8")
    settle(qtbot, view)

    # the window and `predict --json` (its own process and device) agree to the last digit
    device = Device(tmp_path).enroll(server.url, server.enroll_code())
    typed = {"nrs_pain_0": 8, "bmi": 27, "ncs_severity": 1}
    printed = predict(device, {"bsn": A, "birth_date": A_BORN, "diagnosis": "G56.0",
                               "inclusion_date": TODAY.isoformat(), "intake": typed}, tmp_path)
    shown_support = window.consultation.decision_support
    assert printed["inputs"] == shown_support["inputs"]
    assert printed["predictions"] == shown_support["predictions"]
    assert printed["model_version"] == shown_support["model_version"]
    surgery = view.prediction.surgery
    assert shown_support["predictions"]["surgery_pain12_mean"] == round(surgery.pain.month12.mean, 4)
    assert f"<b>{surgery.pain.month12.mean:.1f}</b>".replace(".", ",") in view.panels["surgery"].numbers.text()
    assert view.panels["conservative"].icons.count == round(
        shown_support["predictions"]["conservative_pain_mcid_prob"] * 100)

    # saved: the questionnaire's values as questionnaire, the corrections as entered
    insurance = window.steps[1]
    insurance.uzovi.setText("3311")
    save_in_window(window)
    (record,) = services.registry.inclusions()
    stored = json.loads(record["decision_support"])
    assert stored == shown_support
    sources = {name: item["source"] for name, item in stored["inputs"].items()}
    assert {name for name, source in sources.items() if source == "questionnaire"} == {
        "pcs", "phq4", "work_status", "bctq_sss_0", "bctq_fss_0"}
    assert {name for name, source in sources.items() if source == "entered"} == {
        "age", "nrs_pain_0", "bmi", "ncs_severity"}


def test_in_english_the_same_words_come_from_the_catalogue(qtbot, window):
    view = open_patient(qtbot, window, A, A_BORN)
    window.set_language("en")
    view = window.steps[3].view
    settle(qtbot, view)
    assert view.intake_status.text() == f"Questionnaire of {day(A_DAY)} used"
    assert said(view, "pcs") == f"from the questionnaire of {day(A_DAY)}"
    assert heard(view, "pcs") == f"From the patient's questionnaire of {day(A_DAY)}."
    assert said(view, "bmi") == "estimated — not entered yet"
    retype(qtbot, view.inputs["bmi"], "27")
    settle(qtbot, view)
    assert said(view, "bmi") == "entered here"
    window.set_language("nl")


def test_offline_the_cache_answers_and_without_any_questionnaire_the_form_stays_empty(qtbot, window, server):
    view = open_patient(qtbot, window, C, "1980-02-03")
    assert view.intake_status.text() == "Geen vragenlijst gevonden"
    assert all(value in ("", None) for value in shown(view).values())
    assert {said(view, name) for name in view.inputs} == {ESTIMATED}
    open_patient(qtbot, window, A, A_BORN)  # kept in the encrypted cache

    server.stop()
    view = open_patient(qtbot, window, A, A_BORN)
    assert view.intake_status.text() == f"Vragenlijst van {day(A_DAY)} gebruikt (uit de lokale cache)"
    assert "niet bereikbaar" in view.intake_status.toolTip()  # why the server was not asked, when asked
    assert {name: shown(view)[name] for name in A_SHOWN} == A_SHOWN
    assert said(view, "pcs") == f"uit de vragenlijst van {day(A_DAY)}"
    assert window.consultation.decision_support["inputs"]["pcs"] == {"value": 26.0, "source": "questionnaire"}

    view = open_patient(qtbot, window, C, "1980-02-03")
    assert view.intake_status.text() == "Vragenlijst niet op te halen bij de server, niets in de cache"
    assert all(value in ("", None) for value in shown(view).values())
    assert window.consultation.questionnaire == {}


def test_a_slow_answer_for_the_previous_patient_never_reaches_the_next(qtbot, window, monkeypatch):
    """A's lookup hangs; the clinician types another patient's BSN meanwhile (typing is not held
    up) and gets that patient's form; A's answer arrives afterwards and is dropped."""
    asked_for_a, release_a = threading.Event(), threading.Event()
    real = Services.lookup_intake

    def slow_for_a(self, bsn, birth_date, on):
        if bsn == A:
            asked_for_a.set()
            release_a.wait(30)
        return real(self, bsn, birth_date, on)

    monkeypatch.setattr(Services, "lookup_intake", slow_for_a)
    view = window.steps[3].view
    filled = []  # every questionnaire the form was ever given
    real_changed = type(view).questionnaire_changed
    monkeypatch.setattr(type(view), "questionnaire_changed",
                        lambda self: (filled.append(dict(window.consultation.questionnaire)), real_changed(self)))
    window.steps[1].diagnosis.setEditText("G56.0")
    patient = window.steps[0]
    retype(qtbot, patient.birth_date, A_BORN)
    retype(qtbot, patient.bsn, A)
    assert asked_for_a.wait(10)
    a_ticket = window.operations.generation(INTAKE_LOOKUP)
    assert view.intake_status.text() == "Vragenlijst opzoeken…"

    retype(qtbot, patient.bsn, C)  # another patient, same birth date: typed while A's lookup hangs
    qtbot.waitUntil(lambda: view.intake_status.text() == "Geen vragenlijst gevonden", timeout=30_000)

    release_a.set()  # A's answer now comes, with A's values
    qtbot.waitUntil(lambda: a_ticket not in background._the_dispatcher().requests, timeout=30_000)
    qtbot.wait(100)
    window.go_to(3)
    settle(qtbot, view)
    assert window.consultation.bsn == C and window.consultation.questionnaire == {}
    assert all(value in ("", None) for value in shown(view).values())
    assert view.intake_status.text() == "Geen vragenlijst gevonden"
    assert all(not answers for answers in filled)
    assert window.consultation.decision_support["questionnaire_completed_at"] is None

    retype(qtbot, patient.bsn, B)  # and B, with answers of its own, gets B's, still never A's
    retype(qtbot, patient.birth_date, B_BORN)
    lookup_done(qtbot, window)
    assert window.consultation.questionnaire == {"nrs_pain_0": 3.0, "bctq_fss_0": 4.0}
    assert shown(view)["nrs_pain_0"] == "3" and shown(view)["pcs"] == ""
    assert not any(answers.get("pcs") for answers in filled)


def test_a_patient_whose_details_are_corrected_loses_the_other_patients_answers_at_once(qtbot, window):
    view = open_patient(qtbot, window, A, A_BORN)
    assert shown(view)["pcs"] == "26"
    patient = window.steps[0]
    retype(qtbot, patient.birth_date, "1971-06-03")  # a typo corrected, or the wrong patient opened
    assert window.consultation.questionnaire == {} and shown(view)["pcs"] == ""  # before any answer
    lookup_done(qtbot, window)
    assert view.intake_status.text() == "Geen vragenlijst gevonden"  # BSN and birth date must both match
    assert shown(view)["pcs"] == "" and window.consultation.questionnaire == {}
