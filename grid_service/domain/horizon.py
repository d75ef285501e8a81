"""How far the event log can be read without skipping anything (the commit-order trap).

Sequence numbers are taken before commit, so a transaction holding seq 41 may
commit after another one committed seq 42. A reader that returned 42 and moved
its cursor past it would never see 41. So readers stop at the first gap that
may still fill: the *safe horizon*.

A gap before a visible event E is final (its number was taken by a
transaction that rolled back) once no transaction that could own it is still
open: every transaction still writing started after E was written, and E was
written more than ``settle`` ago (a transaction that has taken a number but
not yet written its row has no transaction id for a moment and cannot be seen).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class LogEntry:
    seq: int
    written_at: dt.datetime


def safe_horizon(
    after: int,
    entries: Iterable[LogEntry],
    *,
    now: dt.datetime,
    oldest_open_writer: dt.datetime | None,
    settle: dt.timedelta,
) -> tuple[int, bool]:
    """The highest seq up to which the log has no gap that may still fill, and whether reading stopped
    at such a gap (so a caller waiting for news should look again soon even without a notification).

    ``entries`` are the visible events after ``after``, in seq order.
    """
    horizon = after
    for entry in entries:
        if entry.seq != horizon + 1:
            may_still_fill = now - entry.written_at < settle or (
                oldest_open_writer is not None and oldest_open_writer <= entry.written_at
            )
            if may_still_fill:
                return horizon, True
        horizon = entry.seq
    return horizon, False
