"""The handout from the window (issue 13 item 8): the clinic and the patient's facts on paper, no
heading alone at the foot of a page, 'Handout meegegeven' only by the user, and no bundle handout
for a patient who is not eligible — not even by Ctrl+P from another step."""

import dataclasses
import datetime as dt
import shutil
import subprocess

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QPageSize
from PySide6.QtWidgets import QApplication

from desktop import config
from desktop.core.clinic import Clinic, StaffMember
from desktop.operations.services import Services
from desktop.store.inclusions import Actor
from desktop.ui import handout_pdf
from desktop.ui.main_window import MainWindow
from helpers import bundles_with_contract_end, valid_bsns

CLINIC = Clinic("Handkliniek Utrecht", "Voorbeeldlaan 1, 3500 AA Utrecht", "030 123 45 67",
                "het secretariaat, werkdagen 8.30–17.00 uur")


@pytest.fixture
def window(qtbot, tmp_path):
    bundles = bundles_with_contract_end(tmp_path / "bundles", dt.date.today() + dt.timedelta(days=365))
    settings = config.load(overrides={"data_dir": str(tmp_path / "data"), "bundles_dir": str(bundles),
                                      "location": "Utrecht"})
    settings = dataclasses.replace(settings, clinic=CLINIC,
                                   staff=(StaffMember("Dr. A. de Vries", "01234567", "handchirurg"),))
    services = Services(settings, Actor("werkplek-3", "SUO"))
    window = MainWindow(services, load_models=False, background_sync=False)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    window.open_patient(bsn=valid_bsns(1)[0], birth_date="1971-06-02", name="J. Jansen")
    QApplication.processEvents()
    yield window
    services.close()


def fill_insurance(window, uzovi="3311"):
    insurance = window.steps[1]
    insurance.uzovi.setText(uzovi)
    insurance.diagnosis.lineEdit().setText("G56.0")
    insurance.side_group.buttons()[1].click()


def pdf_pages(path):
    if shutil.which("pdftotext") is None:
        pytest.fail("pdftotext is missing: scripts/test installs poppler-utils")
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout
    return [" ".join(page.split()) for page in text.split("\f") if page.strip()]


def test_the_printed_handout_names_the_clinic_the_side_and_who_explained(qtbot, window, tmp_path):
    fill_insurance(window)
    inclusion = window.steps[4]
    inclusion.explained_by.setCurrentIndex(1)
    window.go_to(2)
    path = tmp_path / "handout.pdf"
    window.steps[2].save_pdf(str(path))
    pages = pdf_pages(path)
    whole = " ".join(pages)
    assert "U kunt altijd stoppen" in whole and "Telefoon: 030 123 45 67" in whole and "Handkliniek Utrecht" in whole
    assert "rechterhand" in whole and "Uitgelegd door Dr. A. de Vries" in whole
    today = dt.date.today()
    assert f"Gesprek op {today.day} " in whole
    assert all(page.endswith(f"{number}/{len(pages)}") for number, page in enumerate(pages, 1))
    assert not window.consultation.handout_printed and not inclusion.handout.isChecked()
    assert "Vink dan 'Handout meegegeven' aan" in window.steps[2].notice.text()


def test_no_bundle_handout_for_a_patient_who_is_not_eligible(qtbot, window, monkeypatch):
    asked = []
    monkeypatch.setattr(handout_pdf, "ask_printer", lambda parent: asked.append(parent))  # the modal dialog only
    monkeypatch.setattr(handout_pdf, "ask_pdf_path", lambda parent: asked.append(parent))
    fill_insurance(window, uzovi="7029")  # an insurer without a contract
    explanation = window.steps[2]
    assert not explanation.pdf.isEnabled() and not explanation.print_button.isEnabled()
    window.go_to(4)
    qtbot.keyClick(window, Qt.Key.Key_P, Qt.KeyboardModifier.ControlModifier)
    assert asked == [] and window.pages.currentIndex() == 2
    assert "komt (nog) niet in aanmerking" in explanation.notice.text()
    explanation.save_pdf_dialog()
    assert asked == []
    fill_insurance(window, uzovi="3311")
    assert explanation.pdf.isEnabled()
    qtbot.keyClick(window, Qt.Key.Key_P, Qt.KeyboardModifier.ControlModifier)
    assert len(asked) == 1  # eligible: the print dialog is asked for


def test_no_heading_is_left_alone_at_the_foot_of_a_page(qtbot, monkeypatch):
    printer = handout_pdf.pdf_printer("/dev/null")
    printer.setPageSize(QPageSize(QPageSize.PageSizeId.A4))
    handouts = ["<h1>Bundel</h1><p>" + "woord " * words + "</p>"
                + "".join(f"<h2>Kop {i}</h2><p>{'tekst ' * 120}</p>" for i in range(8))
                for words in range(0, 400, 14)]  # the filler moves the headings over the page ends

    def orphans():
        return [heading for html in handouts
                for heading in handout_pdf.heading_pages(handout_pdf.handout_document(html, QFont(), printer))
                if heading[2] > heading[1]]

    assert orphans() == []
    with monkeypatch.context() as without:
        without.setattr(handout_pdf, "keep_headings_with_text", lambda document: None)
        assert len(orphans()) > 5  # these handouts do orphan headings when nothing keeps them with their text
