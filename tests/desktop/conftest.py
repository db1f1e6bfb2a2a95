"""Fixtures of the device tests."""

import pytest

from desktop import config
from desktop.operations.services import Services
from desktop.store.inclusions import Actor


@pytest.fixture
def services(tmp_path):
    """The device's operations on a fresh data folder, for a support assistant (suo)."""
    settings = config.load(overrides={"data_dir": str(tmp_path / "data")})
    services = Services(settings, Actor("a.suo", "suo"))
    yield services
    services.close()
