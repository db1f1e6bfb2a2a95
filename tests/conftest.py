"""Shared fixtures: every test runs with its own config, data and home folders."""

import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


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
    yield
