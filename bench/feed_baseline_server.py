"""The live-feed baseline: a bare aiohttp Server-Sent Events broadcast, nothing else.

Usage: python bench/feed_baseline_server.py PORT

One process (the bench starts one per worker of the service, each on its
own port, so that the publisher can reach every one) streams to its clients
the frames that POST /publish gives it: the bytes as they are, one write per
frame per client, from a queue per client. No database, no log, no
filtering, no resume. GET /published answers [[seq, unix time published], ...].
"""

from __future__ import annotations

import asyncio
import sys
import time

import orjson
from aiohttp import web

CLIENTS = web.AppKey("clients", set)
PUBLISHED = web.AppKey("published", list)


async def stream(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
    await response.prepare(request)
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    request.app[CLIENTS].add(queue)
    try:
        while True:
            await response.write(await queue.get())
    except (ConnectionError, asyncio.CancelledError):
        return response
    finally:
        request.app[CLIENTS].discard(queue)


async def publish(request: web.Request) -> web.Response:
    """Body: JSON list of [seq, frame text]; each frame goes to every client of this worker."""
    frames = orjson.loads(await request.read())
    now = time.time()
    for seq, frame in frames:
        data = frame.encode()
        request.app[PUBLISHED].append((seq, now))
        for queue in request.app[CLIENTS]:
            queue.put_nowait(data)
    return web.json_response({"clients": len(request.app[CLIENTS])})


async def published(request: web.Request) -> web.Response:
    return web.Response(body=orjson.dumps(request.app[PUBLISHED]), content_type="application/json")


async def clients(request: web.Request) -> web.Response:
    return web.json_response({"clients": len(request.app[CLIENTS])})


def build() -> web.Application:
    app = web.Application()
    app[CLIENTS] = set()
    app[PUBLISHED] = []
    app.router.add_get("/feed", stream)
    app.router.add_post("/publish", publish)
    app.router.add_get("/published", published)
    app.router.add_get("/clients", clients)
    return app


if __name__ == "__main__":
    web.run_app(build(), host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)
