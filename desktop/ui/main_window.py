"""The consultation window: patient header, five steps, worklist and status bar.

The window owns one `Consultation` and re-evaluates it whenever a field changes; steps
render what the services return. Switching language rebuilds the pages from the same
consultation, so nothing typed is lost.
"""

from __future__ import annotations

import datetime as dt
import sys
from dataclasses import replace
from typing import TYPE_CHECKING

from PySide6.QtCore import QSize, QTimer
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QPushButton,
    QScrollArea,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from desktop.config import APP_NAME
from desktop.core.states import InsurerSource, ModelState, RecordState
from desktop.ui import i18n, theme
from desktop.ui.background import Operations
from desktop.ui.i18n import say, t
from desktop.ui.readable import ReadableLabel
from desktop.ui.state_words import MODEL_STATE_TEXT

if TYPE_CHECKING:  # the window appears before these are imported
    from desktop.operations.services import Services
    from desktop.ui.steps.base import Step
    from desktop.ui.sync_controller import SyncController

STEP_COUNT = 5  # Patiënt, Verzekering & bundel, Uitleg, Samen beslissen, Inclusie; then the worklist
INSURER_LOOKUP, INTAKE_LOOKUP, MODELS = "insurer lookup", "intake lookup", "models"


class MainWindow(QMainWindow):
    def __init__(self, services=None, consultation=None, load_models: bool = True, background_sync: bool = True):
        """Without services the window is only its frame; `attach` fills it after it is shown,
        so the window appears before the registry, bundles and steps are imported."""
        super().__init__()
        self._services: Services | None = None
        self.load_models = load_models
        self.background_sync = background_sync
        self._sync: SyncController | None = None
        self.model_state, self.model_detail = ModelState.LOADING, ""
        self.operations = Operations(self)
        self.pending_launch: dict | None = None  # an EHR launch waiting while unsaved input is on screen
        self.setWindowTitle(APP_NAME)
        self.resize(fitting_size(self.screen().availableGeometry().size()))
        self.sync_label = ReadableLabel()
        self.model_label = ReadableLabel()
        self._name_status_bar()
        self.statusBar().addWidget(self.sync_label, 1)
        self.statusBar().addPermanentWidget(self.model_label)
        for index in range(STEP_COUNT + 1):  # Ctrl+1 … Ctrl+6, made once: rebuilds keep them
            QShortcut(QKeySequence(f"Ctrl+{index + 1}"), self).activated.connect(lambda i=index: self.go_to(i))
        QShortcut(QKeySequence.StandardKey.Save, self).activated.connect(self.save)
        QShortcut(QKeySequence.StandardKey.Print, self).activated.connect(self.print_handout)
        self.steps: list[Step] = []
        starting = QLabel(t("frame.starting", app=APP_NAME))
        starting.setStyleSheet("qproperty-alignment: AlignCenter;")  # not Qt.AlignmentFlag: see _build
        self.setCentralWidget(starting)
        if services is not None:
            self.attach(services, consultation)

    def _name_status_bar(self) -> None:
        """The status bar outlives a change of language; its names follow it."""
        self.sync_label.setAccessibleName(t("frame.status_bar.sync"))
        self.model_label.setAccessibleName(t("frame.status_bar.models_name"))

    @property
    def services(self) -> Services:
        """The services the window was attached to; asked before `attach`, that is a bug."""
        if self._services is None:
            raise RuntimeError("the window has no services yet: attach() first")
        return self._services

    @property
    def sync(self) -> SyncController:
        if self._sync is None:
            raise RuntimeError("the window has no sync controller yet: attach() first")
        return self._sync

    def save(self) -> None:
        """Ctrl+S from any step registers the inclusion (the inclusion step shows the result)."""
        if self.steps:
            self.inclusion_step.save()

    def attach(self, services, consultation=None) -> None:
        """Open the window on its services: menus, steps, worklist; models load in the background."""
        from desktop.operations.consultation import Consultation
        from desktop.ui.sync_controller import SyncController

        self._services = services
        self.consultation = consultation or Consultation()
        i18n.set_language(services.settings.language)
        i18n.install_qt_translations(services.settings.language)
        self._name_status_bar()
        self._sync = SyncController(services, self, automatic=self.background_sync)
        self.sync.updated.connect(self._sync_updated)
        self._seen_summary = None
        self._looked_up: tuple[str, dt.date] | None = None  # the patient the insurer was last asked for
        self._intake_for: tuple | None = None  # the patient and date whose questionnaire is asked for or shown
        self._intake_answer = None  # what the lookup for that patient found (None: nothing yet)
        self._build_menu()
        self._build()
        if self.load_models:
            QTimer.singleShot(0, self._start_model_loading)
        QTimer.singleShot(0, self.sync.start)

    # -- construction -------------------------------------------------------------------
    def _build_menu(self) -> None:
        menu = self.menuBar()
        self.menu_file = menu.addMenu(t("window.menu.file"))
        self.new_action = QAction(t("window.menu.new_patient"), self.menu_file,
                                  shortcut=QKeySequence(QKeySequence.StandardKey.New))
        self.new_action.triggered.connect(self.new_patient)
        self.menu_file.addAction(self.new_action)
        close = QAction(t("window.close"), self.menu_file, shortcut=QKeySequence(QKeySequence.StandardKey.Quit))
        close.triggered.connect(self.close)
        self.menu_file.addAction(close)
        self.menu_sync = menu.addMenu(t("window.menu.sync"))
        self.sync_action = QAction(t("window.menu.sync_now"), self.menu_sync, shortcut=QKeySequence("F5"))
        self.sync_action.triggered.connect(lambda: self.sync.sync_now())
        self.menu_sync.addAction(self.sync_action)
        self.menu_language = menu.addMenu(t("window.menu.language"))
        for key, code in (("window.menu.language_nl", "nl"), ("window.menu.language_en", "en")):
            action = QAction(t(key), self.menu_language, checkable=True, checked=i18n.language() == code)
            action.triggered.connect(lambda _, c=code: self.set_language(c))
            self.menu_language.addAction(action)

    def _build(self) -> None:
        # Qt's namespace (~100 enums, 40 ms) and QListWidget's 15 enums: not before the window is shown
        from PySide6.QtCore import Qt
        from PySide6.QtWidgets import QListWidget

        from desktop.ui.banners import Banner
        from desktop.ui.steps.decision import DecisionStep
        from desktop.ui.steps.explanation import ExplanationStep
        from desktop.ui.steps.inclusion import InclusionStep
        from desktop.ui.steps.insurance import InsuranceStep
        from desktop.ui.steps.patient import PatientStep
        from desktop.ui.worklist import Worklist

        central = QWidget()
        outer = QVBoxLayout(central)
        self.header = ReadableLabel()
        self.header.setAccessibleName(t("window.header.name"))
        self.header.setTextFormat(Qt.TextFormat.RichText)
        self.header.setWordWrap(True)  # a long name or insurer wraps instead of widening the window
        self.header.setStyleSheet(theme.css(background=theme.HEADER, points=theme.BODY_PT,
                                            extra="padding: 8px; border-radius: 4px"))
        outer.addWidget(self.header)
        self.notice_banner = ReadableLabel()
        self.notice_banner.setAccessibleName(t("window.notice.name"))
        self.notice_banner.setWordWrap(True)
        self.notice_banner.setStyleSheet(theme.css(theme.NOTICE_TEXT, theme.NOTICE,
                                                   extra="padding: 8px; border-radius: 4px"))
        self._render_notices()
        outer.addWidget(self.notice_banner)
        self.problems_banner = Banner(t("window.problems.name"), theme.ALERT_TEXT, theme.ALERT)
        self.problems_banner.add_button(t("window.problems.open"), self.show_problems)
        outer.addWidget(self.problems_banner)
        self.launch_banner = Banner(t("window.launch.name"), theme.NOTICE_TEXT, theme.NOTICE)
        self.launch_banner.add_button(t("window.launch.open"), self.accept_launch)
        self.stay_button = self.launch_banner.add_button(t("window.launch.stay"), self.refuse_launch)
        outer.addWidget(self.launch_banner)
        self.lock_banner = Banner(t("window.locked.name"), theme.GOOD, theme.SAVED)
        self.lock_banner.add_button(t("window.locked.new_patient"), self.new_patient)
        outer.addWidget(self.lock_banner)

        body = QHBoxLayout()
        self.step_list = QListWidget()
        self.step_list.setAccessibleName(t("window.steps.name"))
        self.step_list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.step_list.setStyleSheet(f"QListWidget {{ font-size: {theme.BODY_PT}pt; }} "
                                     "QListWidget::item { padding: 8px; }")
        self.pages = QStackedWidget()
        services, consultation = self.services, self.consultation
        self.insurance_step = InsuranceStep(services, consultation)
        self.explanation_step = ExplanationStep(services, consultation)
        self.decision_step = DecisionStep(services, consultation)
        self.inclusion_step = InclusionStep(services, consultation)
        self.steps = [PatientStep(services, consultation), self.insurance_step, self.explanation_step,
                      self.decision_step, self.inclusion_step]
        for number, step in enumerate(self.steps, 1):
            step.changed.connect(self.reevaluate)
            self.pages.addWidget(scrolling(step))
            self.step_list.addItem(t("window.steps.numbered", number=number, title=t(step.title)))
        self.worklist = Worklist(self.services)
        self.worklist.changed.connect(self._worklist_changed)
        self.pages.addWidget(self.worklist)
        self.step_list.addItem(t("window.steps.numbered", number=STEP_COUNT + 1, title=t("window.steps.worklist")))
        self.step_list.setFixedWidth(self.step_list.sizeHintForColumn(0) + 2 * self.step_list.frameWidth() + 4)
        self.step_list.currentRowChanged.connect(self.pages.setCurrentIndex)
        self.step_list.setCurrentRow(0)
        body.addWidget(self.step_list)
        body.addWidget(self.pages, 1)
        outer.addLayout(body, 1)

        nav = QHBoxLayout()
        self.previous_button = QPushButton(t("window.previous"))
        self.previous_button.setShortcut(QKeySequence("Ctrl+PgUp"))
        self.previous_button.clicked.connect(lambda: self.go_to(self.pages.currentIndex() - 1))
        self.next_button = QPushButton(t("window.next"))
        self.next_button.setShortcut(QKeySequence("Ctrl+PgDown"))
        self.next_button.clicked.connect(lambda: self.go_to(self.pages.currentIndex() + 1))
        nav.addStretch()
        nav.addWidget(self.previous_button)
        nav.addWidget(self.next_button)
        outer.addLayout(nav)
        self.setCentralWidget(central)

        self.insurance_step.bundle.currentIndexChanged.connect(lambda _: self.insurance_step.bundle_changed())
        self.insurance_step.lookup_requested.connect(lambda: self.look_up_insurer(force=True))
        self.inclusion_step.saved.connect(self._saved)
        self.reevaluate()

    # -- behaviour ----------------------------------------------------------------------
    def go_to(self, index: int) -> None:
        index = max(0, min(index, self.pages.count() - 1))
        self.step_list.setCurrentRow(index)
        page = self.pages.widget(index)
        step = self.steps[index] if index < len(self.steps) else None
        focus = (step.focus_target() if step is not None else self.worklist.search) or (
            page.nextInFocusChain() if page is not None else None)
        if focus:
            focus.setFocus()  # the reason Qt gives by default: OtherFocusReason

    def print_handout(self) -> None:
        """Ctrl+P from any step: show the handout being printed (or why there is none), then print."""
        if self.steps:
            self.go_to(2)
            self.explanation_step.print_dialog()

    def reevaluate(self) -> None:
        decision, problems = self.consultation.evaluate(self.services)
        self.decision = decision
        for step in self.steps:
            step.refresh(decision, problems)
        registered = self.consultation.registered
        state = self.services.registry.state_of(registered["id"]) if registered else None
        self._apply_lock(state)
        self._render_header(decision, state)
        self._render_status()
        self.look_up_insurer()
        self.look_up_intake()

    def _apply_lock(self, state: RecordState | None) -> None:
        """Once saved, the consultation is what was saved: every step read-only, and a way on.
        `state` is the saved record's state now (None: nothing saved)."""
        registered = self.consultation.registered
        for step in self.steps:
            step.set_locked(bool(registered))
        refused = state in (RecordState.REJECTED, RecordState.DUPLICATE)
        self.lock_banner.say(None if not registered else t("window.locked.refused") if refused else
                             t("window.locked.text", end=dt.date.fromisoformat(registered["end_date"])))

    def show_problems(self) -> None:
        """To the worklist, showing the inclusions the server refused."""
        self.go_to(self.pages.count() - 1)
        self.worklist.show_filter("problems")

    def look_up_insurer(self, force: bool = False) -> None:
        """Once per patient (or on request): fill the insurer from the server or the cache.

        The server answers only for BSN and birth date together, so both must be valid.
        """
        c = self.consultation
        patient = (c.valid_bsn(), c.valid_birth_date())
        if patient != self._looked_up:
            self.operations.cancel(INSURER_LOOKUP)  # an answer on its way is about another patient
            self._looked_up = None
        bsn, birth_date = patient
        if not bsn or not birth_date or (not force and (patient == self._looked_up or c.insurer_uzovi)):
            return
        self._looked_up = (bsn, birth_date)
        self.insurance_step.show_lookup(t("window.lookup.busy"))
        services, on = self.services, c.lookup_date()  # plain values for the worker thread
        self.operations.run(INSURER_LOOKUP, lambda: services.on_own_connection(
                                lambda own: own.lookup_insurer(bsn, birth_date, on)),
                            success=self._insurer_found, failure=self._insurer_lookup_failed)

    def _insurer_lookup_failed(self, error: Exception) -> None:
        """Database or keyring trouble: the user picks the insurer from the card."""
        from desktop.core.messages import Plain
        from desktop.operations.services import InsurerLookup

        self._insurer_found(InsurerLookup(None, None, None, None,
                                          Plain(t("window.lookup.failed", error=type(error).__name__))))

    def _insurer_found(self, result) -> None:
        c = self.consultation
        if result.uzovi and (not c.insurer_uzovi or InsurerSource(c.insurer_source).looked_up):
            self.insurance_step.uzovi.setText(result.uzovi)
            c.insurer_uzovi, c.insurer_source, c.insurer_checked_at = result.uzovi, result.source, result.checked_at
        self.insurance_step.show_lookup(say(result.message))
        self.reevaluate()

    def look_up_intake(self) -> None:
        """Once per patient and consultation date: the patient's intake questionnaire from the
        server or the cache, for Samen beslissen (in the background; typing goes on).

        A questionnaire belongs to one patient: when BSN, birth date or date change, what was
        filled in from it goes at once and an answer still on its way is never shown.
        """
        c = self.consultation
        patient = (c.valid_bsn(), c.valid_birth_date(), c.lookup_date())
        if patient != self._intake_for:
            self.operations.cancel(INTAKE_LOOKUP)  # an answer on its way is about another patient
            self._intake_for = patient
            if c.questionnaire or c.questionnaire_completed_at:
                c.questionnaire, c.questionnaire_completed_at = {}, None
                self.decision_step.view.questionnaire_changed()
            self._intake_answer = None
            bsn, birth_date, on = patient
            if bsn and birth_date:
                services = self.services  # plain values for the worker thread
                self.operations.run(INTAKE_LOOKUP, lambda: services.on_own_connection(
                                        lambda own: own.lookup_intake(bsn, birth_date, on)),
                                    success=lambda found: self._intake_found(patient, found),
                                    failure=lambda error: self._intake_found(patient, error))
        self._show_intake_status()

    def _intake_found(self, patient: tuple, result) -> None:
        """The lookup's answer (an `IntakeLookup`, or the exception of a lookup that failed).
        Another patient's answers left the form when the patient changed; the background
        operation delivers only the newest answer, checked against the patient once more."""
        if patient != self._intake_for:
            return
        if not isinstance(result, Exception) and result.values:  # none found: the form stays as it is
            c = self.consultation
            c.questionnaire, c.questionnaire_completed_at = dict(result.values), result.as_dict()["completed_at"]
            self.decision_step.view.questionnaire_changed()
        self._intake_answer = result
        self._show_intake_status()

    def _show_intake_status(self) -> None:
        """The quiet line on Samen beslissen, in the window's language (also after a switch)."""
        from desktop.ui.decision.provenance import lookup_status

        bsn, birth_date, _ = self._intake_for or (None, None, None)
        self.decision_step.view.show_intake_status(*lookup_status(self._intake_answer) if bsn and birth_date
                                                   else ("", ""))

    def _render_header(self, decision, state: RecordState | None) -> None:
        from html import escape  # with its entity table: not before the window is shown

        from desktop.core.identifiers import insurer_name
        from desktop.ui.steps.base import status_label

        c = self.consultation
        age = c.age()
        status, colour = status_label(decision, c)
        if state in (RecordState.REJECTED, RecordState.DUPLICATE):  # saved here, refused by the server
            status = t("window.locked.rejected" if state is RecordState.REJECTED else "window.locked.duplicate")
            colour = theme.WRONG
        parts = [
            f"<b>{t('window.header.patient')}:</b> {escape(c.name) or '—'}",
            f"<b>{t('window.header.bsn')}</b> {c.masked_bsn() or '—'}",
            t("window.header.age", age=age) if age is not None else "—",
            f"<b>{t('window.header.insurer')}:</b> "
            f"{say(insurer_name(c.insurer_uzovi)) if c.insurer_uzovi else t('window.unknown')}",
            f"<b>{t('window.header.bundle')}:</b> <span style='color:{colour}'><b>{status}</b></span>",
        ]
        self.header.setText(" &nbsp;·&nbsp; ".join(parts))

    def _render_notices(self) -> None:
        """A contract that ends soon (or has ended) is shown to everyone, so IT hears of it in
        time: in the window's language and in words for the consultation room; which file
        and key IT must update are in the self-test and `validate-bundles`."""
        notices = [contract_end_text(end) for end in self.services.contract_ends()]
        notices += [t("window.notice.attention", notice=say(notice)) for notice in self.services.settings.notices]
        self.notice_banner.setText("\n".join(notices))
        self.notice_banner.setVisible(bool(notices))

    def _render_status(self) -> None:
        text, colour = self.sync.text(self.services.registry.pending_count())
        problems = self.services.registry.problem_count()
        if problems:  # "online, 0 to send" is not the whole truth when the server refused some
            text, colour = t("window.problems.status", count=problems, status=text), theme.WRONG
        self.sync_label.setText(text)
        self.sync_label.setStyleSheet(f"color: {colour};")
        self.problems_banner.say(t("window.problems.one") if problems == 1 else
                                 t("window.problems.many", count=problems) if problems else None)
        self.model_label.setText(t("window.status_bar.models", state=t(MODEL_STATE_TEXT[self.model_state])))

    def _sync_updated(self) -> None:
        """After a sync the worklist shows the server's answers and other rooms' episodes count."""
        if self.sync.last_summary is not self._seen_summary:
            self._seen_summary = self.sync.last_summary
            self.worklist.refresh()
            self.reevaluate()
        else:
            self._render_status()

    def _worklist_changed(self) -> None:
        """A withdrawal in the worklist may concern the inclusion saved in this consultation."""
        registered = self.consultation.registered
        if registered and self.services.registry.state_of(registered["id"]) == RecordState.WITHDRAWN:
            self.consultation.registered = None
        self.reevaluate()

    def _saved(self, record: dict) -> None:
        self.worklist.refresh()
        self.reevaluate()

    def _start_model_loading(self) -> None:
        self.operations.run(MODELS, self.services.load_models, success=self._models_loaded,
                            failure=self._models_failed, progress=self._set_model_state)

    def _models_loaded(self, models) -> None:
        self.services.models = models
        self._set_model_state(ModelState.READY)

    def _models_failed(self, error: Exception) -> None:
        """A broken installation must not take the window down: the step says why. A model
        file problem is worded by predictors; anything else is named by its type. (Looked up
        in sys.modules: the UI thread never imports the model libraries itself.)"""
        api = sys.modules.get("predictors.api")
        worded = api is not None and isinstance(error, api.ModelFileError)
        self.services.models = None
        self._set_model_state(ModelState.UNAVAILABLE, str(error) if worded else f"{type(error).__name__}: {error}")

    def _set_model_state(self, state: ModelState, detail: str = "") -> None:
        self.model_state, self.model_detail = state, detail
        self.decision_step.set_model_state(state, detail)
        self._render_status()

    def closeEvent(self, event) -> None:
        """A closed window stops syncing: its registry is closed next, and nothing may use it then."""
        if self._sync is not None:
            self._sync.stop()
        super().closeEvent(event)

    def open_patient(self, bsn: str = "", birth_date: str = "", patient_id: str = "", name: str = "") -> None:
        """Start a consultation for a patient handed over by the EHR or a second launch.

        Over unsaved input for another patient it asks first (in the window, not a dialog):
        the input of the patient in the room is never replaced unseen."""
        launch = {"bsn": bsn, "birth_date": birth_date, "patient_id": patient_id, "name": name}
        if bsn and bsn == self.consultation.bsn:  # the same patient again: keep what is on screen
            self.raise_()
            self.activateWindow()
            return
        if self.consultation.has_unsaved_input():
            from desktop.core.identifiers import mask_bsn

            self.pending_launch = launch
            shown = name or mask_bsn(bsn) or t("window.launch.no_patient")
            self.launch_banner.say(t("window.launch.text", patient=shown,
                                     current=self.consultation.name or self.consultation.masked_bsn() or "—"))
            self.stay_button.setFocus()
            self.raise_()
            self.activateWindow()
            return
        self._open(**launch)

    def accept_launch(self) -> None:
        launch, self.pending_launch = self.pending_launch, None
        if launch is not None:
            self._open(**launch)

    def refuse_launch(self) -> None:
        self.pending_launch = None
        self.launch_banner.say(None)

    def _open(self, bsn: str, birth_date: str, patient_id: str, name: str) -> None:
        self.pending_launch = None
        self.consultation = type(self.consultation)(bsn=bsn, birth_date=birth_date, patient_id=patient_id,
                                                    name=name, bundle=self.consultation.bundle)
        self.services.audit_patient_opened(bsn, patient_id)
        self._looked_up = self._intake_for = None
        self._rebuild(start_step=1 if bsn and birth_date else 0)
        self.raise_()
        self.activateWindow()

    def new_patient(self) -> None:
        self.consultation = type(self.consultation)(bundle=self.consultation.bundle)
        self._intake_for = None
        self._rebuild(start_step=0)

    def set_language(self, code: str) -> None:
        self.services.settings = replace(self.services.settings, language=code)
        i18n.set_language(code)
        i18n.install_qt_translations(code)
        self._name_status_bar()
        for old in (self.menu_file, self.menu_sync, self.menu_language):  # with their actions, in the old language
            old.deleteLater()
        self.menuBar().clear()
        self._build_menu()
        self._rebuild(start_step=self.pages.currentIndex())

    def showEvent(self, event) -> None:
        """Once the window manager has put its frame around the window, keep frame and all on the screen."""
        super().showEvent(event)
        QTimer.singleShot(0, self._keep_on_screen)

    def _keep_on_screen(self) -> None:
        available, frame = self.screen().availableGeometry(), self.frameGeometry()
        border = frame.size() - self.geometry().size()
        if frame.width() > available.width() or frame.height() > available.height():
            self.resize(self.size().boundedTo(available.size() - border))
        frame = self.frameGeometry()
        self.move(max(available.left(), min(frame.left(), available.right() - frame.width() + 1)),
                  max(available.top(), min(frame.top(), available.bottom() - frame.height() + 1)))

    def _rebuild(self, start_step: int) -> None:
        self._build()
        self.decision_step.set_model_state(self.model_state, self.model_detail)
        self.go_to(start_step)


PREFERRED_SIZE = QSize(1200, 780)
FRAME_ALLOWANCE = QSize(16, 40)  # a title bar and borders, before the window manager tells the real ones


def fitting_size(available: QSize) -> QSize:
    """The window's first size: the preferred one, or as much of the screen as there is."""
    return PREFERRED_SIZE.boundedTo(available - FRAME_ALLOWANCE)


def scrolling(page: QWidget) -> QScrollArea:
    """A step in a scroll area, so a short screen scrolls the step instead of pushing the window off it."""
    from PySide6.QtCore import Qt  # see MainWindow._build

    area = QScrollArea()
    area.setWidgetResizable(True)
    area.setFrameShape(QScrollArea.Shape.NoFrame)
    area.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # not a Tab stop of its own: Tab goes from field to field
    area.setWidget(page)
    return area


def contract_end_text(end) -> str:
    """A contract end (desktop.core.bundles.ContractEnd) for the people in the room."""
    values = {"insurer": end.contract.insurer or t("window.notice.the_insurer"), "bundle": end.bundle.name,
              "date": end.contract.end, "days": end.days_left}
    if end.ended:
        return t("window.notice.contract_ended", **values)
    if end.days_left == 0:
        return t("window.notice.contract_ends_today", **values)
    return t("window.notice.contract_ends", **values)
