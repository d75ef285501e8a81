"""People signed in (SPEC §13): server-side sessions behind an HttpOnly, SameSite=Strict cookie,
a CSRF token for every write the cookie authenticates, one-time device codes for phones, and
throttled guessing.

A session acts under its account's own token (db/users.py), so everything downstream — the audit
trail, the reports it sends, the figures of the people of the loop, the heavy-read slots — sees a
person as it sees a token's holder. Machines keep their bearer tokens.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

import asyncpg

from grid_service.accounts import decoy_hash, password_matches
from grid_service.auth import Principal, TimedCache, hash_token
from grid_service.db import users as db_users
from grid_service.db.pool import Conn
from grid_service.db.users import Account
from grid_service.errors import Conflict, NotFound, TooManyRequests, Unauthenticated
from grid_service.flows.intake import lock_key
from grid_service.schemas import Role

SESSION_COOKIE = "gs_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
PASSWORD_SESSION_S = 12 * 3600  # a working day and its overtime: a desk signs in each morning
DEVICE_SESSION_S = 90 * 24 * 3600  # an inspector's phone, signed in once with a device code
DEVICE_CODE_S = 10 * 60
FAILURE_WINDOW_S = 15 * 60
MAX_FAILURES = 5  # per username and per address within the window; the next is 429
DEVICE_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read off a screen


@dataclass(frozen=True, slots=True)
class SignedIn:
    session_id: int
    kind: str  # password | device
    csrf_token: str
    expires_at: dt.datetime
    account: Account

    @property
    def principal(self) -> Principal:
        a = self.account
        return Principal(a.token_id, a.acting_as, Role(a.role), a.department)


def new_device_code() -> str:
    """Eight characters in two groups (K7Q2-9XMD): 40 bits, typed on a phone within ten minutes."""
    code = "".join(secrets.choice(DEVICE_CODE_ALPHABET) for _ in range(8))
    return f"{code[:4]}-{code[4:]}"


def hash_device_code(code: str) -> bytes:
    return hashlib.sha256(code.strip().upper().replace("-", "").encode()).digest()


@dataclass(frozen=True, slots=True)
class DeviceCode:
    code: str  # shown once: only its hash is stored
    expires_at: dt.datetime


async def issue_device_code(conn: Conn, *, username: str) -> DeviceCode | None:
    """A new one-time code for the enabled account of that name, good for one sign-in within
    DEVICE_CODE_S; None when there is no such enabled account. The one way a code is made, for
    `grid-service user device-code` and for the workbench alike."""
    code = new_device_code()
    expires_at = await db_users.insert_device_code(
        conn, username=username, code_hash=hash_device_code(code), seconds=DEVICE_CODE_S
    )
    return None if expires_at is None else DeviceCode(code, expires_at)


ACCOUNT_STANDING = "SELECT role, disabled_at IS NOT NULL AS disabled FROM users WHERE username = $1"


async def device_code_for_phone(pool: asyncpg.Pool, *, username: str, timeout: float) -> DeviceCode:
    """A code for an inspector's phone (a device session is for a phone in the field): 404 when
    there is no account of that name, 409 when it is disabled or not an inspector's."""
    async with pool.acquire(timeout=timeout) as conn, conn.transaction():
        standing = await conn.fetchrow(ACCOUNT_STANDING, username)
        if standing is None:
            raise NotFound(f"no account named {username!r}", code="unknown_user")
        if not standing["disabled"] and standing["role"] != Role.INSPECTOR:
            raise Conflict(
                f"{username!r} is a {standing['role']} account: a device code signs in an inspector's phone",
                code="not_an_inspector",
            )
        # The insert checks again: an account disabled since the read above gets no code either.
        issued = None if standing["disabled"] else await issue_device_code(conn, username=username)
    if issued is None:
        raise Conflict(f"the account {username!r} is disabled", code="account_disabled")
    return issued


class SessionCache(TimedCache[SignedIn]):
    """Session lookups: a signed-out session, or one of an account disabled meanwhile, stops working
    within the cache's time in every worker (at once in the worker that signed it out)."""

    async def lookup(self, pool: asyncpg.Pool, secret: str, timeout: float) -> SignedIn | None:
        digest = hash_token(secret)
        found, signed_in = self.cached(digest)
        if found:
            return signed_in
        async with pool.acquire(timeout=timeout) as conn:
            row = await db_users.live_session(conn, digest)
        return self.keep(
            digest, SignedIn(row.id, row.kind, row.csrf_token, row.expires_at, row.account) if row else None
        )

    def forget_secret(self, secret: str) -> None:
        self.forget(hash_token(secret))


async def sign_in_with_password(
    pool: asyncpg.Pool, *, username: str, password: str, address: str, timeout: float
) -> tuple[str, SignedIn]:
    """A new session's secret (the cookie's value) and the session; 401 for a wrong username or
    password, 429 once 5 have failed within 15 minutes for the username or from the address.

    The check and the record of a failure happen under locks on the username and the address, so
    that however many attempts arrive at once, on however many workers, no more than five are
    checked within the window. A lock another attempt holds is not waited for: that attempt is
    429 at once, so a burst of guesses holds no connection of the pool and checks one password at
    a time per username and address."""
    async with pool.acquire(timeout=timeout) as conn, conn.transaction():
        await _hold(conn, f"sign-in:user:{username}", f"sign-in:address:{address}")
        failures = await db_users.recent_failures(conn, username=username, address=address, window_s=FAILURE_WINDOW_S)
        if max(failures.by_username, failures.by_address) >= MAX_FAILURES:
            raise _throttled(failures.oldest)
        account = await db_users.enabled_account(conn, username)
        checked = account.password_hash if account else decoy_hash()
        matches = await asyncio.to_thread(password_matches, checked, password)
        if account is None or not matches:
            await db_users.record_failure(conn, username=username, address=address)
            failed = True
        else:
            failed = False
            secret, signed_in = await _new_session(conn, account, kind="password", address=address)
    if failed:  # raised once the failure is committed
        raise Unauthenticated("wrong username or password", code="sign_in_failed")
    return secret, signed_in


async def sign_in_with_device_code(
    pool: asyncpg.Pool, *, code: str, address: str, timeout: float
) -> tuple[str, SignedIn]:
    """A long-lived device session for the account the code was made for; the code is used up.
    Failures count against the address as wrong passwords do (a code is short)."""
    async with pool.acquire(timeout=timeout) as conn, conn.transaction():
        await _hold(conn, f"sign-in:address:{address}")
        failures = await db_users.recent_failures(conn, username="", address=address, window_s=FAILURE_WINDOW_S)
        if failures.by_address >= MAX_FAILURES:
            raise _throttled(failures.oldest)
        account = await db_users.take_device_code(conn, hash_device_code(code))
        if account is None:
            await db_users.record_failure(conn, username="", address=address)
            failed = True
        else:
            failed = False
            secret, signed_in = await _new_session(conn, account, kind="device", address=address)
    if failed:
        raise Unauthenticated("unknown, used or expired device code", code="sign_in_failed")
    return secret, signed_in


async def _new_session(conn: Conn, account: Account, *, kind: str, address: str) -> tuple[str, SignedIn]:
    secret, csrf_token = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    seconds = DEVICE_SESSION_S if kind == "device" else PASSWORD_SESSION_S
    session_id, expires_at = await db_users.insert_session(
        conn, token_hash=hash_token(secret), user_id=account.id, kind=kind, csrf_token=csrf_token,
        address=address, seconds=seconds,
    )  # fmt: skip
    return secret, SignedIn(session_id, kind, csrf_token, expires_at, account)


async def _hold(conn: Conn, *names: str) -> None:
    """The sign-in locks of these names for the transaction, or 429 when another attempt has one."""
    for key in sorted({lock_key(name) for name in names}):
        if not await conn.fetchval("SELECT pg_try_advisory_xact_lock($1)", key):
            raise TooManyRequests(
                "another sign-in for this account or from this address is being checked", code="sign_in_throttled"
            )


def _throttled(oldest: dt.datetime | None) -> TooManyRequests:
    error = TooManyRequests("too many failed sign-ins; try again later", code="sign_in_throttled")
    if oldest is not None:  # when the oldest failure leaves the window, one more may be tried
        left = oldest + dt.timedelta(seconds=FAILURE_WINDOW_S) - dt.datetime.now(dt.UTC)
        error.retry_after_s = max(1, int(left.total_seconds()) + 1)
    return error
