"""What the window tests of a consultation room share: a register with the shipped bundles (their
contract running past today) at location Utrecht, used by a shared workstation account."""

import datetime as dt

import pytest

from desktop import config
from desktop.operations.services import Services
from desktop.store.inclusions import Actor
from helpers import bundles_with_contract_end


@pytest.fixture
def room_services(tmp_path):
    bundles = bundles_with_contract_end(tmp_path / "bundles", dt.date.today() + dt.timedelta(days=365))
    settings = config.load(overrides={"data_dir": str(tmp_path / "data"), "bundles_dir": str(bundles),
                                      "location": "Utrecht"})
    services = Services(settings, Actor("werkplek-3", "SUO"))
    yield services
    services.close()


@pytest.fixture
def room_window(qtbot, room_services):
    """The window without model loading or background sync (tests that need them make their own)."""
    from desktop.ui.main_window import MainWindow

    window = MainWindow(room_services, load_models=False, background_sync=False)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    return window
