"""evaluation.toml (SPEC §12): what each assessment rate divides, and the weighted composite scores.

Optional; without it the rates are the monthly 通报's (结案率 = 结案数/应结案数, 按期结案率 =
按期结案数/应结案数, 返工率 = 返工数/应结案数) and the department's 综合 score weighs them 0.4, 0.4
and 0.2 (the last as 1 − 返工率). A province that counts 按期结案率 over 结案数 says so:

    [rates.on_time_rate]
    numerator = "closed_on_time"
    denominator = "closed"

A score is a weighted sum of rates, each taken as it is or as its complement (1 − rate); a rate a
group has no figure for (nothing due) leaves its score without one.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from grid_service.configuration.model import Strict

# The figures a rate may divide (db/stats.py defines each).
Count = Literal["filed", "due", "closed", "closed_on_time", "reworked"]
RateName = Literal["closure_rate", "on_time_rate", "rework_rate"]
Weight = Annotated[float, Field(ge=0, le=100)]


# The divisions that keep a rate in [0, 1]: the numerator's cases are always among the denominator's.
PAIRS = frozenset({("closed", "due"), ("closed_on_time", "due"), ("closed_on_time", "closed"), ("reworked", "due")})


class Rate(Strict):
    numerator: Count
    denominator: Count

    @model_validator(mode="after")
    def _stays_a_share(self) -> Rate:
        if (self.numerator, self.denominator) not in PAIRS:
            allowed = ", ".join(f"{n}/{d}" for n, d in sorted(PAIRS))
            raise ValueError(f"{self.numerator}/{self.denominator} is not a share of its cases (allowed: {allowed})")
        return self


class Term(Strict):
    rate: RateName
    weight: Weight
    complement: bool = False  # counts 1 − rate (a rate that is better low, like 返工率)


class Score(Strict):
    code: Annotated[str, Field(pattern=r"^[a-z0-9_]{1,64}$")]
    name: Annotated[str, Field(min_length=1, max_length=100)]
    term: tuple[Term, ...] = Field(min_length=1)


DEFAULT_RATES: dict[RateName, Rate] = {
    "closure_rate": Rate(numerator="closed", denominator="due"),
    "on_time_rate": Rate(numerator="closed_on_time", denominator="due"),
    "rework_rate": Rate(numerator="reworked", denominator="due"),
}
DEFAULT_SCORES = (
    Score(
        code="composite",
        name="综合评价",
        term=(
            Term(rate="closure_rate", weight=0.4),
            Term(rate="on_time_rate", weight=0.4),
            Term(rate="rework_rate", weight=0.2, complement=True),
        ),
    ),
)


class EvaluationConfig(Strict):
    rates: dict[RateName, Rate] = Field(default_factory=dict)
    score: tuple[Score, ...] = DEFAULT_SCORES

    @model_validator(mode="after")
    def _scores_are_named_once(self) -> EvaluationConfig:
        codes = [s.code for s in self.score]
        twice = sorted({c for c in codes if codes.count(c) > 1})
        if twice:
            raise ValueError(f"score {twice[0]!r} is defined more than once")
        return self

    def rate(self, name: RateName) -> Rate:
        return self.rates.get(name, DEFAULT_RATES[name])

    def rates_of(self, counts: dict[str, Any]) -> dict[str, float | None]:
        """Each rate of one group's counts (None when its denominator is 0), to four places."""
        out: dict[str, float | None] = {}
        for name in DEFAULT_RATES:
            rate = self.rate(name)
            whole = counts[rate.denominator]
            out[name] = round(counts[rate.numerator] / whole, 4) if whole else None
        return out

    def scores_of(self, rates: dict[str, float | None]) -> dict[str, float | None]:
        """Each score of one group's rates: the weighted sum, or None when a rate it needs is missing."""
        out: dict[str, float | None] = {}
        for score in self.score:
            total: float | None = 0.0
            for term in score.term:
                value = rates[term.rate]
                if value is None or total is None:
                    total = None
                    continue
                total += term.weight * ((1 - value) if term.complement else value)
            out[score.code] = round(total, 4) if total is not None else None
        return out
