"""The admin CLI: --database before or after the subcommand, `fout:` errors, exit 2, no traceback."""

import subprocess
import sys

import pytest

from serverproc import REPO
from sync.server.config import ConfigError, normalize_database_url

CLI = [sys.executable, "-m", "sync.server.cli"]


def run(*args):
    return subprocess.run(CLI + list(args), cwd=REPO, capture_output=True, text=True, timeout=120)


def test_database_option_goes_before_or_after_the_subcommand(tmp_path):
    database = f"sqlite:///{tmp_path / 'a.sqlite3'}"
    before = run("--database", database, "enroll-code", "--location", "Zeist")
    after = run("enroll-code", "--database", database)
    assert before.returncode == after.returncode == 0
    for result in (before, after):
        code = result.stdout.strip().splitlines()[-1]
        assert len(code) == 14 and code.count("-") == 2
    listing = run("devices", "--database", database)
    assert listing.returncode == 0 and "nog geen apparaten" in listing.stdout


def test_a_bare_path_is_a_sqlite_database(tmp_path):
    path = tmp_path / "sub" / "server.db"
    assert run("--database", str(path), "migrate").returncode == 0
    assert path.exists()


@pytest.mark.parametrize("args, words", [
    (["revoke", "no-such-device"], "bestaat niet"),
    (["import-coverage", "/no/such/file.csv"], "kan het bestand niet lezen"),
    (["import-bundles", "/no/such/dir"], "is geen map"),
    (["enroll-code", "--valid-hours", "-1"], "--valid-hours"),
])
def test_admin_errors_are_one_line_on_stderr_with_exit_2(tmp_path, args, words):
    result = run("--database", f"sqlite:///{tmp_path / 'b.sqlite3'}", *args)
    assert result.returncode == 2
    assert result.stderr.startswith("fout: ") and words in result.stderr
    assert "Traceback" not in result.stderr


def test_an_unreachable_database_is_a_clear_error(tmp_path):
    result = run("--database", "postgresql://nobody@127.0.0.1:1/none", "devices")
    assert result.returncode == 2
    assert result.stderr.startswith("fout: database") and "Traceback" not in result.stderr
    result = run("--database", "mysql://x/y", "devices")
    assert result.returncode == 2 and "postgresql" in result.stderr


def test_database_urls_are_normalised_to_psycopg3():
    assert normalize_database_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalize_database_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalize_database_url("postgresql+psycopg://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalize_database_url("sqlite:///x.db") == "sqlite:///x.db"
    with pytest.raises(ConfigError):
        normalize_database_url("oracle://x")


def test_export_without_inclusions_is_a_header_or_an_empty_bundle(tmp_path):
    database = f"sqlite:///{tmp_path / 'c.sqlite3'}"
    csv_text = run("--database", database, "export").stdout
    assert csv_text.startswith("\ufeffinclusion_id;bsn;birth_date;") and csv_text.count("\n") == 1
    fhir = run("--database", database, "export", "--format", "fhir")
    assert fhir.returncode == 0 and '"type": "collection"' in fhir.stdout
