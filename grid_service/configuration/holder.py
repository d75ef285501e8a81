"""Mutable per-worker state that background tasks refresh."""

from __future__ import annotations

from dataclasses import dataclass

from grid_service.configuration.snapshot import ConfigSnapshot
from grid_service.errors import DatabaseUnavailable


@dataclass
class ConfigHolder:
    """The worker's current configuration; replaced whole when a newer generation is loaded."""

    snapshot: ConfigSnapshot | None = None

    @property
    def current(self) -> ConfigSnapshot:
        if self.snapshot is None:
            raise DatabaseUnavailable("no configuration loaded yet")
        return self.snapshot
