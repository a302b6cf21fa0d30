"""Deciding model == target for piecewise-linear functions of one variable.

:func:`compare` is exact, never sampled: the difference model - target is
itself a PL, so it is zero on the domain iff every piece of it (including the
two unbounded end pieces, i.e. the slopes beyond the outermost breakpoints)
has slope 0 and intercept 0 and every breakpoint value is 0. A neuron that
switches on at x = 10**6 with weight 1e-9 is therefore caught.

:func:`decide_for_all` handles weights with symbols (``w0 = [m, -m]``): the
identity is decided exactly for each of a seeded set of draws of the symbols
(0, +-1, small and large magnitudes, random rationals). That part is sampling:
an identity can only be refuted, not proven, by draws.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction

from grader.networks.intervals import as_interval, as_num, fmt_num
from grader.networks.kinks import difference
from grader.networks.pl import PL, NonLinearError, to_pl


@dataclass(frozen=True)
class DifferingPoint:
    """A witness: an input where model and target differ, with both values there."""

    x: object  # a number, or a tuple of numbers for vector input
    model_value: object
    target_value: object
    assignment: Mapping[str, object] = field(default_factory=dict)  # the symbols' values

    @property
    def point(self) -> tuple[object, ...]:
        """The input as a tuple (one entry per input)."""
        return self.x if isinstance(self.x, tuple) else (self.x,)

    def describe(self, model_name: str = "the network", target_name: str = "the target") -> str:
        """``at x = -1 (m = 1, b = 0) the network gives 0, the target -1``."""
        if isinstance(self.x, tuple):
            where = "at x = (" + ", ".join(fmt_num(v) for v in self.x) + ")"
        else:
            where = f"at x = {fmt_num(self.x)}"
        if self.assignment:
            where += " (" + ", ".join(f"{k} = {fmt_num(v)}" for k, v in self.assignment.items()) + ")"
        return (
            f"{where} {model_name} gives {fmt_num(self.model_value)}, "
            f"{target_name} {fmt_num(self.target_value)}"
        )

    def __str__(self) -> str:
        return self.describe()


def compare(
    model: object, target: object, domain: object = None, *, atol: object = 0, rtol: object = 0
) -> DifferingPoint | None:
    """Decide exactly whether ``model == target`` everywhere on ``domain``.

    ``model``/``target`` are PLs or numbers; ``domain`` is None/"all" (all
    reals), a pair (a, b) meaning [a, b], or an :class:`Interval`. Returns None
    when they are equal, else the simplest point where they differ (0 if it
    differs there, else the integer of least magnitude, else the simplest
    fraction; beyond the last breakpoint this is the first integer past it).

    With tolerances (for float weights) a point counts as different only where
    |model - target| > atol + rtol * |target|; that set is still computed
    exactly from the pieces, so it is a decision over the whole domain (an
    end slope off by 1e-16 does differ by more than atol far enough out).
    """
    m, t = to_pl(model), to_pl(target)
    a_tol, r_tol = as_num(atol), as_num(rtol)
    iv = as_interval(domain)
    d = _fast_difference(m, t) if iv.lo is None and iv.hi is None else None
    if d is not None and _is_zero(d):
        return None
    exact_d = d is not None
    if d is None:
        d = m - t
    if a_tol == 0 and r_tol == 0:
        bad = d.region("!=")
    else:
        bound = abs(t) * r_tol + a_tol if r_tol else PL.constant(a_tol)
        bad = (d - bound).region(">") | (-d - bound).region(">")
    x = (bad & iv).simplest()
    if x is None:
        return None
    if exact_d and len(m.terms()) > len(t.terms()):  # m(x) would merge the larger sum
        tv = t(x)
        return DifferingPoint(x, tv + d(x), tv)
    mv = m(x)
    return DifferingPoint(x, mv, mv - d(x) if exact_d else t(x))


def _fast_difference(m: PL, t: PL) -> PL | None:
    """m - t by cancelling the units' kinks (:mod:`.kinks`) when either is a pending sum
    or unit; None when that does not apply (then m - t is merged the usual way)."""
    return difference(m, t) if m.is_pending or t.is_pending else None


def _is_zero(d: PL) -> bool:
    return not d.breakpoints and d.slopes[0] == 0 and d.intercepts[0] == 0


@dataclass(frozen=True)
class ForAllResult:
    """The outcome of :func:`decide_for_all`."""

    holds: bool
    witness: DifferingPoint | None
    draws: int
    skipped: int
    method: str

    def describe(self) -> str:
        if self.witness is None:
            return f"equal for every draw ({self.method})"
        return f"{self.witness.describe()} ({self.method})"


_CORE = [
    Fraction(0),
    Fraction(1),
    Fraction(-1),
    Fraction(2),
    Fraction(-1, 2),
    Fraction(10**6),
    Fraction(-(10**6)),
    Fraction(1, 10**6),
    Fraction(-3),
    Fraction(1, 3),
    Fraction(-7, 5),
    Fraction(-1, 10**6),
    Fraction(5, 2),
]


def _random_rational(rng: random.Random) -> Fraction:
    kind = rng.randrange(3)
    if kind == 0:
        return Fraction(rng.randint(-20, 20), rng.randint(1, 12))
    scale = Fraction(10) ** rng.randint(3, 9)
    value = Fraction(rng.choice([-1, 1]) * rng.randint(1, 999))
    return value * scale if kind == 1 else value / scale


def symbol_draws(symbols: Sequence[str], seed: int = 0, count: int = 40) -> list[dict[str, Fraction]]:
    """Seeded assignments of rational values to ``symbols``, simplest first.

    Contains 0, +-1, 2, -1/2, +-10**6, +-10**-6 and random rationals of small,
    large and tiny magnitude; for two symbols every pair of the first eight
    core values (64 pairs) plus random pairs; at least ``count`` draws.
    """
    names = list(symbols)
    rng = random.Random(seed)
    k = len(names)
    if k == 0:
        return [{}]
    combos: list[tuple[Fraction, ...]]
    if k == 1:
        combos = [(v,) for v in _CORE]
    elif k == 2:
        core = _CORE[:8]
        idx = sorted(itertools.product(range(8), repeat=2), key=lambda p: (max(p), sum(p), p))
        combos = [(core[i], core[j]) for i, j in idx]
    else:
        small = _CORE[:3]
        combos = list(itertools.product(small, repeat=k)) if 3**k <= 81 else []
        combos += [tuple(rng.choice(_CORE) for _ in range(k)) for _ in range(count)]
    extra = max(count - len(combos), 8)
    combos += [tuple(_random_rational(rng) for _ in range(k)) for _ in range(extra)]
    seen: set[tuple[Fraction, ...]] = set()
    out = []
    for combo in combos:
        if combo not in seen:
            seen.add(combo)
            out.append(dict(zip(names, combo, strict=True)))
    return out


def decide_for_all(
    build: Callable[[dict[str, Fraction]], tuple[object, object]],
    symbols: Sequence[str],
    domain: object = None,
    *,
    draws: Sequence[dict[str, Fraction]] | None = None,
    seed: int = 0,
    atol: object = 0,
    rtol: object = 0,
) -> ForAllResult:
    """Decide model == target on ``domain`` for every draw of the symbols.

    ``build(values)`` returns ``(model, target)`` (PLs or numbers) for one
    assignment. Each draw is decided exactly with :func:`compare`; the draws
    themselves are a seeded sample (see :func:`symbol_draws`). A draw whose
    build fails with ZeroDivisionError or ValueError (an inadmissible value,
    e.g. 1/m at m = 0) is skipped and counted; NonLinearError propagates. The
    first failing draw gives the witness.
    """
    names = list(symbols)
    plan = list(draws) if draws is not None else symbol_draws(names, seed)
    checked = skipped = 0
    what = "(" + ", ".join(names) + ")" if len(names) != 1 else names[0]
    for values in plan:
        try:
            model, target = build(values)
        except NonLinearError:
            raise
        except (ZeroDivisionError, ValueError, ArithmeticError):
            skipped += 1
            continue
        checked += 1
        diff = compare(model, target, domain, atol=atol, rtol=rtol)
        if diff is not None:
            method = f"exact piecewise-linear comparison; draw {checked} of the values of {what}"
            witness = DifferingPoint(diff.x, diff.model_value, diff.target_value, dict(values))
            return ForAllResult(False, witness, checked, skipped, method)
    if checked == 0:
        raise ValueError(f"no admissible values of {what} among {len(plan)} draws")
    method = f"exact piecewise-linear comparison for {checked} draws of {what}"
    if skipped:
        method += f" ({skipped} inadmissible draws skipped)"
    return ForAllResult(True, None, checked, skipped, method)
