"""Start the Qt application: hand over to a running window, or show a new one first and
load what takes time (prediction models) in the background."""

from __future__ import annotations

import logging
import sys

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from desktop.config import APP_NAME, Settings
from desktop.core.messages import text


def run_window(settings: Settings, patient: dict | None = None, argv: list[str] | None = None,
               start_logging=None) -> int:
    existing = QApplication.instance()  # the tests' (pytest-qt), else none yet
    app = existing if isinstance(existing, QApplication) else QApplication(argv or sys.argv[:1])
    app.setApplicationName(APP_NAME)
    app.setApplicationDisplayName(APP_NAME)
    from desktop.ui.collector import UiThreadCollector

    collector = UiThreadCollector(app)

    from desktop.ui.single_instance import ChannelUnsafe, InstanceServer, hand_over

    try:
        if patient is not None and hand_over(patient):
            return 0
        instance = InstanceServer()
        if not instance.listen() and hand_over(patient or {}):
            return 0
    except ChannelUnsafe as error:  # someone else's socket or folder: neither send nor listen
        print(f"fout: {error}", file=sys.stderr)
        return 2

    from desktop.ui.main_window import MainWindow

    window = MainWindow()
    window.show()
    services = []

    def attach() -> None:
        if start_logging:
            start_logging()
        from desktop.operations.services import Services

        services.append(Services(settings))
        problem = storage_problem(services[0])
        if problem:
            stop_with_message(window, problem)
            return
        window.attach(services[0])
        instance.patient_received.connect(lambda context: window.open_patient(**context))
        if patient:
            window.open_patient(**patient)

    QTimer.singleShot(0, attach)
    try:
        return app.exec()
    finally:
        for service in services:
            service.close()
        collector.stop()


EXIT_STORAGE = 2


def storage_problem(services) -> str | None:
    """Open the register now, so a storage fault stops the app before anything is typed."""
    from desktop.operations import failures
    from desktop.operations.register_file import DATABASE_NAME

    language = services.settings.language
    try:
        services.registry  # noqa: B018 - opening the register is the check
    except failures.FAULTS as error:
        return failures.describe(error, services.settings.data_dir / DATABASE_NAME).text(language)
    return None


def stop_with_message(window, message: str) -> None:
    """The register cannot be used: say why and how to fix it, then quit (exit code 2)."""
    from PySide6.QtWidgets import QMessageBox

    logging.getLogger("bundelassistent").error("register niet bruikbaar: %s", message)
    print(f"fout: {message}", file=sys.stderr)
    box = QMessageBox(QMessageBox.Icon.Critical, APP_NAME, message[:1].upper() + message[1:] + ".",
                      QMessageBox.StandardButton.Close, window)
    box.setObjectName("storage-problem")
    box.finished.connect(lambda _: QApplication.exit(EXIT_STORAGE))
    box.open()


SELFTEST_LANGUAGE = "nl"  # the self-test reports to IT on the command line: Dutch, as the CLI


def check_window(settings: Settings) -> str:
    """Self-test: the Qt platform plugin loads and the main window renders."""
    import PySide6
    from PySide6.QtCore import QCoreApplication

    from desktop.operations.selftest import CheckFailed
    from desktop.ui.main_window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    if not isinstance(app, QApplication) or not QCoreApplication.instance():
        raise CheckFailed(text("window.selftest.no_application", SELFTEST_LANGUAGE))
    window = MainWindow()
    window.show()
    app.processEvents()
    image = window.grab().toImage()
    window.close()
    if image.isNull() or image.width() < 200:
        raise CheckFailed(text("window.selftest.not_drawn", SELFTEST_LANGUAGE, platform=app.platformName()))
    return text("window.selftest.drawn", SELFTEST_LANGUAGE, version=PySide6.__version__, platform=app.platformName(),
                width=image.width(), height=image.height())
