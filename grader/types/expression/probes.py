"""Probe points aimed at where two scalar formulas could differ.

Random points near the origin miss a difference that only starts at x = 1000,
or only lives between 0.999 and 1. So the values a symbol is probed at are
chosen from the formulas themselves and from the symbol's domain:

- every scale from 1e-9 to 1e9, both signs, and 0;
- every constant ``c`` written in either formula (or its lets and functions),
  with ``-c``, ``sqrt(|c|)``, ``1/c`` and points just beside each;
- the kinks of ``relu``/``max``/``min``/``abs``/``heaviside``/``sign``/``floor``/
  ``ceil`` whose argument depends on one symbol (the argument's roots, found
  on the probe grid), and points just beside them;
- the domain's ends (interval endpoints, integer-range edges) and points just inside;
- seeded random values of every magnitude.

With several symbols the points mix these values: each coordinate drawn from its
own list, every symbol at the same scale with mixed signs (differences only where
``x y`` is large), and one symbol huge while the others are tiny.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from fractions import Fraction

import numpy as np

from grader.mathlang import ast
from grader.mathlang.domains import SymbolDomain
from grader.mathlang.sampling import bounds, integer_range

SCALES = tuple(10.0**k for k in range(-9, 10))
SMALL_VALUES = (0.5, 1.5, 2.0, 3.0, 0.1, 0.25, 7.0)
NEAR = 1e-3  # relative (and absolute, near 0) offset of the points beside a constant or kink
MAX_CONSTANTS = 24  # constants per formula pair that get their own probes
MAX_POINTS = 640  # probe points of a part with several symbols
RANDOM_PER_SYMBOL = 24
KINK_FUNCTIONS = frozenset({"relu", "max", "min", "abs", "heaviside", "sign", "floor", "ceil", "leaky_relu"})


def formula_constants(nodes: Iterable[ast.Node]) -> list[float]:
    """The nonzero numbers written in the formulas, largest magnitude first."""
    found: set[float] = set()
    for node in nodes:
        for sub in ast.walk(node):
            if isinstance(sub, ast.Num) and sub.value != 0:
                found.add(_as_float(sub.value))
            elif isinstance(sub, ast.BinOp) and sub.op == "^":
                found.update(_power_constant(sub))
    finite = [c for c in found if math.isfinite(c) and c != 0]
    return sorted(finite, key=lambda c: -abs(c))[:MAX_CONSTANTS]


def _power_constant(node: ast.BinOp) -> set[float]:
    """``10^{-6}`` and ``2^{20}`` are constants a student writes as powers."""
    base, exponent = node.left, node.right
    if isinstance(exponent, ast.Neg):
        exponent, sign = exponent.operand, -1
    else:
        sign = 1
    if not (isinstance(base, ast.Num) and isinstance(exponent, ast.Num)):
        return set()
    power = sign * float(exponent.value)
    if abs(power) > 300 or float(base.value) <= 0:
        return set()
    return {float(base.value) ** power}


def _as_float(value: Fraction) -> float:
    try:
        return float(value)
    except OverflowError:
        return math.inf


def kink_arguments(nodes: Iterable[ast.Node]) -> list[ast.Node]:
    """Arguments whose sign changes a kink function's branch (``x - 1000`` in ``relu(x - 1000)``;
    ``a - b`` for ``max(a, b)``)."""
    found: list[ast.Node] = []
    for node in nodes:
        for sub in ast.walk(node):
            if not (isinstance(sub, ast.Call) and sub.name in KINK_FUNCTIONS and sub.args):
                continue
            if sub.name in ("max", "min") and len(sub.args) == 2:
                found.append(ast.BinOp(sub.pos, "-", sub.args[0], sub.args[1]))
            else:
                found.append(sub.args[0])
    return found


def around(values: Iterable[float]) -> list[float]:
    """Each value, and points just below and above it (relative and absolute offsets)."""
    out: list[float] = []
    for v in values:
        step = NEAR * max(abs(v), 1e-9)
        out += [v, v - step, v + step]
        if abs(v) > 1:
            out += [v - NEAR, v + NEAR]
    return out


def constant_values(constants: Sequence[float]) -> list[float]:
    """``c``, ``-c``, ``sqrt(|c|)``, ``1/c`` and their neighbours."""
    derived: list[float] = []
    for c in constants:
        derived += [c, -c, math.sqrt(abs(c)), -math.sqrt(abs(c)), 1 / c, -1 / c]
    return around(derived)


def base_values() -> list[float]:
    values = [0.0]
    for scale in SCALES:
        values += [scale, -scale]
    for v in SMALL_VALUES:
        values += [v, -v]
    return values


def random_values(rng: np.random.Generator, count: int) -> list[float]:
    magnitude = 10.0 ** rng.uniform(-9, 9, count) * rng.choice([-1.0, 1.0], count)
    moderate = rng.uniform(-5, 5, count)
    return [*magnitude.tolist(), *moderate.tolist()]


def admissible(values: Iterable[float], domain: SymbolDomain) -> list[float]:
    """The values a symbol may take, in order, without repeats; integer domains round."""
    if domain.integer:
        return _admissible_integers(values, domain)
    lo, hi = bounds(domain)
    open_low = domain.interval is not None or domain.positive
    open_high = domain.interval is not None
    kept: dict[float, None] = {}
    for v in values:
        if not math.isfinite(v):
            continue
        if lo is not None and (v < lo or (open_low and v == lo)):
            continue
        if hi is not None and (v > hi or (open_high and v == hi)):
            continue
        if domain.nonzero and v == 0:
            continue
        kept[v] = None
    return list(kept) + _domain_edges(domain, lo, hi, open_low, open_high)


def _domain_edges(
    domain: SymbolDomain, lo: float | None, hi: float | None, open_low: bool, open_high: bool
) -> list[float]:
    edges: list[float] = []
    width = (hi - lo) if lo is not None and hi is not None else None
    for end, is_open, direction in ((lo, open_low, 1.0), (hi, open_high, -1.0)):
        if end is None:
            continue
        if not is_open:
            edges.append(end)
        for step in (1e-9, 1e-6, 1e-3):
            inside = end + direction * (step * width if width else step * max(1.0, abs(end)))
            edges.append(inside)
    if width:
        edges += [lo + width * f for f in (0.25, 0.5, 0.75, 1 / 3)]  # type: ignore[operator]
    return [e for e in edges if not (domain.nonzero and e == 0)]


def _admissible_integers(values: Iterable[float], domain: SymbolDomain) -> list[float]:
    lo, hi = integer_range(domain)
    edges = [lo, hi, lo + 1, hi - 1, 0, 1, -1, 2, -2]
    kept: dict[float, None] = {}
    for v in [*edges, *values]:
        if not math.isfinite(v) or abs(v) > 1e15:
            continue
        for n in {math.floor(v), math.ceil(v)}:
            if lo <= n <= hi and not (domain.nonzero and n == 0):
                kept[float(n)] = None
    return list(kept)


def combine(candidates: Mapping[str, Sequence[float]], rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Probe points from each symbol's candidate values: every value of a single
    symbol; for several, random mixes, shared scales and huge-beside-tiny corners."""
    names = list(candidates)
    if len(names) == 1:
        return {names[0]: np.array(candidates[names[0]], dtype=float)}
    columns: dict[str, list[float]] = {name: [] for name in names}
    for point in itertools.chain(_corners(candidates), _mixes(candidates, rng)):
        for name, value in zip(names, point, strict=True):
            columns[name].append(value)
    return {name: np.array(values[:MAX_POINTS], dtype=float) for name, values in columns.items()}


def _mixes(
    candidates: Mapping[str, Sequence[float]], rng: np.random.Generator
) -> Iterable[tuple[float, ...]]:
    lists = [np.asarray(values, dtype=float) for values in candidates.values()]
    for _ in range(MAX_POINTS):
        yield tuple(float(values[rng.integers(len(values))]) for values in lists)


def _corners(candidates: Mapping[str, Sequence[float]]) -> Iterable[tuple[float, ...]]:
    """Every symbol at one scale (all signs), and each symbol huge while the others are tiny."""
    lists = [list(values) for values in candidates.values()]
    count = len(lists)
    signs = list(itertools.product((1.0, -1.0), repeat=min(count, 3)))
    for scale in (1e-9, 1e-6, 1e-3, 1.0, 1e3, 1e6, 1e9):
        for sign in signs:
            wanted = [scale * sign[i % len(sign)] for i in range(count)]
            yield tuple(_nearest(values, w) for values, w in zip(lists, wanted, strict=True))
    for big, small in ((1e9, 1e-9), (1e6, 1e-6), (1e3, 1e-3)):
        for i in range(count):
            wanted = [big if j == i else small for j in range(count)]
            yield tuple(_nearest(values, w) for values, w in zip(lists, wanted, strict=True))
            wanted = [small if j == i else big for j in range(count)]
            yield tuple(_nearest(values, w) for values, w in zip(lists, wanted, strict=True))


def _nearest(values: Sequence[float], wanted: float) -> float:
    """The admissible value closest to ``wanted`` (in sign and magnitude)."""

    def distance(v: float) -> float:
        if v == wanted:
            return 0.0
        if v == 0 or wanted == 0 or (v > 0) != (wanted > 0):
            return math.inf if wanted != 0 else abs(v)
        return abs(math.log10(abs(v)) - math.log10(abs(wanted)))

    return min(values, key=distance)
