"""Prometheus metrics (GET /metrics), through the Prometheus client library, aggregated across the
workers of ``serve --workers N``.

With several workers the library's multiprocess mode is used: the parent names a directory
(``PROMETHEUS_MULTIPROC_DIR``) before it starts the workers, each worker writes its counters,
histograms and gauges there as memory-mapped files, and whichever worker answers a scrape sums
them. A dead worker's files are marked so that its live gauges drop out. A lone worker (and the
tests' in-process apps) uses the library's default registry.

Counters and histograms move where things happen (a request answered, a report stored, a group
commit). The gauges of a worker's state (feed subscribers, parked long-polls, the pool, how far
behind the log its readers are, whether its loops run) are sampled every second by each worker,
and by the answering worker just before it answers. What is counted in the database (open cases
by status and light, overdue, escalated) is counted once per scrape, by the answering worker.
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from grid_service.db.open_figures import OpenFigures

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = CONTENT_TYPE_LATEST
LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

REQUESTS = Counter(
    "grid_http_requests", "Requests answered, by route template, method and status.", ["route", "method", "status"]
)
LATENCY = Histogram(
    "grid_http_request_duration_seconds",
    "Time to answer a request, by route template.",
    ["route"],
    buckets=LATENCY_BUCKETS,
)
REPORTS = Counter(
    "grid_reports_ingested", "Reports stored (retries answered from the store not counted), by source.", ["source"]
)
BATCH_SIZE = Histogram(
    "grid_intake_batch_size",
    "Reports (new ones and retries) handled by one shared intake transaction.",
    buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500),
)
BATCH_WAIT = Histogram(
    "grid_intake_wait_seconds",
    "The longest any report of a shared intake transaction waited, from its hand-over to the commit.",
    buckets=LATENCY_BUCKETS,
)
FEED_SUBSCRIBERS = Gauge("grid_feed_subscribers", "Live feeds open.", multiprocess_mode="livesum")
LONG_POLLS = Gauge("grid_long_polls_parked", "Queue and task long-polls waiting for news.", multiprocess_mode="livesum")
POOL = Gauge(
    "grid_db_pool_connections",
    "Database pool connections: in_use, idle, max (summed over the workers).",
    ["state"],
    multiprocess_mode="livesum",
)
LOG_LAG = Gauge(
    "grid_event_log_lag_seconds",
    "Age of the oldest event a following reader has not read (worst worker).",
    ["reader"],
    multiprocess_mode="livemax",
)
LOOP_UP = Gauge(
    "grid_loop_up",
    "1 when the background loop runs well on every worker, 0 when it fails on any.",
    ["loop"],
    multiprocess_mode="livemin",
)
LOOP_RESTARTS = Counter("grid_loop_restarts", "Times a background loop failed and was run again.", ["loop"])
REPLICATION_LAG = Gauge(
    "grid_replication_lag_seconds",
    "How far the read standby's replay is behind (worst worker).",
    multiprocess_mode="livemax",
)
RATE_LIMITED = Counter("grid_rate_limited", "Requests refused by a per-caller limit, by limit.", ["limit"])


_REQUEST_SERIES: dict[tuple[str, str, int], tuple[Any, Any]] = {}  # the label children, looked up once


def observe_request(route: str, method: str, status: int, seconds: float) -> None:
    """A request answered (middlewares.request_context)."""
    series = _REQUEST_SERIES.get((route, method, status))
    if series is None:
        series = _REQUEST_SERIES[(route, method, status)] = (
            REQUESTS.labels(route, method, str(status)),
            LATENCY.labels(route),
        )
    series[0].inc()
    series[1].observe(seconds)


def observe_batch(size: int, waited_s: float) -> None:
    """A shared intake transaction committed (flows/group_commit.py)."""
    BATCH_SIZE.observe(size)
    BATCH_WAIT.observe(waited_s)


SHARED_MEMORY = Path("/dev/shm")  # noqa: S108 (mkdtemp makes a private directory in it)


def prepare_workers() -> Path:
    """In ``serve --workers N``'s parent, before the workers start: an empty directory for their
    metric files (a stale one would add a previous run's counts), named in the environment the
    workers inherit. By default in shared memory: every count is a write to a memory-mapped file,
    and on a disk's file system the kernel's writeback makes those writes fault again and again
    (intake measured several per cent slower with the files under /tmp on ext4)."""
    given = os.environ.get(MULTIPROC_ENV)
    if given:
        directory = Path(given)
        shutil.rmtree(directory, ignore_errors=True)
        directory.mkdir(parents=True)
    else:
        memory = SHARED_MEMORY if SHARED_MEMORY.is_dir() and os.access(SHARED_MEMORY, os.W_OK) else None
        directory = Path(tempfile.mkdtemp(prefix="grid-service-metrics-", dir=memory))
        os.environ[MULTIPROC_ENV] = str(directory)
    return directory


def workers_ended(directory: Path) -> None:
    """In the parent, once every worker has stopped: their files go (shared memory is memory)."""
    shutil.rmtree(directory, ignore_errors=True)


def worker_died(pid: int) -> None:
    """In the parent: a dead worker's live gauges no longer count."""
    if os.environ.get(MULTIPROC_ENV):
        multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]


class _Figures(Collector):
    """The scrape's database figures, as gauge families (None: the database did not answer)."""

    def __init__(self, figures: OpenFigures | None) -> None:
        self._figures = figures

    def collect(self) -> Iterator[Metric]:
        yield GaugeMetricFamily(
            "grid_database_up",
            "1 when the database answered this scrape's count.",
            value=int(self._figures is not None),
        )
        if self._figures is None:
            return
        open_cases = GaugeMetricFamily(
            "grid_cases_open", "Cases not finished, by status and light.", labels=["status", "light"]
        )
        for (status, light), count in sorted(self._figures.by_status_light.items()):
            open_cases.add_metric([status, light], count)
        yield open_cases
        yield GaugeMetricFamily("grid_cases_overdue", "Running cases past their deadline.", value=self._figures.overdue)
        yield GaugeMetricFamily(
            "grid_cases_escalated", "Open cases escalated past their deadline.", value=self._figures.escalated
        )


def render(figures: OpenFigures | None) -> bytes:
    """The text exposition: every worker's metrics (or this process's), then the database figures."""
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        workers = generate_latest(registry)
    else:
        workers = generate_latest(REGISTRY)
    extra = CollectorRegistry(auto_describe=False)
    extra.register(_Figures(figures))
    return workers + generate_latest(extra)


class AddressList:
    """Addresses and networks let in to /metrics without a token (``metrics_allow``)."""

    def __init__(self, spec: str) -> None:
        self._networks = [ipaddress.ip_network(part.strip(), strict=False) for part in spec.split(",") if part.strip()]

    def __bool__(self) -> bool:
        return bool(self._networks)

    def admits(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self._networks)
