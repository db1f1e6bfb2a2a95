"""Logging to a rotating file in the platform's log directory, never with patient identifiers.

Messages are written by our own code without identifiers; the redaction filter is the
second line of defence for text we do not control (library messages, exception texts
that quote a value): any run of exactly nine digits — the shape of a BSN — is replaced
before a handler writes the record.
"""

from __future__ import annotations

import logging
import logging.handlers
import re
import sys
from pathlib import Path

LOG_FILE_NAME = "bundelassistent.log"
MAX_BYTES = 1_000_000
BACKUP_COUNT = 5
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

_BSN_LIKE = re.compile(r"(?<!\d)\d{9}(?!\d)")
REDACTED = "[BSN verwijderd]"


def redact(text: str) -> str:
    return _BSN_LIKE.sub(REDACTED, text)


class RedactIdentifiers(logging.Filter):
    """Rewrites the formatted message (and exception text) so no BSN-shaped number is kept."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


class _ReportsErrorsOnce:
    """A handler that says once, in one line, that it cannot write, instead of a traceback per record.

    A full disk or a vanished log folder must not flood stderr nor stop the app; records
    that cannot be written are dropped, and writing resumes by itself once it works again.
    """

    _reported = False

    def handleError(self, record: logging.LogRecord) -> None:  # logging's camelCase name
        if self._reported or not logging.raiseExceptions:
            return
        self._reported = True
        error = sys.exc_info()[1]
        reason = getattr(error, "strerror", None) or type(error).__name__
        target = getattr(self, "baseFilename", None) or "de console"
        try:
            sys.stderr.write(f"waarschuwing: kan niet naar {target} loggen ({reason}); logregels gaan verloren "
                             "totdat het weer lukt — maak ruimte vrij of neem contact op met IT\n")
        except Exception:  # stderr itself is gone: nothing left to tell
            pass


class FileHandler(_ReportsErrorsOnce, logging.handlers.RotatingFileHandler):
    pass


class ConsoleHandler(_ReportsErrorsOnce, logging.StreamHandler):
    pass


def configure(level: str, log_dir: Path | None, console: bool = True) -> Path | None:
    """Set up the root logger once per process; returns the log file in use, if any.

    A log directory that cannot be created (read-only profile, full disk) must not stop
    the app: it then logs to stderr only and says so.
    """
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_bundelassistent", False):
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)
    redaction = RedactIdentifiers()
    handlers: list[logging.Handler] = []
    log_file = None
    problem = None
    if log_dir is not None:
        try:
            log_dir.mkdir(parents=True, exist_ok=True)
            log_file = log_dir / LOG_FILE_NAME
            handlers.append(FileHandler(
                log_file, maxBytes=MAX_BYTES, backupCount=BACKUP_COUNT, encoding="utf-8"))
        except OSError as error:
            log_file, problem = None, f"logmap {log_dir} niet bruikbaar ({error.strerror}); alleen naar stderr"
    if console:
        handlers.append(ConsoleHandler())
    for handler in handlers:
        handler.setFormatter(logging.Formatter(FORMAT))
        handler.addFilter(redaction)
        handler._bundelassistent = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    if problem:
        logging.getLogger("bundelassistent").warning(problem)
    return log_file
