"""Samen beslissen: both options for this patient, from the shipped models, off the UI thread."""

import pytest

pytest.importorskip("PySide6")

from PySide6.QtWidgets import QApplication, QComboBox, QLineEdit

from desktop.ui.decision.page import PREDICTION
from predictors import ModelFileError, load_models
from test_main_window import BSN, screenshot, services, window  # noqa: F401  (fixtures)


@pytest.fixture(scope="module")
def models():
    return load_models()


@pytest.fixture
def decision(qtbot, window, services, models):
    window._models_loaded(models)
    window.open_patient(bsn=BSN, birth_date="1968-04-02")
    QApplication.processEvents()
    window.steps[1].diagnosis.setEditText("G56.0")
    window.go_to(3)
    return window.steps[3].view


def asked(view):
    return view.operations.generation(PREDICTION)


def settle(qtbot, view, request_before):
    """Wait until the worker answered a request made after `request_before`."""
    qtbot.waitUntil(lambda: asked(view) > request_before and not view.operations.pending(PREDICTION)
                    and view.prediction is not None, timeout=5000)
    QApplication.processEvents()


def fill(view, values):
    for name, value in values.items():
        widget = view.inputs[name]
        if isinstance(widget, QComboBox):
            widget.setCurrentIndex(widget.findData(value))
        else:
            widget.setText(str(value))


def test_both_options_show_the_models_numbers_for_this_patient(qtbot, decision, models):
    before = asked(decision)
    fill(decision, {"sex": "F", "work_status": "physical", "nrs_pain_0": 7, "bctq_fss_0": 2.8, "ncs_severity": 2})
    settle(qtbot, decision, before)
    expected = models.predict({"condition": "CTS", "age": 57, "sex": "F", "work_status": "physical",
                               "nrs_pain_0": 7, "bctq_fss_0": 2.8, "ncs_severity": 2})
    for option in ("conservative", "surgery"):
        panel = decision.panels[option]
        wanted = expected.option(option)
        assert panel.icons.count == round(wanted.pain.improvement_probability * 100)
        assert f"{wanted.pain.month12.mean:.1f}".replace(".", ",") in panel.numbers.text()  # Dutch decimal comma
        assert "binnen 6 weken" in panel.extra.text()  # employed: return to work is shown
    assert "operatie binnen 12 maanden" in decision.panels["conservative"].extra.text()
    assert "operatie binnen 12 maanden" not in decision.panels["surgery"].extra.text()
    assert decision.banner.isVisible() and "niet voor klinisch gebruik" in decision.banner.text()


def test_not_employed_patients_get_no_return_to_work_line(qtbot, decision):
    before = asked(decision)
    fill(decision, {"work_status": "retired"})
    settle(qtbot, decision, before)
    assert "werk" not in decision.panels["surgery"].extra.text()


def test_a_bad_value_is_named_next_to_its_field_and_treated_as_unknown(qtbot, decision):
    before = asked(decision)
    fill(decision, {"nrs_pain_0": 12})
    settle(qtbot, decision, before)
    message = decision.messages["nrs_pain_0"]
    assert message.isVisible() and "0 t/m 10" in message.text()
    assert decision.provenance["nrs_pain_0"].text() == "geschat — nog niet ingevuld"
    assert "Pijn nu" in decision.state.text()  # named as an answer that would make it personal
    assert "In het algemeen" in decision.panels["surgery"].numbers.text()


def test_cmc1_oa_asks_for_its_own_predictors(qtbot, window, decision):
    window.steps[1].diagnosis.setEditText("M18.1")
    QApplication.processEvents()
    assert "eaton_stage" in decision.inputs and "bctq_fss_0" not in decision.inputs
    assert isinstance(decision.inputs["key_pinch_kg"], QLineEdit)


def test_without_a_diagnosis_the_step_says_what_to_do_first(qtbot, window, decision):
    window.steps[1].diagnosis.setEditText("")
    QApplication.processEvents()
    assert "Vul eerst de diagnose in" in decision.state.text()
    assert not decision.panels["surgery"].isVisible()


def test_without_models_the_step_says_so_honestly(qtbot, window, services):
    window._models_failed(ModelFileError("geen modelbestanden"))
    window.go_to(3)
    view = window.steps[3].view
    assert "geen voorspellingsmodellen" in view.state.text().lower()
    assert not view.panels["conservative"].isVisible()


def test_the_model_card_is_one_click_away(qtbot, decision, monkeypatch):
    shown = []
    monkeypatch.setattr("desktop.ui.decision.model_card.ModelCardDialog.exec", lambda dialog: shown.append(dialog) or 0)
    decision.card_button.click()
    [dialog] = shown
    text = dialog.browser.toPlainText().lower()
    assert "synthetische" in text and "kalibratiehelling" in text


def test_screenshot_of_the_decision_step_in_both_languages(qtbot, window, decision, tmp_path):
    before = asked(decision)
    fill(decision, {"sex": "M", "work_status": "office", "nrs_pain_0": 6})
    settle(qtbot, decision, before)
    assert screenshot(window, tmp_path, "stap-4-samen-beslissen").stat().st_size > 20_000
    window.set_language("en")
    view = window.steps[3].view
    qtbot.waitUntil(lambda: view.prediction is not None, timeout=5000)
    QApplication.processEvents()
    assert "not for clinical use" in view.banner.text()
    assert screenshot(window, tmp_path, "stap-4-shared-decision-en").stat().st_size > 20_000
    window.set_language("nl")


def test_what_the_page_shows_and_keeps_is_what_predict_json_computes(qtbot, decision, services, tmp_path):
    """The window and `bundelassistent predict --json` (its own process, same inputs) agree to the last digit."""
    import datetime as dt
    import json
    import subprocess

    from helpers import CLI

    before = asked(decision)
    typed = {"sex": "M", "work_status": "office", "nrs_pain_0": 6, "bctq_sss_0": 3.4, "bctq_fss_0": 2.5,
             "ncs_severity": 1}
    fill(decision, typed)
    settle(qtbot, decision, before)
    kept = decision.consultation.decision_support
    assert kept is not None and kept["model_version"] == decision.prediction.model_version
    case = tmp_path / "case.json"
    case.write_text(json.dumps({"bsn": BSN, "birth_date": "1968-04-02", "diagnosis": "G56.0",
                                "inclusion_date": dt.date.today().isoformat(), "intake": typed}), encoding="utf-8")
    done = subprocess.run([*CLI, "--data-dir", str(tmp_path / "cli"), "predict", "--json", str(case)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    printed = json.loads(done.stdout)
    assert printed["inputs"] == kept["inputs"] and printed["predictions"] == kept["predictions"]
    assert kept["inputs"]["sex"] == {"value": "M", "source": "entered"}
    assert kept["inputs"]["bmi"] == {"value": None, "source": "estimated"}
    surgery = decision.prediction.surgery
    assert kept["predictions"]["surgery_pain12_mean"] == round(surgery.pain.month12.mean, 4)
    assert f"<b>{surgery.pain.month12.mean:.1f}</b>".replace(".", ",") in decision.panels["surgery"].numbers.text()

    decision.consultation.diagnosis = ""
    decision.set_condition(None)  # another diagnosis: what was shown for this one is not kept
    assert decision.consultation.decision_support is None


def test_saving_the_inclusion_keeps_the_decision_support_that_was_shown(qtbot, window, decision, services):
    import json

    from test_main_window import type_into

    before = asked(decision)
    fill(decision, {"nrs_pain_0": 4, "work_status": "retired"})
    settle(qtbot, decision, before)
    shown = decision.consultation.decision_support
    type_into(qtbot, window.steps[1].uzovi, "3311")
    window.go_to(4)
    inclusion = window.steps[4]
    inclusion.treatment.setCurrentIndex(inclusion.treatment.findData("conservative"))
    type_into(qtbot, inclusion.agb, "01234567")
    inclusion.agreed.setChecked(True)
    inclusion.save()
    (record,) = services.registry.inclusions()
    assert record["initial_treatment"] == "conservative"
    kept = json.loads(record["decision_support"])
    assert kept == shown and kept["inputs"]["nrs_pain_0"] == {"value": 4.0, "source": "entered"}
    assert kept["predictions"]["conservative_rtw6w_prob"] is None  # retired: no return to work was shown


def test_each_outcome_says_its_scale_and_which_way_is_better(qtbot, window, decision):
    """Functie runs opposite ways: BCTQ for carpal tunnel (lower is better), MHQ for the thumb base."""
    settle(qtbot, decision, 0)
    shown = next(iter(decision.panels.values())).numbers.text()
    assert "Pijn 0–10, lager is beter" in shown and "Functie 1–5, lager is beter" in shown
    before = asked(decision)
    window.steps[1].diagnosis.setEditText("M18.1")
    QApplication.processEvents()
    settle(qtbot, decision, before)
    shown = next(iter(decision.panels.values())).numbers.text()
    assert "Functie 0–100, hoger is beter" in shown


def test_a_long_chart_heading_wraps_onto_a_second_line_instead_of_being_cut_off(qtbot):
    from desktop.ui.decision.charts import TrajectoryChart

    chart = TrajectoryChart("")
    qtbot.addWidget(chart)
    chart.set_data("Functie — BCTQ functionele status 1–5", 1, 5, False, (0, 3, 6, 12), {})
    chart.resize(900, 220)
    one_line = chart.heading_rect().height()
    chart.resize(260, 220)
    assert chart.heading_rect().height() >= 1.8 * one_line  # the whole heading, on two lines
    assert not chart.grab().toImage().isNull()
