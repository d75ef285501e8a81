"""docker-compose.yml: Docker Compose accepts it where it is installed; everywhere, its services and
their wiring are read from the file (the service names both database hosts and reads from the
standby, the standby is made from the primary, Prometheus reads docs/prometheus/ with a token),
and its replication scripts are run against the machine's PostgreSQL: the primary's init script
and the standby's entrypoint make a synchronous hot standby."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import asyncpg
import yaml

from tests.ops.tools import missing, postgres_program
from tests.pg_cluster import PgCluster
from tests.served import free_port

ROOT = Path(__file__).parents[2]
COMPOSE = ROOT / "docker-compose.yml"
PRIMARY_INIT = ROOT / "docker" / "postgres" / "primary-init.sh"
STANDBY_ENTRYPOINT = ROOT / "docker" / "postgres" / "standby-entrypoint.sh"
READY_WITHIN_S = 20


def _compose_command() -> list[str] | None:
    """`docker compose` (the plugin), else `docker-compose`, whichever answers its version."""
    for command in (["docker", "compose"], ["docker-compose"]):
        if shutil.which(command[0]) is None:
            continue
        done = subprocess.run([*command, "version"], capture_output=True, timeout=30)
        if done.returncode == 0:
            return command
    return None


def test_docker_compose_accepts_the_file():
    command = _compose_command()
    if command is None:
        missing("Docker Compose is not present (neither `docker compose` nor `docker-compose`)")
    done = subprocess.run(
        [*command, "-f", str(COMPOSE), "config", "--quiet"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr


def _services() -> dict:
    return yaml.safe_load(COMPOSE.read_text())["services"]


def _host_ports(url: str) -> list[str]:
    return urlsplit(url).netloc.rsplit("@", 1)[-1].split(",")


def test_the_service_names_both_hosts_and_reads_from_the_standby():
    services = _services()
    assert {"db", "db-standby", "service", "prometheus"} <= set(services)
    env = services["service"]["environment"]
    url = env["GRID_SERVICE_DATABASE_URL"]
    assert _host_ports(url) == ["db:5432", "db-standby:5432"]
    assert parse_qs(urlsplit(url).query)["target_session_attrs"] == ["read-write"]
    assert _host_ports(env["GRID_SERVICE_READ_DATABASE_URL"]) == ["db-standby:5432"]
    assert urlsplit(url).path == urlsplit(env["GRID_SERVICE_READ_DATABASE_URL"]).path == "/grid_service"
    assert set(services["service"]["depends_on"]) == {"db", "db-standby"}


def test_the_standby_is_made_from_the_primary_by_the_scripts_in_docker():
    services = _services()
    primary, standby = services["db"], services["db-standby"]
    assert primary["image"] == standby["image"], "one PostgreSQL version on both"
    mounted = {volume.split(":")[0]: volume.split(":")[1] for volume in primary["volumes"]}
    assert mounted["./docker/postgres/primary-init.sh"].startswith("/docker-entrypoint-initdb.d/")
    standby_mounts = {volume.split(":")[0]: volume.split(":")[1] for volume in standby["volumes"]}
    assert standby_mounts["./docker/postgres/standby-entrypoint.sh"] in standby["entrypoint"]
    assert standby["depends_on"]["db"]["condition"] == "service_healthy"
    assert primary["volumes"][0].split(":")[0] != standby["volumes"][0].split(":")[0], "a data volume each"
    assert standby["user"] == "postgres", "pg_basebackup and postgres run as the image's postgres user"
    for path in (*mounted, *standby_mounts):
        if path.startswith("./"):
            assert (ROOT / path).is_file(), path


def test_prometheus_reads_the_documented_configuration_and_a_token_file():
    services = _services()
    prometheus = services["prometheus"]
    mounts = {volume.split(":")[0]: volume.split(":")[1] for volume in prometheus["volumes"]}
    assert mounts["./docs/prometheus/prometheus.yml"] == "/etc/prometheus/prometheus.yml"
    assert mounts["./docs/prometheus/alerts.yml"] == "/etc/prometheus/alerts.yml"
    scrape = yaml.safe_load((ROOT / "docs" / "prometheus" / "prometheus.yml").read_text())["scrape_configs"][0]
    token_dir = str(Path(scrape["authorization"]["credentials_file"]).parent)
    [token_volume] = [name for name, target in mounts.items() if target == token_dir]
    token_maker = services["metrics-token"]
    assert f"{token_volume}:/secrets" in token_maker["volumes"]
    assert prometheus["depends_on"]["metrics-token"]["condition"] == "service_completed_successfully"
    assert scrape["static_configs"][0]["targets"] == ["service:8080"]
    assert "--config.file=/etc/prometheus/prometheus.yml" in prometheus["command"]


def _as_postgres(cluster: PgCluster, script: Path, env: dict[str, str]) -> list[str]:
    command = ["/bin/sh", str(script)]
    if cluster.user is not None:
        keep = ",".join(env)
        command = ["runuser", "-u", cluster.user, f"--whitelist-environment={keep}", "--", *command]
    return command


def _init_primary(cluster: PgCluster, env: dict[str, str]) -> None:
    subprocess.run(_as_postgres(cluster, PRIMARY_INIT, env), env=env, check=True, capture_output=True, timeout=30)
    cluster.restart("fast")  # as the image does: the init scripts' server stops, the real one starts


def _start_standby(cluster: PgCluster, env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    """The entrypoint in the foreground, as the container runs it (its arguments go to postgres;
    max_connections as the test's primary has it, which a standby may not have less of)."""
    options = ["-p", str(port), "-k", str(cluster.root), "-c", "max_connections=200"]
    with (cluster.root / "standby.log").open("wb") as log:
        return subprocess.Popen(
            [*_as_postgres(cluster, STANDBY_ENTRYPOINT, env), *options], env=env, stdout=log, stderr=log
        )


def _text(path: Path) -> str:
    return path.read_text(errors="replace")


async def _until_ready(port: int, process: subprocess.Popen[bytes], log: Path) -> asyncpg.Connection:
    for _ in range(READY_WITHIN_S * 10):
        assert process.poll() is None, f"the standby's entrypoint exited: {_text(log)}"
        try:
            return await asyncpg.connect(f"postgresql://postgres@127.0.0.1:{port}/postgres")
        except (OSError, asyncpg.CannotConnectNowError):
            await asyncio.sleep(0.1)
    raise AssertionError(f"the standby did not accept connections within {READY_WITHIN_S} s")


async def test_the_scripts_make_a_synchronous_hot_standby_of_the_primary():
    postgres_program("pg_basebackup")
    bindir = postgres_program("postgres").parent
    cluster = PgCluster()
    standby_process = None
    try:
        cluster.start()
        env = {
            "PATH": f"{bindir}:{os.environ['PATH']}",
            "PGHOST": "127.0.0.1",
            "PGPORT": str(cluster.port),
            "PGDATA": str(cluster.data),
            "POSTGRES_USER": "postgres",
            "POSTGRES_DB": "postgres",
            "REPLICATION_PASSWORD": "replica",
            "SYNCHRONOUS_STANDBY_NAMES": "standby",
        }
        _init_primary(cluster, env)

        standby_port = free_port()
        standby_env = {**env, "PGDATA": str(cluster.root / "standby"), "PRIMARY_HOST": "127.0.0.1"}
        standby_env["PRIMARY_PORT"] = standby_env.pop("PGPORT")
        standby_process = _start_standby(cluster, standby_env, standby_port)
        standby = await _until_ready(standby_port, standby_process, cluster.root / "standby.log")
        primary = await asyncpg.connect(cluster.url)
        try:
            assert await standby.fetchval("SELECT pg_is_in_recovery()") is True
            # Committed on the primary only once the standby has it: the standby is synchronous.
            await primary.execute("CREATE TABLE acknowledged (n int)")
            await primary.execute("INSERT INTO acknowledged VALUES (1)")
            replication = await primary.fetchrow("SELECT application_name, sync_state FROM pg_stat_replication")
            assert dict(replication) == {"application_name": "standby", "sync_state": "sync"}
            slot = await primary.fetchrow("SELECT slot_name, active FROM pg_replication_slots")
            assert dict(slot) == {"slot_name": "standby", "active": True}
            for _ in range(100):  # flushed there at commit; replayed an instant later (bounded: 10 s)
                if await standby.fetchval("SELECT to_regclass('acknowledged') IS NOT NULL"):
                    break
                await asyncio.sleep(0.1)
            assert await standby.fetchval("SELECT n FROM acknowledged") == 1
            # Promoted (the primary gone), it takes writes at once: it does not wait for a standby
            # of its own that it does not have.
            await primary.close()
            cluster.kill()
            assert await standby.fetchval("SELECT pg_promote(wait => true, wait_seconds => 10)") is True
            assert await standby.fetchval("SHOW synchronous_standby_names") == ""
            await standby.execute("INSERT INTO acknowledged VALUES (2)", timeout=5)
            assert await standby.fetchval("SELECT sum(n) FROM acknowledged") == 3
        finally:
            await primary.close()
            await standby.close()
    finally:
        if standby_process is not None:
            _stop(cluster, bindir, cluster.root / "standby")
            try:
                standby_process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                standby_process.kill()
                standby_process.wait()
        cluster.remove()


def _stop(cluster: PgCluster, bindir: Path, data: Path) -> None:
    """The standby's server, by its data directory (the entrypoint exec'd it under runuser)."""
    if not (data / "postmaster.pid").exists():
        return
    command = [str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"]
    if cluster.user is not None:
        command = ["runuser", "-u", cluster.user, "--", *command]
    subprocess.run(command, capture_output=True, timeout=30)
