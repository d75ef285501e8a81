"""inspectors.toml and labels.toml (SPEC §10): who answers for which cells, and the words people read.

Both optional. Without inspectors.toml (or inspectors' accounts) no inspector answers for any
cell: check tasks go to the receivers' queue and any inspector may complete them. Inspectors'
accounts take the list over (db/config_store.read_inspectors): the file seeds it. An inspector is
the name of an inspector token, or an account's username (the name of the token it acts under).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from grid_service.configuration.model import Strict

GridPrefix = Annotated[str, Field(pattern=r"^[0-9]{1,15}$")]
COMMUNITY_DIGITS = 12  # 6 area + 3 street + 3 community
STREET_DIGITS = 9


class InspectorConfig(Strict):
    name: str = Field(min_length=1, max_length=200)
    grids: tuple[GridPrefix, ...] = Field(min_length=1)


class InspectorsConfig(Strict):
    inspector: tuple[InspectorConfig, ...] = ()

    def responsible(self, grid_code: str | None) -> str | None:
        """The inspector whose prefix covers the cell most closely (the cell's own first, then an
        enclosing community or street); None when nobody answers for it."""
        if grid_code is None:
            return None
        best: tuple[int, str] | None = None
        for inspector in self.inspector:
            for prefix in inspector.grids:
                if grid_code.startswith(prefix) and (best is None or len(prefix) > best[0]):
                    best = (len(prefix), inspector.name)
        return best[1] if best else None

    def another(self, grid_code: str | None, besides: str | None) -> str | None:
        """Someone other than ``besides`` for the cell: of its community first, then of its street."""
        if grid_code is None:
            return None
        for digits in (COMMUNITY_DIGITS, STREET_DIGITS):
            area = grid_code[:digits]
            for inspector in sorted(self.inspector, key=lambda i: i.name):
                if inspector.name != besides and any(_overlap(p, area) for p in inspector.grids):
                    return inspector.name
        return None


def _overlap(prefix: str, area: str) -> bool:
    """Whether an inspector's prefix lies inside the area or encloses it."""
    return prefix.startswith(area) or area.startswith(prefix)


class LabelsConfig(Strict):
    """Cities use 核实 and 核查 in opposite senses: the label of each kind of check is theirs."""

    check_report: str = Field(default="核实", min_length=1, max_length=20)  # is the reported problem real?
    check_result: str = Field(default="核查", min_length=1, max_length=20)  # was it handled?
