"""A step is an exact claim: tolerance never shows it.

The engine compares formulas to within a tolerance (right for a graded numeric answer);
a derivation step ``1 + 10^{-30} = 1`` is false all the same. Once a step is about to be
shown, its two sides are compared again with no tolerance at a few points of its domain,
in exact or ball arithmetic: a point where they certainly differ is a witness, and a
certificate that only says "within atol/rtol" shows nothing. The exception is a decimal
the student rounded (``\\frac{1}{3} = 0.333``): shown as equal to the rounding, and said so.

A statement of an equivalence is false where one of its sides has no value
(``\\frac{x^2}{x} = 0`` at ``x = 0``): :func:`no_value` confirms that exactly.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
from flint import arb

from grader.mathlang import ast
from grader.mathlang.balls import precision
from grader.mathlang.errors import EvalError, NotExactError
from grader.mathlang.evaluate import evaluate_exact
from grader.steps import premise
from grader.steps import witness as W

EXACT_BITS = (128, 512, 2048)
EXACT_POINTS = 6  # points where the sides are compared with no tolerance, the simplest first
LARGE = arb(2) ** 200  # past this magnitude a 512-bit ball may not separate values 1 apart

# what the exact evaluator says where a formula has no value (not: it cannot evaluate it)
_NO_VALUE = (
    "division by zero",
    "log of a non-positive number",
    "square root of a negative number",
    "mod by zero",
)
_TOLERANCE_SAID = re.compile(r"within (?:atol|rtol|the allowed)|equal within")
MIN_PROBED = 3  # points a step with names must agree at, with no tolerance, to be shown by probes
_DECIMAL = re.compile(r"\d*\.\d+")


def rounded_decimals(*texts: str) -> list[str]:
    """The decimals a step writes (``0.333``): numbers the student may have rounded."""
    return [m.group(0) for t in texts for m in _DECIMAL.finditer(t)]


def within_said(method: str) -> bool:
    """The engine's method says it compared to within a tolerance."""
    return bool(_TOLERANCE_SAID.search(method))


def tolerance_only(certificate: str) -> bool:
    """The certificate shows the sides equal only to within a tolerance: said so, or two
    balls that overlap (which never proves two values equal)."""
    return within_said(certificate) or certificate.startswith("interval bound")


def rounded_said(decimals: list[str]) -> str:
    which = "decimal" if len(decimals) == 1 else "decimals"
    return f"bounded: equal to the rounding of the written {which} {', '.join(decimals)}"


def no_value(node: ast.Node, point: Mapping[str, Fraction], functions: Mapping[str, Any]) -> bool:
    """The formula certainly has no value at the point (a division by zero, a logarithm of
    a non-positive number...). Piecewise formulas and conditions are left out: a row that
    does not apply may be evaluated all the same."""
    if any(isinstance(n, ast.Piecewise | ast.Logic | ast.Relation) for n in ast.walk(node)):
        return False
    try:
        evaluate_exact(node, dict(point), functions=functions)
    except NotExactError:
        return False
    except EvalError as e:
        return type(e) is EvalError and e.message.startswith(_NO_VALUE)
    except Exception:  # anything else: not known to have no value
        return False
    return False


def exact_witness(
    a: ast.Node, b: ast.Node, domain: W.Domain, functions: Mapping[str, Any]
) -> tuple[W.Found | None, int]:
    """A point of the domain where both sides have values that certainly differ (no
    tolerance at all), or None; and how many points were compared."""
    points = _points(a, b, domain, functions)
    for point in points:
        found = _differ_at(a, b, point, functions)
        if found is not None:
            return found, len(points)
    return None, len(points)


def settle(
    a: ast.Node, b: ast.Node, domain: W.Domain, functions: Mapping[str, Any], said: str, decimals: list[str]
) -> tuple[str, str, W.Found | None]:
    """(status, certificate or why, witness) of a step shown with certificate ``said``, its
    sides then compared with no tolerance; a witness only with status "wrong"."""
    found, compared = exact_witness(a, b, domain, functions)
    if found is not None and decimals:
        return "shown", rounded_said(decimals), None
    if found is not None:
        return "wrong", found.how, found
    if tolerance_only(said) and not decimals:
        # a formula of the domain's names agreeing at one or two points is luck, not probes
        if compared >= (MIN_PROBED if domain.names else 1):
            return "shown", probed_said(compared), None
        return "undecided", f"the sides agree only to within a tolerance ({said}), not shown equal", None
    return "shown", said, None


def probed_said(compared: int) -> str:
    """A step the engine showed only to within a tolerance, whose sides then agreed with
    none at the points compared: probes, not a proof."""
    points = "1 point" if compared == 1 else f"{compared} points"
    return (
        f"probes: {points} compared with no tolerance in exact or ball arithmetic "
        "(the engine showed it only to within a tolerance)"
    )


def _differ_at(
    a: ast.Node, b: ast.Node, point: dict[str, Fraction], functions: Mapping[str, Any]
) -> W.Found | None:
    for bits in EXACT_BITS:
        x, y = W.value_at(a, point, functions, bits), W.value_at(b, point, functions, bits)
        if x is None or y is None:
            return None
        if _distinct(x, y, bits):
            exact = isinstance(x, Fraction) and isinstance(y, Fraction)
            return W.Found(point, x, y, "exact" if exact else "interval bound")
        if isinstance(x, Fraction) and isinstance(y, Fraction):
            return None  # equal exactly
        if bits >= 512 and not bool(abs(W._ball(x)) > LARGE or abs(W._ball(y)) > LARGE):
            return None
    return None


def _distinct(x: W.Value, y: W.Value, bits: int) -> bool:
    if isinstance(x, Fraction) and isinstance(y, Fraction):
        return x != y
    with precision(bits):  # the difference of two balls at their own precision
        return not (W._ball(x) - W._ball(y)).contains(0)


def _points(
    a: ast.Node, b: ast.Node, domain: W.Domain, functions: Mapping[str, Any]
) -> list[dict[str, Fraction]]:
    """The simplest points of the domain where both sides have a value in floats (or overflow)."""
    names = domain.names
    on = premise.points_on(
        domain.conditions, names, lambda n, v: W.admits(domain.domains[n], v) if n in domain.domains else True
    )
    points = [*on, *_inside(domain), *W.candidate_points(domain)]
    if not points:
        return []
    x, y = W.floats(a, points, names, functions), W.floats(b, points, names, functions)
    out: list[dict[str, Fraction]] = []
    for i, point in enumerate(points):
        if np.isnan(x[i]) or np.isnan(y[i]) or point in out or not domain.holds(point, functions):
            continue
        out.append(point)
        if len(out) >= EXACT_POINTS:
            break
    return out


def _inside(domain: W.Domain) -> list[dict[str, Fraction]]:
    """Points near the ends of each symbol's range (``x > 100``: 101, 110...), which the
    grid of small values may miss."""
    lists = []
    for name in domain.names:
        d = domain.domains.get(name)
        values = _near_ends(d) if d is not None else []
        lists.append([v for v in values if W.admits(d, v)] or domain.values(name)[:3])
    if not domain.names or any(not values for values in lists):
        return []
    combos = itertools.islice(itertools.product(*lists), 12)
    return [dict(zip(domain.names, combo, strict=True)) for combo in combos]


def _near_ends(d: Any) -> list[Fraction]:
    (low, _), (high, _) = d.ends()
    out: list[Fraction] = []
    for end, step in ((low, 1), (high, -1)):
        try:
            end = Fraction(end)
        except (TypeError, ValueError, OverflowError):
            continue
        out += [end + step, end + step * Fraction(1, 2), end + step * 10]
    return out


@dataclass(frozen=True)
class NoValue(W.Found):
    """A witness where the failing statement has a side with no value: it is false there."""

    said: tuple[str, str] = ("", "")

    def shown(self) -> tuple[dict[str, str], str, str]:
        at, _, _ = super().shown()
        return at, *self.said


def no_value_witness(
    sides: tuple[ast.Node, ast.Node], point: dict[str, Fraction], functions: Mapping[str, Any], bits: int
) -> W.Found | None:
    """The statement ``sides[0] op sides[1]`` is false at the point because a side certainly
    has no value there: a witness showing which (the other side's value where it has one)."""
    said: list[str] = []
    for node in sides:
        if no_value(node, point, functions):
            said.append("no value")
            continue
        value = W.value_at(node, point, functions, bits)
        said.append("no value known" if value is None else W.Found(point, value, value, "").shown()[1])
    if "no value" not in said:
        return None
    return NoValue(point, Fraction(0), Fraction(0), "exact", (said[0], said[1]))
