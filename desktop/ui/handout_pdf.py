"""The patient handout on paper: saved as a PDF (A4) or sent to a printer.

The handout's content comes from the domain core (`desktop/core/handout.py`); this module
only lays it out on a page, so the PDF and the printout are the same document.
"""

from __future__ import annotations

from PySide6.QtGui import QFont, QPageSize, QTextDocument
from PySide6.QtPrintSupport import QPrintDialog, QPrinter
from PySide6.QtWidgets import QFileDialog, QWidget

from desktop.ui import theme
from desktop.ui.i18n import t


def pdf_printer(path: str) -> QPrinter:
    """A printer that writes a PDF file at `path`."""
    printer = QPrinter(QPrinter.PrinterMode.HighResolution)
    printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
    printer.setOutputFileName(path)
    return printer


def print_handout(html: str, font: QFont, printer: QPrinter) -> None:
    """Lay out the handout's HTML on A4 in the body font size and print it."""
    printer.setPageSize(QPageSize(QPageSize.PageSizeId.A4))
    document = QTextDocument()
    body = QFont(font)
    body.setPointSize(theme.BODY_PT)
    document.setDefaultFont(body)
    document.setHtml(html)
    document.print_(printer)


def save_pdf(html: str, font: QFont, path: str) -> None:
    """Write the handout as a PDF (A4) at `path`."""
    print_handout(html, font, pdf_printer(path))


def ask_pdf_path(parent: QWidget) -> str | None:
    """Ask where to save the PDF; the name always ends in .pdf. None: the user cancelled."""
    path, _ = QFileDialog.getSaveFileName(parent, t("window.explanation.save_pdf"),
                                          t("window.explanation.file_name"), "PDF (*.pdf)")
    if not path:
        return None
    return path if path.lower().endswith(".pdf") else path + ".pdf"


def ask_printer(parent: QWidget) -> QPrinter | None:
    """The printer the user chose in the print dialog, or None when they cancelled."""
    printer = QPrinter(QPrinter.PrinterMode.HighResolution)
    return printer if QPrintDialog(printer, parent).exec() else None
