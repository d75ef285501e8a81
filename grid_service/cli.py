"""The ``grid-service`` command line (SPEC §5)."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import socket
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from aiohttp import web

from geo.generate import generate_cells
from geo.io import GridFileError, cells_to_geojson, load_boundary
from grid_service import metrics
from grid_service.accounts import BadAccount, checked_grids, checked_username, hash_password, new_password
from grid_service.app import create_app, server_options
from grid_service.auth import hash_token, new_token
from grid_service.configuration.files import ConfigError, read_config_dir
from grid_service.configuration.follow import ensure_configuration
from grid_service.contexts import database_url
from grid_service.db import config_store
from grid_service.db import tokens as db_tokens
from grid_service.db import users as db_users
from grid_service.db.embedded import NoEmbeddedDatabase
from grid_service.db.migrate import NoMigrations, migrate
from grid_service.db.pool import connect
from grid_service.demo import Demo, DemoError, DemoTokens, with_short_limits
from grid_service.limits import SharedCounts
from grid_service.logs import configure_logging
from grid_service.schemas import Role, Source
from grid_service.sessions import DEVICE_CODE_S, issue_device_code
from grid_service.settings import Settings
from grid_service.supervisor import Supervisor, stop_with_parent


class CommandError(Exception):
    """A user-facing failure: printed without a traceback, exit status 1."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="grid-service", description="Grid-based urban governance service.")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the HTTP service")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--workers", type=int)
    serve.add_argument("--config", type=Path, help="configuration directory loaded on first start")

    sub.add_parser("migrate", help="apply pending database migrations")

    load = sub.add_parser("load-config", help="validate a configuration directory, then load it atomically")
    load.add_argument("directory", type=Path)
    load.add_argument("--crs", choices=["wgs84", "gcj02"], help="datum of the grid files (overrides the files)")

    grid = sub.add_parser("grid", help="grid tools").add_subparsers(dest="grid_command", required=True)
    generate = grid.add_parser("generate", help="cut square cells over a boundary polygon")
    generate.add_argument("--boundary", type=Path, required=True)
    generate.add_argument("--cell-size", type=float, required=True, help="metres")
    generate.add_argument("--code-prefix", required=True, help="6-digit administrative area code")
    generate.add_argument("--crs", choices=["wgs84", "gcj02"])
    generate.add_argument("--community-cells", type=int, default=5, help="cells per community side")
    generate.add_argument("--street-communities", type=int, default=4, help="communities per street side")
    generate.add_argument("--name", default="", help="area name used in cell names")
    generate.add_argument("-o", "--output", type=Path, required=True)

    token = sub.add_parser("token", help="API tokens").add_subparsers(dest="token_command", required=True)
    create = token.add_parser("create", help="create a token; it is printed once, alone on the last line")
    create.add_argument("--role", required=True, choices=[r.value for r in Role])
    create.add_argument("--department")
    create.add_argument(
        "--source", choices=[s.value for s in Source], help="a channel token's source (required for it)"
    )
    create.add_argument("--name", required=True)
    revoke = token.add_parser("revoke", help="revoke a token by name")
    revoke.add_argument("name")

    user = sub.add_parser("user", help="people's accounts").add_subparsers(dest="user_command", required=True)
    person = user.add_parser(
        "create", help="create an account; the password is read from stdin, or generated and printed once"
    )
    person.add_argument("--username", required=True)
    person.add_argument("--role", required=True, choices=[r.value for r in Role if r is not Role.CHANNEL])
    person.add_argument("--department", help="a department account's department (required for it)")
    person.add_argument("--grids", help="the grid prefixes an inspector answers for, comma-separated")
    person.add_argument("--display-name")
    user.add_parser("disable", help="disable an account").add_argument("username")
    user.add_parser(
        "reset-password", help="set a new password: read from stdin, or generated and printed once"
    ).add_argument("username")
    user.add_parser(
        "device-code", help="a one-time code (10 minutes) a phone signs in with, for a long-lived session"
    ).add_argument("username")

    demo = sub.add_parser("demo", help="drive believable traffic against a running server (the map comes alive)")
    demo.add_argument("--url", help="the running server (default: http://HOST:PORT from the settings)")
    demo.add_argument("--rate", type=float, default=2.0, help="new reports per second")
    demo.add_argument("--duration", type=float, help="seconds to run (default: until interrupted)")
    demo.add_argument("--seed", type=int)
    demo.add_argument(
        "--short-limits",
        action="store_true",
        help="first load the configuration with a minute for every hour of a limit (a demo database only)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    overrides = {
        k: v
        for k, v in {
            "host": getattr(args, "host", None),
            "port": getattr(args, "port", None),
            "workers": getattr(args, "workers", None),
            "config": getattr(args, "config", None),
        }.items()
        if v is not None
    }
    settings = Settings(**overrides)
    configure_logging(settings.log_level)
    try:
        if args.command == "serve":
            serve(settings)
        elif args.command == "migrate":
            applied = asyncio.run(_migrate(settings))
            print(f"applied: {', '.join(applied)}" if applied else "database is up to date")
        elif args.command == "load-config":
            print(asyncio.run(_load_config(settings, args.directory, args.crs)))
        elif args.command == "grid":
            print(_grid_generate(args))
        elif args.command == "token" and args.token_command == "create":
            print(asyncio.run(_token_create(settings, args.role, args.department, args.name, args.source)))
        elif args.command == "token" and args.token_command == "revoke":
            print(asyncio.run(_token_revoke(settings, args.name)))
        elif args.command == "user":
            print(asyncio.run(_user(settings, args)))
        elif args.command == "demo":
            _demo(settings, args)
    except (CommandError, ConfigError, GridFileError, NoEmbeddedDatabase, NoMigrations, BadAccount) as exc:
        print(f"grid-service: {exc}", file=sys.stderr)
        sys.exit(1)


async def _with_db(settings: Settings, action: Any, *extra: Any) -> Any:
    url = await asyncio.to_thread(database_url, settings)
    conn = await connect(url)
    try:
        await migrate(conn)
        return await action(conn, *extra)
    finally:
        await conn.close()


async def _migrate(settings: Settings) -> list[str]:
    url = await asyncio.to_thread(database_url, settings)
    conn = await connect(url)
    try:
        return await migrate(conn)
    finally:
        await conn.close()


async def _load_config(settings: Settings, directory: Path, crs: str | None) -> str:
    bundle = await asyncio.to_thread(read_config_dir, directory, grid_crs=crs)  # validate before connecting

    async def store(conn: Any) -> int:
        generation: int = await config_store.store_bundle(conn, bundle)
        return generation

    generation = await _with_db(settings, store)
    return (
        f"loaded {directory}: {len(bundle.categories)} categories, {len(bundle.departments)} departments, "
        f"{len(bundle.rules)} rules, {len(bundle.cells)} cells (configuration generation {generation})"
    )


def _grid_generate(args: argparse.Namespace) -> str:
    boundary = load_boundary(args.boundary, crs=args.crs)
    try:
        cells = generate_cells(
            boundary,
            cell_size_m=args.cell_size,
            code_prefix=args.code_prefix,
            community_cells=args.community_cells,
            street_communities=args.street_communities,
            area_name=args.name,
        )
    except ValueError as exc:
        raise CommandError(str(exc)) from exc
    collection = cells_to_geojson(cells)
    args.output.write_text(json.dumps(collection, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
    return f"wrote {len(cells)} cells to {args.output}"


async def _token_create(settings: Settings, role: str, department: str | None, name: str, source: str | None) -> str:
    if (role == Role.CHANNEL.value) != (source is not None):
        raise CommandError("--source is required for a channel token, and only for it")
    if (role == Role.DEPARTMENT.value) != (department is not None):
        raise CommandError("--department is required for role department, and only for it")
    token = new_token()

    async def insert(conn: Any) -> None:
        try:
            await db_tokens.insert_token(
                conn, name=name, role=role, department=department, token_hash=hash_token(token), source=source
            )
        except db_tokens.TokenNameTaken as exc:
            raise CommandError(f"a token named {name!r} already exists") from exc
        except db_tokens.UnknownDepartment as exc:
            raise CommandError(f"unknown department {department!r}") from exc

    await _with_db(settings, insert)
    return f"created {role} token {name!r} (shown once; only its hash is stored):\n{token}"


async def _token_revoke(settings: Settings, name: str) -> str:
    async def revoke(conn: Any) -> bool:
        return await db_tokens.revoke_token(conn, name=name)

    if not await _with_db(settings, revoke):
        raise CommandError(f"no active token named {name!r}")
    return f"revoked {name!r}"


def _password_given() -> tuple[str, bool]:
    """The password piped to stdin (its first line), else a new one; and whether it was made here."""
    given = "" if sys.stdin is None or sys.stdin.isatty() else sys.stdin.readline().rstrip("\r\n")
    return (given, False) if given else (new_password(), True)


async def _user(settings: Settings, args: argparse.Namespace) -> str:
    username = checked_username(args.username)
    if args.user_command == "disable":
        if not await _with_db(settings, lambda conn: db_users.disable_user(conn, username=username)):
            raise CommandError(f"no enabled account {username!r}")
        return f"disabled {username!r}"
    if args.user_command == "device-code":
        issued = await _with_db(settings, lambda conn: issue_device_code(conn, username=username))
        if issued is None:
            raise CommandError(f"no enabled account {username!r}")
        return f"device code for {username!r}, for one sign-in within {DEVICE_CODE_S // 60} minutes:\n{issued.code}"
    password, made = _password_given()
    password_hash = hash_password(password)
    shown = f" (shown once; only its hash is stored):\n{password}" if made else ""
    if args.user_command == "reset-password":
        reset = await _with_db(
            settings, lambda conn: db_users.set_password(conn, username=username, password_hash=password_hash)
        )
        if not reset:
            raise CommandError(f"no enabled account {username!r}")
        return f"set a new password for {username!r}{shown}"
    if (args.role == Role.DEPARTMENT.value) != (args.department is not None):
        raise CommandError("--department is required for role department, and only for it")
    grids = checked_grids(args.grids)
    if grids and args.role != Role.INSPECTOR.value:
        raise CommandError("--grids is for an inspector's account")

    async def insert(conn: Any) -> None:
        try:
            await db_users.insert_user(
                conn,
                username=username,
                display_name=args.display_name,
                role=args.role,
                department=args.department,
                grids=grids,
                password_hash=password_hash,
            )
        except db_users.UsernameTaken as exc:
            raise CommandError(f"an account or a token named {username!r} already exists") from exc
        except db_tokens.UnknownDepartment as exc:
            raise CommandError(f"unknown department {args.department!r}") from exc

    await _with_db(settings, insert)
    return f"created {args.role} account {username!r}{shown}"


def _demo(settings: Settings, args: argparse.Namespace) -> None:
    base_url = args.url or f"http://{settings.host}:{settings.port}"
    run = f"demo-{secrets.token_hex(3)}"  # token names are unique; each run makes its own

    async def make_tokens(conn: Any) -> tuple[DemoTokens, str]:
        async def make(role: str, name: str, department: str | None = None, source: str | None = None) -> str:
            token = new_token()
            await db_tokens.insert_token(
                conn,
                name=f"{run}-{name}",
                role=role,
                department=department,
                token_hash=hash_token(token),
                source=source,
            )
            return token

        departments = [r["code"] for r in await conn.fetch("SELECT code FROM departments WHERE active ORDER BY code")]
        tokens = DemoTokens(
            inspectors=[await make("inspector", f"inspector-{n}") for n in range(1, 4)],
            dispatcher=await make("dispatcher", "dispatcher"),
            departments={code: await make("department", code, code) for code in departments},
            receiver=await make("receiver", "receiver"),
            citizens=await make("channel", "citizens", source="public"),
            camera=await make("channel", "camera", source="sensor"),
            shift_lead=await make("shift_lead", "shift-lead"),
        )
        return tokens, await make("viewer", "wall")

    if args.short_limits:  # running workers take it up within GRID_SERVICE_CONFIG_POLL_S

        async def shorten(conn: Any) -> int:
            return await config_store.store_bundle(conn, with_short_limits(read_config_dir(settings.config)))

        generation = asyncio.run(_with_db(settings, shorten))
        print(f"configuration generation {generation}: a minute for every hour of a limit, natural clock")
    tokens, viewer = asyncio.run(_with_db(settings, make_tokens))
    print(f"demo traffic against {base_url} at {args.rate} reports/s (tokens named {run}-*); Ctrl-C stops it")
    print(f"watch it: {base_url}/map?access_token={viewer}", flush=True)
    demo = Demo(base_url, tokens, rate=args.rate, seed=args.seed)
    try:
        counts = asyncio.run(demo.run(args.duration))
    except KeyboardInterrupt:
        counts = demo.counts
    except (DemoError, OSError) as exc:
        raise CommandError(str(exc)) from exc
    print("calls made:", ", ".join(f"{key}: {n}" for key, n in sorted(counts.items())))


def serve(settings: Settings) -> None:
    """Run the service. With --workers N, N processes share one listening port."""
    _check_port(settings.host, settings.port)
    if settings.workers == 1:
        # One worker counts in its own memory, unless told to use the files (then they are emptied first).
        metric_files = metrics.prepare_workers() if settings.metrics and os.environ.get(metrics.MULTIPROC_ENV) else None
        try:
            _run_worker(settings, None, 0)
        finally:
            if metric_files is not None:
                metrics.workers_ended(metric_files)
        return
    url = database_url(settings, create=True)  # the embedded server, if any, belongs to this parent process
    worker_settings = settings.model_copy(update={"database_url": url})
    asyncio.run(_prepare_database(worker_settings))
    shared = SharedCounts(settings.workers)  # the limits' counts, shared by the workers
    # Before the workers start: they inherit where to write their metrics.
    metric_files = metrics.prepare_workers() if settings.metrics else None

    def worker_ended(slot: int, pid: int | None) -> None:
        shared.forget_worker(slot)  # the feeds and long-polls it held ended with it
        if settings.metrics and pid is not None:
            metrics.worker_died(pid)

    try:
        Supervisor(settings.workers, _run_worker, (worker_settings, shared), on_end=worker_ended).run()
    finally:
        shared.close()
        if metric_files is not None:
            metrics.workers_ended(metric_files)


def _check_port(host: str, port: int) -> None:
    """A busy or forbidden port is one line on stderr, not a traceback from deep in the server."""
    if port == 0:
        return
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server binds it
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise CommandError(
                f"cannot listen on {host}:{port}: {exc.strerror} (another server there? choose one with --port)"
            ) from exc


async def _prepare_database(settings: Settings) -> None:
    """Migrate and install the default configuration once, before workers start."""

    async def ensure_config(conn: Any) -> None:
        await ensure_configuration(conn, settings.config)

    await _with_db(settings, ensure_config)


def _run_worker(settings: Settings, shared: SharedCounts | None, slot: int) -> None:
    """One worker; ``shared`` (the limits' counts) and its ``slot`` when supervised, None when alone."""
    configure_logging(settings.log_level)
    if shared is not None:  # a supervised worker: it ends with its parent
        stop_with_parent()
    app = create_app(settings, shared=shared, worker_row=slot)
    web.run_app(
        app,
        host=settings.host,
        port=settings.port,
        reuse_port=shared is not None,
        access_log=None,
        **server_options(settings),
        print=lambda _: print(
            f"grid-service listening on http://{settings.host}:{settings.port} (API under /api/v1)", flush=True
        ),
    )
