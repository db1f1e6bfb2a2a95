"""A throwaway PostgreSQL cluster in a temporary folder, for tests and benchmarks.

Uses initdb/pg_ctl from /usr/lib/postgresql/*/bin (Debian's `postgresql` package) and
starts no system service. initdb refuses to run as root, so as root the programs run
as the `postgres` user via runuser, in a folder that user owns.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path


class PostgresUnavailable(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def find_bin_dir(hint: str | None = None) -> Path:
    candidates = [hint] if hint else []
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"),
                         key=lambda p: [int(x) if x.isdigit() else x for x in Path(p).parent.name.split(".")])[::-1]
    for candidate in candidates:
        if candidate and (Path(candidate) / "initdb").exists() and (Path(candidate) / "pg_ctl").exists():
            return Path(candidate)
    raise PostgresUnavailable("initdb/pg_ctl niet gevonden in /usr/lib/postgresql/*/bin; "
                              "installeer het Debian-pakket 'postgresql' (scripts/test doet dat)")


class PostgresCluster:
    def __init__(self, bin_dir: str | None = None, durable: bool = False, max_connections: int = 300,
                 settings: dict[str, str] | None = None):
        self.bin_dir = find_bin_dir(bin_dir)
        self.durable = durable
        self.max_connections = max_connections
        self.settings = settings or {}
        self.port = free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="bundelassistent-pg-"))
        self.data = self.folder / "data"
        self.log = self.folder / "postgres.log"
        self.run_as: list[str] = []
        if os.geteuid() == 0:
            try:
                user = pwd.getpwnam("postgres")
            except KeyError:
                raise PostgresUnavailable("als root draait PostgreSQL alleen als gebruiker 'postgres', "
                                          "die bestaat niet") from None
            os.chown(self.folder, user.pw_uid, user.pw_gid)
            self.run_as = ["runuser", "-u", "postgres", "--"]
        self._databases = 0

    def _run(self, *args: str, timeout: float = 120) -> None:
        command = self.run_as + [str(self.bin_dir / args[0]), *args[1:]]
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
        if result.returncode != 0:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise PostgresUnavailable(f"{args[0]} mislukte ({result.returncode}): {result.stderr.strip()}\n{log}")

    def start(self) -> PostgresCluster:
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8",
                  "--locale=C.UTF-8" if _has_c_utf8() else "--locale=C", "--no-sync")
        options = [f"-p {self.port}", f"-k {self.folder}", "-c listen_addresses=127.0.0.1",
                   f"-c max_connections={self.max_connections}", "-c shared_buffers=128MB"]
        options += [f"-c {name}={value}" for name, value in self.settings.items()]
        if not self.durable:  # tests: crash safety of PostgreSQL itself is not what they check
            options += ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", " ".join(options), "-w", "-t", "60",
                  "start")
        return self

    def stop(self) -> None:
        try:
            if self.data.exists():
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop", timeout=60)
        except (PostgresUnavailable, subprocess.TimeoutExpired):
            pass
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, prefix: str = "t") -> str:
        """A fresh empty database; returns its URL."""
        import psycopg

        self._databases += 1
        name = f"{prefix}_{os.getpid()}_{self._databases}_{int(time.time() * 1000) % 100000}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


def _has_c_utf8() -> bool:
    return Path("/usr/lib/locale/C.utf8").exists() or Path("/usr/lib/locale/C.UTF-8").exists()
