"""Samen beslissen for this patient (issue 13 item 7): the inputs in the order of their influence on
this patient's prediction, each one's source in words, a general estimate until the inputs that
matter most are known, an improvement that cannot be measured explained, and the model card in the
window's language with the inputs' human names."""

import re

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QLineEdit

from desktop.operations.prediction import field_label
from desktop.ui.decision.page import PREDICTION, field_name
from predictors import ModelSet, load_models
from predictors.model import ConditionModel
from predictors.schema import baseline_columns
from test_decision import fill
from test_main_window import BSN, screenshot, services, window  # noqa: F401  (fixtures)

PERSONAL_NUMBER = re.compile(r"<b>\d+,\d</b>")  # an expected score with a decimal comma, as personal numbers are
COLUMN_NAMES = re.compile(r"\b(" + "|".join(column.name for condition in ("CTS", "CMC1_OA")
                                             for column in baseline_columns(condition) if "_" in column.name) + r")\b")


@pytest.fixture(scope="module")
def models():
    return load_models()


def weighted(models: ModelSet, condition: str, name: str, factor: float) -> ModelSet:
    """The shipped models with input `name` weighing `factor` times as much in every prediction."""
    model = models._model(condition)
    copy = ConditionModel.from_dict(model.to_dict(), reference=model.reference)
    features = [index for index, (_, source) in enumerate(copy.features.names) if source == name]
    for outcome in copy.outcomes.values():
        outcome.mean_coef[features] *= factor
    changed = {known: models._model(known) for known in models.conditions}
    changed[condition] = copy
    return ModelSet(changed, {c: models.card(c) for c in models.conditions},
                    {c: models.card_markdown(c) for c in models.conditions}, models.folder)


def open_decision(window, models, diagnosis="G56.0"):
    window._models_loaded(models)
    window.open_patient(bsn=BSN, birth_date="1968-04-02")
    QApplication.processEvents()
    window.steps[1].diagnosis.setEditText(diagnosis)
    window.go_to(3)
    return window.steps[3].view


def answered(qtbot, view):
    before = view.operations.generation(PREDICTION)
    qtbot.waitUntil(lambda: view.operations.generation(PREDICTION) >= before and not view.operations.pending(PREDICTION)
                    and view.prediction is not None and view.influence is not None, timeout=5000)
    QApplication.processEvents()


def arrive_again(qtbot, window, view):
    window.go_to(1)
    window.go_to(3)
    QApplication.processEvents()


def settle(qtbot, view):
    """Wait for the answer to the last change."""
    asked = view.operations.generation(PREDICTION)
    qtbot.waitUntil(lambda: view.timer.isActive() or view.operations.pending(PREDICTION)
                    or view.operations.generation(PREDICTION) > asked, timeout=2000)
    qtbot.waitUntil(lambda: not view.timer.isActive() and not view.operations.pending(PREDICTION), timeout=5000)
    QApplication.processEvents()


def test_the_inputs_stand_in_the_order_the_model_gives_them(qtbot, window, models):
    view = open_decision(window, models)
    answered(qtbot, view)
    arrive_again(qtbot, window, view)
    shipped = list(view.inputs)
    assert shipped[0] != "dominant_hand_affected"

    window._models_loaded(weighted(models, "CTS", "dominant_hand_affected", 60.0))  # the same patient, another model
    view = window.steps[3].view
    answered(qtbot, view)
    arrive_again(qtbot, window, view)
    assert next(iter(view.inputs)) == "dominant_hand_affected"
    assert QApplication.focusWidget() is view.inputs["dominant_hand_affected"]  # arriving: the first field


def test_after_switching_language_the_fields_stand_in_order_at_once(qtbot, window, models):
    view = open_decision(window, models)
    answered(qtbot, view)
    arrive_again(qtbot, window, view)
    order = list(view.inputs)
    window.set_language("en")  # the window is rebuilt on this step, the focus in its form
    view = window.steps[3].view
    answered(qtbot, view)
    assert list(view.inputs) == order and QApplication.focusWidget() is view.inputs[order[0]]
    window.set_language("nl")


def test_the_order_is_the_swings_of_this_patient_and_changes_with_the_patient(qtbot, window, models):
    view = open_decision(window, models)
    answered(qtbot, view)
    arrive_again(qtbot, window, view)
    first = list(view.inputs)
    swings = view.influence.swings
    assert [swings[name] for name in first] == sorted((swings[name] for name in first), reverse=True)
    fill(view, {"work_status": "retired", "nrs_pain_0": 9, "bctq_fss_0": 3})
    settle(qtbot, view)
    assert list(view.inputs) == first  # typing never reorders the form under the cursor
    arrive_again(qtbot, window, view)
    assert list(view.inputs) != first


def test_a_field_being_typed_in_never_moves(qtbot, window, models):
    view = open_decision(window, models)
    answered(qtbot, view)
    arrive_again(qtbot, window, view)
    order = list(view.inputs)
    last = next(name for name in reversed(order) if isinstance(view.inputs[name], QLineEdit))
    field = view.inputs[last]
    field.setFocus()
    fill(view, {"nrs_pain_0": 9, "work_status": "retired"})  # answers that change the influence
    qtbot.keyClicks(field, "2")
    settle(qtbot, view)
    assert list(view.inputs) == order and view.inputs[last] is field and QApplication.focusWidget() is field
    window.go_to(3)  # Ctrl+4 while typing: the step is not left, so nothing moves
    assert list(view.inputs) == order and view.inputs[last] is field and field.text().endswith("2")


def test_tab_walks_the_fields_in_the_order_they_stand_then_the_model_card(qtbot, window, models):
    view = open_decision(window, models)
    answered(qtbot, view)
    arrive_again(qtbot, window, view)
    fields = list(view.inputs.values())
    assert QApplication.focusWidget() is fields[0]
    for expected in (*fields[1:], view.card_button):
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
        assert QApplication.focusWidget() is expected


def test_each_field_says_in_words_whether_it_is_estimated(qtbot, window, models):
    view = open_decision(window, models)
    answered(qtbot, view)
    assert view.provenance["nrs_pain_0"].text() == "geschat — nog niet ingevuld"
    assert view.inputs["nrs_pain_0"].accessibleDescription().startswith("Geschat")
    fill(view, {"nrs_pain_0": 6})
    assert view.provenance["nrs_pain_0"].text() == "hier ingevuld"  # at once, not after the prediction
    assert not view.inputs["nrs_pain_0"].accessibleDescription().startswith("Geschat")
    fill(view, {"nrs_pain_0": 14})  # a value the models cannot use counts as unknown
    assert view.provenance["nrs_pain_0"].text() == "geschat — nog niet ingevuld"


def test_no_personal_numbers_until_the_answers_that_matter_are_given(qtbot, window, models):
    view = open_decision(window, models)
    answered(qtbot, view)
    general = view.state.text()
    assert "Algemene schatting voor mensen met carpaletunnelsyndroom" in general
    for panel in view.panels.values():
        assert not PERSONAL_NUMBER.search(panel.numbers.text()) and "meestal" in panel.numbers.text()
        assert not panel.icons.isVisible() and "%" not in panel.extra.text()
    named = view.influence.to_personal
    assert named and all(name not in general for name in named)  # by label, not by column name
    assert all(field_name(name) in general for name in named)

    fill(view, {"sex": "F", "bmi": 24, "diabetes": 0, "smoker": 0, "bilateral": 0})  # five minor answers
    settle(qtbot, view)
    assert "Algemene schatting" in view.state.text()

    fill(view, {name: value for name, value in {"nrs_pain_0": 6, "bctq_fss_0": 2.5, "bctq_sss_0": 3, "pcs": 20,
                                                "ncs_severity": 2}.items() if name in named})
    settle(qtbot, view)
    assert "Algemene schatting" not in view.state.text()
    for panel in view.panels.values():
        assert PERSONAL_NUMBER.search(panel.numbers.text()) and panel.icons.isVisible()
        assert "van de 100 patiënten zoals u hebben" in panel.icon_text.text()


def test_with_pain_already_low_it_says_a_clear_improvement_cannot_be_measured(qtbot, window, models):
    view = open_decision(window, models)
    answered(qtbot, view)
    fill(view, {"nrs_pain_0": 1, "bctq_fss_0": 2.5})
    settle(qtbot, view)
    for panel in view.panels.values():
        text = panel.icon_text.text()
        assert "bij de start al 1 op 0–10" in text and "niet te meten" in text and "0 van de 100" not in text
        assert panel.icons.count == 0
    fill(view, {"nrs_pain_0": 6})
    settle(qtbot, view)
    assert all("niet te meten" not in panel.icon_text.text() for panel in view.panels.values())


def test_the_model_card_in_english_has_no_dutch_and_no_column_names(qtbot, window, models, monkeypatch):
    window.set_language("en")
    view = open_decision(window, models)
    answered(qtbot, view)
    shown = []
    monkeypatch.setattr("desktop.ui.decision.model_card.ModelCardDialog.exec", lambda dialog: shown.append(dialog) or 0)
    view.card_button.click()
    [dialog] = shown
    text = dialog.browser.toPlainText()
    assert "Pain now (NRS 0–10)" in text and "Personal or general estimate" in text and "50%" in text
    assert "Calibration slope" in text and "carpal tunnel syndrome" in text
    for word in ("het", "een", "niet", "patiënten", "voor", "kans", "pijn", "behandeling", "geschat"):
        assert not re.search(rf"\b{word}\b", text, flags=re.IGNORECASE), word
    assert not COLUMN_NAMES.findall(text)
    window.set_language("nl")


def test_the_model_card_in_dutch_names_the_inputs_as_the_form_does(qtbot, window, models, monkeypatch):
    view = open_decision(window, models, diagnosis="M18.1")
    answered(qtbot, view)
    shown = []
    monkeypatch.setattr("desktop.ui.decision.model_card.ModelCardDialog.exec", lambda dialog: shown.append(dialog) or 0)
    view.card_button.click()
    text = shown[0].browser.toPlainText()
    assert "duimbasisartrose" in text and "Persoonlijke of algemene schatting" in text and "50%" in text
    assert field_label("key_pinch_kg") in text and "Eaton" in text and not COLUMN_NAMES.findall(text)
    assert "calibration" not in text.lower() and "patients" not in text


@pytest.mark.parametrize("language", ["nl", "en"])
def test_screenshots_of_the_page_at_1366_by_768(qtbot, window, models, tmp_path, language):
    """General first, then personal with pain already low; look at them (BUNDELASSISTENT_SCREENSHOTS)."""
    window.set_language(language)
    window.resize(1366, 768)
    view = open_decision(window, models)
    answered(qtbot, view)
    arrive_again(qtbot, window, view)
    assert screenshot(window, tmp_path, f"stap-4-algemeen-{language}").stat().st_size > 20_000
    fill(view, {"nrs_pain_0": 1, "bctq_fss_0": 2.5, "work_status": "office"})
    settle(qtbot, view)
    assert screenshot(window, tmp_path, f"stap-4-persoonlijk-{language}").stat().st_size > 20_000
    window.set_language("nl")
