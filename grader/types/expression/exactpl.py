"""Piecewise-linear formulas decided exactly, with no sampling.

Sums, rational multiples, ``relu``, ``max``, ``min``, ``abs``, ``heaviside`` and
their compositions are evaluated by the ordinary exact evaluator on symbolic
inputs: a :class:`~grader.networks.PL` (one variable: every breakpoint and the
slopes beyond the outermost ones) or an affine form walked region by region
(several variables, :func:`grader.networks.regions_exact.decide_equal`). Anything
else (a product of two variables, ``exp``, an integer symbol) is not decided
here and the caller probes instead.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from grader.core.verdict import Certificate
from grader.mathlang import ast
from grader.mathlang.errors import MathError
from grader.mathlang.evaluate import evaluate_exact
from grader.mathlang.render import decimal_text
from grader.mathlang.sampling import bounds
from grader.networks import PL, Interval, compare
from grader.networks import regions_exact as rx
from grader.networks.affine import NotAffine, NotPolyhedral, TooManyRegions
from grader.types.expression.outcome import Outcome, Sides
from grader.types.expression.prepare import Prepared, relevant_names

MAX_VARIABLES = 6
MAX_REGIONS = 4_000
METHOD_ONE = "decided exactly: piecewise linear, every breakpoint and the slopes beyond the outermost ones"
# What evaluating a formula on symbolic inputs raises when it is not piecewise linear:
# NotExactError (exp, sqrt), EvalError (floor), NonLinearError (x*x, a ValueError), a
# TypeError from a built-in with no piecewise-linear form (mod), a division by zero.
NOT_PIECEWISE_LINEAR = (MathError, ValueError, TypeError, ZeroDivisionError)


@dataclass(frozen=True)
class ExactDifference:
    point: dict[str, Fraction]
    answer: Fraction
    reference: Fraction


def decide(prep: Prepared, sides: Sides) -> Outcome | None:
    """Equal or a witness, decided exactly; None when the formulas are not both piecewise
    linear in real symbols (or the walk is too large)."""
    if prep.is_matrix or sides.overrides or sides.ref_is_student or prep.part.constants:
        return None
    names = sorted(_inputs(prep, sides))
    if (
        not names
        or len(names) > MAX_VARIABLES
        or any(prep.scalars[n].integer for n in names if n in prep.scalars)
    ):
        return None
    if any(n not in prep.scalars for n in names):
        return None
    try:
        if len(names) == 1:
            return _decide_one(prep, sides, names[0])
        return _decide_several(prep, sides, names)
    except NOT_PIECEWISE_LINEAR:
        return None
    except (TooManyRegions, NotAffine, NotPolyhedral):
        return None


def _inputs(prep: Prepared, sides: Sides) -> set[str]:
    lets = dict(prep.lets)
    return {name for name in relevant_names(prep, [sides.ref, sides.ans]) if name not in lets}


def _values(prep: Prepared, inputs: Mapping[str, Any]) -> dict[str, Any]:
    values = dict(inputs)
    for name, node in prep.lets:
        values[name] = evaluate_exact(node, values, functions=prep.functions)
    return values


def _domain(prep: Prepared, name: str) -> Interval:
    domain = prep.scalars[name]
    lo, hi = bounds(domain)
    open_low = domain.interval is not None or domain.positive
    open_high = domain.interval is not None
    return Interval(
        None if lo is None else Fraction(lo),
        None if hi is None else Fraction(hi),
        lo is not None and not open_low,
        hi is not None and not open_high,
    )


def _decide_one(prep: Prepared, sides: Sides, name: str) -> Outcome | None:
    domain = _domain(prep, name)
    if prep.scalars[name].nonzero:
        return None
    x = PL.identity()
    values = _values(prep, {name: x})
    ref = evaluate_exact(sides.ref, values, functions=prep.functions)
    ans = evaluate_exact(sides.ans, values, functions=prep.functions)
    if not all(isinstance(v, PL | Fraction | int) for v in (ref, ans)):
        return None
    exact = compare(ans, ref, domain)  # equality without tolerance first: the cheap, common case
    if exact is None:
        return Outcome(True, "", 0, METHOD_ONE, certificate=Certificate.PIECEWISE_LINEAR)
    if not _within_tolerance(prep, _difference(name, exact)):
        return Outcome(
            False,
            _witness_text(sides, _difference(name, exact)),
            0,
            METHOD_ONE,
            certificate=Certificate.PIECEWISE_LINEAR,
        )
    atol, rtol = Fraction(prep.part.atol), Fraction(prep.part.rtol)
    beyond = compare(ans, ref, domain, atol=atol, rtol=rtol)
    if beyond is None:
        within = f" (equal within atol {prep.part.atol:g}, rtol {prep.part.rtol:g})"
        return Outcome(True, "", 0, METHOD_ONE + within, certificate=Certificate.PIECEWISE_LINEAR)
    return Outcome(
        False,
        _witness_text(sides, _difference(name, beyond)),
        0,
        METHOD_ONE,
        certificate=Certificate.PIECEWISE_LINEAR,
    )


def _difference(name: str, diff: Any) -> ExactDifference:
    return ExactDifference(
        {name: _fraction(diff.x)}, _fraction(diff.model_value), _fraction(diff.target_value)
    )


def _decide_several(prep: Prepared, sides: Sides, names: Sequence[str]) -> Outcome | None:
    if any(_domain(prep, n) != Interval() for n in names):
        return None  # the region walk covers all of R^n only

    def side(node: ast.Node) -> Callable[[list[Any]], Any]:
        def value(xs: list[Any]) -> Any:
            return evaluate_exact(
                node, _values(prep, dict(zip(names, xs, strict=True))), functions=prep.functions
            )

        return value

    result = rx.decide_equal(len(names), side(sides.ans), side(sides.ref), max_regions=MAX_REGIONS)
    method = f"decided exactly: piecewise linear, compared on each of {result.regions} linear regions"
    if result.equal:
        return Outcome(True, "", 0, method, certificate=Certificate.PIECEWISE_LINEAR)
    w = result.witness
    assert w is not None
    found = ExactDifference(dict(zip(names, w.point, strict=True)), w.model_value, w.target_value)
    if _within_tolerance(prep, found):
        return None  # differs, but within the part's tolerance there: the probes decide
    return Outcome(False, _witness_text(sides, found), 0, method, certificate=Certificate.PIECEWISE_LINEAR)


def _fraction(value: Any) -> Fraction:
    return value if isinstance(value, Fraction) else Fraction(str(value))


def _within_tolerance(prep: Prepared, found: ExactDifference) -> bool:
    atol, rtol = Fraction(prep.part.atol), Fraction(prep.part.rtol)
    return abs(found.answer - found.reference) <= atol + rtol * abs(found.reference)


def _witness_text(sides: Sides, found: ExactDifference) -> str:
    where = ", ".join(f"{name} = {_show(v)}" for name, v in found.point.items())
    label = f"{sides.label} = " if sides.label else ""
    return f"at {where} your formula gives {label}{_show(found.answer)}, which is not the expected value"


def _show(value: Fraction) -> str:
    """``3``, ``-0.125``, ``1/3``; a long fraction as a 6-digit decimal."""
    value = Fraction(value)
    if value.denominator == 1:
        return str(value.numerator)
    decimal = decimal_text(abs(value)) if len(str(value.denominator)) <= 6 else None
    if decimal is not None:
        return ("-" if value < 0 else "") + decimal
    if len(str(value.denominator)) <= 6:
        return f"{value.numerator}/{value.denominator}"
    return f"{float(value):.6g}"
