"""An audit log IT can rely on: the OS account, the role IT set, and a chain that shows tampering.

Everything runs through the real command line on real SQLite files; the tampering is done
as an attacker with the file would do it: drop the trigger, then delete, edit or cut off.
"""

import json
import os
import pwd
import subprocess

import pytest

from desktop.store import audit_chain
from desktop.store.inclusions import DATABASE_NAME
from desktop.store.migrations import _migration_1, _migration_2
from helpers import CLI, inclusion, jsonl, open_register, valid_bsns

BSNS = valid_bsns(8)


def run(*args, env=None):
    return subprocess.run([*CLI, *map(str, args)], capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, **(env or {})))


def register(data, bsns, env=None):
    source = data.parent / f"batch-{bsns[0]}.jsonl"
    source.write_text(jsonl([inclusion(bsn) for bsn in bsns]), encoding="utf-8")
    result = run("--data-dir", data, "register", "--jsonl", source, env=env)
    assert result.returncode == 0, result.stderr
    return result


def audit_line(data):
    result = run("self-test", "--no-window", "--data-dir", data)
    assert "Traceback" not in result.stdout + result.stderr
    [line] = [line for line in result.stdout.splitlines() if "Auditlog:" in line]
    return result.returncode, line


def query(data, sql, params=()):
    connection = open_register(data / DATABASE_NAME)
    rows = connection.execute(sql, params).fetchall()
    connection.close()
    return rows


def tamper(data, *statements):
    connection = open_register(data / DATABASE_NAME)  # an attacker who has the file and the user's key
    for statement in statements:
        connection.execute(statement)
    connection.commit()
    connection.close()


RESTORE_DELETE_TRIGGER = ("CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log "
                          "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END")
RESTORE_UPDATE_TRIGGER = RESTORE_DELETE_TRIGGER.replace("delete", "update").replace("DELETE", "UPDATE")


@pytest.fixture
def data(tmp_path):
    """A register with some inclusions and views: a dozen audit rows."""
    folder = tmp_path / "data"
    register(folder, BSNS[:4])
    assert run("--data-dir", folder, "inclusions", "--with-identifiers").returncode == 0
    return folder


# -- who ---------------------------------------------------------------------------------------
def test_the_audit_user_is_the_os_account_whatever_the_environment_says(tmp_path):
    data = tmp_path / "data"
    register(data, BSNS[:1], env={"USER": "dr.mallory", "LOGNAME": "dr.mallory", "USERNAME": "dr.mallory"})
    account = pwd.getpwuid(os.getuid()).pw_name
    users = {row[0] for row in query(data, "SELECT user FROM audit_log")}
    assert users == {account}
    assert {row[0] for row in query(data, "SELECT user FROM inclusions")} == {account}


def test_the_role_comes_only_from_the_system_config(tmp_path):
    system = tmp_path / "system.toml"
    system.write_text('role = "SUO"\n', encoding="utf-8")
    user_file = tmp_path / "user.toml"
    user_file.write_text('role = "beheerder"\nlocation = "Utrecht"\n', encoding="utf-8")
    data = tmp_path / "data"
    source = tmp_path / "one.jsonl"
    source.write_text(jsonl([inclusion(BSNS[0])]), encoding="utf-8")
    result = run("--config", user_file, "--data-dir", data, "register", "--jsonl", source,
                 env={"BUNDELASSISTENT_SYSTEM_CONFIG": str(system), "BUNDELASSISTENT_ROLE": "admin"})
    assert result.returncode == 0, result.stderr
    assert {row[0] for row in query(data, "SELECT role FROM audit_log")} == {"SUO"}
    warnings = [line for line in result.stderr.splitlines() if line.startswith("waarschuwing: ")]
    assert any(str(user_file) in line and "'role'" in line and "genegeerd" in line for line in warnings)
    assert any("omgeving" in line and "'role'" in line for line in warnings)


def test_without_a_system_role_the_role_is_unknown_not_what_the_user_wrote(tmp_path):
    user_file = tmp_path / "user.toml"
    user_file.write_text('role = "beheerder"\n', encoding="utf-8")
    data = tmp_path / "data"
    source = tmp_path / "one.jsonl"
    source.write_text(jsonl([inclusion(BSNS[0])]), encoding="utf-8")
    assert run("--config", user_file, "--data-dir", data, "register", "--jsonl", source).returncode == 0
    assert {row[0] for row in query(data, "SELECT role FROM audit_log")} == {"onbekend"}


# -- the chain ---------------------------------------------------------------------------------
def test_an_untouched_log_passes_and_every_row_is_chained(data):
    _code, line = audit_line(data)
    assert line.startswith("OK") and "hashketen klopt" in line
    rows = query(data, "SELECT row_hash FROM audit_log ORDER BY seq")
    assert len(rows) >= 8 and all(len(row[0]) == 64 for row in rows)
    assert len({row[0] for row in rows}) == len(rows)


def test_deleting_a_middle_row_behind_the_triggers_back_is_detected(data):
    tamper(data, "DROP TRIGGER audit_log_no_delete", "DELETE FROM audit_log WHERE seq = 3", RESTORE_DELETE_TRIGGER)
    code, line = audit_line(data)
    assert code == 1 and line.startswith("FOUT")
    assert "rij 3 ontbreekt (verwijderd)" in line and "meld het bij IT" in line


def test_editing_a_row_is_detected(data):
    tamper(data, "DROP TRIGGER audit_log_no_update",
           "UPDATE audit_log SET user = 'iemand anders' WHERE seq = 2", RESTORE_UPDATE_TRIGGER)
    code, line = audit_line(data)
    assert code == 1 and "rij 2 is na het schrijven gewijzigd" in line
    assert "trigger" not in line  # the triggers are back: only the edit is reported


def test_editing_a_row_and_its_hash_is_detected_at_the_next_row(data):
    rows = query(data, f"SELECT {', '.join(audit_chain.FIELDS)}, row_hash FROM audit_log WHERE seq <= 2 ORDER BY seq")
    first, second = (dict(zip((*audit_chain.FIELDS, "row_hash"), row)) for row in rows)
    second["patient_bsn"] = None
    forged = audit_chain.row_hash(first["row_hash"], second)
    tamper(data, "DROP TRIGGER audit_log_no_update",
           f"UPDATE audit_log SET patient_bsn = NULL, row_hash = '{forged}' WHERE seq = 2", RESTORE_UPDATE_TRIGGER)
    code, line = audit_line(data)
    assert code == 1 and "rij 3 is na het schrijven gewijzigd" in line


def test_cutting_rows_off_the_end_is_detected_and_stays_visible_after_new_writes(data):
    last = query(data, "SELECT max(seq) FROM audit_log")[0][0]
    tamper(data, "DROP TRIGGER audit_log_no_delete", f"DELETE FROM audit_log WHERE seq > {last - 2}",
           RESTORE_DELETE_TRIGGER)
    code, line = audit_line(data)
    assert code == 1 and f"rij {last - 1}–{last} aan het eind ontbreekt (afgekapt)" in line
    register(data, BSNS[5:6])  # the app goes on writing: the gap does not close
    code, line = audit_line(data)
    assert code == 1 and f"rij {last - 1}–{last} ontbreekt (verwijderd)" in line


def test_emptying_the_log_is_detected(data):
    tamper(data, "DROP TRIGGER audit_log_no_delete", "DELETE FROM audit_log", RESTORE_DELETE_TRIGGER)
    code, line = audit_line(data)
    assert code == 1 and "aan het eind ontbreekt (afgekapt)" in line


@pytest.mark.parametrize("statement, expected", [
    ("DROP TRIGGER audit_log_no_delete", "trigger audit_log_no_delete ontbreekt"),
    ("DROP TRIGGER audit_log_no_update", "trigger audit_log_no_update ontbreekt"),
])
def test_a_dropped_trigger_is_reported_even_before_rows_are_touched(data, statement, expected):
    tamper(data, statement)
    code, line = audit_line(data)
    assert code == 1 and expected in line


def test_a_trigger_replaced_by_one_that_lets_deletes_through_is_reported(data):
    tamper(data, "DROP TRIGGER audit_log_no_delete",
           "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log BEGIN SELECT 1; END")
    code, line = audit_line(data)
    assert code == 1 and "audit_log_no_delete is veranderd en weigert niet meer" in line


def test_a_row_slipped_in_by_hand_is_detected_and_the_app_keeps_working(data):
    last = query(data, "SELECT max(seq) FROM audit_log")[0][0]
    tamper(data, f"INSERT INTO audit_log (seq, at, user, action) VALUES ({last + 1}, 'x', 'x', 'read')")
    register(data, BSNS[6:7])
    code, line = audit_line(data)
    assert code == 1 and f"rij {last + 1} heeft geen hash" in line


def test_two_processes_writing_at_once_keep_one_unbroken_chain(tmp_path):
    data = tmp_path / "data"
    register(data, BSNS[:1])  # create the database first
    sources = []
    for index, bsns in enumerate((BSNS[1:4], BSNS[4:7])):
        source = tmp_path / f"parallel-{index}.jsonl"
        source.write_text(jsonl([inclusion(bsn) for bsn in bsns]), encoding="utf-8")
        sources.append(source)
    processes = [subprocess.Popen([*CLI, "--data-dir", str(data), "register", "--jsonl", str(source)],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE) for source in sources]
    for process in processes:
        _out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err.decode("utf-8", "replace")
    _code, line = audit_line(data)
    assert line.startswith("OK"), line
    assert query(data, "SELECT count(*) FROM audit_log WHERE action = 'create'")[0][0] == 7


def test_an_existing_log_is_chained_by_the_migration(tmp_path):
    """A register from before the chain (schema 2, plaintext as it was then) is encrypted and gets its
    rows hashed in place, in order."""
    import sqlite_utils

    data = tmp_path / "data"
    data.mkdir()
    db = sqlite_utils.Database(data / DATABASE_NAME)
    _migration_1(db)
    _migration_2(db)
    for seq in (1, 2, 3):
        db["audit_log"].insert({"seq": seq, "at": f"2026-01-0{seq}T10:00:00.000Z", "user": "oud", "role": "suo",
                                "action": "read", "object_type": "inclusion", "system": "Bundelassistent",
                                "details": json.dumps({})})
    db.execute("PRAGMA user_version = 2")
    db.conn.commit()
    db.conn.close()
    _code, line = audit_line(data)
    assert line.startswith("OK") and "3 regel(s)" in line
    hashes = [row[0] for row in query(data, "SELECT row_hash FROM audit_log ORDER BY seq")]
    rows = query(data, f"SELECT {', '.join(audit_chain.FIELDS)} FROM audit_log WHERE seq = 1")
    assert hashes[0] == audit_chain.row_hash(audit_chain.GENESIS, dict(zip(audit_chain.FIELDS, rows[0])))
    register(data, BSNS[:1])
    assert audit_line(data)[1].startswith("OK")
