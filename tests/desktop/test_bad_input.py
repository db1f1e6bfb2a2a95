"""Files a hospital PC really produces, through the real command line: never a traceback.

Notepad's "Unicode" (UTF-16 with BOM) and "UTF-8" (with BOM), binary garbage, a lone
surrogate or NUL in one JSONL line, nesting deep enough to break the TOML parser, a folder
where a file should be, a file the user may not read, a full disk under the log folder.
"""

import codecs
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

import resources
from helpers import CLI, inclusion, jsonl, valid_bsns

BSNS = valid_bsns(10)


def run(*args, env=None, prefix=()):
    environment = dict(os.environ, **(env or {}))
    return subprocess.run([*prefix, *CLI, *map(str, args)], capture_output=True, text=True, timeout=120,
                          env=environment)


def assert_clean_refusal(result, *expected):
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("fout: "), result.stderr
    for text in expected:
        assert text in result.stderr, result.stderr


# -- config files -----------------------------------------------------------------------------
CONFIG = 'location = "Zwolle — Isala"\nlog_level = "info"\n'


@pytest.mark.parametrize("encoding, bom", [
    ("utf-16-le", codecs.BOM_UTF16_LE),  # Notepad "Unicode"
    ("utf-16-be", codecs.BOM_UTF16_BE),
    ("utf-8", codecs.BOM_UTF8),          # Notepad "UTF-8" before Windows 10 1903
    ("utf-8", b""),
])
def test_config_saved_by_notepad_in_any_unicode_form_is_read(tmp_path, encoding, bom):
    config_file = tmp_path / "config.toml"
    config_file.write_bytes(bom + CONFIG.encode(encoding))
    source = tmp_path / "one.jsonl"
    line = inclusion(BSNS[0])
    del line["location"]  # so the config's location is what gets stored
    source.write_text(jsonl([line]), encoding="utf-8")
    result = run("--config", config_file, "--data-dir", tmp_path / "data", "register", "--jsonl", source)
    assert result.returncode == 0, result.stderr
    listed = json.loads(run("--config", config_file, "--data-dir", tmp_path / "data", "inclusions").stdout)
    assert [item["location"] for item in listed] == ["Zwolle — Isala"]


@pytest.mark.parametrize("content, expected", [
    (codecs.BOM_UTF16_LE + "location = \"x\"".encode("utf-16-le")[:-1], "geen leesbare tekst"),  # odd byte count
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe\xfd", "geen leesbare tekst"),
    (b"location = \"a\x00b\"\n", "NUL"),
    (b"location = \"\xed\xa0\x80\"\n", "geen leesbare tekst"),  # a surrogate, UTF-8-encoded: invalid UTF-8
    (b"location = " + b"[" * 5000 + b"]" * 5000 + b"\n", "te diep genest"),
    (b"location = \"open\n", "geen geldige TOML"),
])
def test_an_unusable_config_file_is_refused_naming_the_file(tmp_path, content, expected):
    config_file = tmp_path / "config.toml"
    config_file.write_bytes(content)
    result = run("--config", config_file, "--data-dir", tmp_path / "data", "inclusions")
    assert_clean_refusal(result, str(config_file), expected)


def test_a_broken_system_config_is_refused_too(tmp_path):
    system = tmp_path / "system.toml"
    system.write_bytes(b"\xff\xfe\x00")
    result = run("--data-dir", tmp_path / "data", "inclusions", env={"BUNDELASSISTENT_SYSTEM_CONFIG": str(system)})
    assert_clean_refusal(result, str(system))


def test_a_config_path_that_is_a_folder_is_refused(tmp_path):
    folder = tmp_path / "config.toml"
    folder.mkdir()
    result = run("--config", folder, "--data-dir", tmp_path / "data", "inclusions")
    assert_clean_refusal(result, str(folder), "is een map")


def _without_dac_override():
    """Run as the file's owner but without root's power to read anything: a user namespace."""
    probe = subprocess.run(["unshare", "--user", "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip("unshare --user is not available here")
    return ("unshare", "--user")


def test_a_config_file_the_user_may_not_read_is_refused(tmp_path):
    config_file = tmp_path / "config.toml"
    config_file.write_text(CONFIG, encoding="utf-8")
    config_file.chmod(0)
    result = run("--config", config_file, "--data-dir", tmp_path / "data", "inclusions",
                 prefix=_without_dac_override())
    assert_clean_refusal(result, str(config_file), "geen leesrechten")


# -- bundle files -------------------------------------------------------------------------------
@pytest.fixture
def bundles(tmp_path):
    folder = tmp_path / "bundles"
    shutil.copytree(resources.path("bundles"), folder)
    return folder


@pytest.mark.parametrize("name, make, expected", [
    ("diep.toml", lambda p: p.write_bytes(b"id = " + b"[" * 3000 + b"]" * 3000 + b"\n"), "te diep genest"),
    ("diep2.toml", lambda p: p.write_bytes(b"x = " + b"{a = " * 3000 + b"1" + b"}" * 3000 + b"\n"), "te diep genest"),
    ("map.toml", lambda p: p.mkdir(), "is een map"),
    ("rommel.toml", lambda p: p.write_bytes(os.urandom(64) + b"\xff\xfe\xfd"), "geen leesbare tekst"),
    ("kladblok.toml", lambda p: p.write_bytes(codecs.BOM_UTF16_LE + "id = \"kladblok\"\n".encode("utf-16-le")),
     "veld 'version'"),  # read fine as UTF-16: what is left is a real field problem
])
def test_a_broken_bundle_file_is_reported_by_name_and_the_others_still_load(tmp_path, bundles, name, make, expected):
    make(bundles / name)
    result = run("--data-dir", tmp_path / "data", "--bundles-dir", bundles, "validate-bundles")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr + result.stdout
    assert f"ONGELDIG {name}" in result.stdout and expected in result.stdout, result.stdout
    assert "OK       hand-wrist" in result.stdout


# -- JSONL lines ------------------------------------------------------------------------------
def test_one_bad_line_of_any_kind_is_reported_by_number_and_every_other_line_is_registered(tmp_path):
    good = [json.dumps(inclusion(bsn)).encode() for bsn in BSNS[:6]]
    bad = {
        2: json.dumps(inclusion(BSNS[6], name="J. \ud800")).encode(),  # JSON escape of a lone surrogate
        4: json.dumps(inclusion(BSNS[7], name="a\u0000b")).encode(),   # escaped NUL
        6: b'{"bundle": "hand-wrist", "name": "\xff\xfe"}',             # invalid UTF-8 bytes
        8: b"[1, 2, 3]",                                                # not an object
        9: b'"just text"',
        10: b"[" * 100_000 + b"]" * 100_000,                           # nesting beyond the JSON parser
        11: b'{"a": 1}\x00',                                           # a raw NUL
    }
    good_iter = iter(good)
    lines = [bad.get(number) or next(good_iter, b"") for number in range(1, 14)]
    source = tmp_path / "batch.jsonl"
    source.write_bytes(b"\n".join(lines) + b"\n")
    result = run("--data-dir", tmp_path / "data", "register", "--jsonl", source)
    assert "Traceback" not in result.stderr
    assert result.returncode == 1
    ids = result.stdout.split()
    assert len(ids) == 6, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("fout: ")]
    assert sorted(int(line.split("regel ")[1].split(":")[0]) for line in errors) == sorted(bad)
    assert "ongeldig teken" in next(e for e in errors if "regel 2:" in e)
    assert "NUL" in next(e for e in errors if "regel 4:" in e)
    assert "geen leesbare tekst" in next(e for e in errors if "regel 6:" in e)
    assert "JSON-object" in next(e for e in errors if "regel 8:" in e)
    assert "te diep genest" in next(e for e in errors if "regel 10:" in e)
    assert "7 regel(s) niet geregistreerd" in result.stderr
    assert not any(bsn in result.stderr for bsn in BSNS)
    listed = json.loads(run("--data-dir", tmp_path / "data", "inclusions").stdout)
    assert sorted(item["id"] for item in listed) == sorted(ids)


@pytest.mark.parametrize("encoding, bom", [("utf-16-le", codecs.BOM_UTF16_LE), ("utf-8", codecs.BOM_UTF8)])
def test_a_jsonl_file_saved_by_notepad_is_registered(tmp_path, encoding, bom):
    source = tmp_path / "batch.jsonl"
    source.write_bytes(bom + jsonl([inclusion(BSNS[0]), inclusion(BSNS[1])]).replace("\n", "\r\n").encode(encoding))
    result = run("--data-dir", tmp_path / "data", "register", "--jsonl", source)
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.split()) == 2


def test_bad_bytes_on_stdin_are_one_bad_line_not_a_crash(tmp_path):
    lines = jsonl([inclusion(BSNS[0])]).encode() + b'{"x": "\xc3"}\n' + jsonl([inclusion(BSNS[1])]).encode()
    result = subprocess.run([*CLI, "--data-dir", str(tmp_path / "data"), "register", "--jsonl", "-"],
                            input=lines, capture_output=True, timeout=120)
    assert b"Traceback" not in result.stderr
    assert result.returncode == 1
    assert len(result.stdout.split()) == 2
    assert b"stdin regel 2" in result.stderr


@pytest.mark.parametrize("content, expected", [
    (b'{"bundle": "hand-wrist", "name": "\\udfff"}', "ongeldig teken"),
    (b"[" * 100_000, "te diep genest"),
    (b"\xff\xfe{\x00}\x00", "JSON-object"),  # UTF-16 "{}" is read, then it lacks every field
])
def test_check_eligibility_refuses_unusable_json_clearly(tmp_path, content, expected):
    path = tmp_path / "case.json"
    path.write_bytes(content)
    result = run("--data-dir", tmp_path / "data", "check-eligibility", "--json", path)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert expected in result.stderr or "ontbreekt" in result.stderr, result.stderr


def test_a_jsonl_path_that_is_a_folder_is_refused(tmp_path):
    result = run("--data-dir", tmp_path / "data", "register", "--jsonl", tmp_path)
    assert_clean_refusal(result, "is een map")


# -- a full disk under the log folder -----------------------------------------------------------
@pytest.fixture
def full_disk(tmp_path):
    """A real 256 KiB tmpfs, filled to the last byte; unmounted afterwards."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mount_point = tmp_path / "small-disk"
    mount_point.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount_point)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        (mount_point / "log").mkdir()
        filler = os.open(mount_point / "filler", os.O_WRONLY | os.O_CREAT)
        try:
            while os.write(filler, b"\0" * 4096):
                pass
        except OSError:  # ENOSPC: the disk is full
            pass
        finally:
            os.close(filler)
        yield mount_point
    finally:
        subprocess.run(["umount", str(mount_point)], check=True)


def test_a_full_log_disk_is_said_once_and_every_line_is_still_registered(tmp_path, full_disk):
    source = tmp_path / "batch.jsonl"
    source.write_text(jsonl([inclusion(bsn) for bsn in BSNS]), encoding="utf-8")
    result = run("--data-dir", tmp_path / "data", "--log-level", "INFO", "register", "--jsonl", source,
                 env={"BUNDELASSISTENT_LOG_DIR": str(full_disk / "log")})
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.split()) == len(BSNS)
    assert "Traceback" not in result.stderr and "Logging error" not in result.stderr
    file_notices = [line for line in result.stderr.splitlines() if "kan niet naar" in line and "loggen" in line]
    assert len(file_notices) == 1, result.stderr
    assert "bundelassistent.log" in file_notices[0] and "No space left" in file_notices[0]
    # the console handler kept working: every registration was still logged to stderr
    assert sum("geregistreerd als" in line for line in result.stderr.splitlines()) == len(BSNS)
    assert Path(full_disk / "log" / "bundelassistent.log").exists()


# -- command line and environment -------------------------------------------------------------
def test_bytes_that_are_not_utf8_on_the_command_line_are_refused_not_a_crash(tmp_path):
    # a Linux shell passes \xff as is; Python sees a lone surrogate that SQLite cannot store
    result = run("--data-dir", tmp_path / "data", "withdraw", "abc", "--reason", "vergissing \udcff")
    assert_clean_refusal(result, "argument 6", "ongeldig teken")


def test_bytes_that_are_not_utf8_in_an_environment_setting_are_refused_naming_it(tmp_path):
    source = tmp_path / "one.jsonl"
    source.write_text(jsonl([inclusion(BSNS[0])]), encoding="utf-8")
    result = run("--data-dir", tmp_path / "data", "register", "--jsonl", source,
                 env={"BUNDELASSISTENT_LOCATION": "Zwolle \udcff"})
    assert_clean_refusal(result, "omgeving", "'location'", "ongeldig teken")
