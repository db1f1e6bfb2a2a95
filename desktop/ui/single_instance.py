"""One window per user: a second launch hands its patient to the window already running.

The running window listens on a local socket named after the user; a new launch first
tries to connect and, if it can, sends the patient context as one JSON line and exits.
"""

from __future__ import annotations

import getpass
import json

from PySide6.QtCore import QObject, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket


def server_name() -> str:
    try:
        user = getpass.getuser()
    except Exception:  # no login name available
        user = "default"
    return f"bundelassistent-{user}"


def hand_over(context: dict, name: str | None = None, timeout_ms: int = 1000) -> bool:
    """Send the patient to a running window; False when none is running."""
    socket = QLocalSocket()
    socket.connectToServer(name or server_name())
    if not socket.waitForConnected(timeout_ms):
        return False
    socket.write((json.dumps(context) + "\n").encode("utf-8"))
    socket.waitForBytesWritten(timeout_ms)
    socket.disconnectFromServer()
    return True


class InstanceServer(QObject):
    """Receives patient contexts from later launches."""

    patient_received = Signal(dict)

    def __init__(self, name: str | None = None):
        super().__init__()
        self.name = name or server_name()
        self.server = QLocalServer(self)
        self.server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        self.server.newConnection.connect(self._accept)

    def listen(self) -> bool:
        if self.server.listen(self.name):
            return True
        QLocalServer.removeServer(self.name)  # a stale socket left by a crashed window
        return self.server.listen(self.name)

    def _accept(self) -> None:
        while self.server.hasPendingConnections():
            socket = self.server.nextPendingConnection()
            socket.readyRead.connect(lambda s=socket: self._read(s))

    def _read(self, socket: QLocalSocket) -> None:
        if not socket.canReadLine():
            return
        try:
            context = json.loads(bytes(socket.readLine()).decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            return  # not ours or damaged: ignore rather than crash the window
        if isinstance(context, dict):
            self.patient_received.emit({k: str(v) for k, v in context.items() if isinstance(v, (str, int))})
        socket.disconnectFromServer()
