"""Start the Qt application: show the window first, then load what takes time."""

from __future__ import annotations

import sys

from PySide6.QtWidgets import QApplication

from desktop.config import APP_NAME, Settings
from desktop.services import Services


def run_window(settings: Settings, argv: list[str] | None = None) -> int:
    from desktop.ui.main_window import MainWindow

    app = QApplication.instance() or QApplication(argv or sys.argv[:1])
    app.setApplicationName(APP_NAME)
    app.setApplicationDisplayName(APP_NAME)
    services = Services(settings)
    window = MainWindow(services)
    window.show()
    try:
        return app.exec()
    finally:
        services.close()
