"""People's accounts from the command line (SPEC §13): `user create`, `user disable`,
`user reset-password`, run as an operator would run them; only an argon2id hash is stored."""

import os
import subprocess
import sys

import pytest

from grid_service.accounts import password_matches


def user(db_url: str, *args: str, password: str = "") -> subprocess.CompletedProcess[str]:
    """`grid-service user …` with `password` piped to it (nothing piped: one is generated)."""
    env = {**os.environ, "GRID_SERVICE_DATABASE_URL": db_url, "GRID_SERVICE_LOG_LEVEL": "WARNING"}
    return subprocess.run(
        [sys.executable, "-m", "grid_service", "user", *args],
        env=env,
        input=password + "\n" if password else "",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def account(db, username):
    return await db.fetchrow("SELECT * FROM users WHERE username = $1", username)


async def test_a_generated_password_is_printed_once_alone_on_the_last_line_and_only_its_hash_stored(db_url, db):
    result = user(
        db_url, "create", "--username", "li.wei", "--role", "inspector", "--grids", "230108001001,230108002",
        "--display-name", "李伟",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    password = result.stdout.strip().splitlines()[-1]
    assert len(password) == 16 and " " not in password
    row = await account(db, "li.wei")
    assert (row["role"], row["department"], row["grids"], row["display_name"]) == (
        "inspector",
        None,
        ["230108001001", "230108002"],
        "李伟",
    )
    assert row["password_hash"].startswith("$argon2id$") and password not in row["password_hash"]
    assert password_matches(row["password_hash"], password)
    assert not password_matches(row["password_hash"], password + "x")


async def test_a_piped_password_is_used_and_never_printed(db_url, db):
    result = user(
        db_url, "create", "--username", "clerk", "--role", "department", "--department", "housing",
        password="长期密码-2026",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "长期密码" not in result.stdout
    assert password_matches((await account(db, "clerk"))["password_hash"], "长期密码-2026")


async def test_reset_password_replaces_the_hash_and_disable_ends_the_account(db_url, db):
    assert (
        user(db_url, "create", "--username", "disp", "--role", "dispatcher", password="first-password").returncode == 0
    )
    before = await account(db, "disp")
    result = user(db_url, "reset-password", "disp")
    assert result.returncode == 0, result.stderr
    new = result.stdout.strip().splitlines()[-1]
    after = await account(db, "disp")
    assert password_matches(after["password_hash"], new) and not password_matches(
        after["password_hash"], "first-password"
    )
    assert after["password_set_at"] > before["password_set_at"]
    assert user(db_url, "disable", "disp").returncode == 0
    assert (await account(db, "disp"))["disabled_at"] is not None
    # a disabled account has no password to reset, and is not disabled twice
    for again in (user(db_url, "reset-password", "disp"), user(db_url, "disable", "disp")):
        assert again.returncode == 1 and "no enabled account 'disp'" in again.stderr


@pytest.mark.parametrize(
    "args, password, message",
    [
        (["--username", "x", "--role", "department"], "", "--department is required"),
        (["--username", "x", "--role", "viewer", "--department", "housing"], "", "--department is required"),
        (["--username", "x", "--role", "department", "--department", "parks"], "", "unknown department 'parks'"),
        (["--username", "x", "--role", "viewer", "--grids", "230108001"], "", "--grids is for an inspector"),
        (["--username", "x", "--role", "inspector", "--grids", "23a"], "", "is not a grid prefix"),
        (["--username=.x", "--role", "viewer"], "", "a username is"),
        (["--username", "has space", "--role", "viewer"], "", "a username is"),
        (["--username", "x", "--role", "viewer"], "short", "at least 8 characters"),
        (["--username", "x", "--role", "channel"], "", "invalid choice"),
    ],
)
async def test_user_create_refuses_what_it_cannot_use_and_writes_nothing(db_url, db, args, password, message):
    result = user(db_url, "create", *args, password=password)
    assert result.returncode != 0 and message in result.stderr, result.stderr
    assert await db.fetchval("SELECT count(*) FROM users") == 0


async def test_a_username_is_taken_once(db_url, db):
    assert user(db_url, "create", "--username", "rec", "--role", "receiver").returncode == 0
    again = user(db_url, "create", "--username", "rec", "--role", "viewer")
    assert again.returncode == 1 and "an account or a token named 'rec' already exists" in again.stderr
    assert (await account(db, "rec"))["role"] == "receiver"


async def test_a_device_code_is_printed_alone_on_the_last_line_and_only_its_hash_stored(db_url, db):
    import re

    from grid_service.sessions import hash_device_code

    assert user(db_url, "create", "--username", "phone.user", "--role", "inspector").returncode == 0
    done = user(db_url, "device-code", "phone.user")
    assert done.returncode == 0, done.stderr
    code = done.stdout.strip().splitlines()[-1]
    assert re.fullmatch(r"[A-Z2-9]{4}-[A-Z2-9]{4}", code), code
    row = await db.fetchrow("SELECT code_hash, expires_at - created_at AS valid FROM device_codes")
    assert bytes(row["code_hash"]) == hash_device_code(code) and row["valid"].total_seconds() == 600
    missing = user(db_url, "device-code", "nobody")
    assert missing.returncode == 1 and "no enabled account 'nobody'" in missing.stderr
