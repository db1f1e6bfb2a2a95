"""Private EHR hand-over with real processes: the patient reaches the user's own window
only — through a channel in a folder only that user can enter — and can be passed on
standard input or in a launch file instead of the process list."""

from __future__ import annotations

import os
import shutil
import socket
import stat
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

pytest.importorskip("PySide6")

from desktop.ui.single_instance import ChannelUnsafe, InstanceServer, channel_name, hand_over
from helpers import CLI

NOBODY = 65534
PATIENT = {"bsn": "111222333", "birth_date": "1970-05-05", "patient_id": "E123", "name": "J. Jansen"}


@pytest.fixture
def runtime_dir(tmp_path, monkeypatch):
    folder = tmp_path / "run"
    folder.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(folder))
    return folder


@pytest.fixture
def window(qtbot, runtime_dir):
    """A running window's channel, in this test process: what it receives is kept."""
    server = InstanceServer()
    assert server.listen()
    received: list[dict] = []
    server.patient_received.connect(received.append)
    yield received
    server.server.close()


def launch(*args) -> subprocess.Popen:
    return subprocess.Popen([*CLI, "open", *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=dict(os.environ))


def finish(qtbot, process: subprocess.Popen, stdin: str | None = None, timeout: float = 60):
    """Feed stdin, keep the test's event loop turning while the launch runs, return (code, stderr)."""
    if stdin is not None:
        process.stdin.write(stdin)
    process.stdin.close()
    deadline = time.monotonic() + timeout
    while process.poll() is None and time.monotonic() < deadline:
        qtbot.wait(50)
    if process.poll() is None:
        process.kill()
    qtbot.wait(200)
    return process.wait(10), process.stderr.read()


def test_the_channel_is_a_user_only_folder_in_the_runtime_dir(runtime_dir):
    name = Path(channel_name())
    assert name.parent == runtime_dir / "bundelassistent"
    info = os.lstat(name.parent)
    assert info.st_uid == os.getuid() and stat.S_IMODE(info.st_mode) == 0o700


@pytest.mark.parametrize("text", [
    '{"bsn": "111222333", "birth_date": "1970-05-05", "patient_id": "E123", "name": "J. Jansen", "extra": 1}',
    "# vanuit het EPD\nbsn=111222333\nbirthdate=1970-05-05\npatient-id=E123\nname = J. Jansen\n",
])
def test_open_stdin_hands_the_patient_over_without_the_command_line(qtbot, window, text):
    process = launch("--stdin")
    code, stderr = finish(qtbot, process, text)
    assert code == 0, stderr
    assert window == [PATIENT]


def test_a_launch_file_is_read_then_removed(qtbot, window, tmp_path):
    launch_file = tmp_path / "patient.txt"
    launch_file.write_text("bsn=111222333\nbirth_date=1970-05-05\npatient_id=E123\nname=J. Jansen\n")
    launch_file.chmod(0o600)
    code, stderr = finish(qtbot, launch("--launch-file", str(launch_file)))
    assert code == 0, stderr
    assert window == [PATIENT]
    assert not launch_file.exists()


def test_a_launch_file_others_may_read_is_refused_and_removed(qtbot, window, tmp_path):
    launch_file = tmp_path / "patient.json"
    launch_file.write_text('{"bsn": "111222333"}')
    launch_file.chmod(0o644)
    code, stderr = finish(qtbot, launch("--launch-file", str(launch_file)))
    assert code == 2 and stderr.startswith("fout: ") and "ook voor anderen leesbaar" in stderr
    assert "Traceback" not in stderr
    assert window == [] and not launch_file.exists()


@pytest.mark.skipif(os.geteuid() != 0, reason="a file of another user needs root to create")
def test_a_launch_file_of_another_user_is_refused_and_left_alone(qtbot, window, tmp_path):
    launch_file = tmp_path / "patient.json"
    launch_file.write_text('{"bsn": "111222333"}')
    launch_file.chmod(0o600)
    os.chown(launch_file, NOBODY, NOBODY)
    code, stderr = finish(qtbot, launch("--launch-file", str(launch_file)))
    assert code == 2 and "van een andere gebruiker" in stderr
    assert window == [] and launch_file.exists()


def test_flags_and_stdin_together_are_refused(qtbot, window):
    code, stderr = finish(qtbot, launch("--stdin", "--bsn", "111222333"), "bsn=111222333")
    assert code == 2 and "niet beide" in stderr
    assert window == []


# -- another local user -------------------------------------------------------------------
@pytest.fixture
def shared_temp():
    """A sticky, world-writable temp folder like /tmp (pytest's own folders are root-only)."""
    folder = Path(tempfile.mkdtemp(prefix="bundelassistent-test-", dir="/tmp"))
    folder.chmod(0o1777)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


FOREIGN_LISTENER = """
import socket, sys, time
server = socket.socket(socket.AF_UNIX)
server.bind(sys.argv[1])
server.listen(5)
server.settimeout(30)
print("luistert", flush=True)
stop = time.monotonic() + 30
while time.monotonic() < stop:
    try:
        connection, _ = server.accept()
    except socket.timeout:
        break
    connection.settimeout(5)
    data = connection.recv(65536)
    with open(sys.argv[2], "ab") as received:
        received.write(data)
"""


@pytest.mark.skipif(os.geteuid() != 0 or not Path("/usr/bin/setpriv").exists(),
                    reason="running a listener as another user needs root and setpriv")
def test_another_user_who_creates_the_channel_first_never_receives_the_patient(shared_temp, monkeypatch):
    """No runtime dir, so the channel is bundelassistent-<uid> in the temp folder: nobody makes it
    first and listens there; the hand-over is refused and the listener gets nothing."""
    temp = shared_temp
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    monkeypatch.setenv("TMPDIR", str(temp))  # for the launch
    monkeypatch.setattr(tempfile, "tempdir", str(temp))  # for this process (gettempdir caches)
    folder = temp / f"bundelassistent-{os.getuid()}"
    folder.mkdir(mode=0o777)
    folder.chmod(0o777)
    os.chown(folder, NOBODY, NOBODY)
    loot = temp / "loot"
    listener = subprocess.Popen(
        ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "/usr/bin/python3", "-c",
         FOREIGN_LISTENER, str(folder / "venster"), str(loot)], stdout=subprocess.PIPE, text=True)
    try:
        assert listener.stdout.readline().strip() == "luistert"
        assert os.lstat(folder / "venster").st_uid == NOBODY
        result = subprocess.run([*CLI, "open", "--bsn", PATIENT["bsn"], "--birth-date", PATIENT["birth_date"]],
                                capture_output=True, text=True, timeout=60, env=dict(os.environ))
        assert result.returncode == 2
        assert result.stderr.startswith("fout: de map ") and "niet alleen van u" in result.stderr
        assert PATIENT["bsn"] not in result.stderr and "Traceback" not in result.stderr
        with pytest.raises(ChannelUnsafe):
            InstanceServer().listen()
    finally:
        listener.kill()
        listener.wait(10)
    assert not loot.exists() or loot.read_bytes() == b""


@pytest.mark.skipif(os.geteuid() != 0, reason="a socket of another user needs root to create")
def test_a_socket_of_another_user_in_the_private_folder_is_refused(runtime_dir):
    name = channel_name()
    planted = socket.socket(socket.AF_UNIX)
    planted.bind(name)
    planted.listen(1)
    os.chown(name, NOBODY, NOBODY)
    try:
        with pytest.raises(ChannelUnsafe, match="niet het kanaal van uw eigen venster"):
            hand_over(PATIENT)
        planted.settimeout(0.2)
        with pytest.raises(socket.timeout):
            planted.accept()
    finally:
        planted.close()


def test_a_foreign_runtime_dir_is_not_used(tmp_path, monkeypatch):
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(shared))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    assert Path(channel_name()).parent == tmp_path / f"bundelassistent-{os.getuid()}"


def test_the_windows_pipe_name_has_a_secret_part_kept_in_the_profile(tmp_path):
    """Pipe names are global on Windows: a secret made once per user makes the name unguessable."""
    from desktop.ui.single_instance import pipe_name

    first = pipe_name(tmp_path / "profiel")
    assert pipe_name(tmp_path / "profiel") == first
    assert pipe_name(tmp_path / "ander-profiel") != first
    assert first.startswith("bundelassistent-") and len(first) >= len("bundelassistent-") + 32
