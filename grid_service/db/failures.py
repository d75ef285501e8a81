"""What a database failure means for the caller: the input's fault (422), or the database away (503).

One mapping for the error middleware and for every place that answers per item (a batch).
"""

from __future__ import annotations

import asyncio
import logging

import asyncpg

from grid_service.errors import ApiError, DatabaseUnavailable, ValidationFailed

log = logging.getLogger(__name__)

# What a lost, restarting or unreachable database looks like from a request. InternalClientError
# is a pooled connection whose server went away while it was idle: its protocol is out of step
# ("cannot switch to state …"); the pool replaces it, and the client may simply retry.
DATABASE_DOWN: tuple[type[BaseException], ...] = (
    OSError,
    asyncio.TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
    asyncpg.exceptions.OperatorInterventionError,
)
# Values that got past validation but PostgreSQL cannot store (class 22: data exceptions).
UNSTORABLE = (asyncpg.DataError,)


def as_api_error(exc: BaseException) -> ApiError | None:
    """The answer for ``exc``, or None when it is nobody's fault but ours (a 500)."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, UNSTORABLE):
        log.warning("the database refused a value that validation let through: %s", exc)
        return ValidationFailed("a value cannot be stored (NUL character, or a number or date out of range)")
    if isinstance(exc, DATABASE_DOWN):
        return DatabaseUnavailable("the database is unavailable; retry shortly")
    return None
