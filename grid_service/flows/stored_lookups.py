"""Whether reports were stored before, asked for many callers in one query.

Past its rate limit, a caller's native intake is answered only where it retries a report already
stored (handlers/reports.py), so every refused intake asks the database. A client sending hundreds of
reports a second past its limit would make that hundreds of round trips a second, more than its
accepted reports cost (those share the group commit's transactions). So the lookups that arrive
while one is running wait for it and then go together in the next: one query whatever the rate.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import asyncpg

from grid_service.flows.group_commit import settle

STORED = """
SELECT r.token_id, r.client_id
  FROM unnest($1::bigint[], $2::text[]) AS k(token_id, client_id)
  JOIN reports r ON r.token_id = k.token_id AND r.client_id = k.client_id
"""


class StoredLookups:
    def __init__(self, pool: asyncpg.Pool, *, timeout: float) -> None:
        self._pool = pool
        self._timeout = timeout
        self._pending: list[tuple[int, Sequence[str], asyncio.Future[set[str]]]] = []
        self._running: asyncio.Task[None] | None = None
        self.queries = 0  # lookups made of the database (the tests see them shared)

    async def stored(self, token_id: int, client_ids: Sequence[str]) -> set[str]:
        """Those of ``client_ids`` that ``token_id`` has a stored report for."""
        if not client_ids:
            return set()
        future: asyncio.Future[set[str]] = asyncio.get_running_loop().create_future()
        self._pending.append((token_id, client_ids, future))
        if self._running is None:
            self._running = asyncio.create_task(self._run())
        return await future

    async def _run(self) -> None:
        try:
            while self._pending:
                batch, self._pending = self._pending, []
                try:
                    found = await self._look_up(batch)
                except Exception as exc:  # the database away: each caller gets it (503), nothing is lost
                    for _, _, future in batch:
                        settle(future, exc=exc)
                    continue
                for token_id, client_ids, future in batch:
                    settle(future, result={c for c in client_ids if (token_id, c) in found})
        finally:
            self._running = None

    async def _look_up(self, batch: list[tuple[int, Sequence[str], asyncio.Future[set[str]]]]) -> set[tuple[int, str]]:
        tokens = [token_id for token_id, client_ids, _ in batch for _ in client_ids]
        clients = [client_id for _, client_ids, _ in batch for client_id in client_ids]
        self.queries += 1
        async with self._pool.acquire(timeout=self._timeout) as conn:
            rows = await conn.fetch(STORED, tokens, clients)
        return {(row["token_id"], row["client_id"]) for row in rows}
