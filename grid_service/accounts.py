"""People's passwords (SPEC §13): argon2id, memory-hard, with the library's current parameters;
a hash made under older parameters still verifies."""

from __future__ import annotations

import functools
import re
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
GRID_PREFIX = re.compile(r"^\d{6,15}$")  # an area code, a street, a community or a cell
MIN_PASSWORD_LENGTH = 8
_HASHER = PasswordHasher()  # argon2id


class BadAccount(ValueError):
    """A username, grid prefix or password that cannot be used; the message says why."""


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise BadAccount(f"a password has at least {MIN_PASSWORD_LENGTH} characters")
    return _HASHER.hash(password)


def password_matches(password_hash: str, password: str) -> bool:
    try:
        return _HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@functools.cache
def decoy_hash() -> str:
    """A hash to check a password against when the username is unknown, so that the answer takes
    as long as for a wrong password (no one learns which usernames exist by timing)."""
    return _HASHER.hash(secrets.token_urlsafe(16))


def new_password() -> str:
    """A password to hand over once: 16 characters from an alphabet without look-alikes."""
    alphabet = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKMNPQRSTUVWXYZ23456789"
    return "".join(secrets.choice(alphabet) for _ in range(16))


def checked_username(username: str) -> str:
    if not USERNAME.match(username):
        raise BadAccount("a username is 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit")
    return username


def checked_grids(grids: str | None) -> list[str]:
    """`P1,P2` as a list of grid prefixes."""
    prefixes = [part.strip() for part in (grids or "").split(",") if part.strip()]
    for prefix in prefixes:
        if not GRID_PREFIX.match(prefix):
            raise BadAccount(f"{prefix!r} is not a grid prefix (6 to 15 digits of a grid code)")
    return prefixes
