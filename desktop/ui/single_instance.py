"""One window per user: a second launch hands its patient to the window already running.

The running window listens on a local channel; a new launch first tries to connect and,
if it can, sends the patient context as one JSON line and exits. The line carries a BSN,
so only the same user may reach the channel, and a patient is taken only from it:

* Linux and macOS: a Unix socket in a folder only the user can enter —
  `$XDG_RUNTIME_DIR/bundelassistent`, or else `bundelassistent-<uid>` in the temp
  folder, created 0700. Owner and mode of the folder and the socket are checked before
  every use; one that belongs to someone else (another user who created it first) is
  refused with `ChannelUnsafe`, never used. On Linux both ends also check the other
  end's user id (SO_PEERCRED), so even a socket swapped in between is caught.
* Windows: a named pipe whose ACL admits only the user (UserAccessOption). Pipe names
  are global, so the name carries a random part kept in the user's own profile folder:
  another user cannot guess it to create the pipe first.
"""

from __future__ import annotations

import getpass
import json
import logging
import os
import stat
import tempfile
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket

from desktop.config import APP_AUTHOR, APP_NAME
from desktop.core.messages import msg

CHANNEL_FILE = "venster"
POSIX = os.name == "posix"
log = logging.getLogger(__name__)


class ChannelUnsafe(Exception):
    """The channel's folder or socket is not this user's alone; the message (a catalogue `Msg`) says what to do.

    It is shown before any window, as `fout: …` on the command line: in Dutch, as the CLI (`str`).
    """


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name available
        return "default"


def _private_folder(folder: Path, create: bool) -> Path:
    """`folder`, checked: a real directory, owned by this user, no access for others."""
    if create:
        try:
            folder.mkdir(mode=0o700)
        except FileExistsError:
            pass
    info = os.lstat(folder)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
        raise ChannelUnsafe(msg("window.channel.folder_not_yours", folder=str(folder), owner=info.st_uid,
                                mode=stat.filemode(info.st_mode)))
    return folder


def pipe_name(profile_folder: Path) -> str:
    """The Windows pipe name: the user's name and a secret made once and kept in `profile_folder`."""
    secret_file = profile_folder / "venster-kanaal"
    try:
        secret = secret_file.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        secret = ""
    if len(secret) < 20:
        import secrets  # Windows only, and once

        secret = secrets.token_urlsafe(24)
        profile_folder.mkdir(parents=True, exist_ok=True)
        secret_file.write_text(secret, encoding="ascii")
    return f"bundelassistent-{_user()}-{secret}"


def channel_name() -> str:
    """Where the running window listens: a socket path (POSIX) or a pipe name (Windows)."""
    if not POSIX:
        import platformdirs

        return pipe_name(Path(platformdirs.user_data_dir(APP_NAME, APP_AUTHOR)))
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime:
        try:
            folder = _private_folder(_private_folder(Path(runtime), create=False) / "bundelassistent", create=True)
            return str(folder / CHANNEL_FILE)
        except (ChannelUnsafe, OSError):
            pass  # an unusable runtime folder: the private temp folder below instead
    folder = _private_folder(Path(tempfile.gettempdir()) / f"bundelassistent-{os.getuid()}", create=True)
    return str(folder / CHANNEL_FILE)


def _check_socket(name: str) -> bool:
    """True when a socket of this user exists at `name`; ChannelUnsafe when it is someone else's."""
    if not POSIX:
        return False
    try:
        info = os.lstat(name)
    except FileNotFoundError:
        return False
    if not stat.S_ISSOCK(info.st_mode) or info.st_uid != os.getuid():
        raise ChannelUnsafe(msg("window.channel.socket_not_yours", name=name, owner=info.st_uid))
    return True


def peer_uid(socket: QLocalSocket) -> int | None:
    """The user id of the process at the other end (Linux), or None where the OS cannot say."""
    import socket as pysocket  # only when someone connects: not on the window's way to the screen
    import struct

    descriptor = int(socket.socketDescriptor())
    if not hasattr(pysocket, "SO_PEERCRED") or descriptor < 0:
        return None
    with pysocket.socket(fileno=os.dup(descriptor)) as raw:
        credentials = raw.getsockopt(pysocket.SOL_SOCKET, pysocket.SO_PEERCRED, struct.calcsize("3i"))
    return struct.unpack("3i", credentials)[1]


def _same_user(socket: QLocalSocket) -> bool:
    uid = peer_uid(socket)
    return uid is None or uid == os.getuid()


def hand_over(context: dict, name: str | None = None, timeout_ms: int = 1000) -> bool:
    """Send the patient to a running window; False when none is running, ChannelUnsafe when not ours."""
    name = name or channel_name()
    if POSIX and not _check_socket(name):
        return False
    socket = QLocalSocket()
    socket.connectToServer(name)
    if not socket.waitForConnected(timeout_ms):
        return False
    if not _same_user(socket):
        socket.abort()
        raise ChannelUnsafe(msg("window.channel.served_by_another_user", name=name))
    socket.write((json.dumps(context) + "\n").encode("utf-8"))
    socket.waitForBytesWritten(timeout_ms)
    socket.disconnectFromServer()
    return True


class InstanceServer(QObject):
    """Receives patient contexts from later launches of the same user."""

    patient_received = Signal(dict)

    def __init__(self, name: str | None = None):
        super().__init__()
        self.name = name or channel_name()
        self.server = QLocalServer(self)
        self.server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        self.server.newConnection.connect(self._accept)

    def listen(self) -> bool:
        if self.server.listen(self.name):
            return True
        if POSIX and not _check_socket(self.name):
            return False
        QLocalServer.removeServer(self.name)  # our own socket, left by a crashed window
        return self.server.listen(self.name)

    def _accept(self) -> None:
        while self.server.hasPendingConnections():
            socket = self.server.nextPendingConnection()
            if not _same_user(socket):
                log.warning("verbinding van een andere gebruiker geweigerd")
                socket.abort()
                continue
            socket.readyRead.connect(lambda s=socket: self._read(s))

    def _read(self, socket: QLocalSocket) -> None:
        if not socket.canReadLine():
            return
        try:
            context = json.loads(bytes(socket.readLine().data()).decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            return  # not ours or damaged: ignore rather than crash the window
        if isinstance(context, dict):
            self.patient_received.emit({k: str(v) for k, v in context.items() if isinstance(v, (str, int))})
        socket.disconnectFromServer()
