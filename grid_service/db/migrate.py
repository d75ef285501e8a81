"""Schema migrations: numbered SQL files applied in order, each in its own transaction.

Applied versions are recorded in ``schema_migrations`` inside the database, so
the database itself says what it contains. A transaction-level advisory lock
makes concurrent starters (several workers) apply each file exactly once.

Function definitions (``db/sql/functions/*.sql``) are not history: each file
drops and creates its functions, and is run again, after the numbered
migrations, whenever its text differs from the one recorded in
``schema_functions``. Changing a function is an edit, not a copy of it.
"""

from __future__ import annotations

import hashlib
import logging
import re
from importlib import resources
from pathlib import Path

from grid_service.db.pool import Conn

log = logging.getLogger(__name__)

# Shipped inside the package (so a wheel carries them), read through importlib.resources.
SQL_DIR = Path(str(resources.files("grid_service.db") / "sql"))
MIGRATIONS_DIR = SQL_DIR / "migrations"
FUNCTIONS_DIR = SQL_DIR / "functions"
_FILE_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
_LOCK_KEY = 0x6772_6964_6D69_67  # "gridmig"

CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    integer PRIMARY KEY,
    name       text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)
"""
CREATE_FUNCTIONS_TABLE = """
CREATE TABLE IF NOT EXISTS schema_functions (
    name       text PRIMARY KEY,
    sha256     text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)
"""
SELECT_APPLIED = "SELECT version FROM schema_migrations"
SELECT_FUNCTION = "SELECT sha256 FROM schema_functions WHERE name = $1"
RECORD_FUNCTION = """
INSERT INTO schema_functions (name, sha256) VALUES ($1, $2)
ON CONFLICT (name) DO UPDATE SET sha256 = excluded.sha256, applied_at = now()
"""
INSERT_APPLIED = "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)"


class NoMigrations(RuntimeError):
    """The migrations are not where the package keeps them: an incomplete install."""


def migration_files(directory: Path = MIGRATIONS_DIR) -> list[tuple[int, Path]]:
    """The numbered migrations in order; NoMigrations when there are none (never "up to date" by mistake)."""
    if not directory.is_dir() or not any(directory.glob("*.sql")):
        raise NoMigrations(f"no migrations in {directory}: the package is incomplete; reinstall grid-service")
    files = []
    for path in sorted(directory.glob("*.sql")):
        match = _FILE_NAME.match(path.name)
        if not match:
            raise ValueError(f"migration file name must look like 0001_name.sql: {path.name}")
        files.append((int(match.group(1)), path))
    versions = [v for v, _ in files]
    if len(set(versions)) != len(versions):
        raise ValueError("two migration files share a number")
    return files


def function_files(directory: Path = FUNCTIONS_DIR) -> list[tuple[str, str]]:
    return [(path.name, path.read_text(encoding="utf-8")) for path in sorted(directory.glob("*.sql"))]


async def migrate(conn: Conn, directory: Path = MIGRATIONS_DIR, functions: Path = FUNCTIONS_DIR) -> list[str]:
    """Apply every pending migration, then every changed function definition; return the names applied."""
    applied_now: list[str] = []
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK_KEY)
        await conn.execute(CREATE_TABLE)
        await conn.execute(CREATE_FUNCTIONS_TABLE)
    files = migration_files(directory)
    for version, path in files:
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK_KEY)
            applied = {r["version"] for r in await conn.fetch(SELECT_APPLIED)}
            if version in applied:
                continue
            await conn.execute(path.read_text(encoding="utf-8"))
            await conn.execute(INSERT_APPLIED, version, path.name)
            applied_now.append(path.name)
            log.info("applied migration %s", path.name)
    newest = await conn.fetchval("SELECT max(version) FROM schema_migrations")
    if newest is not None and newest > files[-1][0]:
        # A newer release migrated this database (a rolling upgrade under way): its functions fit
        # its schema, and an older worker putting its own back would undo them at every start.
        log.warning(
            "the database is at migration %04d, newer than this release's %04d: its functions are left as they are",
            newest,
            files[-1][0],
        )
        return applied_now
    for name, text in function_files(functions):
        digest = hashlib.sha256(text.encode()).hexdigest()
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK_KEY)
            if await conn.fetchval(SELECT_FUNCTION, name) == digest:
                continue
            await conn.execute(text)
            await conn.execute(RECORD_FUNCTION, name, digest)
            applied_now.append(f"functions/{name}")
            log.info("applied function definition %s", name)
    return applied_now
