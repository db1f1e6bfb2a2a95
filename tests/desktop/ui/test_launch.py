"""Launch with patient context: the URL form, and a second launch handing over the patient."""

import uuid

import pytest

pytest.importorskip("PySide6")

from desktop.cli import UserError, url_to_arguments  # noqa: E402
from desktop.ui.single_instance import InstanceServer, hand_over  # noqa: E402


def test_url_launch_becomes_the_open_command():
    arguments = url_to_arguments("bundelassistent://open?bsn=111222333&birth_date=1970-05-05&patient_id=E123")
    assert arguments[0] == "open"
    pairs = dict(zip(arguments[1::2], arguments[2::2]))
    assert pairs == {"--bsn": "111222333", "--birth-date": "1970-05-05", "--patient-id": "E123"}


def test_url_with_another_action_is_refused_clearly():
    with pytest.raises(UserError, match="alleen bundelassistent://open"):
        url_to_arguments("bundelassistent://delete?bsn=1")


def test_second_launch_hands_the_patient_to_the_running_window(qtbot):
    name = f"bundelassistent-test-{uuid.uuid4().hex[:8]}"
    assert not hand_over({"bsn": "1"}, name=name, timeout_ms=200), "nothing listens yet"
    server = InstanceServer(name)
    assert server.listen()
    with qtbot.waitSignal(server.patient_received, timeout=3000) as received:
        assert hand_over({"bsn": "111222333", "birth_date": "1970-05-05"}, name=name)
    assert received.args[0] == {"bsn": "111222333", "birth_date": "1970-05-05"}
    server.server.close()


def test_garbage_on_the_socket_does_not_crash_the_window(qtbot):
    from PySide6.QtNetwork import QLocalSocket

    name = f"bundelassistent-test-{uuid.uuid4().hex[:8]}"
    server = InstanceServer(name)
    assert server.listen()
    received = []
    server.patient_received.connect(received.append)
    socket = QLocalSocket()
    socket.connectToServer(name)
    assert socket.waitForConnected(1000)
    socket.write(b"\xff\xfenot json\n")
    socket.waitForBytesWritten(1000)
    qtbot.wait(200)
    assert received == []
    server.server.close()
