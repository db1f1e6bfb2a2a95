"""What a screen reader hears (issue 13 item 4), read through Qt's accessibility interface: every
control has a name that says what it is, and every result is readable — the eligibility outcome and
each rule, both options' predictions, the save result, the sync status."""


import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import Qt
from PySide6.QtGui import QAccessible
from PySide6.QtWidgets import QAbstractButton, QApplication, QComboBox, QLineEdit

from desktop.ui.main_window import MainWindow
from helpers import valid_bsns


@pytest.fixture
def services(room_services):
    return room_services


@pytest.fixture
def window(qtbot, services):
    window = MainWindow(services, load_models=True, background_sync=False)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    qtbot.waitUntil(lambda: window.steps[3].view.models is not None, timeout=60_000)
    window.open_patient(bsn=valid_bsns(1)[0], birth_date="1971-06-02", name="J. Jansen")
    insurance = window.steps[1]
    insurance.uzovi.setText("3311")
    insurance.diagnosis.lineEdit().setText("G56.0")
    insurance.side_group.buttons()[1].click()
    return window


def heard(widget) -> str:
    """Name and description, as a screen reader announces them."""
    interface = QAccessible.queryAccessibleInterface(widget)
    return " ".join(filter(None, (interface.text(QAccessible.Text.Name),
                                  interface.text(QAccessible.Text.Description))))


def what_it_is(control) -> str:
    """A field's name: its accessible name, or the label it is labelled by (Qt on Linux names a
    combo box by its current text and gives its label as a relation, which Orca reads)."""
    interface = QAccessible.queryAccessibleInterface(control)
    labels = [other.text(QAccessible.Text.Name) for other, relation in interface.relations()
              if relation & QAccessible.RelationFlag.Label]
    if isinstance(control, QComboBox) and labels:
        return labels[0]
    return interface.text(QAccessible.Text.Name) or (labels[0] if labels else "")


def test_every_control_says_what_it_is(qtbot, window):
    for index in range(window.pages.count()):
        window.go_to(index)
        QApplication.processEvents()
        page = window.pages.widget(index)
        for control in (*page.findChildren(QLineEdit), *page.findChildren(QComboBox),
                        *page.findChildren(QAbstractButton)):
            if not control.isVisible() or isinstance(control.parentWidget(), QComboBox):
                continue
            name = what_it_is(control)
            assert name and name not in ("onbekend", "unknown"), f"step {index + 1}: {type(control).__name__}"


def test_the_prediction_inputs_are_named_by_their_question_not_their_value(qtbot, window):
    window.go_to(3)
    names = [what_it_is(widget) for widget in window.steps[3].view.inputs.values()]
    assert len(names) >= 10 and len(set(names)) == len(names) and "onbekend" not in names


def test_results_are_heard_not_only_their_names(qtbot, window, services):
    insurance = window.steps[1]
    outcome = heard(insurance.status)
    assert "Beoordeling" in outcome and "Komt in aanmerking" in outcome
    rules = [insurance.rules.item(i).text().lstrip("✔✖ ") for i in range(insurance.rules.count())]
    assert len(rules) == 5 and all(f"voldaan: {rule}" in heard_list(insurance.rules) for rule in rules)

    window.go_to(3)
    view = window.steps[3].view
    view.inputs["nrs_pain_0"].setText("6")  # pain and function at intake: the numbers are personal
    view.inputs["bctq_fss_0"].setText("2,5")
    qtbot.waitUntil(lambda: "zoals u hebben na 12 maanden" in heard(view.panels[next(iter(view.panels))].icon_text),
                    timeout=10_000)
    for panel in window.steps[3].view.panels.values():
        spoken = heard(panel.numbers)
        assert "Pijn na 3 mnd" in spoken and "(" in spoken, spoken  # the numbers with their ranges

    assert "Alleen lokaal" in heard(window.sync_label) and "Synchronisatie" in heard(window.sync_label)
    inclusion = window.steps[4]
    inclusion.agb.setText("01234567")
    inclusion.agreed.setChecked(True)
    qtbot.keyClick(inclusion, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    result = heard(inclusion.result)
    assert services.registry.inclusions() and "Geregistreerd" in result


def heard_list(widget) -> str:
    interface = QAccessible.queryAccessibleInterface(widget)
    return " ".join(interface.child(i).text(QAccessible.Text.Name) for i in range(interface.childCount())
                    if interface.child(i) is not None)
