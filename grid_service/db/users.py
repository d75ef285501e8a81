"""People's accounts (migration 0021): only an argon2id hash of each password is stored."""

from __future__ import annotations

import asyncpg

from grid_service.db.pool import Conn
from grid_service.db.tokens import DEPARTMENT_EXISTS, UnknownDepartment

INSERT_USER = """
INSERT INTO users (username, display_name, role, department, grids, password_hash)
VALUES ($1, $2, $3, $4, $5, $6) RETURNING id
"""
DISABLE_USER = "UPDATE users SET disabled_at = now() WHERE username = $1 AND disabled_at IS NULL RETURNING id"
SET_PASSWORD = """
UPDATE users SET password_hash = $2, password_set_at = now() WHERE username = $1 AND disabled_at IS NULL RETURNING id
"""


class UsernameTaken(Exception):
    pass


async def insert_user(
    conn: Conn,
    *,
    username: str,
    display_name: str | None,
    role: str,
    department: str | None,
    grids: list[str],
    password_hash: str,
) -> int:
    if department is not None and not await conn.fetchval(DEPARTMENT_EXISTS, department):
        raise UnknownDepartment(department)
    try:
        user_id: int = await conn.fetchval(INSERT_USER, username, display_name, role, department, grids, password_hash)
    except asyncpg.UniqueViolationError as exc:
        raise UsernameTaken(username) from exc
    return user_id


async def disable_user(conn: Conn, *, username: str) -> bool:
    return await conn.fetchval(DISABLE_USER, username) is not None


async def set_password(conn: Conn, *, username: str, password_hash: str) -> bool:
    """False when there is no such enabled user."""
    return await conn.fetchval(SET_PASSWORD, username, password_hash) is not None
