"""What the operations tests need from the machine: PostgreSQL's client programs, nginx, promtool,
Docker Compose. A test that finds one missing skips and says which, except where
GRID_SERVICE_REQUIRE_OPS_TOOLS=1 (set by .ci/run, which installs them): there it fails, so that CI
never passes with the proxy, the alert rules or the compose file left unchecked."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest


def missing(reason: str) -> None:
    """A tool this test needs is not here: skip, or fail where the tools are required."""
    if os.environ.get("GRID_SERVICE_REQUIRE_OPS_TOOLS") == "1":
        pytest.fail(f"{reason} (GRID_SERVICE_REQUIRE_OPS_TOOLS=1)")
    pytest.skip(reason)


def postgres_program(name: str) -> Path:
    """``name`` from ``pg_config --bindir`` (the server's own version), else skip."""
    pg_config = shutil.which("pg_config")
    if pg_config is None:
        missing("pg_config is not installed: no PostgreSQL client programs to back up with")
    bindir = Path(subprocess.run([pg_config, "--bindir"], check=True, capture_output=True, text=True).stdout.strip())
    program = bindir / name
    if not program.exists():
        missing(f"{program} is not installed")
    return program


def program(name: str, why: str) -> str:
    """``name`` on PATH (or in /usr/sbin, where nginx is and a user's PATH may not look), else skip
    saying ``why`` it was wanted."""
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")
    if found is None:
        missing(f"{name} is not installed: {why}")
    return found
