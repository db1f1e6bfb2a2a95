"""Every interface text the window marks for translation has an English version."""

import re
from pathlib import Path

from desktop.ui import i18n

UI = Path(i18n.__file__).parent
MARKED = [r'\btr\(\s*"([^"]+)"\s*\)', r"\btr\(\s*'([^']+)'\s*\)", r'^\s+title = "([^"]+)"',
          r'add_field\([^,]+,\s*"([^"]+)"']


def marked_texts():
    for path in sorted(UI.glob("*.py")):
        if path.name == "i18n.py":
            continue
        source = path.read_text(encoding="utf-8")
        for pattern in MARKED:
            for match in re.finditer(pattern, source, flags=re.MULTILINE):
                yield path.name, match.group(1)


def test_every_marked_text_has_an_english_translation():
    texts = list(marked_texts())
    assert len(texts) > 50  # the scan really finds the window's texts
    missing = sorted({f"{name}: {text}" for name, text in texts if text not in i18n.ENGLISH})
    assert missing == []


def test_english_is_used_only_when_chosen():
    i18n.set_language("en")
    try:
        assert i18n.tr("Werklijst") == "Worklist"
    finally:
        i18n.set_language("nl")
    assert i18n.tr("Werklijst") == "Werklijst"


def test_the_decision_steps_tables_of_labels_are_translated_too():
    from desktop.ui import state_words
    from desktop.ui.decision import page

    texts = [*page.FIELD_LABELS.values(), *state_words.OPTION_TITLE.values(), *state_words.OPTION_SUBTITLE.values(),
             *(text for choices in page.CHOICES.values() for _, text in choices),
             *(text for _, text in page.YES_NO)]
    assert sorted(text for text in texts if text not in i18n.ENGLISH) == []


def test_qt_standard_dialogs_follow_the_chosen_language(qtbot):
    from PySide6.QtCore import QCoreApplication

    assert i18n.install_qt_translations("nl")
    assert QCoreApplication.translate("QFileDialog", "Look in:") == "Zoeken in:"
    assert i18n.install_qt_translations("en")
    assert QCoreApplication.translate("QFileDialog", "Look in:") == "Look in:"
