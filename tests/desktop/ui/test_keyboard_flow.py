"""The whole consultation by keyboard (issue 13 item 3): focus lands on each step's first field
to fill in, and from the EHR launch to a saved inclusion takes at most 15 keys besides the text
typed into fields."""


import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from helpers import valid_bsns

BSN = valid_bsns(1)[0]
KEY_BUDGET = 15


@pytest.fixture
def services(room_services):
    return room_services


@pytest.fixture
def window(qtbot, room_window):
    room_window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is room_window)
    return room_window


class Keyboard:
    """Presses keys on whatever has the focus, as a user does, counting all but typed text."""

    def __init__(self, qtbot):
        self.qtbot, self.keys = qtbot, []

    def focused(self):
        return QApplication.focusWidget()

    def press(self, key, modifier=Qt.KeyboardModifier.NoModifier):
        self.keys.append((key, modifier))
        self.qtbot.keyClick(self.focused(), key, modifier)
        QApplication.processEvents()

    def type(self, text):
        self.qtbot.keyClicks(self.focused(), text)
        QApplication.processEvents()


def test_from_the_ehr_launch_to_a_saved_inclusion_by_keyboard_alone(qtbot, window, services):
    keyboard = Keyboard(qtbot)
    window.open_patient(bsn=BSN, birth_date="1971-06-02", name="J. Jansen")
    QApplication.processEvents()
    insurance = window.steps[1]
    assert keyboard.focused() is insurance.uzovi  # the insurer is not known: the code from the card
    keyboard.type("3311")
    while keyboard.focused() not in (insurance.diagnosis, insurance.diagnosis.lineEdit()):
        keyboard.press(Qt.Key.Key_Tab)
        assert len(keyboard.keys) <= 3, keyboard.focused()
    keyboard.type("G56.0")
    while keyboard.focused() not in insurance.side_group.buttons():
        keyboard.press(Qt.Key.Key_Tab)
        assert len(keyboard.keys) <= 5, keyboard.focused()
    keyboard.press(Qt.Key.Key_Right)  # links → rechts: the arrow moves along the sides
    keyboard.press(Qt.Key.Key_Space)  # and Space chooses
    assert window.consultation.side == "R" and "Komt in aanmerking" in window.header.text()

    keyboard.press(Qt.Key.Key_5, Qt.KeyboardModifier.ControlModifier)
    inclusion = window.steps[4]
    assert keyboard.focused() is inclusion.agb  # the first field still empty
    keyboard.type("01234567")
    while keyboard.focused() is not inclusion.agreed:
        keyboard.press(Qt.Key.Key_Tab)
        assert len(keyboard.keys) <= 13, keyboard.focused()
    keyboard.press(Qt.Key.Key_Space)
    keyboard.press(Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    (record,) = services.registry.inclusions()
    assert record["side"] == "R" and record["clinician_agb"] == "01234567"
    assert len(keyboard.keys) <= KEY_BUDGET, keyboard.keys
    print(f"{len(keyboard.keys)} keys besides the typed text")  # noqa: T201 (the measured figure, for the notes)


@pytest.mark.parametrize("index, field", [(0, "bsn"), (4, "agb")])
def test_arriving_at_a_step_puts_the_focus_on_its_first_empty_field(qtbot, window, index, field):
    window.go_to(index)
    QApplication.processEvents()
    assert QApplication.focusWidget() is getattr(window.steps[index], field)


def test_the_worklist_gets_the_focus_in_its_search(qtbot, window):
    qtbot.keyClick(window, Qt.Key.Key_6, Qt.KeyboardModifier.ControlModifier)
    assert QApplication.focusWidget() is window.worklist.search
