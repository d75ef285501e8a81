"""API tokens: only a SHA-256 of each token is stored."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from grid_service.db.pool import Conn

INSERT_TOKEN = """
INSERT INTO api_tokens (name, role, department, token_hash, source) VALUES ($1, $2, $3, $4, $5) RETURNING id
"""
REVOKE_TOKEN = "UPDATE api_tokens SET revoked_at = now() WHERE name = $1 AND revoked_at IS NULL RETURNING id"
SELECT_BY_HASH = """
SELECT id, name, role, department, source FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL
"""
DEPARTMENT_EXISTS = "SELECT EXISTS (SELECT 1 FROM departments WHERE code = $1 AND active)"


@dataclass(frozen=True, slots=True)
class TokenRow:
    id: int
    name: str
    role: str
    department: str | None
    source: str | None  # a channel token's source


class TokenNameTaken(Exception):
    pass


class UnknownDepartment(Exception):
    pass


async def insert_token(
    conn: Conn, *, name: str, role: str, department: str | None, token_hash: bytes, source: str | None = None
) -> int:
    if department is not None and not await conn.fetchval(DEPARTMENT_EXISTS, department):
        raise UnknownDepartment(department)
    try:
        token_id: int = await conn.fetchval(INSERT_TOKEN, name, role, department, token_hash, source)
    except asyncpg.UniqueViolationError as exc:
        raise TokenNameTaken(name) from exc
    return token_id


async def revoke_token(conn: Conn, *, name: str) -> bool:
    return await conn.fetchval(REVOKE_TOKEN, name) is not None


async def find_token(conn: Conn, *, token_hash: bytes) -> TokenRow | None:
    row = await conn.fetchrow(SELECT_BY_HASH, token_hash)
    return TokenRow(row["id"], row["name"], row["role"], row["department"], row["source"]) if row else None
