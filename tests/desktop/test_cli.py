"""The command line as IT and tests use it: JSON out, clear one-line errors, no tracebacks."""

import json
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import CLI, inclusion, jsonl, valid_bsns

BSN, OTHER = valid_bsns(2)


def run(*args, stdin=None):
    return subprocess.run([*CLI, *map(str, args)], capture_output=True, text=True, timeout=60, input=stdin)


def case(**changes):
    data = {"bundle": "hand-wrist", "inclusion_date": "2025-03-14", "birth_date": "1971-06-02",
            "diagnosis": "G56.0", "side": "R", "insurer_uzovi": "3311", "facts": {}, "previous_inclusions": []}
    data.update(changes)
    return data


def check(tmp_path, data, *extra):
    path = tmp_path / "case.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return run("--data-dir", tmp_path / "data", "check-eligibility", "--json", path, *extra)


def test_check_eligibility_prints_the_documented_json(tmp_path):
    result = check(tmp_path, case())
    assert result.returncode == 0, result.stderr
    output = json.loads(result.stdout)
    assert output["status"] == "eligible"
    assert output["failed_rules"] == [] and output["missing"] == [] and output["reasons"] == []


def test_global_options_work_after_the_subcommand_too(tmp_path):
    path = tmp_path / "case.json"
    path.write_text(json.dumps(case(insurer_uzovi=None)), encoding="utf-8")
    result = run("check-eligibility", "--json", path, "--data-dir", tmp_path / "data")
    assert json.loads(result.stdout)["missing"] == ["insurer_uzovi"]


def test_case_can_come_from_stdin(tmp_path):
    result = run("--data-dir", tmp_path, "check-eligibility", "--json", "-", stdin=json.dumps(case(diagnosis="G56.1")))
    assert json.loads(result.stdout)["failed_rules"] == ["diagnosis"]


@pytest.mark.parametrize("content, expected", [
    ("{not json", "geen geldige JSON"),
    ("[1, 2]", "JSON-object"),
    (json.dumps(case(bundle="heup")), "onbekende bundel 'heup'"),
    (json.dumps(case(birth_date="02-30-1971")), "Geboortedatum: is geen geldige datum"),
    (json.dumps(case(inclusion_date=20250314)), "Inclusiedatum: moet een datum als tekst zijn"),
    (json.dumps(case(bsn="123456789")), "11-proef"),
    (json.dumps(case(side="links-boven")), "Zijde: moet L, R, both of leeg zijn"),
    (json.dumps(case(insurer_uzovi="Zilveren Kruis")), "UZOVI-code: moet een UZOVI-code"),
    (json.dumps(case(facts=[1])), "Vragen van de bundel: moet een object zijn"),
    (json.dumps(case(previous_inclusions=[{"bundle": "hand-wrist", "condition": "knie",
                                           "inclusion_date": "2025-01-01"}])),
     "Eerdere inclusie 1: Aandoening: onbekende aandoening 'knie'"),
    (json.dumps(case(bundle="hip-fracture", diagnosis="S72.0", facts={"low_energy_trauma": "misschien"})),
     "laag-energetisch trauma (bijvoorbeeld vallen uit stand)?: moet ja of nee zijn"),  # the question
])
def test_bad_case_files_give_a_clear_error_and_no_traceback(tmp_path, content, expected):
    result = check(tmp_path, content)
    assert result.returncode == 2
    assert result.stdout == ""
    assert expected in result.stderr
    assert result.stderr.startswith("fout: ")
    assert "Traceback" not in result.stderr


def test_missing_case_file_is_named(tmp_path):
    result = run("check-eligibility", "--json", tmp_path / "nope.json", "--data-dir", tmp_path)
    assert result.returncode == 2 and "nope.json: bestand bestaat niet" in result.stderr


def test_bsn_in_a_bad_case_is_never_echoed(tmp_path):
    result = check(tmp_path, case(bsn="123456789", birth_date="morgen"))
    assert "123456789" not in result.stderr


def test_register_prints_ids_reports_bad_lines_by_number_and_carries_on(tmp_path):
    source = tmp_path / "batch.jsonl"
    source.write_text(
        jsonl([inclusion(BSN)]) + "{broken\n" + jsonl([
            inclusion(OTHER, clinician_agb="123"),
            inclusion(BSN, side="L"),                      # same episode as line 1
            inclusion(OTHER, agreed=False),
            inclusion(OTHER, diagnosis="M18.2"),
        ]), encoding="utf-8")
    result = run("--data-dir", tmp_path / "data", "register", "--jsonl", source)
    assert result.returncode == 1
    ids = result.stdout.split()
    assert len(ids) == 2
    errors = result.stderr.splitlines()
    assert any("regel 2" in e and "geen geldige JSON" in e for e in errors)
    assert any("regel 3" in e and "Behandelaar (AGB): moet een AGB-code" in e for e in errors)
    assert any("regel 4" in e and "loopt al een episode" in e for e in errors)
    assert any("regel 5" in e and "Instemming van de patiënt: de patiënt moet ingestemd hebben" in e for e in errors)
    assert not any("agreed" in e for e in errors)  # the label, never the internal name
    assert not any("regel 1:" in e or "regel 6" in e for e in errors)
    assert "Traceback" not in result.stderr
    assert BSN not in result.stderr and OTHER not in result.stderr

    listed = json.loads(run("--data-dir", tmp_path / "data", "inclusions", "--json").stdout)
    assert sorted(item["id"] for item in listed) == sorted(ids)
    first = next(item for item in listed if item["condition"] == "CTS")
    assert (first["state"], first["bundle"], first["inclusion_date"], first["end_date"]) == \
        ("registered", "hand-wrist", "2025-03-14", "2026-03-13")
    assert "bsn" not in first and first["bsn_masked"].endswith(BSN[-3:])


def test_register_exits_zero_when_every_line_is_registered(tmp_path):
    source = tmp_path / "ok.jsonl"
    source.write_text(jsonl([inclusion(BSN), inclusion(OTHER)]) + "\n\n", encoding="utf-8")
    result = run("--data-dir", tmp_path / "data", "register", "--jsonl", source)
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.split()) == 2


def test_withdraw_from_the_command_line_frees_the_episode(tmp_path):
    source = tmp_path / "one.jsonl"
    source.write_text(jsonl([inclusion(BSN)]), encoding="utf-8")
    (record_id,) = run("--data-dir", tmp_path / "data", "register", "--jsonl", source).stdout.split()
    result = check(tmp_path, case(bsn=BSN, inclusion_date="2025-06-01"))
    assert json.loads(result.stdout)["failed_rules"] == ["active_episode"]
    withdrawn = run("--data-dir", tmp_path / "data", "withdraw", record_id, "--reason", "op verzoek van patiënt")
    assert withdrawn.returncode == 0, withdrawn.stderr
    assert json.loads(check(tmp_path, case(bsn=BSN, inclusion_date="2025-06-01")).stdout)["status"] == "eligible"
    listed = json.loads(run("--data-dir", tmp_path / "data", "inclusions", "--json").stdout)
    assert [(i["state"], i["revision"]) for i in listed] == [("withdrawn", 2)]
    unknown = run("--data-dir", tmp_path / "data", "withdraw", "nope", "--reason", "x")
    assert unknown.returncode == 2 and "bestaat niet" in unknown.stderr


def test_corrupt_database_file_gives_a_clear_error(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "bundelassistent.sqlite3").write_bytes(b"this is not a database" * 100)
    result = run("--data-dir", data, "inclusions", "--json")
    assert result.returncode == 2
    assert "database" in result.stderr.lower()
    assert "Traceback" not in result.stderr


def test_invalid_config_file_is_reported(tmp_path):
    bad = tmp_path / "config.toml"
    bad.write_text("kleur = 'rood'\n", encoding="utf-8")
    result = run("--config", bad, "validate-bundles")
    assert result.returncode == 2 and "onbekende instelling 'kleur'" in result.stderr


def test_backup_copies_the_database_consistently_and_never_overwrites(tmp_path):
    path = tmp_path / "batch.jsonl"
    path.write_text(jsonl([inclusion(bsn) for bsn in valid_bsns(3, start=300_000_000)]), encoding="utf-8")
    assert run("--data-dir", tmp_path / "data", "register", "--jsonl", path).returncode == 0
    target = tmp_path / "kopie.sqlite3"
    result = run("--data-dir", tmp_path / "data", "backup", "--to", target)
    assert result.returncode == 0, result.stderr
    assert not target.read_bytes().startswith(b"SQLite format 3")  # encrypted like the register
    from desktop.store import keys
    from desktop.store.database import raw_connect

    copy = raw_connect(target, keys.load(tmp_path / "data" / "bundelassistent.sqlite3"))  # the device key opens it
    assert copy.execute("SELECT count(*) FROM inclusions").fetchone()[0] == 3
    copy.close()
    again = run("--data-dir", tmp_path / "data", "backup", "--to", target)
    assert again.returncode == 2 and "bestaat al" in again.stderr


GLOBAL_OPTIONS = st.lists(st.one_of(
    st.tuples(st.sampled_from(["--data-dir", "--bundles-dir", "--config"]),
              st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=0, max_size=12)),
    st.tuples(st.just("--log-level"), st.sampled_from(["debug", "INFO", "Warning", "error", "loud", ""])),
    st.tuples(st.sampled_from(["open", "sync", "--bsn", "-h", "--help", "--data", "--log-level=info", "x"]))),
    max_size=4).map(lambda groups: [part for group in groups for part in group])


@given(GLOBAL_OPTIONS)
@settings(max_examples=300, deadline=None)
def test_the_windows_short_way_through_the_arguments_reads_them_as_the_full_parser_does(argv):
    """The window's start skips building every command's parser; whatever it accepts, the full
    parser reads the same way, and anything else (a command, --help, a bad value) goes to it."""
    from desktop.cli import build_parser, window_arguments

    quick = window_arguments(argv)
    if quick is None:
        return
    assert quick.command is None
    assert vars(quick) == vars(build_parser().parse_args(argv))


def test_the_short_way_leaves_commands_help_and_bad_values_to_the_full_parser():
    from desktop.cli import window_arguments

    assert vars(window_arguments(["--data-dir", "d", "--log-level", "debug"])) == {
        "data_dir": Path("d"), "bundles_dir": None, "config": None, "log_level": "DEBUG", "command": None}
    for argv in (["open", "--bsn", "1"], ["--help"], ["-h"], ["--log-level", "loud"], ["--data-dir"], ["sync"]):
        assert window_arguments(argv) is None, argv
