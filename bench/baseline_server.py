"""The baseline for bench/intake.py: aiohttp + pydantic + one asyncpg INSERT per request, nothing else.

POST /api/v1/reports takes one report; POST /api/v1/reports/batch takes {"reports": [...]} and writes
them with one INSERT of the whole batch, the least any batch intake can do on this stack.

Usage: python bench/baseline_server.py DATABASE_URL PORT [WORKERS]
"""

from __future__ import annotations

import multiprocessing
import signal
import sys
import uuid

import asyncpg
import orjson
from aiohttp import web
from pydantic import BaseModel, ConfigDict

POOL = web.AppKey("pool", asyncpg.Pool)
CREATE = "CREATE TABLE IF NOT EXISTS baseline_reports (id uuid PRIMARY KEY, client_id text, body jsonb)"
INSERT = "INSERT INTO baseline_reports (id, client_id, body) VALUES ($1, $2, $3::jsonb)"
INSERT_MANY = (
    "INSERT INTO baseline_reports (id, client_id, body) SELECT * FROM unnest($1::uuid[], $2::text[], $3::jsonb[])"
)


class Point(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: str
    coordinates: tuple[float, float]


class Report(BaseModel):
    model_config = ConfigDict(extra="allow")
    client_id: str
    category: str
    location: Point


class Batch(BaseModel):
    reports: list[Report]


async def create_many(request: web.Request) -> web.Response:
    batch = Batch.model_validate(orjson.loads(await request.read()))
    ids = [uuid.uuid4() for _ in batch.reports]
    bodies = [r.model_dump_json() for r in batch.reports]
    await request.app[POOL].execute(INSERT_MANY, ids, [r.client_id for r in batch.reports], bodies)
    results = [{"report_id": str(i)} for i in ids]
    return web.Response(body=orjson.dumps({"results": results}), status=201, content_type="application/json")


async def create(request: web.Request) -> web.Response:
    report = Report.model_validate(orjson.loads(await request.read()))
    report_id = uuid.uuid4()
    await request.app[POOL].execute(INSERT, report_id, report.client_id, report.model_dump_json())
    return web.Response(body=orjson.dumps({"report_id": str(report_id)}), status=201, content_type="application/json")


def build(url: str) -> web.Application:
    app = web.Application()

    async def pool_ctx(app: web.Application):  # type: ignore[no-untyped-def]
        pool = await asyncpg.create_pool(url, min_size=10, max_size=40)
        await pool.execute(CREATE)
        app[POOL] = pool
        yield
        await pool.close()

    app.cleanup_ctx.append(pool_ctx)
    app.router.add_post("/api/v1/reports", create)
    app.router.add_post("/api/v1/reports/batch", create_many)
    return app


def run(url: str, port: int) -> None:
    web.run_app(build(url), host="127.0.0.1", port=port, reuse_port=True, access_log=None, print=None)


if __name__ == "__main__":
    database_url, listen_port = sys.argv[1], int(sys.argv[2])
    workers = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    processes = [multiprocessing.Process(target=run, args=(database_url, listen_port)) for _ in range(workers)]
    for p in processes:
        p.start()

    def stop(signum: int, frame: object) -> None:  # the workers are forked: stop them with the parent
        for p in processes:
            p.terminate()

    signal.signal(signal.SIGTERM, stop)
    for p in processes:
        p.join()
