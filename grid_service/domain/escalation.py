"""The escalation ladder (督办): how far past its deadline a case goes up to whom."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Rung:
    level: int
    after_hours: float  # past the deadline, on the natural clock
    name: str  # the level the case goes up to
