"""The casework batcher (flows/case_batch.py): actions that share a statement are answered each on
its own — one written, one refused, one decided again — and one change the database refuses does
not take the others with it."""

import asyncio
import dataclasses
import uuid

from grid_service import keys
from grid_service.auth import Principal
from grid_service.db.case_read import WholeCase
from grid_service.domain.enums import Role
from grid_service.domain.states import Action
from grid_service.errors import Conflict, NotFound
from grid_service.flows import casework
from grid_service.flows.case_batch import Asked, CaseBatcher
from grid_service.schemas.cases import FileBody, VoidBody, VoidReason
from tests.api.helpers import IN_CELL_1, IN_CELL_2
from tests.api.test_filing import reported

RECEIVERS = [Principal(token_id=0, name=name, role=Role.RECEIVER, department=None) for name in ("甲", "乙")]


class RecordingBatcher(CaseBatcher):
    """Records the size of every batch it decides, so a test knows which actions shared one."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.sizes: list[int] = []

    async def _decide_and_write(self, batch) -> bool:
        self.sizes.append(len(batch))
        return await super()._decide_and_write(batch)


def batcher_for(client, decide=casework.decide_guarded) -> RecordingBatcher:
    """One batch at a time, so that what is asked while the first is written shares the second."""
    app = client.app
    return RecordingBatcher(
        app[keys.POOL], decide=decide, timeout=5, max_in_flight=1, on_commit=app[keys.NOTIFIER].published
    )


async def act(client, batcher, case_id, action, body, caller=RECEIVERS[0]):
    return await casework.act(
        client.app[keys.POOL],
        batcher,
        case_id=uuid.UUID(case_id),
        action=action,
        caller=caller,
        body=body,
        snapshot=client.app[keys.CONFIG].current,
        now=client.app[keys.CLOCK](),
        timeout=5,
        on_commit=lambda: None,
    )


async def test_two_filings_of_one_case_in_one_batch_one_is_written_the_other_refused(client, tokens, db):
    first, contested = await reported(client, tokens, point=IN_CELL_1), await reported(client, tokens, point=IN_CELL_2)
    batcher = batcher_for(client)
    body = FileBody(condition="stop_work")
    # The first filing is written alone; the two filings of the contested case wait and share the next batch.
    results = await asyncio.gather(
        act(client, batcher, first, Action.FILE, body),
        *(act(client, batcher, contested, Action.FILE, body, caller=r) for r in RECEIVERS),
        return_exceptions=True,
    )
    assert isinstance(results[0], WholeCase) and results[0].case.status == "dispatched"
    won = [r for r in results[1:] if isinstance(r, WholeCase)]
    lost = [r for r in results[1:] if isinstance(r, Conflict)]
    assert len(won) == 1 and len(lost) == 1, results
    assert "cannot file a case that is dispatched" in str(lost[0]), "decided again on the case as the winner left it"
    assert batcher.sizes == [1, 2, 1], "the two filings shared a batch; the loser was decided again in its own"
    filed = await db.fetch("SELECT actor FROM events WHERE case_id = $1 AND type = 'case.filed'", uuid.UUID(contested))
    assert [e["actor"] for e in filed] == [won[0].events[1].actor], "one filing, the winner's"


async def test_a_refusal_and_an_unknown_case_in_a_batch_leave_the_others_written(client, tokens, db):
    cases = [await reported(client, tokens, point=p) for p in (IN_CELL_1, IN_CELL_2, IN_CELL_1)]
    batcher = batcher_for(client)
    results = await asyncio.gather(
        act(client, batcher, cases[0], Action.VOID, VoidBody(reason=VoidReason.DUPLICATE)),
        act(client, batcher, cases[1], Action.FILE, FileBody(condition="no_such_condition")),
        act(client, batcher, str(uuid.uuid4()), Action.VOID, VoidBody(reason=VoidReason.DUPLICATE)),
        act(client, batcher, cases[2], Action.VOID, VoidBody(reason=VoidReason.DUPLICATE)),
        return_exceptions=True,
    )
    assert [type(r).__name__ for r in results] == ["WholeCase", "ValidationFailed", "NotFound", "WholeCase"]
    assert batcher.sizes == [1, 3]
    assert isinstance(results[2], NotFound)
    statuses = await db.fetch("SELECT id, status FROM cases WHERE id = ANY($1::uuid[])", [uuid.UUID(c) for c in cases])
    assert {str(r["id"]): r["status"] for r in statuses} == {
        cases[0]: "voided",
        cases[1]: "reported",
        cases[2]: "voided",
    }, "the refused filing wrote nothing, the others were written"


async def test_a_change_the_database_refuses_fails_alone_and_the_batch_is_written_one_by_one(client, tokens, db):
    cases = [await reported(client, tokens, point=p) for p in (IN_CELL_1, IN_CELL_2, IN_CELL_1)]
    refused = uuid.UUID(cases[1])

    async def decide(conn, row, asked: Asked):
        guarded = await casework.decide_guarded(conn, row, asked)
        if row.id != refused:
            return guarded
        # A status no case may have (the table's CHECK refuses it): the shared statement fails.
        return dataclasses.replace(guarded, change=guarded.change._replace(status="lost"))

    batcher = batcher_for(client, decide)
    results = await asyncio.gather(
        *(act(client, batcher, c, Action.VOID, VoidBody(reason=VoidReason.DUPLICATE)) for c in cases),
        return_exceptions=True,
    )
    assert isinstance(results[0], WholeCase) and isinstance(results[2], WholeCase), results
    assert not isinstance(results[1], WholeCase) and "cases_status_check" in str(results[1])
    assert batcher.sizes == [1, 2, 1, 1], "the failed batch of two was written one by one"
    rows = await db.fetch(
        "SELECT c.id, c.status, count(e.*) AS voided FROM cases c"
        " LEFT JOIN events e ON e.case_id = c.id AND e.type = 'case.voided'"
        " WHERE c.id = ANY($1::uuid[]) GROUP BY c.id",
        [uuid.UUID(c) for c in cases],
    )
    assert {str(r["id"]): (r["status"], r["voided"]) for r in rows} == {
        cases[0]: ("voided", 1),
        cases[1]: ("reported", 0),
        cases[2]: ("voided", 1),
    }


async def test_each_caller_of_a_shared_batch_gets_its_own_case_back(client, tokens, db):
    """Three cases in one statement: each answer is its caller's case, with its own history after
    the change (the answers are matched to the changes by position, the lists to the cases)."""
    cases = [await reported(client, tokens, point=p) for p in (IN_CELL_1, IN_CELL_2, IN_CELL_1, IN_CELL_2)]
    batcher = batcher_for(client)
    results = await asyncio.gather(
        act(client, batcher, cases[0], Action.VOID, VoidBody(reason=VoidReason.DUPLICATE)),
        act(client, batcher, cases[1], Action.VOID, VoidBody(reason=VoidReason.INVALID)),
        act(client, batcher, cases[2], Action.FILE, FileBody(condition="stop_work")),
        act(client, batcher, cases[3], Action.VOID, VoidBody(reason=VoidReason.NOT_FOUND)),
    )
    assert batcher.sizes == [1, 3]
    assert [str(r.case.id) for r in results] == cases
    assert [r.case.status for r in results] == ["voided", "voided", "dispatched", "voided"]
    assert [[e.type for e in r.events] for r in results] == [
        ["case.created", "case.voided"],
        ["case.created", "case.voided"],
        ["case.created", "case.filed", "case.dispatched"],
        ["case.created", "case.voided"],
    ]
    assert [r.events[-1].data.get("reason") for r in results if r.case.status == "voided"] == [
        "duplicate",
        "invalid",
        "not_found",
    ]
    for result in results:  # each answer is what a later read of its case shows
        stored = await db.fetch("SELECT seq FROM events WHERE case_id = $1 ORDER BY seq", result.case.id)
        assert [e.seq for e in result.events] == [r["seq"] for r in stored]
