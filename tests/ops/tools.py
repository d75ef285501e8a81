"""What the operations tests need from the machine: PostgreSQL's client programs, nginx, promtool,
Docker Compose. Each is looked up once; a test that finds one missing skips and says which."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest


def postgres_program(name: str) -> Path:
    """``name`` from ``pg_config --bindir`` (the server's own version), else skip."""
    pg_config = shutil.which("pg_config")
    if pg_config is None:
        pytest.skip("pg_config is not installed: no PostgreSQL client programs to back up with")
    bindir = Path(subprocess.run([pg_config, "--bindir"], check=True, capture_output=True, text=True).stdout.strip())
    program = bindir / name
    if not program.exists():
        pytest.skip(f"{program} is not installed")
    return program


def program(name: str, why: str) -> str:
    """``name`` on PATH (or in /usr/sbin, where nginx is and a user's PATH may not look), else skip
    saying ``why`` it was wanted."""
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")
    if found is None:
        pytest.skip(f"{name} is not installed: {why}")
    return found
