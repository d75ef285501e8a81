import datetime as dt

from grid_service.domain.horizon import LogEntry, safe_horizon

T0 = dt.datetime(2026, 11, 27, 8, 0, tzinfo=dt.UTC)
SETTLE = dt.timedelta(seconds=1)


def entries(*seqs, written=T0):
    return [LogEntry(s, written) for s in seqs]


def test_a_contiguous_log_is_read_to_its_end():
    assert safe_horizon(10, entries(11, 12, 13), now=T0, oldest_open_writer=None, settle=SETTLE) == (13, False)


def test_reading_stops_before_a_gap_a_running_writer_may_fill():
    # 42 is committed, 41 is not visible: its writer (started before 42 was written) is still open.
    result = safe_horizon(
        40,
        entries(42),
        now=T0 + dt.timedelta(seconds=5),
        oldest_open_writer=T0 - dt.timedelta(seconds=1),
        settle=SETTLE,
    )
    assert result == (40, True)


def test_a_fresh_gap_waits_even_when_no_writer_is_seen():
    assert safe_horizon(
        40, entries(42), now=T0 + dt.timedelta(milliseconds=100), oldest_open_writer=None, settle=SETTLE
    ) == (40, True)


def test_a_gap_left_by_a_rollback_is_passed_once_settled():
    later = T0 + dt.timedelta(seconds=5)
    assert safe_horizon(40, entries(42, 43), now=later, oldest_open_writer=None, settle=SETTLE) == (43, False)
    # A writer that started after the event was written cannot own the older number.
    assert safe_horizon(40, entries(42), now=later, oldest_open_writer=T0 + dt.timedelta(seconds=2), settle=SETTLE) == (
        42,
        False,
    )


def test_nothing_new_keeps_the_cursor():
    assert safe_horizon(7, [], now=T0, oldest_open_writer=None, settle=SETTLE) == (7, False)
