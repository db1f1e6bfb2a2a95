"""`bundelassistent self-test`: a readable report for IT and a non-zero exit on any failure."""

import datetime as dt
import shutil
import subprocess

import resources
from helpers import CLI, bundles_with_contract_end


def self_test(*args, env=None):
    import os

    environment = dict(os.environ, **(env or {}))
    return subprocess.run([*CLI, "self-test", *map(str, args)], capture_output=True, text=True,
                          timeout=120, env=environment)


def lines_marked(output, mark):
    return [line for line in output.splitlines() if line.startswith(mark)]


def test_a_healthy_installation_passes_every_check_including_the_window(tmp_path):
    bundles = bundles_with_contract_end(tmp_path / "bundles", dt.date.today() + dt.timedelta(days=365))
    result = self_test("--data-dir", tmp_path / "data", "--bundles-dir", bundles)
    assert result.returncode == 0, result.stdout + result.stderr
    assert lines_marked(result.stdout, "FOUT") == []
    checked = {line.split(":")[0].split(None, 1)[1] for line in lines_marked(result.stdout, "OK")}
    assert {"Python-modules", "Bundeldefinities", "Datamap en database", "Versleuteling", "Sleutelbos",
            "Venster (Qt)"} <= checked
    assert "Alle controles geslaagd." in result.stdout


def test_a_broken_bundle_file_fails_the_check_and_names_the_file(tmp_path):
    bundles = tmp_path / "bundles"
    shutil.copytree(resources.path("bundles"), bundles)
    (bundles / "kapot.toml").write_text("id = \n", encoding="utf-8")
    result = self_test("--no-window", "--data-dir", tmp_path / "data", "--bundles-dir", bundles)
    assert result.returncode == 1
    [failure] = lines_marked(result.stdout, "FOUT")
    assert "Bundeldefinities" in failure and "kapot.toml" in failure
    assert "1 van" in result.stdout  # the other checks still ran


def test_a_corrupt_database_fails_the_data_check_without_a_traceback(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "bundelassistent.sqlite3").write_bytes(b"dit is geen database" * 100)
    result = self_test("--no-window", "--data-dir", data)
    assert result.returncode == 1
    [failure] = lines_marked(result.stdout, "FOUT  Datamap")
    assert "beschadigd" in failure and "back-up" in failure
    [encryption] = lines_marked(result.stdout, "FOUT  Versleuteling")
    assert "beschadigd" in encryption
    assert "Traceback" not in result.stdout + result.stderr


def test_a_missing_keyring_is_a_failure(tmp_path):
    result = self_test("--no-window", "--data-dir", tmp_path / "data",
                       env={"PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"})
    assert result.returncode == 1
    [_failure] = lines_marked(result.stdout, "FOUT  Sleutelbos")
    [register] = lines_marked(result.stdout, "FOUT  Datamap")
    assert "geen werkende sleutelbos" in register  # the register cannot be opened without its key
    assert lines_marked(result.stdout, "FOUT  Versleuteling")


def test_the_flag_form_runs_the_same_check(tmp_path):
    bundles = bundles_with_contract_end(tmp_path / "bundles", dt.date.today() + dt.timedelta(days=365))
    result = subprocess.run([*CLI, "--data-dir", str(tmp_path / "data"), "--bundles-dir", str(bundles),
                             "--self-test", "--no-window"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Alle controles geslaagd." in result.stdout


def test_a_changed_model_file_fails_the_model_check(tmp_path):
    models = tmp_path / "models"
    shutil.copytree(resources.path("models"), models)
    target = next(models.glob("*.model.json"))
    target.write_text(target.read_text(encoding="utf-8").replace("0.", "1.", 1), encoding="utf-8")
    config = tmp_path / "config.toml"
    config.write_text(f'models_dir = "{models}"\n', encoding="utf-8")
    result = self_test("--no-window", "--config", config, "--data-dir", tmp_path / "data")
    assert result.returncode == 1
    [failure] = lines_marked(result.stdout, "FOUT  Voorspellingsmodellen")
    assert target.name in failure


def test_the_settings_check_shows_what_was_set_and_warns_about_ignored_lines(tmp_path):
    config_file = tmp_path / "config.toml"
    config_file.write_text('location = "Utrecht"\nproxy = "http://kliniek:geheim@proxy.example:8080"\n',
                           encoding="utf-8")
    result = self_test("--no-window", "--config", config_file, "--data-dir", tmp_path / "data")
    [settings] = lines_marked(result.stdout, "OK    Instellingen")
    assert "location = Utrecht" in settings and "proxy = http://kliniek:***@proxy.example:8080" in settings
    assert "geheim" not in result.stdout + result.stderr
    config_file.write_text('location = "Utrecht"\nclinic_agb = "01234567"\n', encoding="utf-8")
    again = self_test("--no-window", "--config", config_file, "--data-dir", tmp_path / "data")
    [warning] = lines_marked(again.stdout, "LET OP  Instellingen")
    assert "'clinic_agb' wordt genegeerd" in warning and "server" in warning
