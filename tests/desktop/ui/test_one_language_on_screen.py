"""A window that is fully English or fully Dutch (issue 12 item 4): every step driven as a user
does — bad input included — and every text of the widget tree read back and held against the
other language's message catalogue.

What counts as "a text of the other language" (the rule, so that a hit is a real mistake):

- Every catalogue entry whose two languages differ is cut into its literal pieces: at its
  `{parameters}` and at the marks that join the parts of a line (`·`, `:`, `;`, `( )`, `—`,
  `, `, `. `, `…`). A piece the other language also uses somewhere in its catalogue ("BSN",
  "Online", "Diabetes", "Nederlands" in the language menu) says nothing about the language
  and is dropped; so is a piece without two letters in a row, and a Dutch term the English
  texts gloss on purpose (`GLOSSES`: "deductible (eigen risico)").
- A piece of three words or more is a sentence: it must not appear anywhere in any text on
  screen (case as written).
- A shorter piece (a word, a label, a state: "Werklijst", "gereed", "ja") must not *be* a text
  on screen or one of its parts (cut at the same marks), compared without case: a word of the
  other language inside a longer text of this one is then not mistaken for a leak.

Texts that are not in any catalogue yet (a lower layer's plain string) would slip past that
rule, so the English screen is also searched for words that only Dutch has, and both screens
for an internal field name used as a label (`inclusion_date:`).

Read are: window title, labels, buttons, check boxes, radio buttons, combo items, list and table
cells and headers, group box titles, tab texts, placeholders, tooltips, status tips, accessible
names and descriptions, menus and actions, text browsers, the charts' drawn texts, message boxes
and dialogs. The handout is the patient's document, in the language chosen for the patient in
step 3; it is read when that is the window's language (the explanation step chooses so). The
model card is read whole: the window renders it from the card's content in its own language.
"""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import QAbstractListModel, QEvent, QModelIndex, Qt, QTimer
from PySide6.QtGui import QTextDocumentFragment
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QApplication,
    QComboBox,
    QGroupBox,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMessageBox,
    QTabBar,
    QTextEdit,
    QWidget,
)

from desktop import config
from desktop.core import messages
from desktop.operations.services import Services
from desktop.store.inclusions import Actor
from desktop.ui import i18n
from desktop.ui.decision.charts import TrajectoryChart
from desktop.ui.decision.page import PREDICTION
from desktop.ui.steps.explanation import ExplanationStep
from helpers import bundles_with_contract_end, valid_bsns
from test_main_window import window  # noqa: F401  (the window fixture, on this module's services)

BSN = valid_bsns(1, start=300_200_000)[0]
OTHER = {"nl": "en", "en": "nl"}
JOINS = re.compile(r"\s*(?:\{[^{}]*\}|[·:;()—\n…?!]|, |\. |\.$|&nbsp;)\s*")
LETTERS = re.compile(r"[^\W\d_]{2}")
DUTCH_ONLY_WORDS = {"het", "een", "niet", "geen", "moet", "deze", "wordt", "zijn", "voor", "bij", "naar", "kies",
                    "mislukt", "gevonden", "opgeslagen", "verzekeraar", "patiënt", "patiënten", "controleer",
                    "ongeldig", "bestaat", "jaar", "dagen", "vandaag", "geboortedatum", "onbekend"}
INTERNAL_NAME = re.compile(r"\b[a-z]+_[a-z_]+\b\s*:")
# Dutch terms an English text names on purpose, in brackets after its English word: the patient meets
# them on the insurer's papers ("Your deductible (eigen risico) applies …" in the English handout).
GLOSSES = {"eigen risico"}


# -- the rule ------------------------------------------------------------------------------
def pieces(template: str) -> list[str]:
    return [piece.replace("&", "").strip(" .,") for piece in JOINS.split(template)]


def foreign_pieces(language: str) -> tuple[set[str], set[str]]:
    """(sentences, words) of the other language that this language's screen must not show."""
    own, other = messages.catalogue(language), messages.catalogue(OTHER[language])
    shared = {piece.lower() for template in own.values() for piece in pieces(template)}
    sentences, words = set(), set()
    for key, template in other.items():
        if template == own.get(key):
            continue
        for piece in pieces(template):
            if not LETTERS.search(piece) or piece.lower() in shared or piece.lower() in GLOSSES:
                continue
            (sentences if len(piece.split()) >= 3 else words).add(piece)
    return sentences, words


def leaks(texts: list[str], language: str) -> list[str]:
    sentences, words = foreign_pieces(language)
    lowered = {word.lower() for word in words}
    found = set()
    for text in texts:
        found |= {f"{sentence!r} in {text!r}" for sentence in sentences if sentence in text}
        parts = {text.lower().strip(" .,"), *(piece.lower() for piece in pieces(text))}
        found |= {f"{part!r} in {text!r}" for part in parts & lowered}
        if language == "en":
            found |= {f"Dutch word {word!r} in {text!r}" for word in re.findall(r"[^\W\d_]+", text.lower())
                      if word in DUTCH_ONLY_WORDS}
        found |= {f"internal name {name.group(0)!r} in {text!r}" for name in INTERNAL_NAME.finditer(text)}
    return sorted(found)


# -- reading the screen --------------------------------------------------------------------
def plain(text: str) -> str:
    if re.search(r"<[a-zA-Z/][^>]*>|&\w+;", text):
        text = QTextDocumentFragment.fromHtml(text).toPlainText()
    return html.unescape(text).replace("\u00a0", " ").strip()


def mnemonic_free(text: str) -> str:
    return re.sub(r"&(?!&)", "", text).replace("&&", "&")


def actions_texts(actions) -> list[str]:
    texts = []
    for action in actions:
        texts += [mnemonic_free(action.text()), action.toolTip(), action.statusTip()]
        if action.menu() is not None:
            texts += [mnemonic_free(action.menu().title()), *actions_texts(action.menu().actions())]
    return texts


def view_texts(view: QAbstractItemView) -> list[str]:
    model = view.model()
    if model is None:
        return []
    columns = 1 if isinstance(model, QAbstractListModel) else model.columnCount(QModelIndex())
    rows = model.rowCount(QModelIndex())
    texts = [str(model.headerData(column, Qt.Orientation.Horizontal) or "") for column in range(columns)]
    for row in range(rows):
        for column in range(columns):
            index = model.index(row, column)
            texts += [str(index.data(role) or "") for role in
                      (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole, Qt.ItemDataRole.AccessibleTextRole)]
    return texts


def widget_texts(widget: QWidget) -> list[str]:
    texts = [widget.windowTitle(), widget.toolTip(), widget.statusTip(), widget.whatsThis(),
             widget.accessibleName(), widget.accessibleDescription(), *actions_texts(widget.actions())]
    if isinstance(widget, QLabel):
        texts.append(widget.text())
    if isinstance(widget, QAbstractButton):
        texts.append(mnemonic_free(widget.text()))
    if isinstance(widget, QLineEdit):
        texts.append(widget.placeholderText())  # what is typed is the user's, not the window's
    if isinstance(widget, QComboBox):
        texts += [widget.itemText(i) for i in range(widget.count())]
    if isinstance(widget, QGroupBox):
        texts.append(widget.title())
    if isinstance(widget, QTabBar):
        texts += [widget.tabText(i) for i in range(widget.count())]
    if isinstance(widget, QAbstractItemView):
        texts += view_texts(widget)
    if isinstance(widget, QTextEdit) and not is_handout_for_another_language(widget):
        texts.append(widget.toPlainText())
    if isinstance(widget, TrajectoryChart):
        texts += widget.painted_texts()
    if isinstance(widget, QMessageBox):
        texts += [widget.text(), widget.informativeText(), widget.detailedText()]
    if isinstance(widget, QInputDialog):
        texts.append(widget.labelText())
    return texts


def is_handout_for_another_language(browser: QTextEdit) -> bool:
    step = browser.parent()
    return isinstance(step, ExplanationStep) and step.consultation.explanation_language != i18n.language()


def screen_texts(*roots: QWidget) -> list[str]:
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)  # a replaced page is gone, as on screen
    texts = []
    for root in roots:
        for widget in (root, *root.findChildren(QWidget)):
            texts += widget_texts(widget)
        if hasattr(root, "menuBar"):
            texts += actions_texts(root.menuBar().actions())
            texts.append(root.statusBar().currentMessage())
    return [text for text in (plain(text) for text in texts) if text]


def answer_modal(collected: list[str], action=lambda dialog: dialog.reject()):
    """Read the next modal dialog or message box when it opens, then let `action` close it."""

    def read():
        dialog = QApplication.activeModalWidget()
        if dialog is None:
            QTimer.singleShot(10, read)
            return
        collected.append(type(dialog).__name__)
        collected.extend(screen_texts(dialog))
        action(dialog)

    QTimer.singleShot(0, read)


# -- the window, driven ----------------------------------------------------------------------
@pytest.fixture
def services(tmp_path, language):
    bundles = bundles_with_contract_end(tmp_path / "bundles", dt.date.today() + dt.timedelta(days=20))
    settings = config.load(overrides={"data_dir": str(tmp_path / "data"), "bundles_dir": str(bundles),
                                      "location": "Utrecht", "language": language})
    services = Services(settings, Actor("suo.test", "suo"))
    yield services
    services.close()
    i18n.set_language("nl")


@pytest.fixture(scope="module")
def models():
    from predictors import load_models

    return load_models()


def type_into(qtbot, widget, text):
    widget.setFocus()
    widget.clear()
    qtbot.keyClicks(widget, text)


def wait_for_lookup(qtbot, window):
    busy = i18n.t("window.lookup.busy")
    qtbot.waitUntil(lambda: window.steps[1].lookup_text and busy not in window.steps[1].lookup_text, timeout=5000)


def open_patient(qtbot, window):
    window.open_patient(bsn=BSN, birth_date="1971-06-02", name="J. Jansen")
    QApplication.processEvents()
    wait_for_lookup(qtbot, window)


def fill_insurance(qtbot, window, uzovi="3311"):
    insurance = window.steps[1]
    type_into(qtbot, insurance.uzovi, uzovi)
    insurance.diagnosis.setEditText("G56.0")
    insurance.side_group.buttons()[1].click()


def patient_with_bad_input(qtbot, window, language):
    """An invalid BSN and a birth date in the future: each field says what is wrong."""
    patient = window.steps[0]
    type_into(qtbot, patient.bsn, "123456789")
    type_into(qtbot, patient.birth_date, f"{dt.date.today().year + 3}-01-01")
    assert patient.messages["bsn"].text() and patient.messages["birth_date"].text()
    return screen_texts(window)


def insurer_lookup(qtbot, window, language):
    """A patient handed over by the EHR: the insurer is looked up (here: no server) and the step says so."""
    open_patient(qtbot, window)
    assert window.steps[1].source.text()
    return screen_texts(window)


def insurance_with_unknown_uzovi(qtbot, window, language):
    """An UZOVI code that no insurer has: the field and the rules say so; the contract-end notice shows."""
    open_patient(qtbot, window)
    fill_insurance(qtbot, window, uzovi="9999")
    rules = window.steps[1].rules
    assert any(rules.item(i).text().startswith("✖") for i in range(rules.count()))
    assert window.notice_banner.text()
    return screen_texts(window)


def explanation(qtbot, window, language):
    open_patient(qtbot, window)
    fill_insurance(qtbot, window)
    window.go_to(2)
    (window.steps[2].english if language == "en" else window.steps[2].dutch).click()
    return screen_texts(window)


def save_that_fails_validation(qtbot, window, language):
    """Ctrl+S with fields missing here and a bad field on another step: nothing saved, each named by its label."""
    open_patient(qtbot, window)
    fill_insurance(qtbot, window)
    type_into(qtbot, window.steps[1].inclusion_date, "2026-13-45")
    window.go_to(4)
    window.steps[4].save()
    assert window.services.registry.inclusions() == []
    assert window.steps[4].result.text()
    return screen_texts(window)


def saved_inclusion_and_worklist(qtbot, window, language):
    """A saved inclusion, the worklist with it, and a withdrawal without a reason refused in a message box."""
    register(qtbot, window)
    window.go_to(5)
    worklist = window.worklist
    assert worklist.model.rowCount() == 1
    texts = screen_texts(window)
    answer_modal(texts, lambda dialog: dialog.reject())  # the question for a reason, cancelled
    worklist.withdraw_selected()
    worklist.ask_withdrawal_reason = lambda: ""  # an empty reason is refused in a message box
    answer_modal(texts, lambda box: box.accept())
    worklist.withdraw_selected()
    assert "QInputDialog" in texts and "QMessageBox" in texts
    return texts


def correction_dialog(qtbot, window, language):
    """The correction dialog: a wrong AGB, nothing changed, no reason — each refused with a message."""
    register(qtbot, window)
    window.go_to(5)
    texts = []

    def try_each(dialog):
        dialog.edits["clinician_agb"].setText("12")
        dialog.accept_if_valid()
        texts.extend(screen_texts(dialog))
        dialog.edits["clinician_agb"].setText(dialog.record["clinician_agb"])
        dialog.accept_if_valid()
        texts.extend(screen_texts(dialog))
        dialog.edits["location"].setText("Zeist")
        dialog.accept_if_valid()
        texts.extend(screen_texts(dialog))
        dialog.reject()

    answer_modal(texts, try_each)
    window.worklist.correct_selected()
    assert "CorrectionDialog" in texts
    return texts


def decision_page(qtbot, window, language, models):
    """The shared decision with models: numbers, icon arrays, charts, an invalid value, the model card."""
    window._models_loaded(models)
    open_patient(qtbot, window)
    fill_insurance(qtbot, window)
    window.go_to(3)
    view = window.steps[3].view
    view.inputs["work_status"].setCurrentIndex(view.inputs["work_status"].findData("office"))
    view.inputs["bmi"].setText("abc")
    qtbot.waitUntil(lambda: view.prediction is not None and not view.operations.pending(PREDICTION), timeout=10000)
    QApplication.processEvents()
    assert view.messages["bmi"].text() and view.pain_chart.series
    texts = screen_texts(window)
    answer_modal(texts, lambda dialog: dialog.accept())
    view.show_card()
    assert "ModelCardDialog" in texts
    return texts


def register(qtbot, window):
    open_patient(qtbot, window)
    fill_insurance(qtbot, window)
    window.go_to(4)
    inclusion = window.steps[4]
    type_into(qtbot, inclusion.agb, "01234567")
    inclusion.agreed.setChecked(True)
    inclusion.save()
    assert len(window.services.registry.inclusions()) == 1


STEPS = [patient_with_bad_input, insurer_lookup, insurance_with_unknown_uzovi, explanation,
         save_that_fails_validation, saved_inclusion_and_worklist, correction_dialog]


def cases():  # the core's and the operations' messages (input errors, lookups) are read in the window's language too
    for language in ("en", "nl"):
        for step in STEPS:
            yield pytest.param(language, step, id=f"{language}-{step.__name__}")


@pytest.mark.parametrize(("language", "step"), list(cases()))
def test_every_step_shows_only_the_windows_language(qtbot, window, language, step):
    texts = step(qtbot, window, language)
    assert len(texts) > 20  # the screen was really read
    assert leaks(texts, language) == []


@pytest.mark.parametrize("language", ["en", "nl"])
def test_the_decision_page_shows_only_the_windows_language(qtbot, window, language, models):
    texts = decision_page(qtbot, window, language, models)
    assert any(i18n.t("window.decision.chart.pain_title", instrument="") in text for text in texts)
    assert leaks(texts, language) == []


@pytest.mark.parametrize("language", ["nl", "en"])
def test_switching_the_language_leaves_nothing_of_the_one_before(qtbot, window, language):
    """Menus, status bar, header, steps and worklist are rebuilt or renamed in the new language."""
    fill_insurance(qtbot, window)
    window.go_to(5)
    window.set_language(OTHER[language])
    QApplication.processEvents()
    texts = screen_texts(window)
    assert i18n.t("window.steps.worklist") in " ".join(texts)
    assert leaks(texts, OTHER[language]) == []


def test_the_rule_finds_the_other_language_and_only_it():
    """The rule itself: a Dutch state, label or sentence on the English screen is found; English is not."""
    english = ["Models: ready", "Worklist", "Side: left", "Pain — NRS pain 0–10 (lower = better)", "BSN", "Nederlands"]
    assert leaks(english, "en") == []
    found = leaks(["Models: gereed", "Werklijst", "◀ Vorige", "x — Getallen: verwachte score, tussen haakjes het "
                   "bereik van 80% van de patiënten.", "Not saved: inclusion_date: bad"], "en")
    assert any("'gereed'" in hit for hit in found) and any("'werklijst'" in hit for hit in found)
    assert any("tussen haakjes het bereik" in hit for hit in found)
    assert any("internal name 'inclusion_date:'" in hit for hit in found)
    assert any("'◀ vorige'" in hit for hit in found)
    assert leaks(["Pijn — NRS-pijnscore 0–10 (lager = beter)", "Werklijst"], "nl") == []
    assert any("'ready'" in hit for hit in leaks(["Modellen: ready"], "nl"))
