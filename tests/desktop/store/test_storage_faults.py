"""Storage faults under real conditions, told apart: a full disk (a small tmpfs), a
read-only folder (as a non-root user), a lock held by another process, a damaged file.

Only real damage gets the advice to restore a backup; the others say that nothing was
lost and what to do. Nothing printed as registered is ever lost.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from desktop.store.inclusions import DATABASE_NAME
from helpers import CLI, inclusion, jsonl, valid_bsns


def run(*args, env=None, prefix=(), timeout=180):
    return subprocess.run([*prefix, *CLI, *map(str, args)], capture_output=True, text=True, timeout=timeout,
                          env=dict(os.environ, **(env or {})))


def batch(folder: Path, start: int, count: int) -> Path:
    path = folder / f"batch-{start}.jsonl"
    path.write_text(jsonl([inclusion(bsn) for bsn in valid_bsns(count, start=start)]), encoding="utf-8")
    return path


def listed(data: Path, **options) -> list[str]:
    result = run("--data-dir", data, "inclusions", "--json", **options)
    assert result.returncode == 0, result.stderr
    return sorted(item["id"] for item in json.loads(result.stdout))


def says_nothing_lost_and_no_restore(message: str) -> None:
    assert "niets verloren" in message and "zet géén back-up terug" in message
    assert "restore" not in message and "beschadigd" not in message and "Traceback" not in message


@pytest.fixture
def small_disk(tmp_path):
    """A 3 MB tmpfs: a really full disk, not a simulated error (skipped only where mount is impossible)."""
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mount_point)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"kan geen tmpfs aankoppelen (root nodig): {mounted.stderr.strip()}")
    yield mount_point
    subprocess.run(["umount", "-l", str(mount_point)], check=False)


def fill(folder: Path) -> Path:
    filler = folder / "filler"
    descriptor = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while os.write(descriptor, b"\0" * 4096):
            pass
    except OSError:  # ENOSPC: the disk is full now
        pass
    finally:
        os.close(descriptor)
    return filler


def test_a_full_disk_is_reported_as_full_nothing_is_lost_and_it_works_again_once_freed(tmp_path, small_disk):
    data = small_disk / "data"
    first = run("--data-dir", data, "register", "--jsonl", batch(tmp_path, 440_000_000, 3))
    assert first.returncode == 0, first.stderr
    saved = sorted(first.stdout.split())
    filler = fill(small_disk)

    full = run("--data-dir", data, "register", "--jsonl", batch(tmp_path, 441_000_000, 20))
    assert full.returncode == 2
    assert "is vol" in full.stderr, full.stderr
    says_nothing_lost_and_no_restore(full.stderr)

    filler.unlink()
    assert set(saved) <= set(listed(data))
    again = run("--data-dir", data, "register", "--jsonl", batch(tmp_path, 442_000_000, 2))
    assert again.returncode == 0, again.stderr


def as_nobody() -> list[str]:
    """Run as the unprivileged user `nobody`. Keeps only CAP_DAC_READ_SEARCH (read and search,
    never write), because the Python interpreter lives under /root on this machine."""
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        pytest.skip("needs root and setpriv to run the CLI as another user")
    return ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
            "--inh-caps=+dac_read_search", "--ambient-caps=+dac_read_search"]


def test_a_read_only_folder_for_a_normal_user_is_reported_as_read_only_not_as_damage():
    prefix = as_nobody()
    base = Path(tempfile.mkdtemp(prefix="readonly-", dir="/tmp"))
    try:
        base.chmod(0o755)
        home = base / "home"
        home.mkdir()
        shutil.chown(home, "nobody", "nogroup")
        env = {"HOME": str(home), "XDG_DATA_HOME": str(home / "share"), "XDG_CONFIG_HOME": str(home / "config"),
               "XDG_STATE_HOME": str(home / "state")}
        data = home / "data"
        lines = batch(base, 443_000_000, 2)
        lines.chmod(0o644)
        made = run("--data-dir", data, "register", "--jsonl", lines, env=env, prefix=prefix)
        assert made.returncode == 0, made.stderr
        data.chmod(0o500)
        (data / DATABASE_NAME).chmod(0o400)

        refused = run("--data-dir", data, "register", "--jsonl", lines, env=env, prefix=prefix)
        assert refused.returncode == 2
        assert "kan niet geschreven worden" in refused.stderr, refused.stderr
        says_nothing_lost_and_no_restore(refused.stderr)

        data.chmod(0o700)
        (data / DATABASE_NAME).chmod(0o600)
        assert len(listed(data, env=env, prefix=prefix)) == 2
    finally:
        shutil.rmtree(base, ignore_errors=True)


HOLD_LOCK = """import sys
from pathlib import Path
from desktop.store import keys
from desktop.store.database import raw_connect
db = raw_connect(Path(sys.argv[1]), keys.load(Path(sys.argv[1])), isolation_level=None)
db.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
sys.stdin.read()
db.execute("ROLLBACK")
"""


def test_a_lock_held_by_another_process_is_reported_as_locked_and_clears_when_it_lets_go(tmp_path):
    data = tmp_path / "data"
    assert run("--data-dir", data, "register", "--jsonl", batch(tmp_path, 444_000_000, 1)).returncode == 0
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(data / DATABASE_NAME)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        blocked = run("--data-dir", data, "register", "--jsonl", batch(tmp_path, 445_000_000, 1))
        assert blocked.returncode == 2
        assert "vergrendeld door een ander programma" in blocked.stderr, blocked.stderr
        assert "niets verloren" in blocked.stderr and "restore" not in blocked.stderr
    finally:
        holder.communicate("", timeout=30)
    assert run("--data-dir", data, "register", "--jsonl", batch(tmp_path, 445_000_000, 1)).returncode == 0
    assert len(listed(data)) == 2


def test_a_damaged_file_is_reported_as_damage_with_the_advice_to_restore(tmp_path):
    data = tmp_path / "data"
    assert run("--data-dir", data, "register", "--jsonl", batch(tmp_path, 446_000_000, 30)).returncode == 0
    database = data / DATABASE_NAME
    damaged = bytearray(database.read_bytes())
    for page in range(1, len(damaged) // 4096):  # every page but the first (whose salt and schema stay)
        damaged[page * 4096 + 200: page * 4096 + 1200] = os.urandom(1000)
    database.write_bytes(bytes(damaged))
    result = run("--data-dir", data, "inclusions", "--json")
    assert result.returncode == 2
    assert "is beschadigd" in result.stderr and "bundelassistent restore" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr

    truncated = tmp_path / "short"
    assert run("--data-dir", truncated, "register", "--jsonl", batch(tmp_path, 447_000_000, 3)).returncode == 0
    target = truncated / DATABASE_NAME
    target.write_bytes(target.read_bytes()[:6000])  # cut off mid-page
    cut = run("--data-dir", truncated, "inclusions", "--json")
    assert cut.returncode == 2 and "is beschadigd" in cut.stderr and "Traceback" not in cut.stderr


def test_the_window_stops_with_the_english_message_for_a_vanished_register(tmp_path, qtbot):
    from PySide6.QtWidgets import QMessageBox

    from desktop import config
    from desktop.operations.services import Services
    from desktop.ui.app import stop_with_message, storage_problem
    from desktop.ui.main_window import MainWindow

    data = tmp_path / "data"
    assert run("--data-dir", data, "register", "--jsonl", batch(tmp_path, 448_000_000, 2)).returncode == 0
    (data / DATABASE_NAME).unlink()
    services = Services(config.load(overrides={"data_dir": str(data), "language": "en"}))
    problem = storage_problem(services)
    assert problem and "register (" in problem and "2 records) is missing or empty" in problem
    assert "new-register --confirm" in problem
    assert not (data / DATABASE_NAME).exists()  # no new, empty register behind the user's back
    window = MainWindow()
    qtbot.addWidget(window)
    stop_with_message(window, problem)
    box = window.findChild(QMessageBox, "storage-problem")
    assert box is not None and box.isVisible() and "missing or empty" in box.text()
    box.finished.disconnect()  # closing it quits the application: not the test session's shared one
    box.close()
