"""The main window: for now an overview of what the services hold.

The consultation flow (patient, insurance and bundle, explanation, shared decision,
inclusion) is built on top of this window; here it shows the loaded bundle definitions
(and which files were refused), the local registry and the settings in use.
"""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QHeaderView,
    QLabel,
    QMainWindow,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from desktop.bundles import default_bundles_dir
from desktop.config import APP_NAME
from desktop.services import Services


def _table(headers: list[str], rows: list[list[str]], name: str) -> QTableWidget:
    table = QTableWidget(len(rows), len(headers))
    table.setHorizontalHeaderLabels(headers)
    table.setAccessibleName(name)
    table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
    table.verticalHeader().setVisible(False)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    table.horizontalHeader().setStretchLastSection(True)
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            table.setItem(r, c, QTableWidgetItem(value))
    return table


class MainWindow(QMainWindow):
    def __init__(self, services: Services):
        super().__init__()
        self.services = services
        self.setWindowTitle(APP_NAME)
        self.resize(1100, 720)

        central = QWidget()
        layout = QVBoxLayout(central)
        self.summary = QLabel()
        self.summary.setAccessibleName("Samenvatting")
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        layout.addWidget(self.summary)
        self.tabs = QTabWidget()
        self.tabs.setAccessibleName("Overzicht")
        layout.addWidget(self.tabs, 1)
        self.setCentralWidget(central)
        self.refresh()

    def refresh(self) -> None:
        report = self.services.bundles
        registry = self.services.registry
        today = dt.date.today().isoformat()
        included_today = len(registry.inclusions("inclusion_date = ?", [today]))
        active = ", ".join(b.name.nl for b in report.active()) or "geen"
        self.summary.setText(
            f"<h2>{APP_NAME}</h2>"
            f"<p>Actieve bundel: <b>{active}</b> · vandaag ingesloten: <b>{included_today}</b> · "
            f"nog te verzenden: <b>{registry.pending_count()}</b></p>")
        self.tabs.clear()
        rows = [[b.id, b.name.nl, b.version, "actief" if b.active else "inactief (voorbeeld)",
                 ", ".join(c.label.nl for c in b.conditions)] for b in sorted(report.bundles.values(), key=lambda b: (not b.active, b.id))]
        rows += [[path.stem, "", "", "ONGELDIG", "; ".join(problems)] for path, problems in report.errors.items()]
        self.tabs.addTab(_table(["Id", "Naam", "Versie", "Status", "Aandoeningen / problemen"], rows, "Bundels"), "Bundels")
        inclusions = [[r["inclusion_date"], r["bundle"], r["condition"], r["state"], r["end_date"]]
                      for r in reversed(registry.inclusions())]
        self.tabs.addTab(_table(["Inclusiedatum", "Bundel", "Aandoening", "Status", "Einddatum"], inclusions,
                                "Inclusies"), "Inclusies")
        settings = self.services.settings
        info = [["Gegevensmap", str(settings.data_dir)], ["Bundelmap", str(settings.bundles_dir or default_bundles_dir())],
                ["Database", str(registry.path)], ["Apparaat", registry.device_id]]
        self.tabs.addTab(_table(["Instelling", "Waarde"], info, "Instellingen"), "Instellingen")
