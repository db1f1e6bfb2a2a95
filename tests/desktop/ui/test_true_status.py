"""Only true statements on screen (issue 13 item 2): a saved consultation is locked, an EHR launch
over unsaved input asks first, and the server's refusals turn header and status bar into a warning."""


import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QComboBox, QLineEdit

from desktop.core.states import ServerResult
from desktop.store.outbox import ServerAnswer, apply_answers, next_batch
from helpers import valid_bsns

FIRST, SECOND, THIRD = valid_bsns(3)


@pytest.fixture
def services(room_services):
    return room_services


@pytest.fixture
def window(room_window):
    return room_window


def fill(window, bsn=FIRST, name="J. Jansen"):
    window.open_patient(bsn=bsn, birth_date="1971-06-02", name=name)
    QApplication.processEvents()
    insurance = window.steps[1]
    insurance.uzovi.setText("3311")
    insurance.diagnosis.lineEdit().setText("G56.0")
    insurance.side_group.buttons()[1].click()


def save(qtbot, window):
    inclusion = window.steps[4]
    inclusion.agb.setText("01234567")
    inclusion.agreed.setChecked(True)
    qtbot.keyClick(inclusion, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    return window.consultation.registered


def test_a_saved_consultation_is_locked_until_new_patient(qtbot, window, services):
    fill(window)
    record = save(qtbot, window)
    assert record is not None and window.lock_banner.isVisible()
    assert "Opgeslagen: geïncludeerd t/m" in window.lock_banner.label.text()
    patient, insurance, inclusion = window.steps[0], window.steps[1], window.steps[4]
    header = window.header.text()
    patient.bsn.setFocus()
    qtbot.keyClicks(patient.bsn, "999")  # a read-only field takes no keys: the header cannot change patient
    inclusion.location.setFocus()
    qtbot.keyClicks(inclusion.location, " Noord")
    assert patient.bsn.text() == FIRST and inclusion.location.text() == "Utrecht"
    assert window.header.text() == header and "Geïncludeerd t/m" in header
    rules = [insurance.rules.item(row).text() for row in range(insurance.rules.count())]
    assert rules and all(rule.startswith("✔") for rule in rules), rules  # the saved record is not its own episode
    for step in (patient, insurance, inclusion):
        edits = [e for e in step.findChildren(QLineEdit) if not isinstance(e.parentWidget(), QComboBox)]
        assert edits and all(e.isReadOnly() for e in edits)
    assert not insurance.side_group.buttons()[0].isEnabled() and not inclusion.agreed.isEnabled()
    assert window.steps[2].pdf.isEnabled()  # the handout can be printed again

    qtbot.keyClick(window, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    assert window.consultation.registered is None and not window.lock_banner.isVisible()
    assert not window.steps[0].bsn.isReadOnly() and window.steps[0].bsn.text() == ""
    assert window.steps[1].side_group.buttons()[0].isEnabled()


def test_a_new_ehr_launch_over_unsaved_input_asks_first(qtbot, window):
    fill(window)
    typed = window.consultation
    window.open_patient(bsn=SECOND, birth_date="1980-01-01", name="P. de Boer")
    assert window.consultation is typed and window.launch_banner.isVisible()
    text = window.launch_banner.label.text()
    assert "P. de Boer" in text and "J. Jansen" in text and "niet opgeslagen" in text
    assert window.stay_button.hasFocus()  # Enter keeps what was typed
    qtbot.keyClick(window.stay_button, Qt.Key.Key_Space)
    assert window.consultation is typed and not window.launch_banner.isVisible()
    assert window.consultation.diagnosis == "G56.0"

    window.open_patient(bsn=SECOND, birth_date="1980-01-01", name="P. de Boer")
    open_button = window.launch_banner.buttons[0]
    qtbot.mouseClick(open_button, Qt.MouseButton.LeftButton)
    assert window.consultation.bsn == SECOND and window.consultation.diagnosis == ""

    window.open_patient(bsn=THIRD, birth_date="1975-05-05")  # nothing typed yet: no question
    assert window.consultation.bsn == THIRD and not window.launch_banner.isVisible()


def test_the_same_patient_launched_again_keeps_the_input(qtbot, window):
    fill(window)
    typed = window.consultation
    window.open_patient(bsn=FIRST, birth_date="1971-06-02", name="J. Jansen")
    assert window.consultation is typed and window.consultation.diagnosis == "G56.0"
    assert not window.launch_banner.isVisible()


def test_a_rejection_by_the_server_turns_header_and_status_bar_into_a_warning(qtbot, window, services):
    fill(window, bsn=SECOND, name="P. de Boer")
    save(qtbot, window)
    window.new_patient()
    fill(window)
    record = save(qtbot, window)  # saved and still on screen when the server's answer comes
    assert "Geïncludeerd t/m" in window.header.text() and not window.problems_banner.isVisible()
    batch = next_batch(services.registry, 100)  # the store's own path for a server's answers
    answers = {r["id"]: ServerAnswer(ServerResult.REJECTED, reason="side: moet L, R of both zijn",
                                     code="invalid_record") if r["id"] == record["id"]
               else ServerAnswer(ServerResult.ACCEPTED) for r in batch.records}
    apply_answers(services.registry, batch, answers, "test", "geen antwoord")
    window.reevaluate()  # as after a sync
    assert "Afgewezen door de server" in window.header.text() and "Geïncludeerd" not in window.header.text()
    assert "niet aangenomen" in window.lock_banner.label.text()  # the banner does not say "included" either
    assert window.problems_banner.isVisible() and window.problems_banner.label.text().startswith("1 inclusie")
    assert window.sync_label.text().startswith("⚠ 1 met een probleem bij de server")
    qtbot.mouseClick(window.problems_banner.buttons[0], Qt.MouseButton.LeftButton)
    assert window.pages.currentWidget() is window.worklist
    assert window.worklist.filter.currentData() == "problems" and window.worklist.model.rowCount() == 1
