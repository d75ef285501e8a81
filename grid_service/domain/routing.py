"""Routing: which department handles a case of a category in a grid cell.

Rule precedence (SPEC §3): the longest matching area prefix wins; among rules
with the same area, a rule naming the category beats the wildcard "*".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

WILDCARD = "*"


@dataclass(frozen=True, slots=True)
class Rule:
    id: int
    category: str  # a category code or "*"
    area: str  # a grid-code prefix, "" = everywhere
    department: str

    def as_dict(self) -> dict[str, object]:
        return {"id": self.id, "category": self.category, "area": self.area, "department": self.department}


def choose_rule(rules: Sequence[Rule], category: str, grid_code: str) -> Rule | None:
    best: Rule | None = None
    best_rank: tuple[int, int] = (-1, -1)
    for rule in rules:
        if rule.category not in (category, WILDCARD) or not grid_code.startswith(rule.area):
            continue
        rank = (len(rule.area), 1 if rule.category == category else 0)
        if rank > best_rank:
            best, best_rank = rule, rank
    return best


def candidates(rules: Sequence[Rule], category: str, grid_code: str | None) -> list[str]:
    """The departments the routing rules name for a case, the most fitting first: what a dispatcher
    chooses among for a case that waits (no rule for its cell, outside the grid, returned). Rules for
    the case's category or "*" whose area holds the cell, then (outside the grid, or beyond those)
    the category's rules anywhere."""
    ranked: list[tuple[tuple[int, int, int], str]] = []
    for rule in rules:
        if rule.category not in (category, WILDCARD):
            continue
        inside = grid_code is not None and grid_code.startswith(rule.area)
        if not inside and rule.category == WILDCARD:
            continue
        ranked.append(((1 if inside else 0, len(rule.area), 1 if rule.category == category else 0), rule.department))
    seen: dict[str, None] = {}
    for _, department in sorted(ranked, key=lambda r: r[0], reverse=True):
        seen.setdefault(department)
    return list(seen)
