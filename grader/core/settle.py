"""Two written numbers compared within a tolerance, and how that was shown.

Every type that reads a number (``number``, ``array``, ``interval``) compares through
:func:`compare`: two rationals exactly; otherwise (``\\sqrt{2}``, ``\\sin(\\pi)``, a
decimal against ``e^{\\pi\\sqrt{163}}``) in ball arithmetic at a rising precision until
the ball of ``|a - r|`` lies wholly within ``atol + rtol |r|`` or wholly beyond it, and
where no precision separates them, by a symbolic proof that the difference is 0. What
none of these decides is :class:`CheckUndecided` (status ``error``), never a float
comparison called exact. python-flint and sympy are imported only when a formula needs
them (:func:`grader.core.deferred.needs`), so that plain numbers stay light.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from grader.core.deferred import needs
from grader.core.numeric import WrittenNumber, exact_decimal
from grader.core.verdict import AnswerError, Certificate, CheckUndecided, Decision

if TYPE_CHECKING:
    from flint import arb

FLINT = "grader.mathlang.balls"
SYMPY = "grader.mathlang.to_sympy"
PROOF_MAX_OPS = 200  # the size of a difference sympy is given to simplify


@dataclass(frozen=True)
class Comparison:
    """Whether two numbers are equal within the tolerance, and how that was shown."""

    equal: bool
    certificate: Certificate
    method: str
    # the two values, with as many digits as it takes to tell them apart, when balls did
    received_value: str | None = None
    expected_value: str | None = None

    def decision(self) -> Decision:
        return Decision(self.method, certificate=self.certificate)


def compare(received: WrittenNumber, expected: WrittenNumber, rtol: float, atol: float) -> Comparison:
    """``|received - expected| <= atol + rtol |expected|``, decided exactly, in balls that
    separate the two sides, or by a proof that they are equal; else CheckUndecided."""
    if received.formula is None and expected.formula is None:
        bound = exact_decimal(atol) + exact_decimal(rtol) * abs(Fraction(expected.value))
        equal = abs(Fraction(received.value) - Fraction(expected.value)) <= bound
        return Comparison(equal, Certificate.EXACT, "exact: rational values")
    needs(FLINT)
    found = _in_balls(received, expected, rtol, atol)
    if found is not None:
        return found
    proved = _proved_equal(received, expected)
    if proved is not None:
        return proved
    settled = _symbolically(received, expected, rtol, atol)
    if settled is not None:
        return settled
    raise CheckUndecided(
        f"{_shown(received)} and {_shown(expected)} could not be separated or shown equal in ball "
        f"arithmetic at up to {_precisions()[-1]} bits, and the tolerance (rtol {rtol:g}, atol {atol:g}) "
        "needs a decision that is certain"
    )


def _precisions() -> tuple[int, ...]:
    from grader.mathlang.balls import PRECISIONS

    return PRECISIONS


def _in_balls(
    received: WrittenNumber, expected: WrittenNumber, rtol: float, atol: float
) -> Comparison | None:
    from grader.mathlang.balls import NotBallError, precision

    for bits in _precisions():
        with precision(bits):
            try:
                a, r = _ball(received), _ball(expected)
            except NotBallError:  # a form balls do not cover (cases): sympy may still decide
                return None
            if not (a.is_finite() and r.is_finite()):
                continue  # no value on the ball (tan at pi/2?): more bits, else sympy says
            gap = abs(a - r)
            allowed = _ball_of(exact_decimal(atol)) + _ball_of(exact_decimal(rtol)) * abs(r)
            method = f"interval bound: both values in ball arithmetic at {bits} bits"
            if gap <= allowed:
                return Comparison(True, Certificate.INTERVAL_BOUND, method + stated_bound(gap, allowed, True))
            if gap > allowed:
                return Comparison(
                    False,
                    Certificate.INTERVAL_BOUND,
                    method + stated_bound(gap, allowed, False),
                    *_distinct(received, expected, bits),
                )
    return None


def stated_bound(gap: arb, allowed: arb, within: bool) -> str:
    """The bound an interval-bound certificate shows: ``|difference| <= g``, within the
    allowed ``a``, for values within the tolerance; for values beyond it only that the
    difference exceeds what is allowed (a size would tell the expected value)."""
    if within:
        return f": |your value - the expected value| <= {_upper(gap)}, within the allowed {_upper(allowed)}"
    return ": |your value - the expected value| > atol + rtol |the expected value|, the difference allowed"


def _upper(value: arb) -> str:
    """An upper bound of a nonnegative ball, to 3 digits, rounded up."""
    top = value.upper()
    if top.is_zero():
        return "0"
    return f"{float(top) * (1 + 2**-40):.3g}" if abs(float(top)) < 1e300 else top.str(3, radius=False)


def _distinct(received: WrittenNumber, expected: WrittenNumber, bits: int) -> tuple[str, str]:
    """The two values as a student reads them, each to the digits that tell them apart."""
    from grader.mathlang.balls import distinct_values, precision

    with precision(max(bits, 512)):
        mine = received.value if received.formula is None else _ball(received)
        theirs = expected.value if expected.formula is None else _ball(expected)
    return distinct_values(_exact(mine), _exact(theirs))


def _exact(value: Any) -> Any:
    return Fraction(value) if isinstance(value, int | float | Fraction) else value


def _ball(number: WrittenNumber) -> arb:
    from grader.mathlang.balls import ball_value

    if number.formula is None:
        return _ball_of(Fraction(number.value))
    return ball_value(number.formula, {})


def _ball_of(value: Fraction) -> arb:
    from grader.mathlang.balls import ball

    return ball(value)


def _proved_equal(received: WrittenNumber, expected: WrittenNumber) -> Comparison | None:
    """Two values shown exactly equal where balls only overlap: combinations of logarithms
    and arctangents of rationals (Machin's formula, ``\\tanh^{-1}(1/2)``), see
    :mod:`grader.mathlang.exact_constants`."""
    from grader.mathlang.exact_constants import linear_logs

    why = linear_logs(_node(received), _node(expected))
    return None if why is None else Comparison(True, Certificate.PROVED, why)


def _node(number: WrittenNumber) -> Any:
    from grader.mathlang import ast

    if number.formula is not None:
        return number.formula
    return ast.Num(0, Fraction(number.value))


def _symbolically(
    received: WrittenNumber, expected: WrittenNumber, rtol: float, atol: float
) -> Comparison | None:
    """The difference as sympy simplifies it: 0 is a proof of equality; any other value is
    bounded in balls without the cancellation that kept the formulas' balls apart (the
    difference of ``\\ln(e^{10^{-900}})`` and 0 is ``10^{-900}``)."""
    needs(SYMPY)
    import sympy

    from grader.mathlang.enclosures import NoEnclosure, enclose, precision
    from grader.mathlang.to_sympy import Unsupported, to_sympy

    try:
        reference, value = _symbolic(expected, to_sympy), _symbolic(received, to_sympy)
    except Unsupported:
        return None
    _has_a_value(value, reference, received)
    try:
        difference = value - reference
        if difference != 0 and sympy.count_ops(difference) <= PROOF_MAX_OPS:
            difference = sympy.simplify(difference)
    except Unsupported:
        return None
    except Exception:  # sympy's own failures: nothing shown
        return None
    if difference == 0:
        return Comparison(True, Certificate.PROVED, "proved: sympy simplifies the difference to 0")
    for bits in _precisions():
        with precision(bits):
            try:
                gap, size = abs(enclose(difference)), abs(enclose(reference))
            except (NoEnclosure, ValueError, ZeroDivisionError):
                return None
            allowed = _ball_of(exact_decimal(atol)) + _ball_of(exact_decimal(rtol)) * size
            method = f"interval bound: the difference sympy simplifies, in ball arithmetic at {bits} bits"
            if gap <= allowed:
                return Comparison(True, Certificate.INTERVAL_BOUND, method + stated_bound(gap, allowed, True))
            if gap > allowed:
                shown = method + stated_bound(gap, allowed, False)
                return Comparison(False, Certificate.INTERVAL_BOUND, shown)
    return _algebraic_zero(difference)  # the balls still overlap: an algebraic zero is proved exactly


def _algebraic_zero(difference: Any) -> Comparison | None:
    from grader.mathlang.exact_constants import algebraic_zero

    why = algebraic_zero(difference)
    return None if why is None else Comparison(True, Certificate.PROVED, why)


def _has_a_value(value: Any, reference: Any, received: WrittenNumber) -> None:
    """A value sympy finds infinite or undefined (``\\tan(\\pi/2)``): the answer has none."""
    import sympy

    undefined = (sympy.zoo, sympy.oo, -sympy.oo, sympy.nan)
    if value.has(*undefined):
        from grader.mathlang.values import show as written

        text = written(received.formula) if received.formula is not None else _shown(received)
        raise AnswerError(f"{text} has no finite value")
    if reference.has(*undefined):
        raise CheckUndecided("the reference answer has no finite value")


def _symbolic(number: WrittenNumber, to_sympy: Any) -> Any:
    import sympy

    if number.formula is None:
        value = Fraction(number.value)
        return sympy.Rational(value.numerator, value.denominator)
    return to_sympy(number.formula)


def _shown(number: WrittenNumber) -> str:
    from grader.core.numeric import show

    return show(number.value, number.decimal)


@dataclass(frozen=True)
class Comparisons:
    """Several pairs compared (an array's entries, an interval's ends): which differ, and how
    the whole was shown."""

    results: tuple[Comparison | None, ...]  # None: a pair not compared (an infinite end)

    @property
    def differ(self) -> list[int]:
        return [i for i, found in enumerate(self.results) if found is not None and not found.equal]

    def decision(self) -> Decision:
        """How the verdict was reached: the first pair that differs, when one does, else
        :meth:`all_decision`."""
        differ = self.differ
        first = self.results[differ[0]] if differ else None
        return first.decision() if first is not None else self.all_decision()

    def all_decision(self) -> Decision:
        """The weakest certificate among the pairs (exact, then proved, then interval bound),
        with each method and how many pairs it decided."""
        found = [result for result in self.results if result is not None]
        kinds = [kind for kind in _STRENGTH if any(result.certificate is kind for result in found)]
        methods: dict[str, int] = {}
        for result in found:
            methods[result.method] = methods.get(result.method, 0) + 1
        if len(methods) == 1:
            text = next(iter(methods))
        else:
            text = "; ".join(f"{method} ({count} of {len(found)})" for method, count in methods.items())
        return Decision(text, certificate=kinds[-1] if kinds else Certificate.EXACT)


_STRENGTH = (Certificate.EXACT, Certificate.PROVED, Certificate.INTERVAL_BOUND)


def compare_each(
    pairs: list[tuple[WrittenNumber, WrittenNumber] | None], rtol: float, atol: float
) -> Comparisons:
    """Each pair compared; a pair that differs decides the whole, so one that cannot be
    decided is CheckUndecided only when no other pair differs."""
    results: list[Comparison | None] = []
    undecided: CheckUndecided | None = None
    for pair in pairs:
        if pair is None:
            results.append(None)
            continue
        try:
            results.append(compare(pair[0], pair[1], rtol, atol))
        except CheckUndecided as err:
            undecided = undecided or err
            results.append(None)
    found = Comparisons(tuple(results))
    if undecided is not None and not found.differ:
        raise undecided
    return found
