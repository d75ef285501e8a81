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
