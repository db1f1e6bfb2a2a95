"""The patient handout on paper: saved as a PDF (A4) or sent to a printer.

The handout's content comes from the domain core (`desktop/core/handout.py`, the personal page
`desktop/core/chances.py`); this module only lays it out on a page and draws the icon arrays the
personal page names, so the PDF, the printout and the preview are the same document.
"""

from __future__ import annotations

from PySide6.QtCore import QRect, QRectF, QSizeF, Qt
from PySide6.QtGui import (
    QFont,
    QPageSize,
    QPainter,
    QPyTextObject,
    QTextBlockFormat,
    QTextCharFormat,
    QTextCursor,
    QTextDocument,
    QTextFormat,
)
from PySide6.QtPrintSupport import QPrintDialog, QPrinter
from PySide6.QtWidgets import QFileDialog, QWidget

from desktop.core.chances import ICON_ARRAY_SRC
from desktop.core.states import TreatmentOption
from desktop.ui import theme
from desktop.ui.decision.charts import OPTION_COLOUR, draw_icon_array
from desktop.ui.i18n import t


def pdf_printer(path: str) -> QPrinter:
    """A printer that writes a PDF file at `path`."""
    printer = QPrinter(QPrinter.PrinterMode.HighResolution)
    printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
    printer.setOutputFileName(path)
    return printer


def print_handout(html: str, font: QFont, printer: QPrinter) -> None:
    """Lay out the handout's HTML on A4 in the body font size and print it, numbering the pages."""
    printer.setPageSize(QPageSize(QPageSize.PageSizeId.A4))
    document = handout_document(html, font, printer)
    page = document.pageSize()
    painter = QPainter(printer)
    try:
        for number in range(document.pageCount()):
            if number:
                printer.newPage()
            painter.save()
            painter.translate(0, -number * page.height())
            document.drawContents(painter, QRectF(0, number * page.height(), page.width(), page.height()))
            painter.restore()
            painter.drawText(QRectF(0, page.height() - MARGIN_CM / 2.54 * printer.resolution(), page.width(),
                                    MARGIN_CM / 2.54 * printer.resolution()), Qt.AlignmentFlag.AlignCenter,
                             f"{number + 1} / {document.pageCount()}")
    finally:
        painter.end()


MARGIN_CM = 2.0  # around the text on paper, as Qt's own printing uses
LAYOUT_DPI = 96  # the resolution QTextDocument's layout takes frame margins in


def handout_document(html: str, font: QFont, printer: QPrinter) -> QTextDocument:
    """The handout laid out on the printer's pages, no heading left alone at the foot of a page."""
    document = QTextDocument()
    body = QFont(font)
    body.setPointSize(theme.BODY_PT)
    document.setDefaultFont(body)
    document.setHtml(html)
    document.documentLayout().setPaintDevice(printer)
    draw_icon_arrays(document)
    frame = document.rootFrame().frameFormat()
    frame.setMargin(MARGIN_CM / 2.54 * LAYOUT_DPI)  # the layout scales margins from 96 dpi to the printer's
    document.rootFrame().setFrameFormat(frame)
    document.setPageSize(QSizeF(printer.width(), printer.height()))
    keep_headings_with_text(document)
    return document


ICON_ARRAY = QTextFormat.ObjectTypes.UserObject + 1  # the text object type an icon array is drawn as
OPTION, COUNT, SIDE = (QTextFormat.Property.UserProperty + number for number in (1, 2, 3))


class IconArrayObject(QPyTextObject):
    """An icon array where the personal page's <img> names one, drawn as vectors: sharp on any
    printer, a few kilobytes in the PDF, and the same drawing as on the decision page."""

    def intrinsicSize(self, document: QTextDocument, position: int, format: QTextFormat) -> QSizeF:
        device = document.documentLayout().paintDevice()
        side = float(format.property(SIDE)) * (device.logicalDpiY() / LAYOUT_DPI if device else 1.0)
        return QSizeF(side, side)

    def drawObject(self, painter: QPainter, rect: QRectF | QRect, document: QTextDocument, position: int,
                   format: QTextFormat) -> None:
        painter.save()
        painter.translate(rect.topLeft())
        draw_icon_array(painter, rect.width(), int(format.property(COUNT)),
                        OPTION_COLOUR[TreatmentOption(format.property(OPTION))])
        painter.restore()


def draw_icon_arrays(document: QTextDocument) -> None:
    """Turn each <img> that names an icon array (`ICON_ARRAY_SRC`) into one drawn in place (after `setHtml`)."""
    layout = document.documentLayout()
    if layout.handlerForObject(ICON_ARRAY) is None:
        layout.registerHandler(ICON_ARRAY, IconArrayObject(document))
    block = document.begin()
    while block.isValid():
        fragments = block.begin()
        while not fragments.atEnd():
            fragment = fragments.fragment()
            image = fragment.charFormat().toImageFormat()
            named = ICON_ARRAY_SRC.fullmatch(image.name()) if fragment.charFormat().isImageFormat() else None
            if named:
                drawn = QTextCharFormat()
                drawn.setObjectType(ICON_ARRAY)
                drawn.setProperty(OPTION, named.group(1))
                drawn.setProperty(COUNT, int(named.group(2)))
                drawn.setProperty(SIDE, image.width())
                cursor = QTextCursor(document)
                cursor.setPosition(fragment.position())
                cursor.setPosition(fragment.position() + fragment.length(), QTextCursor.MoveMode.KeepAnchor)
                cursor.setCharFormat(drawn)
            fragments += 1
        block = block.next()


def heading_pages(document: QTextDocument) -> list[tuple[str, int, int]]:
    """Each heading's text, its page and the page of the first line that follows it (0-based)."""
    layout, height = document.documentLayout(), document.pageSize().height()
    document.pageCount()  # the layout runs lazily: lay out the whole document before measuring it
    found = []
    block = document.begin()
    while block.isValid():
        following = block.next()
        if block.blockFormat().headingLevel() and following.isValid():
            first_line = following.layout().lineAt(0)
            first_line_bottom = layout.blockBoundingRect(following).top() + (
                first_line.rect().bottom() if first_line.isValid() else 0)
            found.append((block.text(), int(layout.blockBoundingRect(block).top() // height),
                          int(first_line_bottom // height)))
        block = following
    return found


def keep_headings_with_text(document: QTextDocument) -> None:
    """A heading whose text starts on the next page moves there with it (Qt's layout has no
    `page-break-after: avoid`). Each move shifts what comes later, so it goes round until settled."""
    for _ in range(document.blockCount()):
        orphan = next((name for name, page, next_page in heading_pages(document) if next_page > page), None)
        if orphan is None:
            return
        block = document.begin()
        while block.text() != orphan or not block.blockFormat().headingLevel():
            block = block.next()
        cursor = QTextCursor(block)
        moved = QTextBlockFormat(block.blockFormat())
        moved.setPageBreakPolicy(QTextBlockFormat.PageBreakFlag.PageBreak_AlwaysBefore)
        cursor.setBlockFormat(moved)


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
