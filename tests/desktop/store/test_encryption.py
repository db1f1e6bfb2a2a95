"""The register encrypted at rest: SQLCipher with a key from the keyring, private files,
in-place migration of a plaintext register, backup, restore, key recovery, starting afresh."""

import os
import shlex
import shutil
import sqlite3
import subprocess
from pathlib import Path

import keyring
import pytest

from desktop.store import keys
from desktop.store.database import raw_connect
from desktop.store.inclusions import DATABASE_NAME, Registry
from helpers import CLI, REPO, inclusion, jsonl, open_register, valid_bsns

BSNS = valid_bsns(5, start=410_000_000)


def run(*args, stdin=None, env=None):
    environment = dict(os.environ, **(env or {}))
    return subprocess.run([*CLI, *map(str, args)], capture_output=True, text=True, timeout=180,
                          input=stdin, env=environment)


def register_some(data, bsns=BSNS):
    source = data.parent / f"batch-{bsns[0]}.jsonl"
    source.write_text(jsonl([inclusion(bsn) for bsn in bsns]), encoding="utf-8")
    result = run("--data-dir", data, "register", "--jsonl", source)
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def listed_ids(data):
    import json

    result = run("--data-dir", data, "inclusions", "--json")
    assert result.returncode == 0, result.stderr
    return sorted(item["id"] for item in json.loads(result.stdout))


def every_byte_in(folder):
    return b"".join(path.read_bytes() for path in folder.rglob("*") if path.is_file())


def mode(path):
    return path.stat().st_mode & 0o777


def test_a_new_register_is_encrypted_and_only_its_user_can_read_folder_and_files(tmp_path):
    data = tmp_path / "data"
    ids = register_some(data)
    database = data / DATABASE_NAME
    assert not database.read_bytes().startswith(b"SQLite format 3")
    with pytest.raises(sqlite3.DatabaseError):  # plain SQLite (another user's tool) reads nothing
        sqlite3.connect(database).execute("SELECT count(*) FROM inclusions").fetchone()
    assert all(bsn.encode() not in every_byte_in(data) for bsn in BSNS)
    entry = keys.load(database)
    assert entry is not None and len(entry.key) == 64 and entry.records == len(ids)
    assert mode(data) == 0o700 and mode(database) == 0o600
    with Registry(database):  # while open, WAL and SHM exist: they get the database's mode
        for sidecar in ("-wal", "-shm"):
            assert mode(data / (DATABASE_NAME + sidecar)) == 0o600
    assert sorted(ids) == listed_ids(data)


def test_a_loose_existing_folder_and_file_are_made_private(tmp_path):
    data = tmp_path / "data"
    register_some(data)
    data.chmod(0o755)
    (data / DATABASE_NAME).chmod(0o644)
    listed_ids(data)
    assert (mode(data), mode(data / DATABASE_NAME)) == (0o700, 0o600)


def plaintext_copy(data, target):
    """A real plaintext register with records: what an older version of the app left behind."""
    connection = open_register(data / DATABASE_NAME)
    connection.execute("ATTACH DATABASE ? AS plain KEY ''", [str(target)])
    connection.execute("SELECT sqlcipher_export('plain')")
    version = connection.execute("PRAGMA user_version").fetchone()[0]
    connection.execute(f"PRAGMA plain.user_version = {version}")
    connection.execute("DETACH DATABASE plain")
    connection.close()


def test_a_plaintext_register_is_encrypted_in_place_verified_and_the_plaintext_removed(tmp_path):
    made = tmp_path / "made"
    ids = register_some(made)
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    plaintext_copy(made, data / DATABASE_NAME)
    plain = sqlite3.connect(data / DATABASE_NAME)  # really plaintext, records and all, in WAL as the app had it
    assert plain.execute("PRAGMA journal_mode=WAL").fetchone()[0] == "wal"
    assert plain.execute("SELECT count(*) FROM inclusions").fetchone()[0] == len(ids)
    audit_rows = plain.execute("SELECT count(*) FROM audit_log").fetchone()[0]
    plain.close()
    assert BSNS[0].encode() in every_byte_in(data)

    assert listed_ids(data) == sorted(ids)  # first start of the new version: migrated, same records

    database = data / DATABASE_NAME
    assert not database.read_bytes().startswith(b"SQLite format 3")
    assert sorted(p.name for p in data.iterdir()) == [DATABASE_NAME]  # no plaintext, no half copy left
    assert all(bsn.encode() not in every_byte_in(data) for bsn in BSNS)
    migrated = open_register(database)
    assert migrated.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert migrated.execute("SELECT count(*) FROM audit_log").fetchone()[0] > audit_rows  # history kept, + the listing
    assert migrated.execute("PRAGMA user_version").fetchone()[0] >= 2
    migrated.close()
    assert mode(data) == 0o700 and mode(database) == 0o600


def test_the_migration_waits_for_a_plaintext_register_that_another_process_has_open(tmp_path):
    made = tmp_path / "made"
    register_some(made)
    data = tmp_path / "data"
    data.mkdir()
    plaintext_copy(made, data / DATABASE_NAME)
    holder = subprocess.Popen(["python3", "-c", (
        "import sqlite3, sys, time\n"
        f"c = sqlite3.connect({str(data / DATABASE_NAME)!r})\n"
        "c.execute('PRAGMA journal_mode=WAL'); c.execute('SELECT count(*) FROM inclusions').fetchone()\n"
        "print('open', flush=True); sys.stdin.read()\n")], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "open"
        result = run("--data-dir", data, "inclusions", "--json")
        assert result.returncode == 2 and "vergrendeld door een ander programma" in result.stderr
        assert "Traceback" not in result.stderr
        assert (data / DATABASE_NAME).read_bytes().startswith(b"SQLite format 3")  # untouched
    finally:
        holder.communicate("", timeout=30)
    assert len(listed_ids(data)) == len(BSNS)  # once the other program is gone, it is migrated


def test_a_missing_key_stops_with_advice_to_recover_it_and_recover_key_brings_it_back(tmp_path):
    data = tmp_path / "data"
    ids = register_some(data)
    database = data / DATABASE_NAME
    key = keys.load(database).key
    keyring.delete_password(keys.SERVICE, keys.entry_name(database))  # the keyring is lost; the register is not
    keys.forget_cache()

    lost = run("--data-dir", data, "inclusions", "--json")
    assert lost.returncode == 2
    assert "sleutel ontbreekt" in lost.stderr and "recover-key" in lost.stderr and "Traceback" not in lost.stderr

    wrong = run("--data-dir", data, "recover-key", stdin="ab" * 32 + "\n")
    assert wrong.returncode == 2 and "opent niet met de sleutel" in wrong.stderr
    typo = run("--data-dir", data, "recover-key", stdin="not a key\n")
    assert typo.returncode == 2 and "64 hexadecimale" in typo.stderr

    spaced = " ".join(key[i:i + 8] for i in range(0, 64, 8)).upper()  # as IT might paste it
    recovered = run("--data-dir", data, "recover-key", stdin=spaced + "\n")
    assert recovered.returncode == 0, recovered.stderr
    assert f"{len(ids)} inclusies" in recovered.stdout
    assert listed_ids(data) == sorted(ids)


def test_another_key_is_told_apart_from_a_damaged_first_page(tmp_path):
    data = tmp_path / "data"
    register_some(data)
    database = data / DATABASE_NAME
    original = database.read_bytes()
    register_some(tmp_path / "other", BSNS[:1])  # another PC's register, with its own key
    shutil.copy(tmp_path / "other" / DATABASE_NAME, database)
    other_key = run("--data-dir", data, "inclusions", "--json")
    assert other_key.returncode == 2 and "opent niet met de sleutel" in other_key.stderr
    assert "recover-key" in other_key.stderr

    damaged = bytearray(original)
    damaged[100:400] = os.urandom(300)  # after the salt: the key is right, page 1 is not
    database.write_bytes(bytes(damaged))
    broken = run("--data-dir", data, "inclusions", "--json")
    assert broken.returncode == 2 and "is beschadigd" in broken.stderr and "restore" in broken.stderr


def test_backup_is_encrypted_and_restore_verifies_it_keeps_the_old_file_and_guards_unsynced(tmp_path):
    data = tmp_path / "data"
    first = register_some(data, BSNS[:3])
    backup = tmp_path / "backup.sqlite3"
    made = run("--data-dir", data, "backup", "--to", backup)
    assert made.returncode == 0, made.stderr
    assert mode(backup) == 0o600 and not backup.read_bytes().startswith(b"SQLite format 3")
    later = register_some(data, BSNS[3:])

    refused = run("--data-dir", data, "restore", backup)
    assert refused.returncode == 2 and "nog niet naar de server" in refused.stderr
    assert listed_ids(data) == sorted(first + later)  # nothing changed

    garbled = tmp_path / "garbled.sqlite3"
    damaged = bytearray(backup.read_bytes())
    damaged[5000:9000] = os.urandom(4000)
    garbled.write_bytes(bytes(damaged))
    bad = run("--data-dir", data, "restore", garbled, "--overwrite-unsynced")
    assert bad.returncode == 2 and "garbled.sqlite3" in bad.stderr and "Traceback" not in bad.stderr
    assert listed_ids(data) == sorted(first + later)

    restored = run("--data-dir", data, "restore", backup, "--overwrite-unsynced")
    assert restored.returncode == 0, restored.stderr
    assert listed_ids(data) == sorted(first)
    [kept] = [p for p in data.iterdir() if ".replaced-" in p.name and p.name.endswith(tuple("0123456789"))]
    assert len(raw_connect(kept, keys.load(data / DATABASE_NAME)).execute(
        "SELECT id FROM inclusions").fetchall()) == 5  # the replaced register is kept, readable with the key


def test_an_emptied_register_stops_the_app_until_restored_or_started_afresh_on_purpose(tmp_path):
    data = tmp_path / "data"
    ids = register_some(data)
    backup = tmp_path / "backup.sqlite3"
    assert run("--data-dir", data, "backup", "--to", backup).returncode == 0
    (data / DATABASE_NAME).write_bytes(b"")  # truncated to 0 bytes

    more = tmp_path / "more.jsonl"
    more.write_text(jsonl([inclusion(bsn) for bsn in valid_bsns(1, start=420_000_000)]), encoding="utf-8")
    stopped = run("--data-dir", data, "register", "--jsonl", more)
    assert stopped.returncode == 2
    assert f"{len(ids)} inclusies" in stopped.stderr and "verdwenen of leeg" in stopped.stderr
    assert "new-register --confirm" in stopped.stderr and "Traceback" not in stopped.stderr
    assert (data / DATABASE_NAME).stat().st_size == 0  # no new register was made

    restored = run("--data-dir", data, "restore", backup)
    assert restored.returncode == 0, restored.stderr
    assert listed_ids(data) == sorted(ids)

    (data / DATABASE_NAME).unlink()
    assert run("--data-dir", data, "inclusions", "--json").returncode == 2
    fresh = run("--data-dir", data, "new-register", "--confirm")
    assert fresh.returncode == 0, fresh.stderr
    assert listed_ids(data) == []


def test_fewer_records_than_before_is_refused(tmp_path):
    data = tmp_path / "data"
    backup = tmp_path / "backup.sqlite3"
    register_some(data, BSNS[:2])
    assert run("--data-dir", data, "backup", "--to", backup).returncode == 0
    register_some(data, BSNS[2:])
    shutil.copy(backup, data / DATABASE_NAME)  # an older copy put back by hand, not with restore
    for sidecar in data.glob(DATABASE_NAME + "-*"):
        sidecar.unlink()
    result = run("--data-dir", data, "inclusions", "--json")
    assert result.returncode == 2 and "bevat 2 inclusies" in result.stderr and "al 5" in result.stderr


def test_no_working_keyring_is_a_clear_message_not_a_traceback(tmp_path):
    result = run("--data-dir", tmp_path / "data", "inclusions", "--json",
                 env={"PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"})
    assert result.returncode == 2
    assert "geen werkende sleutelbos" in result.stderr and "GNOME Keyring" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "data" / DATABASE_NAME).exists()  # never a plaintext register instead


SECRET_SERVICE_ENTRY = """import json, sys
from pathlib import Path
from keyring.backends.SecretService import Keyring
from desktop.store import keys
stored = json.loads(Keyring().get_password(keys.SERVICE, keys.entry_name(Path(sys.argv[1]))))
print(f"{len(stored['key'])} hex digits in the Secret Service")
"""


@pytest.mark.skipif(not (shutil.which("dbus-run-session") and shutil.which("gnome-keyring-daemon")),
                    reason="needs D-Bus and GNOME Keyring (scripts/test installs them)")
def test_with_a_real_gnome_keyring_the_key_lives_in_the_secret_service(tmp_path):
    data = tmp_path / "data"
    source = tmp_path / "batch.jsonl"
    source.write_text(jsonl([inclusion(bsn) for bsn in BSNS[:2]]), encoding="utf-8")
    app = [*CLI, "--data-dir", str(data)]
    script = "\n".join([
        "set -e",
        shlex.join([*app, "register", "--jsonl", str(source)]),
        shlex.join([*app, "inclusions", "--json"]) + f" > {shlex.quote(str(tmp_path / 'listed.json'))}",
        shlex.join([*app, "self-test", "--no-window"]) + f" > {shlex.quote(str(tmp_path / 'selftest.txt'))} || true",
        shlex.join([CLI[0], "-c", SECRET_SERVICE_ENTRY, str(data / DATABASE_NAME)]),
    ])
    env = {key: value for key, value in os.environ.items() if key != "PYTHON_KEYRING_BACKEND"}
    result = subprocess.run([str(REPO / "scripts" / "with-keyring"), "bash", "-c", script], capture_output=True,
                            text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines()[-1] == "64 hex digits in the Secret Service"
    assert len(__import__("json").loads((tmp_path / "listed.json").read_text())) == 2
    report = (tmp_path / "selftest.txt").read_text()
    assert "OK    Versleuteling: bundelassistent.sqlite3: versleuteld (SQLCipher)" in report, report
    assert not list(Path(os.environ["HOME"]).rglob("keyring_pass.cfg"))  # not the tests' file backend


def test_a_key_that_blinks_out_while_another_process_saves_a_file_keyring_is_read_again(tmp_path, monkeypatch):
    """keyrings.alt rewrites its whole file on a save: a process reading at that moment finds no
    entry. The register opens a moment later instead of calling the key lost."""
    data = tmp_path / "data"
    register_some(data, BSNS[:1])
    database = data / DATABASE_NAME
    backend = keyring.get_keyring()
    real = backend.get_password
    reads = []

    def blinking(service, name):
        reads.append(name)
        return None if len(reads) <= 2 else real(service, name)  # the first two reads hit a rewrite

    monkeypatch.setattr(backend, "get_password", blinking)
    keys.forget_cache()
    with Registry(database) as registry:
        assert len(registry.inclusions()) == 1
    assert len(reads) == 3
