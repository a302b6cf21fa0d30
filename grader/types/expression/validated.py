"""Validated numerics for scalar formulas: ball arithmetic (python-flint's arb) that proves.

- :func:`settle_constants`: two formulas without symbols, decided by balls at rising
  precision (a ball of ``|a - r|`` wholly inside or outside the tolerance is a proof),
  else by a symbolic zero of the difference; with a tolerance finer than the balls
  can separate, undecided, never correct.
- :func:`confirm_point`: a point where floats (or 40 digits) say the two differ is a
  witness only when balls prove it; a point they prove equal agrees, and a point they
  cannot settle does not count against the answer.
- :func:`bound_on_domain`: branch and bound over a bounded box of one or two symbols;
  every box either satisfies ``|a - r| <= atol + rtol |r|`` in balls or is split (300
  boxes and 50 ms at most; 4,000 boxes and 0.5 s when the part requires a proof).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import Enum
from fractions import Fraction
from typing import Any

from flint import arb

from grader.core.deferred import needs
from grader.core.verdict import Certificate
from grader.mathlang import ast, jets
from grader.mathlang.balls import (
    PRECISIONS,
    UNARY,
    NotBallError,
    ball,
    ball_value,
    distinct_values,
    integer_power,
    precision,
)
from grader.mathlang.sampling import bounds
from grader.types.expression.outcome import Outcome, Sides
from grader.types.expression.prepare import Prepared, relevant_scalars
from grader.types.expression.symbolic import PROOF_MAX_OPS, SYMPY

SHOWN_PRECISION = 256  # bits of the values a witness shows
TAYLOR_COST = 4  # a box bounded by Taylor enclosures costs about this many plain ones
BOUND_BOXES = 300  # boxes a branch and bound may evaluate (a certificate is a bonus)
PROOF_BOXES = 4000  # and when the part requires a proof
# Formula nodes it may evaluate in all, about 0.05 s and 0.5 s at 1.5 us a node: a budget of
# work, not of time, so that the same answer gets the same verdict on a loaded machine.
BOUND_NODES = 30_000
PROOF_NODES = 320_000
# Tolerances below what float64 resolves: a float comparison cannot decide them.
FLOAT_RESOLUTION = 1e-14


class Found(Enum):
    SAME = "same"
    DIFFER = "differ"
    UNKNOWN = "unknown"  # the balls could not settle it at the highest precision
    UNCOVERED = "uncovered"  # the formula has parts balls do not cover (arrays, piecewise)


def tight_tolerance(prep: Prepared) -> bool:
    """The tolerance is 0 or finer than floats resolve: equal floats prove nothing."""
    return prep.part.rtol < FLOAT_RESOLUTION and prep.part.atol < 1e-300


def _verdict(r: arb, a: arb, rtol: float, atol: float) -> Found:
    if not (r.is_finite() and a.is_finite()):
        return Found.UNKNOWN
    gap = abs(a - r)
    allowed = ball(atol) + ball(rtol) * abs(r)
    if gap <= allowed:
        return Found.SAME
    if gap > allowed:
        return Found.DIFFER
    return Found.UNKNOWN


def _balls(prep: Prepared, sides: Sides, point: Mapping[str, float]) -> tuple[arb, arb]:
    lets = {**dict(prep.lets), **sides.overrides}
    values = {name: ball(v) for name, v in point.items() if name not in sides.overrides}
    for name, value in prep.part.constants.items():
        values[name] = ball(float(value))
    r = ball_value(sides.ref, values, prep.functions, lets)
    a = ball_value(sides.ans, values, prep.functions, lets)
    return r, a


def confirm_point(prep: Prepared, sides: Sides, point: Mapping[str, float]) -> tuple[Found, arb, arb]:
    """Whether the two sides differ at ``point``, proved in balls (UNKNOWN: not settled)."""
    r = a = arb.nan()
    for bits in PRECISIONS:
        with precision(bits):
            try:
                r, a = _balls(prep, sides, point)
            except NotBallError:
                return Found.UNCOVERED, r, a
            except (ZeroDivisionError, ValueError, OverflowError):
                return Found.UNKNOWN, r, a
            found = _verdict(r, a, prep.part.rtol, prep.part.atol)
            if found is Found.DIFFER and bits < SHOWN_PRECISION:
                with precision(SHOWN_PRECISION):  # the values shown to the student, to their last digit
                    r, a = _balls(prep, sides, point)
        if found is not Found.UNKNOWN:
            return found, r, a
    return Found.UNKNOWN, r, a


def settle_constants(prep: Prepared, sides: Sides) -> tuple[Outcome | None, Found]:
    """Two symbol-free formulas decided in balls (the outcome), or why not (UNKNOWN: the balls
    could not separate them; UNCOVERED: balls do not cover them, or the values are too large)."""
    found, r, a = confirm_point(prep, sides, {})
    method = "interval bound: both values in ball arithmetic"
    if found is Found.SAME:
        return Outcome(True, "", 0, method, certificate=Certificate.INTERVAL_BOUND), found
    if found is Found.DIFFER:
        yours, _ = distinct_values(a, r)
        feedback = f"your value is {yours}, which is not the expected value"
        return Outcome(False, feedback, 0, method, certificate=Certificate.INTERVAL_BOUND), found
    return None, found


def bound_on_domain(prep: Prepared, sides: Sides, difference: Any = None) -> Outcome | None:
    """Branch and bound on a bounded domain of one or two symbols: a certificate that
    ``|a - r| <= atol + rtol |r|`` everywhere on it, or None (not bounded within budget).

    ``difference`` (``a - r`` simplified by sympy) is bounded instead of subtracting the two
    balls; a part that requires a proof simplifies it first."""
    if prep.is_matrix or sides.overrides or sides.ref_is_student:
        return None
    names = relevant_scalars(prep, [sides.ref, sides.ans])
    if not 1 <= len(names) <= 2:
        return None
    box: list[tuple[float, float]] = []
    for name in names:
        domain = prep.scalars[name]
        if domain.integer:
            return None
        lo, hi = bounds(domain)
        if lo is None or hi is None:
            return None
        box.append((float(lo), float(hi)))
    if difference is None and prep.part.proof == "required":
        difference = simplified_difference(prep, sides)
    return _branch_and_bound(prep, sides, names, box, difference)


def simplified_difference(prep: Prepared, sides: Sides) -> Any:
    """``answer - reference`` simplified by sympy (so that cancellation does not widen the
    balls), or None when it cannot be had cheaply."""
    needs(SYMPY)  # imported outside the limits, and the check run again, when it is not yet
    import sympy

    from grader.mathlang.to_sympy import Unsupported, to_sympy

    lets = dict(prep.lets)
    try:
        a = to_sympy(sides.ans, domains=prep.part.symbols, functions=prep.functions, lets=lets)
        r = to_sympy(sides.ref, domains=prep.part.symbols, functions=prep.functions, lets=lets)
    except Unsupported:
        return None
    difference = a - r
    if sympy.count_ops(difference) > PROOF_MAX_OPS:
        return None
    try:
        return sympy.simplify(difference)
    except Exception:  # sympy's own failures: no simplified form, the plain difference is bounded
        return None


def sympy_ball(expr: Any, values: Mapping[str, arb]) -> arb:
    """A sympy expression (from our own translation) in ball arithmetic."""
    atom = _sympy_atom(expr, values)
    if atom is not None:
        return atom
    args = [sympy_ball(arg, values) for arg in expr.args] if not expr.is_Pow else []
    if expr.is_Add:
        return _fold(args, lambda x, y: x + y)
    if expr.is_Mul:
        return _fold(args, lambda x, y: x * y)
    if expr.is_Pow:
        return _sympy_power(expr, values)
    name = {"Abs": "abs", "Heaviside": "heaviside", "Max": "max", "Min": "min"}.get(
        type(expr).__name__, type(expr).__name__
    )
    if len(args) == 1 and name in UNARY:
        return UNARY[name](args[0])
    if name in ("max", "min") and args:
        return _fold(args, (lambda x, y: x.max(y)) if name == "max" else (lambda x, y: x.min(y)))
    raise NotBallError(f"{name} is not covered by ball arithmetic")


def _sympy_atom(expr: Any, values: Mapping[str, arb]) -> arb | None:
    import sympy

    if expr.is_Symbol:
        if expr.name not in values:
            raise NotBallError(f"no ball for {expr.name}")
        return values[expr.name]
    if expr.is_Rational:
        return ball(Fraction(int(expr.p), int(expr.q)))
    if expr.is_Float:
        return ball(float(expr))
    if expr is sympy.pi:
        return arb.pi()
    if expr is sympy.E:
        return arb.const_e()
    return None


def _fold(values: list[arb], combine: Any) -> arb:
    total = values[0]
    for value in values[1:]:
        total = combine(total, value)
    return total


def _sympy_power(expr: Any, values: Mapping[str, arb]) -> arb:
    base = sympy_ball(expr.base, values)
    exponent = expr.exp
    if exponent.is_Integer:
        return integer_power(base, int(exponent))
    if exponent.is_Rational:  # x^(p/q): a real value for x >= 0 only, as in every backend
        p, q = int(exponent.p), int(exponent.q)
        return integer_power(base.root(q), p) if base >= 0 else arb.nan()
    power = sympy_ball(exponent, values)
    return (power * base.log()).exp() if base > 0 else arb.nan()


def _branch_and_bound(
    prep: Prepared,
    sides: Sides,
    names: Sequence[str],
    start: list[tuple[float, float]],
    difference: Any,
) -> Outcome | None:
    rtol, atol = prep.part.rtol, prep.part.atol
    lets = {**dict(prep.lets)}
    constants = {name: ball(float(v)) for name, v in prep.part.constants.items()}
    taylor = _taylor_difference(prep, sides, names, difference)
    budget = box_budget(prep, sides, difference) // (TAYLOR_COST if taylor is not None else 1)
    stack = [start]
    boxes = 0
    with precision(64):
        while stack:
            box = stack.pop()
            boxes += 1
            if boxes > budget:
                return None
            values = {name: _interval(lo, hi) for name, (lo, hi) in zip(names, box, strict=True)}
            try:
                r = ball_value(sides.ref, {**values, **constants}, prep.functions, lets)
                if difference is not None:
                    gap = sympy_ball(difference, {**values, **constants})
                elif taylor is not None:
                    gap = jets.enclosure(taylor, names[0], *box[0], constants, prep.functions, lets)
                else:
                    gap = ball_value(sides.ans, {**values, **constants}, prep.functions, lets) - r
            except NotBallError:
                return None
            except (ZeroDivisionError, ValueError, OverflowError):
                gap = arb.nan()
                r = arb.nan()
            if gap.is_finite() and r.is_finite() and abs(gap) <= ball(atol) + ball(rtol) * abs(r):
                continue
            halves = _halves(box)
            if not halves:  # a box floats cannot split further: not bounded
                return None
            stack.extend(halves)
    domain = ", ".join(f"{name} in [{lo:g}, {hi:g}]" for name, (lo, hi) in zip(names, start, strict=True))
    how = f"Taylor enclosures of order {jets.ORDER}" if taylor is not None else "balls"
    method = (
        f"interval bound: |difference| within the tolerance, bounded by interval arithmetic on {domain} "
        f"({boxes} boxes, {how})"
    )
    return Outcome(True, "", boxes, method, certificate=Certificate.INTERVAL_BOUND)


def _taylor_difference(
    prep: Prepared, sides: Sides, names: Sequence[str], difference: Any
) -> ast.Node | None:
    """``answer - reference`` when it is bounded by Taylor enclosures: one symbol, every
    function in it with a series (:mod:`grader.mathlang.jets`); else None (plain balls)."""
    if len(names) != 1 or difference is not None:
        return None
    node = ast.BinOp(sides.ans.pos, "-", sides.ans, sides.ref)
    probe = {name: ball(float(v)) for name, v in prep.part.constants.items()}
    try:
        with precision(64):
            jets.enclosure(node, names[0], 0.25, 0.5, probe, prep.functions, dict(prep.lets))
    except NotBallError:
        return None
    except (ZeroDivisionError, ValueError, OverflowError):
        pass  # covered, only not at that box
    return node


def box_budget(prep: Prepared, sides: Sides, difference: Any) -> int:
    """Boxes the branch and bound may evaluate: its box limit, or fewer for large formulas
    (each box evaluates the reference and the answer, or their simplified difference, and
    the part's ``let`` definitions)."""
    required = prep.part.proof == "required"
    boxes, nodes = (PROOF_BOXES, PROOF_NODES) if required else (BOUND_BOXES, BOUND_NODES)
    per_box = _size(sides.ref) + sum(_size(body) for _, body in prep.lets)
    per_box += _sympy_size(difference) if difference is not None else _size(sides.ans)
    return max(1, min(boxes, nodes // max(per_box, 1)))


def _size(tree: Any) -> int:
    return sum(1 for _ in ast.walk(tree)) if isinstance(tree, ast.Node) else 1


def _sympy_size(expression: Any) -> int:
    import sympy  # the difference is a sympy expression: sympy is imported

    return sum(1 for _ in sympy.preorder_traversal(expression))


def _interval(lo: float, hi: float) -> arb:
    return ball(lo).union(ball(hi))


def _halves(box: list[tuple[float, float]]) -> list[list[tuple[float, float]]]:
    widest = max(range(len(box)), key=lambda k: box[k][1] - box[k][0])
    lo, hi = box[widest]
    mid = (lo + hi) / 2
    if not lo < mid < hi:
        return []
    left, right = list(box), list(box)
    left[widest] = (lo, mid)
    right[widest] = (mid, hi)
    return [left, right]


def exact_at_point(prep: Prepared, sides: Sides, point: Mapping[str, float]) -> tuple[Found, Any, Any]:
    """Both sides at a point of integer symbols, in exact arithmetic (sympy: integers,
    rationals, trigonometric values at rational multiples of pi, floors of them), where balls
    could not settle it (``\\lfloor \\sin^2(\\pi n/2) \\rfloor`` at n = 1 is a ball around 1):
    the exact difference decides, else UNKNOWN. With the two exact values (sympy numbers)."""
    if sides.overrides or not has_integer_symbol(prep) or not _modest(prep, sides, point):
        return Found.UNKNOWN, None, None
    needs(SYMPY)
    import sympy

    from grader.mathlang.enclosures import NoEnclosure, enclose
    from grader.mathlang.enclosures import precision as enclosure_precision
    from grader.mathlang.to_sympy import Unsupported, symbol_for, to_sympy

    values = {**{name: float(v) for name, v in prep.part.constants.items()}, **point}
    exact = {
        symbol_for(name, prep.part.symbols.get(name)): sympy.Rational(Fraction(value))
        for name, value in values.items()
    }
    lets = dict(prep.lets)
    try:
        reference = to_sympy(sides.ref, domains=prep.part.symbols, functions=prep.functions, lets=lets)
        answer = to_sympy(sides.ans, domains=prep.part.symbols, functions=prep.functions, lets=lets)
        reference, answer = reference.xreplace(exact), answer.xreplace(exact)
        if reference.free_symbols or answer.free_symbols:
            return Found.UNKNOWN, None, None
        difference = sympy.simplify(answer - reference)
    except Unsupported:
        return Found.UNKNOWN, None, None
    except Exception:  # sympy's own failures: not settled
        return Found.UNKNOWN, None, None
    if difference == 0:
        return Found.SAME, answer, reference
    for bits in PRECISIONS:
        with enclosure_precision(bits):
            try:
                gap, size = abs(enclose(difference)), abs(enclose(reference))
            except (NoEnclosure, ValueError, ZeroDivisionError):
                return Found.UNKNOWN, None, None
            allowed = ball(prep.part.atol) + ball(prep.part.rtol) * size
            if gap <= allowed:
                return Found.SAME, answer, reference
            if gap > allowed:
                return Found.DIFFER, answer, reference
    return Found.UNKNOWN, None, None


def _modest(prep: Prepared, sides: Sides, point: Mapping[str, float]) -> bool:
    """Both sides have values balls bound below 2^4000 at the point: sympy may compute them
    exactly (x^n at x = n = 10^9 it could not)."""
    with precision(64):
        try:
            r, a = _balls(prep, sides, point)
        except (NotBallError, ZeroDivisionError, ValueError, OverflowError):
            return False
    limit = ball(2) ** 4000
    return bool(r.is_finite() and a.is_finite() and abs(r) < limit and abs(a) < limit)


def has_integer_symbol(prep: Prepared) -> bool:
    """The part has a symbol over the integers (floats round floors, parities and powers)."""
    return not prep.is_matrix and any(domain.integer for domain in prep.scalars.values())
