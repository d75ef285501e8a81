"""The grid-service command line, run as a user would run it."""

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from geo import gcj02
from tests.conftest import FIXTURE_CONFIG


def run(db_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GRID_SERVICE_DATABASE_URL": db_url, "GRID_SERVICE_LOG_LEVEL": "WARNING"}
    return subprocess.run(
        [sys.executable, "-m", "grid_service", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def test_token_create_prints_the_token_alone_on_the_last_line_and_stores_only_its_hash(db_url, db):
    result = run(db_url, "token", "create", "--role", "department", "--department", "housing", "--name", "clerk-1")
    assert result.returncode == 0, result.stderr
    token = result.stdout.strip().splitlines()[-1]
    assert token.startswith("gs_") and " " not in token
    row = await db.fetchrow("SELECT role, department, token_hash FROM api_tokens WHERE name = 'clerk-1'")
    assert (row["role"], row["department"]) == ("department", "housing")
    assert bytes(row["token_hash"]) == hashlib.sha256(token.encode()).digest()
    assert token.encode() not in json.dumps([str(v) for v in row.values()]).encode()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--role", "department", "--name", "x"], "--department is required"),
        (["--role", "viewer", "--department", "housing", "--name", "x"], "--department is required"),
        (["--role", "department", "--department", "parks", "--name", "x"], "unknown department 'parks'"),
        (["--role", "channel", "--name", "x"], "--source is required for a channel token"),
        (["--role", "inspector", "--source", "public", "--name", "x"], "--source is required for a channel token"),
    ],
)
async def test_token_create_refuses_bad_combinations(db_url, args, message):
    result = run(db_url, "token", "create", *args)
    assert result.returncode == 1 and message in result.stderr


async def test_a_channel_token_is_bound_to_its_source(db_url, db):
    result = run(db_url, "token", "create", "--role", "channel", "--source", "public", "--name", "citizen-app")
    assert result.returncode == 0, result.stderr
    row = await db.fetchrow("SELECT role, source FROM api_tokens WHERE name = 'citizen-app'")
    assert (row["role"], row["source"]) == ("channel", "public")


async def test_token_names_are_unique_and_revocation_is_reported(db_url, db):
    assert run(db_url, "token", "create", "--role", "viewer", "--name", "wall").returncode == 0
    again = run(db_url, "token", "create", "--role", "viewer", "--name", "wall")
    assert again.returncode == 1 and "already exists" in again.stderr
    assert run(db_url, "token", "revoke", "wall").returncode == 0
    assert await db.fetchval("SELECT revoked_at IS NOT NULL FROM api_tokens WHERE name = 'wall'")
    missing = run(db_url, "token", "revoke", "wall")
    assert missing.returncode == 1 and "no active token" in missing.stderr


async def test_load_config_names_the_file_and_item_and_writes_nothing(db_url, db, tmp_path):
    config = tmp_path / "config"
    shutil.copytree(FIXTURE_CONFIG, config)
    (config / "routing.toml").write_text('[[rule]]\ncategory = "*"\narea = ""\ndepartment = "parks"\n')
    generation = await db.fetchval("SELECT generation FROM config_state")
    result = run(db_url, "load-config", str(config))
    assert result.returncode == 1
    assert "routing.toml: rule 1: unknown department 'parks'" in result.stderr
    assert "Traceback" not in result.stderr
    assert await db.fetchval("SELECT generation FROM config_state") == generation


async def test_load_config_loads_a_valid_directory(db_url, db):
    result = run(db_url, "load-config", str(FIXTURE_CONFIG))
    assert result.returncode == 0, result.stderr
    assert "4 categories" in result.stdout and "5 cells" in result.stdout
    assert await db.fetchval("SELECT generation FROM config_state") == 2


async def test_migrate_reports_an_up_to_date_database(db_url):
    result = run(db_url, "migrate")
    assert result.returncode == 0 and "up to date" in result.stdout


def generate(boundary: Path, output: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """`grid generate` with 500 m cells; needs no database."""
    return run(
        "postgresql://unused",
        "grid",
        "generate",
        "--boundary",
        str(boundary),
        "--cell-size",
        "500",
        "-o",
        str(output),
        *extra,
    )


def test_grid_generate_from_a_gcj02_boundary(tmp_path: Path):
    ring = [
        gcj02.to_gcj02(lon, lat)
        for lon, lat in [(126.60, 45.60), (126.63, 45.60), (126.63, 45.62), (126.60, 45.62), (126.60, 45.60)]
    ]
    boundary = tmp_path / "boundary.geojson"
    boundary.write_text(json.dumps({"type": "Polygon", "coordinates": [[list(p) for p in ring]]}))
    output = tmp_path / "grid.geojson"
    result = generate(boundary, output, "--code-prefix", "230108", "--crs", "gcj02")
    assert result.returncode == 0, result.stderr
    cells = json.loads(output.read_text())["features"]
    assert len(cells) >= 20 and all(len(f["properties"]["code"]) == 15 for f in cells)
    west = min(pt[0] for f in cells for pt in f["geometry"]["coordinates"][0])
    assert west == pytest.approx(126.60, abs=1e-6), "converted back to WGS84"


def test_grid_generate_refuses_a_bad_prefix(tmp_path: Path):
    boundary = tmp_path / "b.geojson"
    boundary.write_text(json.dumps({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]}))
    result = generate(boundary, tmp_path / "o.geojson", "--code-prefix", "23")
    assert result.returncode == 1 and "6-digit" in result.stderr


def test_a_command_run_where_there_is_no_database_says_where_it_looked_and_creates_none(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "GRID_SERVICE_DATABASE_URL"}
    result = subprocess.run(
        [sys.executable, "-m", "grid_service", "token", "create", "--role", "inspector", "--name", "phone-1"],
        env={**env, "GRID_SERVICE_LOG_LEVEL": "WARNING"},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert f"no embedded database in {tmp_path.resolve() / '.grid-service' / 'postgres'}" in result.stderr
    assert "GRID_SERVICE_DATA_DIR" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / ".grid-service" / "postgres" / "PG_VERSION").exists(), "no database was made"


def test_a_busy_port_is_one_line_not_a_traceback(db_url):
    import socket

    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = run(db_url, "serve", "--port", str(port))
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"grid-service: cannot listen on 127.0.0.1:{port}: Address already in use "
        "(another server there? choose one with --port)"
    ]
