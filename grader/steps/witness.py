"""Points where a step fails, confirmed in exact or ball arithmetic.

A float evaluation at many points only proposes; a point is a witness once its values
are known exactly (rationals) or as balls that settle the question (python-flint's arb,
the engine's validated numerics): both sides have values there, the point satisfies
every stated condition, and the step's claim is certainly false there.
"""

from __future__ import annotations

import itertools
import math
import random
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
from flint import arb

from grader.mathlang import ast
from grader.mathlang.balls import NotBallError, ball, ball_value, distinct_values, precision
from grader.mathlang.errors import MathError
from grader.mathlang.evaluate import evaluate, evaluate_exact
from grader.steps import premise

GRID = [
    "1",
    "-1",
    "2",
    "-2",
    "1/2",
    "-1/2",
    "3",
    "-3",
    "0",
    "1/10",
    "-1/10",
    "5",
    "-5",
    "3/2",
    "-3/2",
    "10",
    "-10",
    "1/4",
    "7",
    "-7",
    "100",
    "-100",
    "1/100",
    "-1/100",
    "1/3",
    "-1/3",
    "20",
    "-20",
    "3/4",
    "-3/4",
    "9/10",
    "-9/10",
    "99/100",
    "5/2",
    "-5/2",
]
RANDOM_POINTS = 160
CHECKED = 12  # candidate points confirmed in exact or ball arithmetic, the simplest first
BITS = (128, 512)

Value = Fraction | arb


@dataclass(frozen=True)
class Found:
    point: dict[str, Fraction]
    left: Value
    right: Value
    how: str  # "exact" or "interval bound"

    def shown(self) -> tuple[dict[str, str], str, str]:
        left, right = distinct_values(self.left, self.right)
        return {k: _fraction_text(v) for k, v in self.point.items()}, left, right


def _fraction_text(v: Fraction) -> str:
    return str(v.numerator) if v.denominator == 1 else f"{v.numerator}/{v.denominator}"


class Domain:
    """Each symbol's admissible values (a SymbolDomain), and conditions to hold at a witness."""

    def __init__(self, names: Sequence[str], domains: Mapping[str, Any], conditions: Sequence[ast.Node]):
        self.names = premise.connected_names(names, conditions)
        self.domains = domains
        self.conditions = [c for c in conditions if ast.free_names(c) <= set(self.names)]

    def values(self, name: str) -> list[Fraction]:
        domain = self.domains.get(name)
        out = []
        for text in GRID:
            v = Fraction(text)
            if domain is None or _admits(domain, v):
                out.append(v)
        return out

    def holds(self, point: Mapping[str, Fraction], functions: Mapping[str, Any]) -> bool:
        """Every condition certainly holds at the point."""
        return all(_certainly(c, point, functions) is True for c in self.conditions)


def _admitted(domain: Domain, name: str, v: Fraction) -> bool:
    d = domain.domains.get(name)
    return d is None or _admits(d, v)


def admits(domain: Any, v: Fraction) -> bool:
    """Is ``v`` a value of the domain."""
    return _admits(domain, v)


def _admits(domain: Any, v: Fraction) -> bool:
    (low, low_open), (high, high_open) = domain.ends()
    if v < low or v > high or (low_open and v == low) or (high_open and v == high):
        return False
    if domain.nonzero and v == 0:
        return False
    return not (domain.integer and v.denominator != 1)


def candidate_points(domain: Domain, seed: int = 0) -> list[dict[str, Fraction]]:
    """Points to try, simplest first: every symbol at one value, then mixes, then random ones."""
    lists = [domain.values(n) for n in domain.names]
    if any(not values for values in lists):
        return []
    if not domain.names:
        return [{}]
    points: list[dict[str, Fraction]] = []
    if len(domain.names) <= 2:
        limit = 14 if len(domain.names) == 2 else len(GRID)
        for combo in itertools.product(*(values[:limit] for values in lists)):
            points.append(dict(zip(domain.names, combo, strict=True)))
    else:
        for i in range(min(len(v) for v in lists)):
            points.append({n: values[i] for n, values in zip(domain.names, lists, strict=True)})
    rng = random.Random(seed)
    for _ in range(RANDOM_POINTS):
        points.append({n: rng.choice(values) for n, values in zip(domain.names, lists, strict=True)})
    unique = {tuple(sorted(p.items())): p for p in points}
    return list(unique.values())


def floats(
    node: ast.Node, points: list[dict[str, Fraction]], names: Sequence[str], functions: Mapping[str, Any]
) -> np.ndarray:
    """The formula at every point in floats (nan where it has no value or cannot be evaluated)."""
    if not points:
        return np.zeros(0)
    values = {n: np.array([float(p[n]) for p in points]) for n in names}
    try:
        out = evaluate(node, values, functions=functions, batch=len(points))
    except (MathError, ValueError, TypeError, ZeroDivisionError, OverflowError):
        return np.full(len(points), np.nan)
    out = np.asarray(out, dtype=float)
    if out.shape != (len(points),):
        return np.full(len(points), np.nan)
    return out


def value_at(
    node: ast.Node, point: Mapping[str, Fraction], functions: Mapping[str, Any], bits: int
) -> Value | None:
    """The exact value (a Fraction) where the formula is rational there, else a finite ball;
    None where it has no value (or balls cannot tell)."""
    try:
        exact = evaluate_exact(node, dict(point), functions=functions)
        if isinstance(exact, Fraction | int):
            return Fraction(exact)
    except MathError:
        pass
    except (ValueError, TypeError, ZeroDivisionError, OverflowError, ArithmeticError):
        pass
    try:
        with precision(bits):
            value = ball_value(node, {k: ball(v) for k, v in point.items()}, functions)
    except (
        NotBallError,
        MathError,
        ValueError,
        TypeError,
        ZeroDivisionError,
        OverflowError,
        ArithmeticError,
    ):
        return None
    if not value.is_finite():
        return None
    return value


def _certainly(
    condition: ast.Node, point: Mapping[str, Fraction], functions: Mapping[str, Any]
) -> bool | None:
    """Does the condition hold at the point: True, False, or None when unknown."""
    if isinstance(condition, ast.Logic) and condition.op == "and":
        results = [_certainly(c, point, functions) for c in condition.operands]
        if all(r is True for r in results):
            return True
        if any(r is False for r in results):
            return False
        return None
    if not isinstance(condition, ast.Relation):
        return None
    left = value_at(condition.left, point, functions, BITS[0])
    right = value_at(condition.right, point, functions, BITS[0])
    if left is None or right is None:
        return None
    return compare_values(left, right, condition.op)


def compare_values(left: Value, right: Value, op: str) -> bool | None:
    """``left op right``: True, False, or None when balls overlap the boundary."""
    if isinstance(left, Fraction) and isinstance(right, Fraction):
        return {
            "<": left < right,
            "<=": left <= right,
            ">": left > right,
            ">=": left >= right,
            "=": left == right,
            "!=": left != right,
        }[op]
    a, b = _ball(left), _ball(right)
    diff = a - b
    if op in ("<", "<="):
        diff = -diff
        op = ">" if op == "<" else ">="
    if op in (">", ">="):
        if diff > 0:
            return True
        if diff < 0:
            return False
        return None
    if op in ("=", "!="):
        if diff != 0:  # arb: certainly nonzero
            return op == "!="
        return None
    return None


def _ball(v: Value) -> arb:
    return v if isinstance(v, arb) else ball(v)


def differ(left: Value, right: Value, rtol: float, atol: float) -> bool:
    """|left - right| certainly exceeds atol + rtol * max(|left|, |right|)."""
    if isinstance(left, Fraction) and isinstance(right, Fraction):
        exact_bound = Fraction(atol) + Fraction(rtol) * max(abs(left), abs(right))
        return abs(left - right) > exact_bound
    a, b = _ball(left), _ball(right)
    bound = arb(atol) + arb(rtol) * _upper_max(abs(a), abs(b))
    return bool(abs(a - b) - bound > 0)


def _upper_max(a: arb, b: arb) -> arb:
    return arb(max(float(a.upper()), float(b.upper())) * (1 + 1e-12) + 1e-300)


def search(
    domain: Domain,
    functions: Mapping[str, Any],
    propose: Callable[[list[dict[str, Fraction]]], np.ndarray],
    confirm: Callable[[dict[str, Fraction], int], Found | None],
    extra: Sequence[dict[str, Fraction]] = (),
) -> Found | None:
    """The simplest confirmed witness: ``propose`` marks (in floats) the points worth checking,
    ``confirm`` settles one in exact or ball arithmetic."""
    extra = [p for p in extra if set(domain.names) <= set(p)]  # a point must value every symbol
    on = premise.points_on(domain.conditions, domain.names, lambda n, v: _admitted(domain, n, v))
    points = [*extra, *on, *candidate_points(domain)]
    if not points:
        return None
    flagged = propose(points)
    order = [i for i in range(len(points)) if flagged[i]]
    order.sort(key=lambda i: (i >= len(extra) + len(on), _simplicity(points[i])))
    for i in order[:CHECKED]:
        point = points[i]
        if not domain.holds(point, functions):
            continue
        for bits in BITS:
            found = confirm(point, bits)
            if found is not None:
                return found
    return None


def _simplicity(point: Mapping[str, Fraction]) -> float:
    return sum(math.log2(1 + abs(v.numerator)) + math.log2(v.denominator) for v in point.values())


def point_in(feedback: str, names: Sequence[str]) -> dict[str, Fraction] | None:
    """The point an engine's feedback names ("at x = 0.9, y = -1 ..."), as exact numbers."""
    m = re.match(r"\s*at ((?:[A-Za-z_][\w]* = -?[\d.]+(?:e[-+]?\d+)?(?:, )?)+)", feedback)
    if not m:
        return None
    point: dict[str, Fraction] = {}
    for name, value in re.findall(r"([A-Za-z_][\w]*) = (-?[\d.]+(?:e[-+]?\d+)?)", m.group(1)):
        try:
            point[name] = Fraction(value)
        except ValueError:
            return None
    return point if set(point) == set(names) else None


_ENTRY = re.compile(r"(.+?)_\{?([A-Za-z]|\d+)\}?")


def may_coincide(point: Mapping[str, Fraction]) -> tuple[str, str] | None:
    """Two entries of one name whose indices may be equal (``x_i`` and ``x_j``, ``x_i`` and
    ``x_1``), or a name beside its entries (``x`` and ``x_1``: ``||x||^2 = x_1^2 + x_2^2``):
    values that differ there need not be values the entries can take."""
    seen: dict[str, list[tuple[str, str]]] = {}
    for name in point:
        m = _ENTRY.fullmatch(name)
        if m is not None:
            seen.setdefault(m.group(1), []).append((name, m.group(2)))
    for entries in seen.values():
        for (a, i), (b, j) in itertools.combinations(entries, 2):
            if i.isalpha() or j.isalpha():
                return a, b
    for name in point:  # \bar{x} beside x_1, x_i: by convention their mean, not a value of its own
        barred = _BARRED.fullmatch(name)
        if barred is not None and barred.group(1) in seen:
            return name, seen[barred.group(1)][0][0]
        if name in seen:  # x beside x_1, x_2: the vector whose entries they are, not a number apart
            return name, seen[name][0][0]
    return None


_BARRED = re.compile(r"([A-Za-z]+)_(?:bar|overline)")


def coincide_said(pair: tuple[str, str]) -> str:
    """Why two names of a point found (:func:`may_coincide`) make it no witness."""
    a, b = pair
    if _BARRED.fullmatch(a):
        return f"{a} may be the mean of the entries ({b}, ...), by the convention of a bar: no witness"
    if _ENTRY.fullmatch(a) is None:
        return f"{a} may be the vector whose entry {b} is, not a number apart from it: no witness"
    return f"{a} and {b} may be the same entry (their indices may be equal)"


def substitution(left: ast.Node | None, right: ast.Node | None) -> dict[str, Fraction] | None:
    """The values a step may put in where one side is a number and the other has names
    (``\frac{n - k + 2p}{s} + 1 = \frac{32 - 5 + 2}{1} + 1``): names, each given a number the
    number side writes, at which the two sides are equal. Then the step evaluates at values
    stated elsewhere (the problem's), and a point giving the names others is no witness. The
    number side is a formula of numbers: a number alone (``m - n \\ge 0``, ``... = 30``) is a claim.
    None when there are none (``\frac{d}{dx} x^2 = 2``: 2x is 4 at x = 2)."""
    for symbolic, numeric in ((left, right), (right, left)):
        if symbolic is None or numeric is None or ast.free_names(numeric) or _one_number(numeric):
            continue  # m - n >= 0, ... = 30: a claim, not numbers put in
        names = sorted(ast.free_names(symbolic))
        # each written number, or one over a factor the other side writes (2p = 4 at p = 2)
        factors = {n.value for n in _numbers_in(symbolic) if n.value > 1}
        numbers = {n.value for n in _numbers_in(numeric)}
        written = sorted(numbers | {v / c for v in numbers for c in factors if (v / c).denominator == 1})
        if len(names) < 2 or len(written) ** len(names) > MAX_SUBSTITUTIONS:  # x^2 = 4: a claim on x
            continue
        try:
            target = evaluate_exact(numeric, {})
            for values in itertools.product(written, repeat=len(names)):
                put_in = dict(zip(names, values, strict=True))
                try:
                    if evaluate_exact(symbolic, put_in) == target:
                        return put_in
                except (MathError, ArithmeticError):  # 1/0 at these: the next
                    continue
        except (MathError, ArithmeticError, TypeError, ValueError):  # the number side has no value
            continue
    return None


MAX_SUBSTITUTIONS = 4096  # tries of the written numbers for the names, at most


def _one_number(node: ast.Node) -> bool:
    return isinstance(node, ast.Num) or (isinstance(node, ast.Neg) and isinstance(node.operand, ast.Num))


def _numbers_in(node: ast.Node) -> list[ast.Num]:
    return [n for n in ast.walk(node) if isinstance(n, ast.Num)]
