"""Draws of a network part's symbols (``m``, ``b``): seeded, admissible for their domains."""

from __future__ import annotations

import math
from fractions import Fraction

from grader.core.verdict import CheckUndecided
from grader.mathlang.domains import SymbolDomain
from grader.networks import symbol_draws
from grader.types.network.compile import Compiled
from grader.types.network.feedback import join_names

SYMBOL_DRAWS = 40  # exact decisions per draw
SAMPLED_DRAWS = 8  # draws of the symbols for sampled or sympy checks


def _admissible(value: Fraction, dom: SymbolDomain) -> bool:
    lo, hi = (_bound(v) for v in dom.interval) if dom.interval is not None else (None, None)
    return all(
        (
            not dom.integer or value.denominator == 1,
            not dom.positive or value > 0,
            not dom.nonnegative or value >= 0,
            not dom.nonzero or value != 0,
            dom.min is None or value >= Fraction(repr(dom.min)),
            dom.max is None or value <= Fraction(repr(dom.max)),
            lo is None or value > lo,
            hi is None or value < hi,
        )
    )


def _bound(end: float) -> Fraction | None:
    return Fraction(repr(end)) if math.isfinite(end) else None


def _inside_values(dom: SymbolDomain) -> list[Fraction]:
    """Extra admissible values for narrow domains (intervals, integer ranges)."""
    lo = dom.interval[0] if dom.interval else dom.min
    hi = dom.interval[1] if dom.interval else dom.max
    out: list[Fraction] = []
    if lo is not None and hi is not None and math.isfinite(lo) and math.isfinite(hi):
        a, b = Fraction(repr(lo)), Fraction(repr(hi))
        if dom.integer:
            out = [Fraction(k) for k in range(math.ceil(a), math.floor(b) + 1)][:40]
        else:
            out = [a + (b - a) * Fraction(k, 11) for k in range(12)]
    elif lo is not None and math.isfinite(lo):
        a = Fraction(repr(lo))
        out = [a + k for k in (0, 1, 2, 3, 10, 1000)] + [a + Fraction(1, k) for k in (2, 3, 1000)]
    elif hi is not None and math.isfinite(hi):
        b = Fraction(repr(hi))
        out = [b - k for k in (0, 1, 2, 3, 10, 1000)] + [b - Fraction(1, k) for k in (2, 3, 1000)]
    return out


def symbol_plan(comp: Compiled, count: int = SYMBOL_DRAWS) -> list[dict[str, Fraction]]:
    """Seeded admissible draws of the part's symbols; ``[{}]`` without symbols. The same for
    every answer to the part: made once, kept in the compiled part's cache."""
    names = list(comp.symbols)
    if not names:
        return [{}]
    key = ("symbol plan", count)
    plan = comp.cache.get(key)
    if plan is None:
        plan = comp.cache[key] = _plan(comp, names, count)
    return [dict(draw) for draw in plan]


def _plan(comp: Compiled, names: list[str], count: int) -> list[dict[str, Fraction]]:
    draws = symbol_draws(names, comp.seed, count)
    ok = [d for d in draws if all(_admissible(d[n], comp.symbols[n]) for n in names)]
    if len(ok) < 8:
        pools = [
            [v for v in _inside_values(comp.symbols[n]) if _admissible(v, comp.symbols[n])] for n in names
        ]
        if all(pools):
            k = max(len(p) for p in pools)
            ok += [{n: pools[i][j % len(pools[i])] for i, n in enumerate(names)} for j in range(k)]
    if not ok:
        raise CheckUndecided(f"no admissible values found for the symbols {join_names(names)}")
    return ok[:count] if count else ok
