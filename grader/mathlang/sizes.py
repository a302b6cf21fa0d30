"""Sizes written as formulas (``\\lfloor (H + 2p - k)/s \\rfloor + 1``, ``h d_v``), compared by
value: exactly, in integer arithmetic (floors of rationals), at whole-number values of their
symbols within the symbols' ranges.

Two polynomials (sums, products, whole powers) are decided: a polynomial of degree at most
``d`` in each symbol that vanishes on a grid of ``d + 1`` values per symbol is zero, so equal
values on that grid prove the two sizes equal (and a finite range small enough to list is
compared at every point). Anything else (floors, divisions) is compared at the small values of
every symbol together and at seeded draws of larger ones: equal there is equal at the points
compared, not proved. Where they differ, the simplest point is the witness.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from fractions import Fraction

from grader.mathlang import ast
from grader.mathlang.domains import SymbolDomain
from grader.mathlang.errors import MathError

# Points one comparison evaluates at most (each point is two exact tree walks, ~0.1 ms each).
MAX_POINTS = 600
_SMALL = 5  # 0..4 above the lowest value: where sizes written otherwise part first
_LARGER = (7, 12, 31, 64, 100, 255, 1000, 4099)


@dataclass(frozen=True)
class IntegerRange:
    low: int
    high: int | None  # None: no upper end

    def values(self, wanted: list[int]) -> list[int]:
        return [v for v in wanted if v >= self.low and (self.high is None or v <= self.high)]

    @property
    def size(self) -> int | None:
        return None if self.high is None else self.high - self.low + 1


def integer_range(domain: SymbolDomain | None) -> IntegerRange:
    """The whole numbers a size symbol takes: its declared range, else 0, 1, 2, ...
    (a range without a lower end starts at 0 too: sizes are never negative)."""
    if domain is None:
        return IntegerRange(0, None)
    (low, low_open), (high, high_open) = domain.ends()
    first = 0
    if math.isfinite(low):
        first = math.floor(low) + 1 if low_open else math.ceil(low)
    last: int | None = None
    if math.isfinite(high):
        last = math.ceil(high) - 1 if high_open else math.floor(high)
    return IntegerRange(first, last)


@dataclass(frozen=True)
class SizeComparison:
    equal: bool
    proved: bool  # equal on every value of the ranges (or, when not equal, at the witness: always)
    points: int  # how many points were compared
    witness: dict[str, int] | None = None
    received: Fraction | None = None  # the answer's value at the witness (None: no value there)
    expected: Fraction | None = None


def compare_sizes(
    received: ast.Node, expected: ast.Node, ranges: Mapping[str, IntegerRange]
) -> SizeComparison:
    """``received`` against ``expected`` at whole-number values of their symbols."""
    names = sorted(ast.free_names(received) | ast.free_names(expected))
    grid, proves = _points(received, expected, names, ranges)
    compared = 0
    for point in grid:
        values = {name: Fraction(value) for name, value in zip(names, point, strict=True)}
        want = _value(expected, values)
        if want is None:
            continue  # the reference has no size here: not a point of the question
        got = _value(received, values)
        compared += 1
        if got != want:
            return SizeComparison(False, True, compared, dict(zip(names, point, strict=True)), got, want)
    if compared == 0:
        return SizeComparison(False, False, 0)
    return SizeComparison(True, proves, compared)


def _value(node: ast.Node, values: Mapping[str, Fraction]) -> Fraction | None:
    from grader.mathlang.evaluate import evaluate_exact  # numpy: imported when a size is compared

    try:
        value = evaluate_exact(node, values)
    except (MathError, ZeroDivisionError, OverflowError):
        return None
    return value if isinstance(value, Fraction) else None


def _points(
    received: ast.Node, expected: ast.Node, names: list[str], ranges: Mapping[str, IntegerRange]
) -> tuple[list[tuple[int, ...]], bool]:
    """The points to compare at, simplest first, and whether equality there proves equality."""
    full = [ranges.get(name, IntegerRange(0, None)) for name in names]
    if _countable(full):
        everything = list(itertools.product(*(range(r.low, (r.high or r.low) + 1) for r in full)))
        return _simplest_first(everything), True
    degrees = _degree_bound(received, expected, names)
    if degrees is not None:
        constants = _constants(received, expected)
        per_symbol = [_first_values(r, d + 1, constants) for r, d in zip(full, degrees, strict=True)]
        enough = all(len(v) == d + 1 for v, d in zip(per_symbol, degrees, strict=True))
        if enough and math.prod(len(v) for v in per_symbol) <= MAX_POINTS:
            return _simplest_first(list(itertools.product(*per_symbol))), True
    return _probe_points(full, _constants(received, expected)), False


def _countable(ranges: list[IntegerRange]) -> bool:
    sizes = [r.size for r in ranges]
    return all(s is not None for s in sizes) and math.prod(s for s in sizes if s is not None) <= MAX_POINTS


def _simplest_first(points: list[tuple[int, ...]]) -> list[tuple[int, ...]]:
    return sorted(points, key=lambda p: (sum(abs(v) for v in p), p))


def _constants(*nodes: ast.Node) -> list[int]:
    """Whole numbers written in the formulas, and their neighbours: where sizes part."""
    found: set[int] = set()
    for node in nodes:
        for sub in ast.walk(node):
            if isinstance(sub, ast.Num) and sub.value.denominator == 1 and abs(sub.value) <= 10**6:
                c = int(sub.value)
                found |= {c - 1, c, c + 1, -c}
    return sorted(found)


def _first_values(r: IntegerRange, count: int, constants: list[int]) -> list[int]:
    candidates = list(range(r.low, r.low + count + _SMALL)) + constants + list(_LARGER)
    return list(dict.fromkeys(r.values(candidates)))[:count]


def _probe_points(ranges: list[IntegerRange], constants: list[int]) -> list[tuple[int, ...]]:
    """Every symbol at its small values together, then seeded draws of small and larger ones."""
    small = [r.values(list(range(r.low, r.low + _SMALL))) for r in ranges]
    per_axis = len(small[0]) if small else 1
    while per_axis > 1 and per_axis ** len(ranges) > MAX_POINTS // 2:
        per_axis -= 1
    points = list(itertools.product(*(values[:per_axis] for values in small)))
    larger = constants + list(_LARGER)
    wider = [list(dict.fromkeys(s + r.values(larger))) for s, r in zip(small, ranges, strict=True)]
    draws = random.Random(47)
    seen = set(points)
    for _ in range(MAX_POINTS * 4):
        if len(points) >= MAX_POINTS:
            break
        point = tuple(draws.choice(values) for values in wider)
        if point not in seen:
            seen.add(point)
            points.append(point)
    return _simplest_first(points)


def _degree_bound(received: ast.Node, expected: ast.Node, names: list[str]) -> list[int] | None:
    """A bound on the degree of ``received - expected`` in each symbol, when both are
    polynomials (with rational coefficients); else None."""
    one, other = _degrees(received), _degrees(expected)
    if one is None or other is None:
        return None
    return [max(one.get(name, 0), other.get(name, 0)) for name in names]


def _degrees(node: ast.Node) -> dict[str, int] | None:
    match node:
        case ast.Num():
            return {}
        case ast.Sym(name=name):
            return {name: 1}
        case ast.Neg(operand=operand):
            return _degrees(operand)
        case ast.BinOp(op="+" | "-", left=left, right=right):
            return _combine(_degrees(left), _degrees(right), max)
        case ast.BinOp(op=op, left=left, right=right) if op in ("implicit", "star", "cdot", "times"):
            return _combine(_degrees(left), _degrees(right), lambda a, b: a + b)
        case ast.BinOp(op="/", left=left, right=ast.Num(value=value)) if value != 0:
            return _degrees(left)
        case ast.BinOp(op="^", left=left, right=ast.Num(value=value)) if (
            value.denominator == 1 and 0 <= value <= 16
        ):
            base = _degrees(left)
            return None if base is None else {name: d * int(value) for name, d in base.items()}
        case ast.TupleLit(items=(item,)):
            return _degrees(item)
    return None


def _combine(
    one: dict[str, int] | None, other: dict[str, int] | None, join: Callable[[int, int], int]
) -> dict[str, int] | None:
    if one is None or other is None:
        return None
    return {name: join(one.get(name, 0), other.get(name, 0)) for name in one.keys() | other.keys()}
