"""'Uitgelegd door' is chosen from the clinic's staff list, remembered per workstation user, and
audited as the person the workstation's user acted for (issue 13 item 9)."""

import dataclasses
import datetime as dt

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QComboBox, QLineEdit

from desktop import config
from desktop.core.clinic import StaffMember
from desktop.operations.services import Services
from desktop.store.inclusions import Actor
from desktop.ui.main_window import MainWindow
from helpers import bundles_with_contract_end, valid_bsns

STAFF = (StaffMember("Dr. A. de Vries", "01234567", "handchirurg"),
         StaffMember("B. Jansen", "07654321", "physician assistant"))


def make_services(tmp_path, staff, user="werkplek-3"):
    bundles = tmp_path / "bundles"
    if not bundles.exists():
        bundles_with_contract_end(bundles, dt.date.today() + dt.timedelta(days=365))
    settings = config.load(overrides={"data_dir": str(tmp_path / "data"), "bundles_dir": str(bundles),
                                      "location": "Utrecht"})
    return Services(dataclasses.replace(settings, staff=staff), Actor(user, "SUO"))


def open_window(qtbot, services, bsn):
    window = MainWindow(services, load_models=False, background_sync=False)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    window.open_patient(bsn=bsn, birth_date="1971-06-02", name="J. Jansen")
    QApplication.processEvents()
    insurance = window.steps[1]
    insurance.uzovi.setText("3311")
    insurance.diagnosis.lineEdit().setText("G56.0")
    insurance.side_group.buttons()[1].click()
    window.go_to(4)
    return window


def save(qtbot, window):
    inclusion = window.steps[4]
    inclusion.agb.setText("01234567")
    inclusion.agreed.setChecked(True)
    qtbot.keyClick(inclusion, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)


def test_the_explainer_is_picked_from_the_list_remembered_and_audited_as_acted_for(qtbot, tmp_path):
    first, second = valid_bsns(2)
    services = make_services(tmp_path, STAFF)
    window = open_window(qtbot, services, first)
    choice = window.steps[4].explained_by
    assert isinstance(choice, QComboBox)
    assert [choice.itemText(i) for i in range(choice.count())][1:] == [
        "Dr. A. de Vries — handchirurg", "B. Jansen — physician assistant"]
    assert choice.currentData() is None  # nobody is chosen for the user: the login is not a person
    save(qtbot, window)
    assert services.registry.inclusions() == []  # without an explainer nothing is saved
    assert window.steps[4].messages["explained_by"].isVisible()

    choice.setFocus()
    qtbot.keyClick(choice, Qt.Key.Key_Down)
    qtbot.keyClick(choice, Qt.Key.Key_Down)
    assert choice.currentData() == STAFF[1]
    save(qtbot, window)
    (record,) = services.registry.inclusions()
    assert record["explained_by"] == "B. Jansen" and record["user"] == "werkplek-3"
    created = services.registry.db.execute(
        "SELECT user, acted_for FROM audit_log WHERE action = 'create' AND object_id = ?", [record["id"]]).fetchall()
    assert created == [("werkplek-3", "B. Jansen")]

    again = open_window(qtbot, services, second)
    assert again.steps[4].explained_by.currentData() == STAFF[1]  # the last choice of this workstation user
    other_user = Services(services.settings, Actor("werkplek-4", "SUO"))
    try:
        assert other_user.remembered_explainer() is None  # remembered per user, not per PC
    finally:
        other_user.close()
    services.close()


def test_a_remembered_explainer_who_left_the_list_is_not_chosen(tmp_path):
    services = make_services(tmp_path, STAFF)
    services.remember_explainer(STAFF[0])
    assert services.remembered_explainer() == STAFF[0]
    services.close()
    fewer = make_services(tmp_path, STAFF[1:])
    try:
        assert fewer.remembered_explainer() is None
    finally:
        fewer.close()


def test_without_a_staff_list_the_field_is_typed_and_starts_with_the_login(qtbot, tmp_path):
    services = make_services(tmp_path, ())
    window = open_window(qtbot, services, valid_bsns(1)[0])
    field = window.steps[4].explained_by
    assert isinstance(field, QLineEdit) and field.text() == "werkplek-3"
    save(qtbot, window)
    (record,) = services.registry.inclusions()
    acted_for = services.registry.db.execute("SELECT acted_for FROM audit_log WHERE action = 'create'").fetchone()
    assert record["explained_by"] == "werkplek-3" and acted_for == (None,)  # the user acted for no one else
    services.close()
