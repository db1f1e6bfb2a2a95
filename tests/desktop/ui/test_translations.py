"""The window's texts come from the message catalogue by key: no Dutch sentence is a key any more,
every table of words is a table of keys, and a number reads as the window's reader writes it."""

import re
from pathlib import Path

import pytest

from desktop.core import messages
from desktop.operations import prediction
from desktop.ui import i18n, state_words
from desktop.ui.decision import model_card, page
from desktop.ui.steps import base
from desktop.ui.worklist import COLUMNS, FILTERS, CorrectionDialog

UI = Path(i18n.__file__).parent


@pytest.fixture
def english():
    i18n.set_language("en")
    yield
    i18n.set_language("nl")


def test_the_window_asks_only_for_keys_no_dutch_sentence_is_a_key():
    """The old mechanism (`tr("Dutch text")`, an ENGLISH dict) is gone from every window module."""
    found = [f"{path.relative_to(UI)}: {match.group(0)}" for path in sorted(UI.rglob("*.py"))
             for match in re.finditer(r"\btr\(|\bENGLISH\b", path.read_text(encoding="utf-8"))]
    assert found == []
    assert not hasattr(i18n, "tr") and not hasattr(i18n, "ENGLISH")


def test_a_key_is_read_in_the_language_chosen(english):
    assert i18n.t("window.steps.worklist") == "Worklist"
    i18n.set_language("nl")
    assert i18n.t("window.steps.worklist") == "Werklijst"
    assert i18n.t("window.worklist.count", shown=3, total=12) == "3 van 12"


def test_every_table_of_words_in_the_window_is_a_table_of_keys_that_exist():
    tables = [*state_words.TABLES.values(), state_words.OPTION_TITLE, state_words.OPTION_SUBTITLE,
              prediction.LABELS, page.INSTRUMENTS, base.FIELD_LABELS, base.STATUS_TEXT, COLUMNS,
              CorrectionDialog.FIELDS, model_card.CARD_TITLES, model_card.CONDITION_NAMES, model_card.OUTCOME_NAMES,
              dict(enumerate(model_card.LIMITATIONS + model_card.METHOD)), page.SOURCE_TEXT, page.SOURCE_DESCRIPTION,
              {value: key for key, value in FILTERS},
              {value: key for choices in page.CHOICES.values() for value, key in choices}, dict(page.YES_NO)]
    keys = [key for table in tables for key in table.values()]
    assert len(keys) > 100
    assert sorted(key for key in keys if not messages.has(key)) == []


def test_a_field_shown_away_from_its_form_is_named_by_its_label():
    """A save error names a field by its label (`Inclusion date: …`), never by `inclusion_date`."""
    for language, expected in (("nl", "Inclusiedatum: x"), ("en", "Inclusion date: x")):
        i18n.set_language(language)
        assert base.field_problem("inclusion_date", "x") == expected
    i18n.set_language("nl")


def test_a_message_from_below_the_window_is_read_in_the_windows_language(english):
    assert i18n.say(messages.msg("window.worklist.count", shown=1, total=2)) == "1 of 2"
    assert i18n.say(ValueError(messages.msg("window.unknown"))) == "unknown"
    assert i18n.say("text not yet in the catalogue") == "text not yet in the catalogue"
    assert i18n.say(None) == ""


def test_numbers_are_written_with_a_decimal_comma_in_dutch(english):
    from desktop.ui.decision.charts import _tick
    from desktop.ui.decision.panel import number

    assert (number(4.25, 10), number(63.4, 100), _tick(2.5), _tick(10.0)) == ("4.2", "63", "2.5", "10")
    i18n.set_language("nl")
    assert (number(4.25, 10), number(63.4, 100), _tick(2.5), _tick(10.0)) == ("4,2", "63", "2,5", "10")


def test_the_model_card_is_written_in_the_windows_language():
    """From the card's content: an unknown condition stays as written, a missing section is left out."""
    card = {"condition": "CTS", "synthetic": False, "version": "v1", "trained_at": "2026-11-25T17:51:01+00:00",
            "data": {"n": 10, "n_by_option": {"conservative": 6, "surgery": 4}, "n_train": 8, "n_test": 2,
                     "period": {"from": "2021-01-01", "to": "2024-12-30"}, "synthetic": False},
            "predictors": ["age", "nrs_pain_0"], "files": {"cts.model.json": "ab12"}, "libraries": {"numpy": "2"}}
    for language, words in (("nl", ("Beoogd gebruik", "Leeftijd, Pijn nu (NRS 0–10)", "25-11-2026", "50%",
                                    "houd de bestanden vertrouwelijk")),
                            ("en", ("Intended use", "Age, Pain now (NRS 0–10)", "25-11-2026", "50%",
                                    "keep the files confidential"))):
        i18n.set_language(language)
        shown = model_card.card_html(card, 0.5)
        assert all(word in shown for word in words), language
        assert "nrs_pain_0" not in shown and "<h2>Overlap</h2>" not in shown  # the card has no overlap section
    i18n.set_language("nl")
    assert "Onbekend_X" in model_card.card_html({**card, "condition": "Onbekend_X"}, 0.5)


def test_qt_standard_dialogs_follow_the_chosen_language(qtbot):
    from PySide6.QtCore import QCoreApplication

    assert i18n.install_qt_translations("nl")
    assert QCoreApplication.translate("QFileDialog", "Look in:") == "Zoeken in:"
    assert i18n.install_qt_translations("en")
    assert QCoreApplication.translate("QFileDialog", "Look in:") == "Look in:"
