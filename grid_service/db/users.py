"""People's accounts (migrations 0021, 0023): only an argon2id hash of each password is stored, and
only a SHA-256 of each session's and each device code's secret."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

import asyncpg

from grid_service.db.pool import Conn
from grid_service.db.tokens import DEPARTMENT_EXISTS, INSERT_TOKEN, UnknownDepartment

INSERT_USER = """
INSERT INTO users (username, display_name, role, department, grids, password_hash, token_id)
VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id
"""
# Disabled: its sessions end, and the token it acted under is revoked with it.
DISABLE_USER = """
WITH disabled AS (
    UPDATE users SET disabled_at = now() WHERE username = $1 AND disabled_at IS NULL RETURNING id, token_id
), ended AS (
    UPDATE sessions s SET ended_at = now() FROM disabled d WHERE s.user_id = d.id AND s.ended_at IS NULL
), revoked AS (
    UPDATE api_tokens t SET revoked_at = now() FROM disabled d WHERE t.id = d.token_id AND t.revoked_at IS NULL
)
SELECT id FROM disabled
"""
# A new password ends every session of the account (a reset after a leak must shut the door).
SET_PASSWORD = """
WITH reset AS (
    UPDATE users SET password_hash = $2, password_set_at = now()
     WHERE username = $1 AND disabled_at IS NULL RETURNING id
), ended AS (
    UPDATE sessions s SET ended_at = now() FROM reset r WHERE s.user_id = r.id AND s.ended_at IS NULL
)
SELECT id FROM reset
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
    """The account, and the token it acts under (named as it is: a token of that name is refused)."""
    if department is not None and not await conn.fetchval(DEPARTMENT_EXISTS, department):
        raise UnknownDepartment(department)
    unusable = secrets.token_bytes(32)  # a digest of nothing anyone holds: no bearer can present it
    try:
        async with conn.transaction():
            token_id = await conn.fetchval(INSERT_TOKEN, username, role, department, unusable, None)
            user_id: int = await conn.fetchval(
                INSERT_USER, username, display_name, role, department, grids, password_hash, token_id
            )
    except asyncpg.UniqueViolationError as exc:
        raise UsernameTaken(username) from exc
    return user_id


async def disable_user(conn: Conn, *, username: str) -> bool:
    return await conn.fetchval(DISABLE_USER, username) is not None


async def set_password(conn: Conn, *, username: str, password_hash: str) -> bool:
    """False when there is no such enabled user."""
    return await conn.fetchval(SET_PASSWORD, username, password_hash) is not None


@dataclass(frozen=True, slots=True)
class Account:
    """What signing in reads of an account, and what a session acts as."""

    id: int
    username: str
    display_name: str | None
    role: str
    department: str | None
    grids: list[str]
    token_id: int
    password_hash: str
    acting_as: str  # the name of its token: the audit trail's and the figures' name for it


ACCOUNT = (
    "u.id, u.username, u.display_name, u.role, u.department, u.grids, u.token_id, u.password_hash,"
    " (SELECT name FROM api_tokens WHERE id = u.token_id) AS acting_as"
)
ENABLED_BY_USERNAME = f"SELECT {ACCOUNT} FROM users u WHERE u.username = $1 AND u.disabled_at IS NULL"


async def enabled_account(conn: Conn, username: str) -> Account | None:
    row = await conn.fetchrow(ENABLED_BY_USERNAME, username)
    return Account(**dict(row)) if row else None


@dataclass(frozen=True, slots=True)
class SessionRow:
    id: int
    kind: str
    csrf_token: str
    expires_at: dt.datetime
    account: Account


INSERT_SESSION = """
INSERT INTO sessions (token_hash, user_id, kind, csrf_token, address, expires_at)
VALUES ($1, $2, $3, $4, $5, now() + make_interval(secs => $6)) RETURNING id, expires_at
"""
# A session holds while it has not ended, not expired, and its account is enabled.
LIVE_SESSION = f"""
SELECT s.id AS session_id, s.kind, s.csrf_token, s.expires_at, {ACCOUNT}
  FROM sessions s JOIN users u ON u.id = s.user_id
 WHERE s.token_hash = $1 AND s.ended_at IS NULL AND s.expires_at > now() AND u.disabled_at IS NULL
"""
END_SESSION = "UPDATE sessions SET ended_at = now() WHERE id = $1 AND ended_at IS NULL RETURNING id"


async def insert_session(
    conn: Conn, *, token_hash: bytes, user_id: int, kind: str, csrf_token: str, address: str, seconds: float
) -> tuple[int, dt.datetime]:
    """The new session's id and expiry."""
    row = await conn.fetchrow(INSERT_SESSION, token_hash, user_id, kind, csrf_token, address, seconds)
    assert row is not None  # an INSERT ... RETURNING answers its row
    return row["id"], row["expires_at"]


async def live_session(conn: Conn, token_hash: bytes) -> SessionRow | None:
    row = await conn.fetchrow(LIVE_SESSION, token_hash)
    if row is None:
        return None
    values = dict(row)
    head = {name: values.pop(name) for name in ("session_id", "kind", "csrf_token", "expires_at")}
    return SessionRow(head["session_id"], head["kind"], head["csrf_token"], head["expires_at"], Account(**values))


async def end_session(conn: Conn, session_id: int) -> bool:
    return await conn.fetchval(END_SESSION, session_id) is not None


INSERT_DEVICE_CODE = """
INSERT INTO device_codes (code_hash, user_id, expires_at)
SELECT $2, id, now() + make_interval(secs => $3) FROM users WHERE username = $1 AND disabled_at IS NULL
RETURNING expires_at
"""
# Taken once: the first to present it gets its account, every later one nothing.
TAKE_DEVICE_CODE = f"""
WITH taken AS (
    UPDATE device_codes SET used_at = now()
     WHERE code_hash = $1 AND used_at IS NULL AND expires_at > now() RETURNING user_id
)
SELECT {ACCOUNT} FROM taken JOIN users u ON u.id = taken.user_id WHERE u.disabled_at IS NULL
"""


async def insert_device_code(conn: Conn, *, username: str, code_hash: bytes, seconds: float) -> dt.datetime | None:
    """The code's expiry; None when there is no such enabled account."""
    expires_at: dt.datetime | None = await conn.fetchval(INSERT_DEVICE_CODE, username, code_hash, seconds)
    return expires_at


async def take_device_code(conn: Conn, code_hash: bytes) -> Account | None:
    row = await conn.fetchrow(TAKE_DEVICE_CODE, code_hash)
    return Account(**dict(row)) if row else None


# Failed sign-ins within the window, per username and per address (each counted on its own).
FAILURES = """
SELECT count(*) FILTER (WHERE username = $1) AS by_username, count(*) FILTER (WHERE address = $2) AS by_address,
       min(at) AS oldest
  FROM sign_in_failures
 WHERE (username = $1 OR address = $2) AND at > now() - make_interval(secs => $3)
"""
RECORD_FAILURE = """
WITH gone AS (DELETE FROM sign_in_failures WHERE at < now() - interval '1 day')
INSERT INTO sign_in_failures (username, address) VALUES ($1, $2)
"""


@dataclass(frozen=True, slots=True)
class Failures:
    by_username: int
    by_address: int
    oldest: dt.datetime | None


async def recent_failures(conn: Conn, *, username: str, address: str, window_s: float) -> Failures:
    row = await conn.fetchrow(FAILURES, username, address, window_s)
    assert row is not None  # an aggregate always answers one row
    return Failures(row["by_username"], row["by_address"], row["oldest"])


async def record_failure(conn: Conn, *, username: str, address: str) -> None:
    await conn.execute(RECORD_FAILURE, username, address)
