"""The server's settings, declared once in `SETTINGS`: each is a TOML key, an environment
variable and an option, read the same way from all three, in one order of precedence, and
handed to worker processes without loss."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from sync.server import config
from sync.server.cli import build_parser
from sync.server.config import SETTINGS, ConfigError, Settings

URL = "sqlite:///settings-test.sqlite3"
# one good, non-default value per setting, as a TOML value and as text (environment / option)
CHOSEN = {
    "clinic_agb": ('"01234567"', "01234567", "01234567"),
    "clinic_name": ('"Handkliniek Midden"', "Handkliniek Midden", "Handkliniek Midden"),
    "key_file": ('"/srv/kek.key"', "/srv/kek.key", Path("/srv/kek.key")),
    "same_location_revisions": ("true", "ja", True),
    "header_timeout": ("2.5", "2.5", 2.5),
    "body_timeout": ("12", "12", 12.0),
    "keep_alive_timeout": ("1.5", "1.5", 1.5),
    "limit_concurrency": ("50", "50", 50),
    "large_body_slots": ("2", "2", 2),
    "lookup_rate": ("30", "30", 30),
    "lookup_burst": ("5", "5", 5),
    "enroll_rate": ("3", "3", 3),
    "enroll_burst": ("4", "4", 4),
}


@pytest.fixture
def clean_environment(monkeypatch):
    for setting in SETTINGS:
        monkeypatch.delenv(config.environment_variable(setting.name), raising=False)
    monkeypatch.delenv(config.CONFIG_ENV, raising=False)
    return monkeypatch


def test_every_declared_setting_is_a_field_and_has_a_test_value():
    fields = {field.name for field in dataclasses.fields(Settings)}
    assert {setting.name for setting in SETTINGS} <= fields
    assert set(CHOSEN) == {setting.name for setting in SETTINGS}


@pytest.mark.parametrize("name", list(CHOSEN))
def test_a_setting_reads_the_same_from_the_file_the_environment_and_the_option(name, tmp_path, clean_environment):
    toml, text, expected = CHOSEN[name]
    default = getattr(Settings.from_url(URL), name)
    assert default != expected
    path = tmp_path / "server.toml"
    path.write_text(f"{name} = {toml}\n", encoding="utf-8")
    assert getattr(Settings.from_url(URL, path), name) == expected
    clean_environment.setenv(config.environment_variable(name), text)
    assert getattr(Settings.from_url(URL), name) == expected
    clean_environment.delenv(config.environment_variable(name))
    args = build_parser().parse_args(["serve", config.option(name)] + ([] if expected is True else [text]))
    assert getattr(Settings.from_url(URL, **{name: getattr(args, name)}), name) == expected


def test_the_option_beats_the_environment_which_beats_the_file(tmp_path, clean_environment):
    path = tmp_path / "server.toml"
    path.write_text("lookup_rate = 11\nlookup_burst = 12\nenroll_rate = 13\n", encoding="utf-8")
    clean_environment.setenv("BUNDELASSISTENT_SERVER_LOOKUP_BURST", "22")
    clean_environment.setenv("BUNDELASSISTENT_SERVER_ENROLL_RATE", "23")
    settings = Settings.from_url(URL, path, enroll_rate="33")
    assert (settings.lookup_rate, settings.lookup_burst, settings.enroll_rate) == (11, 22, 33)


def test_workers_get_every_setting_back_unchanged_through_the_environment(tmp_path, clean_environment):
    path = tmp_path / "server.toml"
    path.write_text("".join(f"{name} = {toml}\n" for name, (toml, _text, _value) in CHOSEN.items()), encoding="utf-8")
    chosen = Settings.from_url(URL, path)
    assert {name: getattr(chosen, name) for name in CHOSEN} == {name: value for name, (_t, _x, value) in CHOSEN.items()}
    again = config.read_environment(chosen.environment())
    assert again == {name: getattr(chosen, name) for name in CHOSEN}


@pytest.mark.parametrize("where, words", [
    ({"option": ("limit_concurrency", "0")}, ["--limit-concurrency (open verbindingen", "van 1 tot 1000000", "'0'"]),
    ({"env": ("BUNDELASSISTENT_SERVER_BODY_TIMEOUT", "lang")}, ["$BUNDELASSISTENT_SERVER_BODY_TIMEOUT", "getal"]),
    ({"env": ("BUNDELASSISTENT_SERVER_SAME_LOCATION_REVISIONS", "misschien")}, ["aan of uit"]),
    ({"file": "header_timeout = -1\n"}, ["header_timeout", "groter dan 0"]),
    ({"file": "lookup_rate = 2.5\n"}, ["lookup_rate", "geheel getal"]),
    ({"file": "lookup_rat = 5\n"}, ["onbekende instelling lookup_rat", "lookup_rate"]),
])
def test_a_bad_value_names_where_it_came_from_and_what_to_write(where, words, tmp_path, clean_environment):
    path = None
    if "env" in where:
        clean_environment.setenv(*where["env"])
    if "file" in where:
        path = tmp_path / "server.toml"
        path.write_text(where["file"], encoding="utf-8")
    overrides = dict([where["option"]]) if "option" in where else {}
    with pytest.raises(ConfigError) as refused:
        Settings.from_url(URL, path, **overrides)
    assert all(word in str(refused.value) for word in words), str(refused.value)


def test_a_worker_process_builds_its_settings_from_the_environment_alone(tmp_path, clean_environment):
    chosen = Settings.from_url(f"sqlite:///{tmp_path / 'w.sqlite3'}", lookup_rate="7", same_location_revisions=True)
    for variable, value in chosen.environment().items():
        clean_environment.setenv(variable, value)
    from sync.server.app import app_from_environment

    worker = Settings.from_environment()
    assert worker == chosen
    assert app_from_environment() is not None
