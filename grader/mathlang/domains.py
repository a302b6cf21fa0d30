"""Where a symbol's values live: the math language's own notion of a domain.

A problem file states it (``x: real``, ``n: {integer: true, min: 1}``); sampling
and the sympy translation read it. It belongs to the math language so the
language depends on nothing else in grader.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, model_validator

DOMAIN_WORDS = ("real", "positive", "nonnegative", "nonzero", "integer")
# Ends of a domain are ±inf (unbounded) or at most this large: sampling and integer
# ranges must stay ordinary floats and int64s.
MAX_DOMAIN_END = 1e12


def _sane_end(value: float) -> float:
    if math.isnan(value):
        raise ValueError("an end of a domain must be a number, not nan")
    if math.isfinite(value) and abs(value) > MAX_DOMAIN_END:
        raise ValueError(f"{value:g} is past the limit of ±{MAX_DOMAIN_END:g} (write .inf for no bound)")
    return value


DomainEnd = Annotated[float, AfterValidator(_sane_end)]


class SymbolDomain(BaseModel):
    """A symbol's admissible values: ``real`` (default), ``positive``, ``nonzero``,
    ``integer`` with optional ``min``/``max``, or an ``interval`` (open at both ends
    unless ``closed``)."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    real: bool = True
    positive: bool = False
    nonnegative: bool = False
    nonzero: bool = False
    integer: bool = False
    min: DomainEnd | None = None
    max: DomainEnd | None = None
    interval: tuple[DomainEnd, DomainEnd] | None = None

    @model_validator(mode="after")
    def _not_empty(self) -> SymbolDomain:
        problem = self.emptiness()
        if problem:
            raise ValueError(problem)
        return self

    def emptiness(self) -> str | None:
        """Why no value lies in this domain, or None when some does."""
        if self.interval is not None and not self.interval[0] < self.interval[1]:
            low, high = self.interval
            return f"interval [{low:g}, {high:g}] is empty: give the lower end first (both ends are open)"
        if self.min is not None and self.max is not None and self.min > self.max:
            return f"min {self.min:g} is above max {self.max:g}"
        (low, low_open), (high, high_open) = self._low_end(), self._high_end()
        if low > high or (low == high and (low_open or high_open)) or (low == high == 0 and self.nonzero):
            return f"the domain ({self._written()}) is empty"
        if self.integer and not self._has_integer(low, low_open, high, high_open):
            return f"the domain ({self._written()}) holds no integer"
        return None

    def ends(self) -> tuple[tuple[float, bool], tuple[float, bool]]:
        """((lower end, open?), (upper end, open?)): the tightest ends the domain states."""
        return self._low_end(), self._high_end()

    def _low_end(self) -> tuple[float, bool]:
        """The tightest lower end and whether it is open (an open end is tighter on a tie)."""
        ends = [(-math.inf, True)]
        if self.interval is not None:
            ends.append((self.interval[0], True))
        if self.min is not None:
            ends.append((self.min, False))
        if self.positive:
            ends.append((0.0, True))
        if self.nonnegative:
            ends.append((0.0, False))
        return max(ends)

    def _high_end(self) -> tuple[float, bool]:
        ends = [(math.inf, True)]
        if self.interval is not None:
            ends.append((self.interval[1], True))
        if self.max is not None:
            ends.append((self.max, False))
        value, closed = min((end, not is_open) for end, is_open in ends)
        return value, not closed

    def integers(self, limit: int) -> list[int] | None:
        """Every integer of an integer domain, when it is bounded and holds at most ``limit``."""
        (low, low_open), (high, high_open) = self._low_end(), self._high_end()
        if not (self.integer and math.isfinite(low) and math.isfinite(high)):
            return None
        first = math.floor(low) + 1 if low_open else math.ceil(low)
        last = math.ceil(high) - 1 if high_open else math.floor(high)
        if last - first + 1 > limit:
            return None
        return [k for k in range(first, last + 1) if not (self.nonzero and k == 0)]

    def _has_integer(self, low: float, low_open: bool, high: float, high_open: bool) -> bool:
        if not (math.isfinite(low) and math.isfinite(high)):
            return True
        first = math.floor(low) + 1 if low_open else math.ceil(low)
        last = math.ceil(high) - 1 if high_open else math.floor(high)
        if self.nonzero and first == last == 0:
            return False
        return first <= last

    def _written(self) -> str:
        """The domain as the problem file states it: ``integer, min 5, max 1``."""
        words = [name for name in ("positive", "nonnegative", "nonzero", "integer") if getattr(self, name)]
        if self.min is not None:
            words.append(f"min {self.min:g}")
        if self.max is not None:
            words.append(f"max {self.max:g}")
        if self.interval is not None:
            words.append(f"in the open interval ({self.interval[0]:g}, {self.interval[1]:g})")
        return ", ".join(words)


def domain_from_word(value: Any) -> Any:
    """``x: real`` / ``delta: positive`` are short for ``{real: true}`` / ``{positive: true}``."""
    if isinstance(value, str):
        if value not in DOMAIN_WORDS:
            raise ValueError(f"unknown symbol domain {value!r}; use one of {sorted(DOMAIN_WORDS)}")
        return {value: True}
    if value is None:
        return {}
    return value


def symbols_from_yaml(value: Any) -> Any:
    """``[x, y]`` (all real) or ``{x: real, n: {integer: true}}``."""
    if isinstance(value, list):
        return {str(name): {} for name in value}
    if isinstance(value, dict):
        return {str(k): domain_from_word(v) for k, v in value.items()}
    return value


def dimension_problems(
    arrays: Mapping[str, tuple[int | str, ...]], symbols: Mapping[str, SymbolDomain], largest: int
) -> list[str]:
    """Why the symbolic dims of ``arrays`` cannot be instantiated: each must be a declared
    symbol admitting a size from 1 to ``largest``."""
    problems: list[str] = []
    seen: set[str] = set()
    for array, shape in arrays.items():
        for dim in shape:
            if not isinstance(dim, str) or dim.strip().lstrip("-").isdigit() or dim in seen:
                continue
            seen.add(dim)
            problem = _dimension_problem(dim, symbols.get(dim), largest)
            if problem:
                problems.append(f"array {array}: {problem}")
    return problems


def _dimension_problem(name: str, domain: SymbolDomain | None, largest: int) -> str | None:
    example = f"symbols: {{{name}: {{integer: true, min: 1, max: 6}}}}"
    if domain is None:
        return f"dimension {name} is not declared; declare it, e.g. {example}"
    if domain.max is not None and domain.max < 1:
        return f"dimension {name} has no size of at least 1 (max {domain.max:g})"
    if domain.min is not None and domain.min > largest:
        return f"dimension {name} is at least {domain.min:g}, past the limit of {largest}"
    return None
