"""A real central server in a child process on 127.0.0.1, for the client's end-to-end tests.

It can be SIGKILLed and started again on the same port and database, like a server that
crashes mid-sync and comes back.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

SERVER = [sys.executable, "-m", "sync.server.cli"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class ServerProcess:
    def __init__(self, database_url: str, log_dir: Path):
        self.database_url = database_url
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_dir = log_dir
        self.process: subprocess.Popen | None = None
        self.starts = 0

    def admin(self, *args: str) -> subprocess.CompletedProcess:
        result = subprocess.run([*SERVER, "--database", self.database_url, *args],
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        return result

    def enroll_code(self) -> str:
        return self.admin("enroll-code").stdout.strip().splitlines()[-1]

    def start(self) -> "ServerProcess":
        self.starts += 1
        log = open(self.log_dir / f"server-{self.port}-{self.starts}.log", "w")
        self.process = subprocess.Popen(
            [*SERVER, "--database", self.database_url, "serve", "--host", "127.0.0.1", "--port", str(self.port)],
            stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ, PYTHONUNBUFFERED="1"))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server stopped at start-up; see {log.name}")
            try:
                if requests.get(self.url + "/v1/health", timeout=1).ok:
                    return self
            except requests.RequestException:
                time.sleep(0.1)
        raise RuntimeError("server did not answer /v1/health within 60 s")

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()
