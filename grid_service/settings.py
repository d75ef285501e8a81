"""Process settings from flags and ``GRID_SERVICE_*`` environment variables (validated once)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

# The shipped configuration (Pingfang district), inside the package so that a wheel carries it.
DEFAULT_CONFIG_DIR = Path(str(resources.files("grid_service") / "default_config"))


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GRID_SERVICE_", extra="ignore")

    database_url: str | None = None  # None: start the embedded PostgreSQL in data_dir
    data_dir: Path = Path(".grid-service")
    config: Path = DEFAULT_CONFIG_DIR
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    workers: int = Field(default=1, ge=1, le=64)
    snap_m: float = Field(default=30.0, ge=0, le=1000)
    tile_url: str | None = None
    log_level: str = "INFO"
    pool_min_size: int = Field(default=2, ge=1)
    pool_max_size: int = Field(default=10, ge=1)
    db_timeout_s: float = Field(default=5.0, gt=0)  # waiting for a pooled connection before answering 503
    config_poll_s: float = Field(default=5.0, gt=0)  # how often a worker checks for newly loaded configuration
    token_cache_s: float = Field(default=5.0, ge=0)  # how long a token or session lookup is reused (revocation delay)
    # Behind a reverse proxy: a sign-in's address is the last of X-Forwarded-For, and the session
    # cookie is Secure when X-Forwarded-Proto says https (else when the request itself is https).
    behind_proxy: bool = False
    app_accuracy_m: float = Field(default=20.0, gt=0, le=10_000)  # the app waits for a fix this good
    app_fix_timeout_s: float = Field(default=20.0, gt=0, le=600)  # then offers to accept a worse one
    photo_max_pixels: int = Field(default=40_000_000, ge=1)  # width × height of an uploaded photo, at most
    max_json_bytes: int = Field(default=4 * 1024 * 1024, ge=1024)
    event_gap_settle_s: float = Field(default=1.0, gt=0)  # see domain/horizon.py
    intake_chunk: int = Field(default=50, ge=1, le=500)  # most reports written by one shared transaction
    # Shared intake transactions (and casework batches) per worker at once. One: on 2 cores with 2
    # workers, a second one in flight made smaller transactions, each paying its own commit, and
    # intake 5-50 % slower (bench/intake.py, bench/casework.py); raise it where the database has
    # cores to spare beyond the workers'.
    intake_in_flight: int = Field(default=1, ge=1, le=32)
    feed_heartbeat_s: float = Field(default=15.0, gt=0)  # a comment line on idle live feeds
    feed_buffer_events: int = Field(default=2000, ge=10)  # events queued for one slow feed before it is cut off
    feed_send_timeout_s: float = Field(default=30.0, gt=0)  # a feed whose client acknowledges nothing this long ends
    deadline_sweep_s: float = Field(default=30.0, gt=0)  # each worker records what fell due at least this often
    feed_interval_s: float = Field(default=0.05, ge=0, le=1)  # least time between two reads of the log by a worker
    heavy_reads_per_caller: int = Field(default=2, ge=1)  # map, statistics, cells in flight per token (more: 429)
    heavy_reads_per_worker: int = Field(default=1, ge=1)  # run at once by a worker; the others wait their turn
    map_page: int = Field(default=250, ge=10, le=50_000)  # cases per step of a map answer (small: intake interleaves)
    open311_contact: str | None = None  # who runs this endpoint, as Open311 discovery tells apps
    open311_key_service: str | None = None  # how an app obtains an api_key, as discovery tells it
    # Production (docs/operations.md). A standby for the statistics, the bulletin, map snapshots and
    # case lists; one further behind than read_max_lag_s is passed over for the primary.
    read_database_url: str | None = None
    read_max_lag_s: float = Field(default=5.0, gt=0)
    metrics: bool = True  # GET /metrics and the counting behind it
    metrics_allow: str = ""  # addresses or networks (comma-separated) that read /metrics without a token
    # Requests per second each token, and each address, may keep up, and the burst on top (0: no limit).
    token_rate_per_s: float = Field(default=50.0, ge=0)
    token_burst: int = Field(default=200, ge=1)
    address_rate_per_s: float = Field(default=200.0, ge=0)
    address_burst: int = Field(default=1000, ge=1)
    feeds_per_token: int = Field(default=8, ge=1)  # live feeds open at once, across the workers
    long_polls_per_token: int = Field(default=8, ge=1)  # parked queue long-polls at once, across the workers
    header_timeout_s: float = Field(default=10.0, gt=0)  # a connection's request line and headers arrive within this
    body_idle_timeout_s: float = Field(default=20.0, gt=0)  # the longest silence while a body is being sent


def mask_url(url: str) -> str:
    """The URL with any password replaced, for logs: in the user part, whatever the number of hosts
    (``postgresql://user:secret@h1:5432,h2:5432/db?target_session_attrs=read-write``), and in a
    ``password`` query parameter. Nothing else is rewritten."""
    parts = urlsplit(url)
    masked = url
    if parts.password is not None:
        credentials, _, hosts = parts.netloc.rpartition("@")  # a password may hold an unescaped @
        user = credentials.partition(":")[0]
        masked = masked.replace(f"//{parts.netloc}", f"//{user}:***@{hosts}", 1)
    if parts.query:
        items = (item.partition("=") for item in parts.query.split("&"))
        query = "&".join(f"{name}=***" if name == "password" else f"{name}{eq}{value}" for name, eq, value in items)
        masked = masked.replace(f"?{parts.query}", f"?{query}", 1)
    return masked
