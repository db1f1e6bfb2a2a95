"""Shared fixtures: every test runs with its own config, data and home folders."""

import gc
import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def pytest_configure(config):
    """The app's rule for the whole session: cyclic garbage is collected on the main (UI)
    thread only (desktop/ui/collector.py). Otherwise a server or worker thread of one test
    may collect a closed window of an earlier one and destroy its Qt objects off the UI
    thread: a segmentation fault that ends the whole run."""
    gc.disable()


@pytest.fixture(autouse=True)
def collect_garbage_on_the_main_thread():
    gc.disable()  # again: a test may have started and stopped the app's own collector
    yield
    gc.collect()


@pytest.fixture(autouse=True)
def isolated_environment(tmp_path_factory, monkeypatch):
    """Keep the machine's own config files and user folders out of the tests."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / ".local" / "state"))
    monkeypatch.setenv("BUNDELASSISTENT_SYSTEM_CONFIG", str(home / "no-system-config.toml"))
    # keyrings.alt's file backend, inside the test's own home: never the machine's keyring
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyrings.alt.file.PlaintextKeyring")
    for key in list(os.environ):
        if key.startswith("BUNDELASSISTENT_") and key != "BUNDELASSISTENT_SYSTEM_CONFIG":
            monkeypatch.delenv(key)
    return
