"""Settings declared once: the tables parse typed values, refuse bad ones in Dutch naming the
setting, and the documentation is exactly what the declarations make."""

from __future__ import annotations

import dataclasses
import importlib.machinery
import importlib.util
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from desktop import config
from desktop.core.settings import Kind, Setting, SettingError

ROOT = Path(__file__).resolve().parents[2]


def _tables_script():
    loader = importlib.machinery.SourceFileLoader("settings_tables", str(ROOT / "scripts" / "settings-tables"))
    spec = importlib.util.spec_from_loader("settings_tables", loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


@pytest.mark.parametrize("document", ["README.md", "docs/IT.md"])
def test_the_documented_settings_tables_are_what_the_declarations_make(document):
    text = (ROOT / document).read_text(encoding="utf-8")
    assert "<!-- device-settings -->" in text and "<!-- server-settings -->" in text
    assert _tables_script().rewritten(text) == text, "run scripts/settings-tables and commit the result"


def test_every_device_setting_is_a_field_and_every_field_a_setting():
    # [clinic] and [[staff]] are tables of the system-wide file, with their own parser and docs (test_clinic.py)
    fields = {field.name for field in dataclasses.fields(config.Settings)} - {"notices", "clinic", "staff"}
    assert fields == {setting.name for setting in config.SETTINGS}
    for setting in config.SETTINGS:
        assert f"`{setting.name}`" in config.documentation_table()


def load(tmp_path, toml: str = "", **environ):
    system = tmp_path / "system.toml"
    system.write_text(toml, encoding="utf-8")
    return config.load(environ={"BUNDELASSISTENT_SYSTEM_CONFIG": str(system), **environ},
                       config_file=_empty_user_file(tmp_path))


def _empty_user_file(tmp_path):
    path = tmp_path / "user.toml"
    path.write_text("", encoding="utf-8")
    return path


def test_values_are_typed_and_the_same_from_a_file_and_from_the_environment(tmp_path):
    from_file = load(tmp_path, 'data_dir = "~/register"\nlog_level = "info"\nlanguage = "EN"\n'
                                'server_url = "https://bundels.example"\nca_bundle = "/etc/ca.pem"\n')
    from_env = load(tmp_path, BUNDELASSISTENT_DATA_DIR="~/register", BUNDELASSISTENT_LOG_LEVEL="info",
                    BUNDELASSISTENT_LANGUAGE="EN", BUNDELASSISTENT_SERVER_URL="https://bundels.example",
                    BUNDELASSISTENT_CA_BUNDLE="/etc/ca.pem")
    for settings in (from_file, from_env):
        assert settings.data_dir == Path.home() / "register"
        assert (settings.log_level, settings.language) == ("INFO", "en")
        assert settings.ca_bundle == Path("/etc/ca.pem") and settings.server_url == "https://bundels.example"


@pytest.mark.parametrize("toml, words", [
    ('language = "de"\n', ["'language'", "nl, en", "'de'"]),
    ('log_level = "loud"\n', ["'log_level'", "DEBUG, INFO, WARNING, ERROR"]),
    ("location = 5\n", ["'location'", "tekst", "aanhalingstekens"]),
    ('server_url = "bundels.example"\n', ["'server_url'", "https://", "bijvoorbeeld"]),
    ('proxy = "ftp://proxy:21"\n', ["'proxy'", "http://"]),
    ('server_url = "https://host:poort"\n', ["'server_url'", "geen geldig adres"]),
    ("data_dir = 3\n", ["'data_dir'", "pad"]),
    ('kleur = "rood"\n', ["onbekende instelling 'kleur'", "server_url", "spelling"]),
])
def test_a_bad_value_is_refused_naming_the_file_the_setting_and_the_fix(tmp_path, toml, words):
    with pytest.raises(config.ConfigError) as refused:
        load(tmp_path, toml)
    message = str(refused.value)
    assert message.startswith(str(tmp_path / "system.toml") + ": ")
    assert all(word in message for word in words), message


def test_a_clinic_agb_left_in_a_device_file_is_ignored_with_a_notice_not_refused(tmp_path):
    settings = load(tmp_path, 'clinic_agb = "01234567"\nlocation = "Utrecht"\n')
    assert settings.location == "Utrecht" and not hasattr(settings, "clinic_agb")
    assert len(settings.notices) == 1 and "'clinic_agb' wordt genegeerd" in settings.notices[0].get("nl")
    assert "server" in settings.notices[0].get("nl")
    assert "'clinic_agb' is ignored" in settings.notices[0].get("en")  # the window may be English


def test_a_bad_device_value_in_the_environment_is_a_dutch_error_with_exit_2(tmp_path):
    import os
    import subprocess

    from helpers import CLI

    result = subprocess.run([*CLI, "--data-dir", str(tmp_path / "data"), "inclusions"], capture_output=True,
                            text=True, timeout=60, env=dict(os.environ, BUNDELASSISTENT_LANGUAGE="de"))
    assert result.returncode == 2 and result.stderr.startswith("fout: omgeving: instelling 'language' ")
    assert "Traceback" not in result.stderr


WHOLE = Setting("n", Kind.WHOLE, 1, "", minimum=1, maximum=1000)
SECONDS = Setting("s", Kind.NUMBER, 1.0, "", minimum=0)
SWITCH = Setting("b", Kind.BOOL, False, "")


@given(st.integers(min_value=-10_000, max_value=10_000))
def test_a_whole_number_reads_the_same_as_toml_number_or_as_text(number):
    if 1 <= number <= 1000:
        assert WHOLE.parse(number) == WHOLE.parse(f" {number} ") == number
    else:
        for raw in (number, str(number)):
            with pytest.raises(SettingError, match="van 1 tot 1000"):
                WHOLE.parse(raw)


@given(st.one_of(st.text(max_size=20), st.floats(allow_nan=True), st.booleans(), st.none(),
                 st.lists(st.integers(), max_size=2)))
@example("~0")  # a home folder of an unknown user: expanduser raises RuntimeError
def test_any_raw_value_parses_or_is_a_setting_error_never_something_else(raw):
    for setting in (WHOLE, SECONDS, SWITCH, *config.SETTINGS):
        try:
            setting.parse(raw)
        except SettingError as error:
            assert str(error).startswith("moet ") or str(error).startswith("is geen")


def test_seconds_must_be_above_zero_and_on_off_takes_dutch_and_english_words():
    assert SECONDS.parse("2.5") == 2.5 and SECONDS.parse(3) == 3.0
    for raw in ("0", 0, "-1", "nan", "inf"):
        with pytest.raises(SettingError):
            SECONDS.parse(raw)
    words = ("ja", "1", True, "on", "nee", "0", False, "Uit")
    assert [SWITCH.parse(word) for word in words] == [True] * 4 + [False] * 4
    with pytest.raises(SettingError, match="aan of uit"):
        SWITCH.parse("misschien")
    with pytest.raises(SettingError):
        WHOLE.parse(2.0)  # a TOML float is not a whole number
