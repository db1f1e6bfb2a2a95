"""The consultation window driven as a user does: keyboard into real widgets, offscreen."""

import datetime as dt
import os
from pathlib import Path

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from desktop import config
from desktop.operations.services import Services
from desktop.store.inclusions import Actor
from desktop.ui.main_window import MainWindow
from helpers import bundles_with_contract_end, valid_bsns

BSN = valid_bsns(1)[0]


@pytest.fixture
def services(tmp_path):
    # the window includes "today": a contract that runs on past today keeps these tests true in 2027
    bundles = bundles_with_contract_end(tmp_path / "bundles", dt.date.today() + dt.timedelta(days=365))
    settings = config.load(overrides={"data_dir": str(tmp_path / "data"), "bundles_dir": str(bundles),
                                      "location": "Utrecht"})
    services = Services(settings, Actor("suo.test", "suo"))
    yield services
    services.close()


@pytest.fixture
def window(qtbot, services):
    window = MainWindow(services, load_models=False)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    return window


def type_into(qtbot, widget, text):
    widget.setFocus()
    qtbot.keyClicks(widget, text)


def screenshot(window, tmp_path, name):
    folder = Path(os.environ.get("BUNDELASSISTENT_SCREENSHOTS", tmp_path))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    assert window.grab().save(str(path))
    return path


def test_full_consultation_with_the_keyboard(qtbot, window, services, tmp_path):
    window.open_patient(bsn=BSN, birth_date="1971-06-02", name="J. Jansen")
    QApplication.processEvents()  # the rebuilt pages are shown by the event loop
    assert window.pages.currentIndex() == 1, "a patient from the EHR starts at the insurance step"
    assert f"******{BSN[-3:]}" in window.header.text() and BSN not in window.header.text()
    insurance = window.steps[1]
    assert "Informatie nodig" in insurance.status.text()

    type_into(qtbot, insurance.uzovi, "3311")
    insurance.diagnosis.lineEdit().clear()
    type_into(qtbot, insurance.diagnosis.lineEdit(), "G56.0")
    insurance.side_group.buttons()[1].setFocus()
    qtbot.keyClick(insurance.side_group.buttons()[1], Qt.Key.Key_Space)
    assert window.consultation.side == "R"
    assert "Komt in aanmerking" in insurance.status.text()
    reasons = [insurance.rules.item(i).text() for i in range(insurance.rules.count())]
    assert len(reasons) == 5 and all(r.startswith("✔") for r in reasons)
    assert "Zilveren Kruis (3311)" in window.header.text()
    screenshot(window, tmp_path, "2-verzekering")

    qtbot.keyClick(window, Qt.Key.Key_3, Qt.KeyboardModifier.ControlModifier)
    assert window.pages.currentIndex() == 2
    explanation = window.steps[2]
    assert "Uw zorg in één bundel" in explanation.view.toPlainText()
    qtbot.mouseClick(explanation.english, Qt.MouseButton.LeftButton)
    assert "Your care in one bundle" in explanation.view.toPlainText()
    pdf = tmp_path / "handout.pdf"
    explanation.save_pdf(str(pdf))
    assert pdf.read_bytes().startswith(b"%PDF") and pdf.stat().st_size > 2000
    assert not window.consultation.handout_printed  # a saved PDF is not a handout the patient took home
    screenshot(window, tmp_path, "3-uitleg")

    qtbot.keyClick(window, Qt.Key.Key_5, Qt.KeyboardModifier.ControlModifier)
    inclusion = window.steps[4]
    assert not inclusion.handout.isChecked()
    inclusion.handout.setFocus()
    qtbot.keyClick(inclusion.handout, Qt.Key.Key_Space)  # the user says it was given
    assert window.consultation.handout_printed
    qtbot.keyClick(inclusion, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    assert "Niet opgeslagen" in inclusion.result.text()
    assert inclusion.messages["clinician_agb"].isVisible() and inclusion.messages["agreed"].isVisible()
    assert services.registry.inclusions() == []

    type_into(qtbot, inclusion.agb, "01234567")
    inclusion.agreed.setFocus()
    qtbot.keyClick(inclusion.agreed, Qt.Key.Key_Space)
    qtbot.keyClick(inclusion, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    (record,) = services.registry.inclusions()
    assert record["id"] in inclusion.result.text()
    assert (record["location"], record["explanation_language"], record["handout_printed"]) == ("Utrecht", "en", 1)
    assert record["side"] == "R" and record["user"] == "suo.test"
    assert "Geïncludeerd t/m" in window.header.text()  # its own episode does not read as "not eligible"
    assert not inclusion.save_button.isEnabled()
    screenshot(window, tmp_path, "5-inclusie")

    qtbot.keyClick(window, Qt.Key.Key_6, Qt.KeyboardModifier.ControlModifier)
    worklist = window.worklist
    assert worklist.model.rowCount() == 1
    assert worklist.cell(0, "bsn") == f"*****{BSN[-4:]}"
    worklist.withdraw(worklist.selected_id(), "patiënt ziet af")
    assert services.registry.inclusions()[0]["state"] == "withdrawn"
    assert worklist.cell(0, "state") == "ingetrokken"
    assert "Geïncludeerd" not in window.header.text() and "Komt in aanmerking" in window.header.text()
    screenshot(window, tmp_path, "6-werklijst")


def test_not_eligible_patient_cannot_be_saved_and_every_reason_is_shown(qtbot, window, services):
    window.open_patient(bsn=BSN, birth_date="2015-01-01")
    QApplication.processEvents()
    insurance = window.steps[1]
    type_into(qtbot, insurance.uzovi, "9018")
    insurance.diagnosis.setEditText("M16.1")
    assert "Komt niet in aanmerking" in insurance.status.text()
    failed = [insurance.rules.item(i).text() for i in range(insurance.rules.count())
              if insurance.rules.item(i).text().startswith("✖")]
    assert len(failed) == 3
    assert not window.steps[4].save_button.isEnabled()


def test_bad_field_input_shows_a_message_next_to_the_field(qtbot, window):
    patient = window.steps[0]
    type_into(qtbot, patient.bsn, "123456789")
    assert patient.messages["bsn"].isVisible()
    assert "11-proef" in patient.messages["bsn"].text()
    assert "123456789" not in patient.messages["bsn"].text()
    type_into(qtbot, patient.birth_date, "31-02-1970")
    assert patient.messages["birth_date"].isVisible()


def test_every_step_has_a_screenshot_and_accessible_controls(qtbot, window, tmp_path):
    window.open_patient(bsn=BSN, birth_date="1971-06-02", name="Voorbeeld")
    QApplication.processEvents()
    window.steps[1].uzovi.setText("3311")
    window.steps[1].diagnosis.setEditText("M18.1")
    for index in range(window.pages.count()):
        window.go_to(index)
        QApplication.processEvents()
        path = screenshot(window, tmp_path, f"stap-{index + 1}")
        assert path.stat().st_size > 10_000
        page = window.pages.widget(index)
        from PySide6.QtWidgets import QAbstractButton, QComboBox, QLineEdit
        controls = [c for kind in (QLineEdit, QComboBox, QAbstractButton) for c in page.findChildren(kind)]
        for control in controls:
            if control.isVisible() and not control.parent().inherits("QComboBox"):
                assert control.accessibleName() or control.text(), f"{type(control).__name__} on page {index}"


def test_switching_to_english_keeps_what_was_typed(qtbot, window):
    window.open_patient(bsn=BSN, birth_date="1971-06-02")
    window.steps[1].uzovi.setText("3311")
    window.set_language("en")
    assert window.steps[1].uzovi.text() == "3311"
    assert window.step_list.item(1).text() == "2. Insurance & bundle"
    assert "Information needed" in window.steps[1].status.text() or "Eligible" in window.steps[1].status.text()
    window.set_language("nl")
