"""The patient takes it home (issue 14 item 4): the printed handout gains a personal page with the
predictions Samen beslissen showed — both options side by side in plain words, icon arrays, the 80 %
ranges with their scales, the questionnaire's date, the demonstration-model warning — in the chosen
language, from the real window, read back from the real PDF with pdftotext."""

import re
import shutil
import subprocess

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import QRectF
from PySide6.QtGui import QColor, QFont, QImage, QPageSize, QPainter
from PySide6.QtWidgets import QApplication

from desktop.core import messages
from desktop.ui import handout_pdf
from desktop.ui.decision.page import PREDICTION
from helpers import save_in_window, valid_bsns
from predictors import load_models
from test_decision import fill
from test_main_window import screenshot

BSN = valid_bsns(1)[0]
TYPED = {"sex": "F", "work_status": "physical", "bctq_fss_0": 2.8, "ncs_severity": 2}


@pytest.fixture(scope="module")
def models():
    return load_models()


def open_patient(window, diagnosis="G56.0"):
    window.open_patient(bsn=BSN, birth_date="1968-04-02", name="J. Jansen")
    QApplication.processEvents()
    insurance = window.steps[1]
    insurance.uzovi.setText("3311")
    insurance.diagnosis.lineEdit().setText(diagnosis)
    insurance.side_group.buttons()[1].click()


def predicted(qtbot, window, models, values, questionnaire=None):
    """Samen beslissen after these answers were typed, its prediction shown; `questionnaire`:
    the patient's (answers, date) as the intake lookup gives them."""
    window._models_loaded(models)
    open_patient(window)
    if questionnaire:
        window.consultation.questionnaire, window.consultation.questionnaire_completed_at = questionnaire
    window.go_to(3)
    view = window.steps[3].view
    before = view.operations.generation(PREDICTION)
    fill(view, values)
    qtbot.waitUntil(lambda: view.operations.generation(PREDICTION) > before
                    and not view.operations.pending(PREDICTION) and view.prediction is not None, timeout=10000)
    return view


@pytest.fixture
def shown(qtbot, room_window, models):
    """The window after Samen beslissen showed this patient's predictions, with her questionnaire of 28 Nov."""
    predicted(qtbot, room_window, models, TYPED, questionnaire=({"nrs_pain_0": 7}, "2026-11-28"))
    QApplication.processEvents()
    return room_window


def pdf_text(path, *options):
    if shutil.which("pdftotext") is None:
        pytest.fail("pdftotext is missing: scripts/test installs poppler-utils")
    return subprocess.run(["pdftotext", *options, str(path), "-"], capture_output=True, text=True, check=True).stdout


A4_WIDTH = 595  # points: pdftotext crops in pixels at 72 dpi


def save(window, path, language):
    """Save the handout; each page's text as laid out (one line per table row, whitespace
    flattened), and the personal page's left and right halves (conservative, surgery)."""
    explanation = window.steps[2]
    window.go_to(2)
    (explanation.dutch if language == "nl" else explanation.english).click()
    explanation.save_pdf(str(path))
    flat = [" ".join(page.split()) for page in pdf_text(path, "-layout").split("\f") if page.strip()]
    title = messages.text("core.chances.title", language)
    numbers = [number for number, page in enumerate(flat, 1) if page.startswith(title)]
    halves = {}
    if numbers:
        page = str(numbers[0])
        for option, x in (("conservative", 0), ("surgery", A4_WIDTH // 2)):
            half = pdf_text(path, "-f", page, "-l", page, "-r", "72", "-x", str(x), "-y", "0",
                            "-W", str(A4_WIDTH // 2), "-H", "842")
            halves[option] = " ".join(half.split())
    return flat, halves


def option_pixels(path, page, folder):
    """Per option, how many pixels of its colour the page shows in its left and its right half."""
    from desktop.ui import theme

    subprocess.run(["pdftoppm", "-r", "100", "-f", str(page), "-l", str(page), "-png", "-singlefile", str(path),
                    str(folder / "page")], check=True)
    image = QImage(str(folder / "page.png"))
    wanted = {"conservative": QColor(theme.CONSERVATIVE), "surgery": QColor(theme.SURGERY)}
    found = {option: [0, 0] for option in wanted}
    for y in range(0, image.height(), 2):
        for x in range(0, image.width(), 2):
            pixel = image.pixelColor(x, y)
            for option, colour in wanted.items():
                if max(abs(pixel.red() - colour.red()), abs(pixel.green() - colour.green()),
                       abs(pixel.blue() - colour.blue())) < 24:
                    found[option][x >= image.width() // 2] += 1
    return found


def dutch(value, digits=1):
    return f"{value:.{digits}f}".replace(".", ",")


def test_the_personal_page_says_what_the_screen_showed_in_dutch(qtbot, shown, tmp_path):
    view = shown.steps[3].view
    flat, halves = save(shown, tmp_path / "handout-nl.pdf", "nl")
    [personal] = [page for page in flat if page.startswith("Uw kansen per behandeling")]  # a page of its own
    assert "Zonder operatie" in halves["conservative"] and "Zonder operatie" not in halves["surgery"]
    assert "met nazorg en handtherapie" in halves["surgery"]  # side by side: each option in its half
    colours = option_pixels(tmp_path / "handout-nl.pdf", flat.index(personal) + 1, tmp_path)
    assert colours["conservative"][0] > 200 and colours["conservative"][1] == 0  # its icon array, on its side
    assert colours["surgery"][1] > 200 and colours["surgery"][0] == 0
    prediction = view.prediction
    for option in ("conservative", "surgery"):
        on_screen = view.panels[option]
        chances = prediction.option(option)
        count = on_screen.icons.count
        assert count == round(chances.pain.improvement_probability * 100)
        assert f"Van de 100 mensen zoals u hadden er na 12 maanden ongeveer {count} duidelijk minder pijn" \
            in halves[option]
        assert f"{count} van de 100 patiënten zoals u" in on_screen.icon_text.text()
        function = round(chances.function.improvement_probability * 100)
        assert f"Ongeveer {function} van de 100 konden hun hand na 12 maanden duidelijk beter gebruiken" \
            in halves[option]
        for outcome in (chances.pain, chances.function):
            for value in (outcome.month3, outcome.month12):
                assert f"<b>{dutch(value.mean)}</b>" in on_screen.numbers.text()  # the digits the screen shows
    both = (prediction.conservative, prediction.surgery)
    for name, outcome in (("Pijn", "pain"), ("Moeite met de hand", "function")):
        for month in (3, 12):
            values = [getattr(getattr(chances, outcome), f"month{month}") for chances in both]
            cells = [f"{dutch(v.mean)} ({dutch(v.p10)} tot {dutch(v.p90)})" for v in values]
            assert f"{name} na {month} maanden {cells[0]} {cells[1]}" in personal, (name, month)
    for weeks in (6, 12):
        backs = [round(getattr(chances.return_to_work, f"back_within_{weeks}_weeks") * 100) for chances in both]
        assert (f"Weer aan het werk na {weeks} weken {backs[0]} van de 100 "
                f"{backs[1]} van de 100") in personal
    surgery_after_all = round(prediction.conservative.surgery_within_12_months * 100)
    assert f"Toch geopereerd in 12 maanden {surgery_after_all} van de 100 —" in personal
    assert "Pijn 0–10, lager is beter · Moeite met de hand 1–5, lager is beter" in personal
    assert "berekend met uw vragenlijst van 28 november 2026" in personal
    assert "demonstratiemodel" in personal and "Kies hiermee geen behandeling" in personal
    assert prediction.model_version in personal
    assert all(page.endswith(f"{number}/{len(flat)}") for number, page in enumerate(flat, 1))


def test_what_the_handout_prints_is_what_the_record_keeps(qtbot, shown):
    """To the last digit: the page's numbers are the recorded decision support's, which the screen shows."""
    view = shown.steps[3].view
    kept = shown.consultation.decision_support
    for option in ("conservative", "surgery"):
        chances = view.prediction.option(option)
        assert kept["predictions"][f"{option}_pain12_mean"] == chances.pain.month12.mean
        assert kept["predictions"][f"{option}_function3_p90"] == chances.function.month3.p90
        assert kept["predictions"][f"{option}_pain_mcid_prob"] == chances.pain.improvement_probability
    assert kept["questionnaire_completed_at"] == "2026-11-28"


def test_the_english_page_is_all_english(qtbot, shown, tmp_path):
    view = shown.steps[3].view
    flat, halves = save(shown, tmp_path / "handout-en.pdf", "en")
    [personal] = [page for page in flat if page.startswith("Your chances with each treatment")]
    surgery = view.prediction.surgery
    count = round(surgery.pain.improvement_probability * 100)
    assert f"Of 100 people like you, about {count} had clearly less pain after 12 months" in halves["surgery"]
    twelve = surgery.pain.month12
    assert f"Pain after 12 months {view.prediction.conservative.pain.month12.mean:.1f} (" in personal
    assert f"{twelve.mean:.1f} ({twelve.p10:.1f} to {twelve.p90:.1f})" in personal
    assert "calculated from your questionnaire of 28 November 2026" in personal
    assert "demonstration model" in personal and "Pain 0–10, lower is better" in personal
    english = messages.catalogue("en")
    dutch_phrases = [phrase for key, phrase in messages.catalogue("nl").items() if key.startswith("core.chances.")
                     and phrase != english[key] and len(phrase) > 3]
    assert dutch_phrases and [phrase for phrase in dutch_phrases
                              if phrase.split("{")[0].strip() and phrase.split("{")[0].strip() in personal] == []


def test_without_a_questionnaire_the_page_says_the_numbers_are_estimated(qtbot, room_window, models, tmp_path):
    room_window._models_loaded(models)
    open_patient(room_window)
    room_window.go_to(3)
    view = room_window.steps[3].view
    qtbot.waitUntil(lambda: view.prediction is not None and not view.operations.pending(PREDICTION), timeout=10000)
    flat, _ = save(room_window, tmp_path / "estimated.pdf", "nl")
    whole = " ".join(flat)
    assert "Er is geen vragenlijst van u gebruikt: wat niet bekend was, is geschat uit gemiddelden" in whole
    assert "vragenlijst van 2" not in whole


def test_no_personal_page_when_no_predictions_were_shown(qtbot, room_window, tmp_path):
    open_patient(room_window)  # no models loaded: Samen beslissen showed nothing
    assert room_window.consultation.decision_support is None
    flat, halves = save(room_window, tmp_path / "without.pdf", "nl")
    assert halves == {}
    whole = " ".join(flat)
    assert "Uw kansen per behandeling" not in whole and "van de 100" not in whole
    assert "Uw zorg in één bundel" in whole  # the bundle handout itself is there


def test_no_heading_of_the_personal_page_is_left_alone_and_the_icon_arrays_are_drawn(qtbot, shown):
    explanation = shown.steps[2]
    printer = handout_pdf.pdf_printer("/dev/null")
    printer.setPageSize(QPageSize(QPageSize.PageSizeId.A4))
    for language in ("nl", "en"):
        shown.consultation.explanation_language = language
        html = explanation.html(printed=True)
        document = handout_pdf.handout_document(html, QFont(), printer)
        headings = handout_pdf.heading_pages(document)
        assert [heading for heading in headings if heading[2] > heading[1]] == []
        title = messages.text("core.chances.title", language)
        [(_, page, _)] = [heading for heading in headings if heading[0] == title]
        assert page > 0 and page == document.pageCount() - 1  # the last page, of its own
        counts = [int(count) for count in re.findall(r"src='icon-array:[a-z]+:([0-9]+)'", html)]
        assert [(count, count) for count in counts] == [(count, drawn) for _, count, drawn in icon_arrays(document)]
        assert len(counts) == 2


def icon_arrays(document):
    """Each icon array drawn in the document: its option, its count, and how many figures it fills."""
    found = []
    block = document.begin()
    while block.isValid():
        fragments = block.begin()
        while not fragments.atEnd():
            fragment = fragments.fragment()
            format = fragment.charFormat()
            if format.objectType() == handout_pdf.ICON_ARRAY:
                handler = document.documentLayout().handlerForObject(handout_pdf.ICON_ARRAY)
                image = QImage(400, 400, QImage.Format.Format_RGB32)
                image.fill(QColor("white"))
                painter = QPainter(image)
                handler.drawObject(painter, QRectF(0, 0, 400, 400), document, fragment.position(), format)
                painter.end()
                found.append((format.property(handout_pdf.OPTION), format.property(handout_pdf.COUNT),
                              coloured_figures(image)))
            fragments += 1
        block = block.next()
    return found


def coloured_figures(image: QImage) -> int:
    """How many of the 10 × 10 figures are filled: the middle of each one's body is not paper."""
    cell = image.width() / 10
    count = 0
    for index in range(100):
        row, column = divmod(index, 10)
        colour = image.pixelColor(int(column * cell + cell / 2), int(row * cell + cell * 0.72))
        count += colour.lightness() < 200
    return count


@pytest.fixture(scope="module")
def clinic_models(tmp_path_factory):
    """The shipped models as a clinic's own: the same files, their cards not marked synthetic."""
    import json

    import resources

    folder = tmp_path_factory.mktemp("models")
    for source in resources.path("models").iterdir():
        target = folder / source.name
        if source.name.endswith(".card.json"):
            card = json.loads(source.read_text(encoding="utf-8"))
            card["synthetic"] = False
            target.write_text(json.dumps(card), encoding="utf-8")
        else:
            shutil.copyfile(source, target)
    return load_models(folder)


def test_with_a_clinics_own_models_there_is_no_demonstration_warning(qtbot, room_window, clinic_models, tmp_path):
    from desktop.operations.handout import demonstration_models

    room_window._models_loaded(clinic_models)
    open_patient(room_window, "M18.1")  # thumb-base osteoarthritis: MHQ function, 0–100, higher is better
    room_window.go_to(3)
    view = room_window.steps[3].view
    qtbot.waitUntil(lambda: view.prediction is not None and not view.operations.pending(PREDICTION), timeout=10000)
    assert not view.banner.isVisible()
    flat, _ = save(room_window, tmp_path / "clinic.pdf", "nl")
    [personal] = [page for page in flat if page.startswith("Uw kansen per behandeling")]
    assert "demonstratiemodel" not in personal and "voorbeeldgetallen" not in personal
    assert "Pijn 0–10, lager is beter · Handfunctie 0–100, hoger is beter" in personal
    surgery = view.prediction.surgery.function.month12
    assert not view.influence.personal  # nothing entered: a general estimate on screen, and so on paper
    assert "Handfunctie na 12 maanden" in personal
    assert f"meestal {round(surgery.p10)} tot {round(surgery.p90)}" in personal and "van de 100" not in personal
    services = room_window.services
    version = room_window.consultation.decision_support["model_version"]
    assert demonstration_models(services, "CMC1_OA", version) is False
    assert demonstration_models(services, "CMC1_OA", "2020-01-01-another") is True  # not the models loaded now


def test_the_preview_on_screen_shows_the_personal_page_with_its_icon_arrays(qtbot, shown, tmp_path):
    explanation = shown.steps[2]
    shown.go_to(2)
    QApplication.processEvents()
    assert "Uw kansen per behandeling" in explanation.view.toPlainText()
    counts = [shown.steps[3].view.panels[option].icons.count for option in ("conservative", "surgery")]
    drawn = icon_arrays(explanation.view.document())
    assert drawn == [("conservative", counts[0], counts[0]), ("surgery", counts[1], counts[1])]
    assert explanation.view.find("Uw kansen per behandeling")  # scrolled into view, at the bottom
    cursor = explanation.view.textCursor()
    cursor.clearSelection()
    explanation.view.setTextCursor(cursor)
    bar = explanation.view.verticalScrollBar()
    bar.setValue(bar.value() + explanation.view.viewport().height() - 80)  # the title at the top
    assert screenshot(shown, tmp_path, "stap-3-persoonlijke-pagina").stat().st_size > 20_000


def test_a_saved_patients_handout_prints_what_the_inclusion_keeps(qtbot, shown, tmp_path):
    import json

    shown_support = shown.consultation.decision_support
    inclusion = save_in_window(shown)
    assert shown.consultation.registered, inclusion.result.text()
    (record,) = shown.services.registry.inclusions()
    kept = json.loads(record["decision_support"])
    shown.consultation.decision_support = None  # the page forgets; the saved inclusion does not
    flat, halves = save(shown, tmp_path / "saved.pdf", "nl")
    count = round(kept["predictions"]["surgery_pain_mcid_prob"] * 100)
    assert kept == shown_support and f"ongeveer {count} duidelijk minder pijn" in halves["surgery"]
    assert any(page.startswith("Uw kansen per behandeling") for page in flat)


def test_a_general_estimate_on_screen_is_a_general_estimate_on_paper(qtbot, room_window, models, tmp_path):
    """Minor answers only: the screen shows no personal numbers, nor may the paper."""
    view = predicted(qtbot, room_window, models, {"sex": "F", "work_status": "physical"})
    assert not view.influence.personal
    flat, _ = save(room_window, tmp_path / "general.pdf", "nl")
    [personal] = [page for page in flat if page.startswith("Uw kansen per behandeling")]
    assert "algemene schatting voor mensen met deze aandoening" in personal
    assert "van de 100" not in personal and "duidelijk minder pijn" not in personal
    pain = view.prediction.conservative.pain.month12
    assert f"Pijn na 12 maanden meestal {round(pain.p10)} tot {round(pain.p90)}" in personal
    assert "Weer aan het werk" not in personal  # no chances in so many of 100 until it is personal

    fill(view, {"nrs_pain_0": 6, "bctq_sss_0": 3.1, "bctq_fss_0": 2.8})
    qtbot.waitUntil(lambda: view.influence is not None and view.influence.personal
                    and not view.operations.pending(PREDICTION), timeout=10000)
    flat, _ = save(room_window, tmp_path / "personal.pdf", "nl")
    [personal] = [page for page in flat if page.startswith("Uw kansen per behandeling")]
    assert "algemene schatting" not in personal and "duidelijk minder pijn" in personal


def test_with_no_room_to_improve_the_paper_says_so_instead_of_0_of_100(qtbot, room_window, models, tmp_path):
    view = predicted(qtbot, room_window, models, {"nrs_pain_0": 1, "bctq_sss_0": 3.1, "bctq_fss_0": 2.8})
    assert view.influence.personal and not view.prediction.conservative.pain.improvement_possible
    flat, halves = save(room_window, tmp_path / "no-room.pdf", "nl")
    for option in ("conservative", "surgery"):
        assert "Pijn was bij de start al 1 op 0–10: een duidelijke verbetering is vanaf daar niet te meten" \
            in halves[option]
        assert "hadden er na 12 maanden ongeveer" not in halves[option]
    assert "Elk poppetje is 1 van 100" not in " ".join(flat)  # no icon arrays to explain
