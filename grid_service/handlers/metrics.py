"""GET /metrics: the Prometheus text exposition of every worker (grid_service/metrics.py)."""

from __future__ import annotations

from aiohttp import web

from grid_service import keys, metrics
from grid_service.db.failures import DATABASE_DOWN
from grid_service.db.open_figures import open_figures
from grid_service.errors import NotFound
from grid_service.handlers.common import connection


async def scrape(request: web.Request) -> web.Response:
    app = request.app
    if keys.SAMPLER not in app:
        raise NotFound("metrics are off (GRID_SERVICE_METRICS=false)")
    snapshot = app[keys.CONFIG].current
    figures = None
    try:  # with the database away, the workers' own figures are what tells the outage: answer them
        await app[keys.SAMPLER].sample()  # this worker's gauges as of now; the others' are at most a second old
        async with connection(request) as conn:
            figures = await open_figures(conn, now=app[keys.CLOCK](), step_minutes=snapshot.filing.steps.minutes)
    except DATABASE_DOWN:
        pass
    return web.Response(body=metrics.render(figures), headers={"Content-Type": metrics.CONTENT_TYPE})
