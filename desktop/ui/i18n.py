"""The window's texts: keys of the message catalogue (`desktop/core/messages.py`), read in the
window's language.

Widgets call `t("window.patient.bsn")` or `t(key, **params)`; a message made below the window (a
`Msg` of the core or the operations) is read with `say(message)`. Switching language rebuilds the
window from the consultation state, so nothing has to be re-translated in place.
"""

from __future__ import annotations

import datetime as dt

from desktop.core import messages

_language = "nl"


def set_language(language: str) -> None:
    global _language
    _language = language if language in ("nl", "en") else "nl"


def language() -> str:
    return _language


def t(key: str, **params: object) -> str:
    """The catalogue message `key` in the window's language, its parameters filled in."""
    return messages.text(key, _language, **params)


def say(message: object) -> str:
    """A message from the layers below in the window's language.

    A `Msg` (or a bundle's `Text`) is translated; an error carrying one is read through it;
    anything else is shown as it is (text the lower layers have not put in the catalogue yet).
    """
    if message is None:
        return ""
    if isinstance(message, messages.Translatable):
        return message.get(_language)
    if isinstance(message, BaseException):
        for carried in (getattr(message, "message", None), *message.args[:1]):
            if isinstance(carried, messages.Translatable):
                return carried.get(_language)
    return str(message)


def number(value: float, digits: int = 1) -> str:
    """A number as the window's reader writes it (decimal comma in Dutch)."""
    return messages.number(value, _language, digits)


def local_datetime(moment: str | None) -> dt.datetime | None:
    """A stored ISO time ('…Z' is UTC) in the PC's own time zone; None when empty or unreadable."""
    if not moment:
        return None
    try:
        when = dt.datetime.fromisoformat(moment.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when.astimezone() if when.tzinfo else when


_qt_translator = None


def install_qt_translations(code: str) -> bool:
    """Qt's own dialogs (file chooser, print dialog, message box buttons) in the same language.

    Qt imports are local so this module stays importable without a display.
    """
    global _qt_translator
    from PySide6.QtCore import QCoreApplication, QLibraryInfo, QTranslator

    app = QCoreApplication.instance()
    if app is None:
        return False
    if _qt_translator is not None:
        app.removeTranslator(_qt_translator)
        _qt_translator = None
    if code == "en":
        return True
    translator = QTranslator(app)
    if translator.load(f"qtbase_{code}", QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)):
        app.installTranslator(translator)
        _qt_translator = translator
        return True
    return False
