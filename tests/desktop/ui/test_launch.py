"""Launch with patient context: the URL form, and a second launch handing over the patient."""

import pytest

pytest.importorskip("PySide6")

from desktop.cli import UserError, url_to_arguments
from desktop.ui.single_instance import InstanceServer, hand_over


def test_url_launch_becomes_the_open_command():
    arguments = url_to_arguments("bundelassistent://open?bsn=111222333&birth_date=1970-05-05&patient_id=E123")
    assert arguments[0] == "open"
    pairs = dict(zip(arguments[1::2], arguments[2::2]))
    assert pairs == {"--bsn": "111222333", "--birth-date": "1970-05-05", "--patient-id": "E123"}


def test_url_with_another_action_is_refused_clearly():
    with pytest.raises(UserError, match="alleen bundelassistent://open"):
        url_to_arguments("bundelassistent://delete?bsn=1")


@pytest.fixture(autouse=True)
def runtime_dir(tmp_path, monkeypatch):
    folder = tmp_path / "run"
    folder.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(folder))
    return folder


def test_second_launch_hands_the_patient_to_the_running_window(qtbot):
    assert not hand_over({"bsn": "1"}, timeout_ms=200), "nothing listens yet"
    server = InstanceServer()
    assert server.listen()
    with qtbot.waitSignal(server.patient_received, timeout=3000) as received:
        assert hand_over({"bsn": "111222333", "birth_date": "1970-05-05"})
    assert received.args[0] == {"bsn": "111222333", "birth_date": "1970-05-05"}
    server.server.close()


def test_garbage_on_the_socket_does_not_crash_the_window(qtbot):
    from PySide6.QtNetwork import QLocalSocket

    server = InstanceServer()
    assert server.listen()
    received = []
    server.patient_received.connect(received.append)
    socket = QLocalSocket()
    socket.connectToServer(server.name)
    assert socket.waitForConnected(1000)
    socket.write(b"\xff\xfenot json\n")
    socket.waitForBytesWritten(1000)
    qtbot.wait(200)
    assert received == []
    server.server.close()
