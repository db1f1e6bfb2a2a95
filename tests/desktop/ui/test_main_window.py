import shutil

import pytest

pytest.importorskip("PySide6")

from desktop import config  # noqa: E402
from desktop.bundles import default_bundles_dir  # noqa: E402
from desktop.cases import parse_inclusion  # noqa: E402
from desktop.registry import Actor  # noqa: E402
from desktop.services import Services  # noqa: E402
from desktop.ui.main_window import MainWindow  # noqa: E402
from helpers import inclusion, valid_bsns  # noqa: E402


@pytest.fixture
def services(tmp_path):
    bundles = tmp_path / "bundles"
    shutil.copytree(default_bundles_dir(), bundles)
    (bundles / "broken.toml").write_text("id = 'broken'\n", encoding="utf-8")
    settings = config.load(overrides={"data_dir": str(tmp_path / "data"), "bundles_dir": str(bundles)})
    services = Services(settings, Actor("test", "suo"))
    yield services
    services.close()


def cell_texts(table):
    return [[table.item(r, c).text() for c in range(table.columnCount())] for r in range(table.rowCount())]


def test_window_opens_on_the_services_and_shows_bundles_registry_and_refused_files(qtbot, services, tmp_path):
    bsn = valid_bsns(1)[0]
    services.register(parse_inclusion(inclusion(bsn), services.bundles))
    window = MainWindow(services)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    assert window.windowTitle() == "Bundelassistent"
    assert "Zorgbundel hand en pols" in window.summary.text()
    assert "nog te verzenden: <b>1</b>" in window.summary.text()

    bundles = cell_texts(window.tabs.widget(0))
    assert bundles[0][:4] == ["hand-wrist", "Zorgbundel hand en pols", "2024.1", "actief"]
    assert any(row[0] == "broken" and row[3] == "ONGELDIG" for row in bundles)
    inclusions = cell_texts(window.tabs.widget(1))
    assert inclusions == [["2025-03-14", "hand-wrist", "CTS", "registered", "2026-03-13"]]
    assert all(bsn not in text for row in inclusions for text in row)
    assert all(window.tabs.widget(i).accessibleName() for i in range(window.tabs.count()))
    window.grab().save(str(tmp_path / "main_window.png"))
    assert (tmp_path / "main_window.png").stat().st_size > 0
