"""Rows of a piecewise formula that overlap and disagree: one point given two values.

``\\begin{cases} 2 & t \\ge 3 \\\\ -1 & t \\le 3 \\end{cases}`` gives t = 3 the values 2 and -1;
taking the first row that holds would make the verdict depend on the order of the rows. Such
a formula has no one reading: :func:`cases_conflict` finds a point where two rows (other than
``otherwise``) both hold and give different values, and says where. Rows that agree on their
overlap (``|x|`` as ``x`` for ``x \\ge 0`` and ``-x`` for ``x \\le 0``) are fine.

The points tried are exact: for each condition comparing formulas affine in one symbol, its
boundary (where the two sides are equal), the points beside it and between boundaries, and
small values; a boundary is where two closed conditions meet.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from grader.mathlang import ast
from grader.mathlang.domains import SymbolDomain
from grader.mathlang.errors import MathError
from grader.mathlang.evaluate import evaluate_exact, evaluate_val, make_env

MAX_POINTS = 2_000
_STEPS = (Fraction(0), Fraction(1, 2), Fraction(-1, 2), Fraction(1), Fraction(-1), Fraction(3), Fraction(-3))


@dataclass(frozen=True)
class CasesConflict:
    point: dict[str, Fraction]
    rows: tuple[int, int]  # 1-based row numbers
    values: tuple[str, str]

    def message(self) -> str:
        where = ", ".join(f"{name} = {_number(value)}" for name, value in self.point.items())
        at = f" at {where}" if where else ""
        first, second = self.rows
        return (
            f"rows {first} and {second} of your cases both hold{at} and give different values "
            f"({self.values[0]} and {self.values[1]}): one point, two answers; make the "
            "conditions exclusive"
        )


def cases_conflict(node: ast.Node, domains: Mapping[str, SymbolDomain] | None = None) -> CasesConflict | None:
    """The first point where two rows of a piecewise formula in ``node`` both hold and differ."""
    for sub in ast.walk(node):
        if isinstance(sub, ast.Piecewise):
            found = _conflict(sub, domains or {})
            if found is not None:
                return found
    return None


def _conflict(node: ast.Piecewise, domains: Mapping[str, SymbolDomain]) -> CasesConflict | None:
    rows = [(k + 1, value, cond) for k, (value, cond) in enumerate(node.cases) if not _otherwise(cond)]
    if len(rows) < 2:
        return None
    names = sorted(set().union(*(ast.free_names(cond) | ast.free_names(value) for _, value, cond in rows)))
    for point in _points(rows, names, domains):
        holding = [(number, value) for number, value, cond in rows if _holds(cond, point)]
        for (first, one), (second, other) in itertools.combinations(holding, 2):
            a, b = _value(one, point), _value(other, point)
            if a is not None and b is not None and _differ(a, b):
                return CasesConflict(point, (first, second), (_shown(a), _shown(b)))
    return None


def _otherwise(cond: ast.Node) -> bool:
    return isinstance(cond, ast.Const) and cond.name in ("true", "otherwise")


def _points(
    rows: list[tuple[int, ast.Node, ast.Node]], names: list[str], domains: Mapping[str, SymbolDomain]
) -> Iterator[dict[str, Fraction]]:
    if not names:
        yield {}
        return
    per_name = {name: _values(name, rows, domains.get(name)) for name in names}
    count = 1
    for values in per_name.values():
        count *= len(values)
    if count > MAX_POINTS:  # several symbols: every boundary of each, the others at a few values
        keep = max(3, int(MAX_POINTS ** (1 / len(names))))
        per_name = {name: values[:keep] for name, values in per_name.items()}
    for combination in itertools.product(*(per_name[name] for name in names)):
        yield dict(zip(names, combination, strict=True))


def _values(
    name: str, rows: list[tuple[int, ast.Node, ast.Node]], domain: SymbolDomain | None
) -> list[Fraction]:
    """Boundaries of the conditions in ``name`` first, then beside and between them, then small values."""
    bounds = sorted({b for _, _, cond in rows for b in _boundaries(cond, name)})
    found = list(bounds)
    for b in bounds:
        found += [b + step for step in _STEPS[1:]]
    found += [(a + b) / 2 for a, b in itertools.pairwise(bounds)]
    found += [*_STEPS, Fraction(10), Fraction(-10)]
    ordered = list(dict.fromkeys(found))
    return [v for v in ordered if _in_domain(v, domain)]


def _boundaries(cond: ast.Node, name: str) -> Iterator[Fraction]:
    """Where each relation of ``cond`` that is affine in ``name`` alone turns."""
    for sub in ast.walk(cond):
        if not isinstance(sub, ast.Relation) or ast.free_names(sub) != {name}:
            continue
        difference = ast.BinOp(sub.pos, "-", sub.left, sub.right)
        at = [_value(difference, {name: Fraction(k)}) for k in (0, 1, 2)]
        if any(not isinstance(v, Fraction) for v in at):
            continue
        f0, f1, f2 = at
        slope = f1 - f0
        if slope != 0 and f2 - f1 == slope:
            yield -f0 / slope


def _in_domain(value: Fraction, domain: SymbolDomain | None) -> bool:
    if domain is None:
        return True
    (low, low_open), (high, high_open) = domain.ends()
    if value < low or (low_open and value == low) or value > high or (high_open and value == high):
        return False
    if domain.nonzero and value == 0:
        return False
    return not domain.integer or value.denominator == 1


def _holds(cond: ast.Node, point: Mapping[str, Fraction]) -> bool:
    """Does ``cond`` hold at ``point``: exactly, or at 40 digits where it is not rational (pi)."""
    try:
        held = evaluate_exact(cond, point)
    except (ZeroDivisionError, OverflowError, TypeError, ValueError):
        return False
    except MathError:
        try:
            held = evaluate_val(cond, make_env("mp", dict(point))).a[0]
        except (MathError, ZeroDivisionError, OverflowError, TypeError, ValueError):
            return False
    return held is True or held is np.True_ or (isinstance(held, np.ndarray) and bool(held.all()))


def _value(node: ast.Node, point: Mapping[str, Fraction]) -> Any:
    """The value at ``point``: exact when rational, else 40-digit mpmath; None where undefined."""
    try:
        return evaluate_exact(node, point)
    except (ZeroDivisionError, OverflowError):
        return None
    except MathError:
        pass
    try:
        value = evaluate_val(node, make_env("mp", dict(point))).a[0]
    except (MathError, ZeroDivisionError, OverflowError, TypeError, ValueError):
        return None
    return value if _is_number(value) else None


def _is_number(value: Any) -> bool:
    try:
        return value == value and abs(value) < float("inf")  # not nan, not infinite
    except TypeError:
        return False


def _differ(a: Any, b: Any) -> bool:
    if isinstance(a, Fraction) and isinstance(b, Fraction):
        return a != b
    from grader.mathlang.arithmetic import mp_from

    try:
        one, other = mp_from(a), mp_from(b)
        return bool(abs(one - other) > max(abs(one), abs(other), 1) * mp_from(Fraction(1, 10**30)))
    except (TypeError, ValueError):
        return False


def _shown(value: Any) -> str:
    return _number(value) if isinstance(value, Fraction) else f"{float(value):.6g}"


def _number(value: Fraction) -> str:
    return str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"
