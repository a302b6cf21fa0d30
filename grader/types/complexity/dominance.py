"""Asymptotic classes of expressions in positive, growing symbols.

An expression becomes a :class:`Poly`: a sum of terms ``c * n^a1 d^a2 ... *
log(n)^l1 log(d)^l2 ...`` with rational exponents. Its class (Θ) is the set
of terms no other term dominates; constants are dropped.

Dominance, for symbols that all grow (``x_j = e^{t_j}``, every ``t_j`` large):
a term ``x^b log(x)^m`` is O(the others) when some convex combination ``λ`` of
their exponent vectors is at least ``b`` in every coordinate, and in each
coordinate where it is not strictly more, the combined log exponents are at
least ``m``. Assumptions ``x^p <= x^q`` (``d <= n``) restrict the directions
``t`` to the cone ``(p - q) . t <= 0``, which lets a combination trade exponent
along ``p - q``. The test is a tiny exact linear program (:mod:`grader.exact.lp`).

When a term lies exactly on the hull's boundary and only log factors could
break the tie across several symbols, the test cannot decide; that is
reported (:class:`grader.core.verdict.CheckUndecided`), never guessed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from fractions import Fraction
from functools import lru_cache
from itertools import combinations, permutations, product

import sympy

from grader.core.verdict import CheckUndecided
from grader.exact.lp import Row, Unbounded, maximize
from grader.types.complexity.constants import Real

ZERO = Fraction(0)
ONE = Fraction(1)
MAX_TERMS = 300  # an expansion past this many terms is simplified to its class instead
MAX_PRODUCT_PAIRS = 200_000  # a product past this many term pairs is refused


@dataclass(frozen=True, order=True)
class Monomial:
    """``prod x_j^powers[j] * prod log(x_j)^logs[j] * prod log(log(x_j))^loglogs[j]
    * exp(sum c * inner)`` over the space's symbols, in order. ``loglogs`` is empty
    when every one is 0 (the common case, kept cheap: long expansions multiply many
    monomials). ``growth`` is the exponential part, ``(inner, c)`` pairs with exact
    constants ``c`` (:class:`Real`): ``2^n`` is ``exp(log(2) n)``, ``n^{log_2 3}`` is
    ``exp((log 3 / log 2) log n)``; what folds into rational powers never stays there."""

    powers: tuple[Fraction, ...]
    logs: tuple[Fraction, ...]
    loglogs: tuple[Fraction, ...] = ()
    growth: tuple[tuple[Monomial, Real], ...] = ()

    def __mul__(self, other: Monomial) -> Monomial:
        return Monomial(
            tuple(a + b for a, b in zip(self.powers, other.powers, strict=True)),
            tuple(a + b for a, b in zip(self.logs, other.logs, strict=True)),
            _loglog_sum(self.loglogs, other.loglogs),
            _growth_sum(self.growth, other.growth) if self.growth or other.growth else (),
        )

    def __pow__(self, exponent: Fraction) -> Monomial:
        loglogs = tuple(a * exponent for a in self.loglogs)
        scale = Real(Fraction(exponent))
        return Monomial(
            tuple(a * exponent for a in self.powers),
            tuple(a * exponent for a in self.logs),
            loglogs if any(loglogs) else (),
            tuple((inner, c * scale) for inner, c in self.growth) if exponent else (),
        )

    def loglog_powers(self) -> tuple[Fraction, ...]:
        """``loglogs`` with one entry per symbol."""
        return self.loglogs or tuple(ZERO for _ in self.powers)

    @property
    def is_constant(self) -> bool:
        return not any(self.powers) and not any(self.logs) and not any(self.loglogs) and not self.growth

    def without_loglogs(self) -> Monomial:
        return Monomial(self.powers, self.logs, (), self.growth)

    def without_growth(self) -> Monomial:
        return Monomial(self.powers, self.logs, self.loglogs)


def _growth_sum(
    a: tuple[tuple[Monomial, Real], ...], b: tuple[tuple[Monomial, Real], ...]
) -> tuple[tuple[Monomial, Real], ...]:
    total: dict[Monomial, Real] = dict(a)
    for inner, c in b:
        total[inner] = total[inner] + c if inner in total else c
    return tuple(sorted((m, c) for m, c in total.items() if not c.is_zero))


def _loglog_sum(a: tuple[Fraction, ...], b: tuple[Fraction, ...]) -> tuple[Fraction, ...]:
    if not a or not b:
        return a or b
    total = tuple(x + y for x, y in zip(a, b, strict=True))
    return total if any(total) else ()


class NotPositive(CheckUndecided):
    """The expression is zero or negative for some large values: not a growth rate."""


class Dominance(Enum):
    NONE = "not dominated"
    WEAK = "dominated"  # O(others)
    STRICT = "strictly dominated"  # o(others)
    UNDECIDED = "undecided"


@dataclass(frozen=True)
class Poly:
    """A finite sum of monomials with rational coefficients.

    ``exact`` is False once a step kept only the class (``sqrt(n^2 + d^2)`` ->
    ``n + d``): coefficients are then representative, and a cancellation
    between terms of opposite signs cannot be trusted.
    """

    terms: tuple[tuple[Monomial, Fraction], ...]
    exact: bool = True

    @staticmethod
    def build(pairs: Iterable[tuple[Monomial, Fraction]], exact: bool) -> Poly:
        merged: dict[Monomial, Fraction] = {}
        for monomial, coefficient in pairs:
            previous = merged.get(monomial)
            if previous is None:
                merged[monomial] = coefficient
                continue
            if not exact and (previous > 0) != (coefficient > 0):
                raise CheckUndecided(
                    "terms of opposite signs meet after a simplification (a root, log, max or "
                    "division by a sum); their difference cannot be trusted"
                )
            merged[monomial] = previous + coefficient
        return Poly(tuple(sorted((m, c) for m, c in merged.items() if c != 0)), exact)

    def __len__(self) -> int:
        return len(self.terms)

    def __add__(self, other: Poly) -> Poly:
        return Poly.build(self.terms + other.terms, self.exact and other.exact)

    def __neg__(self) -> Poly:
        return Poly(tuple((m, -c) for m, c in self.terms), self.exact)

    def __sub__(self, other: Poly) -> Poly:
        return self + (-other)

    def __mul__(self, other: Poly) -> Poly:
        if len(self) * len(other) > MAX_PRODUCT_PAIRS:
            raise CheckUndecided("the expression expands to too many terms")
        pairs = [(a * b, c * d) for a, c in self.terms for b, d in other.terms]
        return Poly.build(pairs, self.exact and other.exact)

    def inexact(self) -> Poly:
        return Poly(self.terms, False)

    def constant_value(self) -> Fraction | None:
        """The value when the poly is a constant (zero included), else None."""
        if not self.terms:
            return ZERO
        if len(self.terms) == 1 and self.terms[0][0].is_constant:
            return self.terms[0][1]
        return None


class Space:
    """The symbols of a part and the cone its assumptions cut out."""

    def __init__(self, symbols: Sequence[str], cone: Sequence[tuple[Fraction, ...]] = ()):
        self.symbols = tuple(symbols)
        self.cone = tuple(cone)
        self.zero = Monomial((ZERO,) * len(self.symbols), (ZERO,) * len(self.symbols))

    # -- building blocks ------------------------------------------------------

    def constant(self, value: Fraction, exact: bool = True) -> Poly:
        return Poly.build([(self.zero, value)], exact)

    def symbol(self, name: str) -> Poly:
        return self.term(self.power_monomial(name))

    def term(self, monomial: Monomial, coefficient: Fraction = ONE, exact: bool = True) -> Poly:
        return Poly.build([(monomial, coefficient)], exact)

    def power_monomial(self, name: str) -> Monomial:
        return Monomial(self._unit(self.symbols.index(name)), self.zero.logs)

    def log_monomial(self, index: int) -> Monomial:
        return Monomial(self.zero.powers, self._unit(index))

    def loglog_monomial(self, index: int) -> Monomial:
        return Monomial(self.zero.powers, self.zero.logs, self._unit(index))

    def from_log(self, log_value: Mapping[Monomial, Real]) -> Monomial:
        """The monomial ``exp(log_value)`` (constant factors dropped), in normal form: rational
        multiples of ``log x_j`` and ``log log x_j`` become powers and logs, bounded parts
        (``1 / log n``) go, and the rest is the exponential part."""
        dims = len(self.symbols)
        powers, logs = [ZERO] * dims, [ZERO] * dims
        growth: dict[Monomial, Real] = {}
        for inner, c in log_value.items():
            if c.is_zero or inner.is_constant:
                continue
            if inner.growth:
                raise CheckUndecided(
                    "an exponential inside an exponent (double exponential) is not supported"
                )
            r = c.rational
            unit = self._log_unit(inner)
            if r is not None and unit is not None:
                (powers if unit[0] == "log" else logs)[unit[1]] += r
                continue
            if self.dominance(inner, [self.zero]) in (Dominance.WEAK, Dominance.STRICT):
                continue  # exp of a bounded quantity: a bounded factor, away from 0
            growth[inner] = growth[inner] + c if inner in growth else c
        kept = tuple(sorted((m, c) for m, c in growth.items() if not c.is_zero))
        return Monomial(tuple(powers), tuple(logs), (), kept)

    def _log_unit(self, inner: Monomial) -> tuple[str, int] | None:
        """("log", j) for ``log x_j``, ("loglog", j) for ``log log x_j``, else None."""
        for j in range(len(self.symbols)):
            if inner == self.log_monomial(j):
                return ("log", j)
            if inner == self.loglog_monomial(j):
                return ("loglog", j)
        return None

    def _unit(self, index: int) -> tuple[Fraction, ...]:
        return tuple(ONE if i == index else ZERO for i in range(len(self.symbols)))

    # -- classes --------------------------------------------------------------

    def dominance(self, term: Monomial, others: Sequence[Monomial]) -> Dominance:
        others = tuple(sorted(set(others)))
        if not others:
            return Dominance.NONE
        return _dominance(term, others, self.cone)

    def classify(self, poly: Poly, what: str = "the expression") -> tuple[Monomial, ...]:
        """The terms that set the class of ``poly``: positive, none dominated by the rest.

        Negative terms must be strictly dominated (``n^2 - n`` is Θ(n^2));
        otherwise the class cannot be read off the terms.
        """
        positive = [m for m, c in poly.terms if c > 0]
        negative = [m for m, c in poly.terms if c < 0]
        if not positive:
            raise NotPositive(f"{what} is not positive for large values of its symbols")
        kept = self.essential(positive)
        for monomial in negative:
            dominance = self.dominance(monomial, kept)
            if dominance is Dominance.NONE:
                raise NotPositive(
                    f"{what} becomes negative for large values: the subtracted term "
                    f"{self.show(monomial)} outgrows {self.show_sum(kept)}"
                )
            if dominance is not Dominance.STRICT:
                raise CheckUndecided(
                    f"the subtracted term {self.show(monomial)} is not negligible next to "
                    f"{self.show_sum(kept)}, so the class of {what} cannot be read off its terms"
                )
        return tuple(sorted(kept, key=self.display_key))

    def essential(self, monomials: Sequence[Monomial]) -> list[Monomial]:
        """Drop every term dominated by the remaining ones.

        Terms are tested against a growing set of candidates (seeded with the
        largest term in each symbol) rather than against all others: a term
        dominated by some of the terms is dominated by all of them, and the
        programs stay small for long expansions such as ``(n + m + d)^40``.
        """
        ordered = sorted(set(monomials), key=self.display_key)
        candidates: list[Monomial] = []
        for j in range(len(self.symbols)):
            top = max(ordered, key=lambda m: (m.powers[j], m.logs[j], sum(m.powers), sum(m.logs)))
            if top not in candidates:
                candidates.append(top)
        for monomial in ordered:
            if monomial not in candidates and not self._covered(monomial, candidates):
                candidates.append(monomial)
        kept = sorted(candidates, key=self.display_key, reverse=True)  # small ones leave first
        for monomial in list(kept):
            others = [m for m in kept if m != monomial]
            if others and self._covered(monomial, others):
                kept.remove(monomial)
        return kept

    def _covered(self, monomial: Monomial, others: Sequence[Monomial]) -> bool:
        if any(_componentwise_le(monomial, o) for o in others):
            return True
        return self.dominance(monomial, others) in (Dominance.WEAK, Dominance.STRICT)

    def dominated_by(self, monomial: Monomial, others: Sequence[Monomial]) -> bool:
        """Whether ``monomial`` is O(sum of ``others``); CheckUndecided when that cannot be told."""
        result = self.dominance(monomial, others)
        if result is Dominance.UNDECIDED:
            raise CheckUndecided(
                f"{self.show(monomial)} sits on the boundary of {self.show_sum(others)} and only "
                "log factors could break the tie between several symbols; a TA should compare these"
            )
        return result is not Dominance.NONE

    def outgrowing_direction(self, term: Monomial, others: Sequence[Monomial]) -> tuple[int, ...] | None:
        """Rates ``t`` (each symbol grows like ``s^t_j``, within the assumptions; 0: stays put) along
        which ``term`` outgrows every one of ``others``, fewest growing symbols first; None when no
        small such direction exists, or a term grows exponentially (its rate is not a power)."""
        if not others or _has_growth(term, others):
            return None
        for t in sorted(_directions(len(self.symbols)), key=lambda t: (sum(map(bool, t)), sum(t))):
            if any(_dot(row, t) > 0 for row in self.cone):
                continue
            if _growth(term, t) > max(_growth(o, t) for o in others):
                return t
        return None

    # -- display --------------------------------------------------------------

    def display_key(self, monomial: Monomial) -> tuple[object, ...]:
        """Sort key: largest total degree first, then by symbol order."""
        return (
            not monomial.growth,  # exponential parts first
            tuple(c for _, c in monomial.growth),
            -sum(monomial.powers),
            tuple(-p for p in monomial.powers),
            -sum(monomial.logs),
            tuple(-p for p in monomial.logs),
            -sum(monomial.loglogs),
            tuple(-p for p in monomial.loglog_powers()),
        )

    def show(self, monomial: Monomial) -> str:
        parts = [_power_text(name, p) for name, p in zip(self.symbols, monomial.powers, strict=True) if p]
        parts += [_log_text(name, p) for name, p in zip(self.symbols, monomial.logs, strict=True) if p]
        loglogs = zip(self.symbols, monomial.loglog_powers(), strict=True)
        parts += [_loglog_text(name, p) for name, p in loglogs if p]
        parts += [self._growth_text(inner, c) for inner, c in monomial.growth]
        return " ".join(parts) if parts else "1"

    def _growth_text(self, inner: Monomial, c: Real) -> str:
        """``2^(n)`` for ``exp(log(2) n)``, ``n^(log(3)/log(2))``, else ``exp(c inner)``."""
        for j, name in enumerate(self.symbols):
            if inner == self.log_monomial(j):
                return f"{name}^({c})"
        coefficient, rest = c.expr().as_coeff_Mul()
        shown = self.show(inner)
        if isinstance(rest, sympy.log) and rest.args[0].is_Integer:
            scale = "" if coefficient == 1 else f"{coefficient} "
            return f"{rest.args[0]}^({scale}{shown})"
        return f"exp({c} {shown})"

    def show_sum(self, monomials: Iterable[Monomial]) -> str:
        ordered = sorted(monomials, key=self.display_key)
        return " + ".join(self.show(m) for m in ordered) if ordered else "0"


def _componentwise_le(small: Monomial, large: Monomial) -> bool:
    if small.growth != large.growth:
        return False
    pairs = (
        (small.powers, large.powers),
        (small.logs, large.logs),
        (small.loglog_powers(), large.loglog_powers()),
    )
    return all(a <= b for mine, theirs in pairs for a, b in zip(mine, theirs, strict=True))


def _exponent_text(power: Fraction) -> str:
    """``^p`` as written after a base: nothing for 1, parentheses unless a positive integer."""
    if power == 1:
        return ""
    if power.denominator == 1 and power > 0:
        return f"^{power}"
    return f"^({power})"


def _power_text(name: str, power: Fraction) -> str:
    return f"{name}{_exponent_text(power)}"


def _loglog_text(name: str, power: Fraction) -> str:
    return f"log log {name}" if power == 1 else f"(log log {name}){_exponent_text(power)}"


def _log_text(name: str, power: Fraction) -> str:
    return f"log{_exponent_text(power)} {name}"


# -- the dominance test ------------------------------------------------------


@lru_cache(maxsize=65536)
def _dominance(
    term: Monomial, others: tuple[Monomial, ...], cone: tuple[tuple[Fraction, ...], ...]
) -> Dominance:
    found = _polylog_dominance(term, others, cone) if not _has_growth(term, others) else None
    if found is None:
        found = _growth_dominance(term, others, cone)
    if found is Dominance.UNDECIDED and _ordered_cone_dominance(term, others, cone):
        return Dominance.WEAK
    return found


def _has_growth(term: Monomial, others: Sequence[Monomial]) -> bool:
    return bool(term.growth) or any(o.growth for o in others)


def _polylog_dominance(
    term: Monomial, others: tuple[Monomial, ...], cone: tuple[tuple[Fraction, ...], ...]
) -> Dominance:
    if not any(term.loglogs) and not any(any(o.loglogs) for o in others):
        return _power_log_dominance(term, others, cone)
    if len(term.powers) == 1:  # one symbol: terms are ordered by power, then logs, then log logs
        best = max((o.powers, o.logs, o.loglog_powers()) for o in others)
        mine = (term.powers, term.logs, term.loglog_powers())
        return Dominance.STRICT if best > mine else Dominance.WEAK if best == mine else Dominance.NONE
    bare = tuple(sorted({o.without_loglogs() for o in others}))
    found = _power_log_dominance(term.without_loglogs(), bare, cone)
    # A gap in powers or logs is never closed by log log factors; a tie is where they count.
    if found is not Dominance.WEAK or any(_componentwise_le(term, o) for o in others):
        return found
    if not any(term.loglogs):
        return Dominance.WEAK
    return Dominance.NONE if _ray_certificate(term, others, cone) else Dominance.UNDECIDED


def _power_log_dominance(
    term: Monomial, others: tuple[Monomial, ...], cone: tuple[tuple[Fraction, ...], ...]
) -> Dominance:
    dims = len(term.powers)
    # Coordinates where the logs of the others might fall short of the term's.
    deficit = [j for j in range(dims) if term.logs[j] > min(o.logs[j] for o in others)]
    if deficit and _solve(term, others, cone, slack=(), log_checked=()) is None:
        return Dominance.NONE  # not even the powers are covered
    weak = False
    for size in range(len(deficit) + 1):
        for slack in combinations(deficit, size):
            checked = tuple(j for j in deficit if j not in slack)
            value = _solve(term, others, cone, slack=slack, log_checked=checked)
            if value is None:
                continue
            if value > 0:
                return Dominance.STRICT
            if not slack:
                weak = True
    if weak:
        return Dominance.WEAK
    if not deficit or _ray_certificate(term, others, cone):
        return Dominance.NONE
    return Dominance.UNDECIDED


def _ray_certificate(
    term: Monomial, others: tuple[Monomial, ...], cone: tuple[tuple[Fraction, ...], ...]
) -> bool:
    """A direction ``t`` (symbols along it grow, the rest stay put) on which the term ties
    the largest power of the others but has more log (or log log) factors: then it is not
    dominated."""
    for t in _directions(len(term.powers)):
        if any(_dot(row, t) > 0 for row in cone):
            continue
        if _growth(term, t) > max(_growth(o, t) for o in others):
            return True
    return False


def _dot(row: Sequence[Fraction], t: Sequence[int]) -> Fraction:
    return sum((c * x for c, x in zip(row, t, strict=True)), ZERO)


def _growth(monomial: Monomial, t: Sequence[int]) -> tuple[Fraction, Fraction, Fraction]:
    """How fast a term grows along direction ``t``: (power rate, log factors, log log factors)."""
    logs = sum((power for power, x in zip(monomial.logs, t, strict=True) if x), ZERO)
    loglogs = sum((power for power, x in zip(monomial.loglog_powers(), t, strict=True) if x), ZERO)
    return _dot(monomial.powers, t), logs, loglogs


@lru_cache(maxsize=16)
def _directions(dims: int) -> tuple[tuple[int, ...], ...]:
    """Small non-zero directions in the positive orthant: {0,1,2}^dims (or {0,1}^dims when large)."""
    values = (0, 1, 2) if dims <= 4 else (0, 1)
    found: list[tuple[int, ...]] = [()]
    for _ in range(dims):
        found = [(*prefix, v) for prefix in found for v in values]
    return tuple(t for t in found if any(t))


def _solve(
    term: Monomial,
    others: tuple[Monomial, ...],
    cone: tuple[tuple[Fraction, ...], ...],
    slack: tuple[int, ...],
    log_checked: tuple[int, ...],
) -> Fraction | None:
    """One linear program over ``λ`` (weights of the others, summing to 1), ``μ``
    (multipliers of the assumptions) and ``η``:

    * power coordinates: ``Σ λ_i a_i + Σ μ_r c_r >= b`` (``+ η`` where ``slack``);
    * log coordinates in ``log_checked``: ``Σ λ_i l_i >= m``.

    With ``slack`` it maximizes ``η`` (capped at 1); without, the total surplus,
    positive exactly when the term is strictly dominated. None when infeasible.
    """
    n, r, dims = len(others), len(cone), len(term.powers)
    width = n + r + 1

    def row(lam: Sequence[Fraction], mu: Sequence[Fraction], eta_coefficient: Fraction) -> list[Fraction]:
        return [*lam, *mu, eta_coefficient]

    rows = [Row(tuple(row([ONE] * n, [ZERO] * r, ZERO)), "=", ONE)]
    objective = [ZERO] * width
    for j in range(dims):
        lam = [o.powers[j] for o in others]
        mu = [c[j] for c in cone]
        rows.append(Row(tuple(row(lam, mu, Fraction(-1) if j in slack else ZERO)), ">=", term.powers[j]))
        if not slack:
            for i, value in enumerate(lam + mu):
                objective[i] += value
    for j in log_checked:
        rows.append(Row(tuple(row([o.logs[j] for o in others], [ZERO] * r, ZERO)), ">=", term.logs[j]))
    if slack:
        rows.append(Row(tuple(row([ZERO] * n, [ZERO] * r, ONE)), "<=", ONE))
        objective = [ZERO] * (width - 1) + [ONE]
        offset = ZERO
    else:
        for j in range(dims):
            for i, o in enumerate(others):
                objective[i] += o.logs[j]
        offset = sum(term.powers, ZERO) + sum(term.logs, ZERO)
    try:
        best = maximize(objective, rows)
    except Unbounded:
        return ONE
    return None if best is None else best - offset


# -- exponential parts ---------------------------------------------------------

# A key of a full log: an inner monomial, or ("lll", j) for log log log x_j.
LogKey = Monomial | tuple[str, int]


def _full_log(monomial: Monomial) -> dict[LogKey, Real]:
    """``log`` of the monomial as a sum of keys with exact coefficients (constants dropped)."""
    dims = len(monomial.powers)
    zeros = (ZERO,) * dims
    total: dict[LogKey, Real] = {}

    def add(key: LogKey, c: Real) -> None:
        total[key] = total[key] + c if key in total else c

    for inner, c in monomial.growth:
        add(inner, c)
    for j in range(dims):
        unit = tuple(ONE if i == j else ZERO for i in range(dims))
        if monomial.powers[j]:
            add(Monomial(zeros, unit), Real(monomial.powers[j]))
        if monomial.logs[j]:
            add(Monomial(zeros, zeros, unit), Real(monomial.logs[j]))
        if monomial.loglog_powers()[j]:
            add(("lll", j), Real(monomial.loglog_powers()[j]))
    return {k: c for k, c in total.items() if not c.is_zero}


def _key_support(key: LogKey) -> set[int]:
    if isinstance(key, tuple):
        return {key[1]}
    vectors = (key.powers, key.logs, key.loglog_powers())
    return {j for v in vectors for j, p in enumerate(v) if p}


def _key_rate(key: LogKey, growing: set[int]) -> tuple[Fraction, Fraction, Fraction, Fraction]:
    """How fast a key grows when the symbols in ``growing`` all equal one x (others fixed):
    (power, log, log log, log log log) of x."""
    if isinstance(key, tuple):
        return (ZERO, ZERO, ZERO, ONE if key[1] in growing else ZERO)
    return (
        sum((key.powers[j] for j in growing), ZERO),
        sum((key.logs[j] for j in growing), ZERO),
        sum((key.loglog_powers()[j] for j in growing), ZERO),
        ZERO,
    )


def _one_variable_sign(difference: dict[LogKey, Real], growing: set[int]) -> int:
    """The sign of a sum of keys as x grows (0 when it stays bounded); every key's support
    lies inside ``growing`` or outside it (those are constants)."""
    rates: dict[tuple[Fraction, ...], Real] = {}
    for key, c in difference.items():
        if not _key_support(key) <= growing:
            continue
        rate = _key_rate(key, growing)
        rates[rate] = rates[rate] + c if rate in rates else c
    growing_rates = sorted((r for r, c in rates.items() if r > (ZERO,) * 4 and not c.is_zero), reverse=True)
    return rates[growing_rates[0]].sign() if growing_rates else 0


def _log_difference(a: Monomial, b: Monomial) -> dict[LogKey, Real]:
    """``log a - log b``."""
    total = dict(_full_log(a))
    for key, c in _full_log(b).items():
        total[key] = total[key] + (-c) if key in total else -c
    return {k: c for k, c in total.items() if not c.is_zero}


def _growth_dominance(
    term: Monomial, others: tuple[Monomial, ...], cone: tuple[tuple[Fraction, ...], ...]
) -> Dominance:
    """Dominance where a term has an exponential part: exact for one symbol (growth rates are
    totally ordered: compare the leading key of the difference of logs); for several, a
    certificate either way or undecided."""
    dims = len(term.powers)
    if dims == 1:
        signs = [_one_variable_sign(_log_difference(o, term), {0}) for o in others]
        if any(s > 0 for s in signs):
            return Dominance.STRICT
        return Dominance.WEAK if any(s == 0 for s in signs) else Dominance.NONE
    same = tuple(o.without_growth() for o in others if o.growth == term.growth)
    if same:  # a common exponential factor: compare what multiplies it
        found = _dominance(term.without_growth(), same, cone)
        if found in (Dominance.WEAK, Dominance.STRICT):
            return found
    zero = Monomial((ZERO,) * dims, (ZERO,) * dims)
    for other in others:  # log other - log term bounded below: every subtracted key is O(1)
        difference = _log_difference(other, term)
        negatives = [k for k, c in difference.items() if c.sign() < 0]
        if all(
            isinstance(k, Monomial) and _dominance(k, (zero,), cone) is not Dominance.NONE for k in negatives
        ):
            return Dominance.WEAK
    for growing in _growing_sets(dims, cone):
        keys = set(_full_log(term)).union(*(_full_log(o) for o in others))
        if any(_key_support(k) & growing and not _key_support(k) <= growing for k in keys):
            continue
        if all(_one_variable_sign(_log_difference(o, term), growing) < 0 for o in others):
            return Dominance.NONE
    return Dominance.UNDECIDED


def _growing_sets(dims: int, cone: tuple[tuple[Fraction, ...], ...]) -> list[set[int]]:
    """Sets of symbols that may grow together (equal) while the rest stay fixed."""
    found = []
    for t in product((0, 1), repeat=dims):
        if any(t) and all(_dot(row, t) <= 0 for row in cone):
            found.append({j for j in range(dims) if t[j]})
    return found


# -- ties that only log factors decide, in ordered cones --------------------------


def _ordered_cone_dominance(
    term: Monomial, others: tuple[Monomial, ...], cone: tuple[tuple[Fraction, ...], ...]
) -> bool:
    """Whether ``term`` is O(others) in every ordering of the symbols that carry logs.

    In the cone where ``t_1 >= t_2 >= ... >= t_m`` (``x_j = e^{t_j}``) the logs
    ``s_j = log t_j`` follow the same order and their gaps ``s_i - s_{i+1}`` are at most
    ``(t_i - t_{i+1}) / t_m``. A convex combination ``λ`` of the others proves the term
    dominated when its power gap ``P`` is non-negative on the cone, and each log gap
    whose combined coefficient is negative (and the lowest ``s_m`` when their sum is)
    is paid for by ``P`` growing along that gap. Each condition is a small exact linear
    program; this settles ``k log n`` against ``n log k`` with ``k <= n`` and
    ``n log d`` against ``n log n + d log d``.
    """
    if _has_growth(term, others):
        return False
    dims = len(term.powers)
    carriers = [j for j in range(dims) if any(m.logs[j] or m.loglog_powers()[j] for m in (term, *others))]
    if not carriers or len(carriers) > 4:
        return False
    with_loglogs = any(any(m.loglogs) for m in (term, *others))
    options = ("tie", "strict", "paid") if with_loglogs else ("tie", "paid")
    for order in permutations(carriers):
        if not cone and any(_ordered_cone_single(term, o, order) for o in others):
            continue
        # One other term often suffices in a cone; its programs are much smaller.
        groups = ([(o,) for o in others] if cone else []) + ([others] if len(others) > 1 or cone else [])
        if not any(
            _ordered_cone_program(term, group, cone, order, choice)
            for group in groups
            for choice in product(options, repeat=len(order))
        ):
            return False
    return True


def _ordered_cone_single(term: Monomial, other: Monomial, order: tuple[int, ...]) -> bool:
    """The programs of :func:`_ordered_cone_dominance` for one other term and no assumptions,
    in closed form: a linear form is non-negative on ``t_1 >= ... >= t_m >= 0`` (other symbols
    free) exactly when its prefix sums along the order are, and it grows along a gap exactly
    when the prefix sum there is positive."""
    dims = len(term.powers)
    gap = [a - b for a, b in zip(other.powers, term.powers, strict=True)]
    if any(gap[j] < 0 for j in range(dims) if j not in order):
        return False
    log_gap = [a - b for a, b in zip(other.logs, term.logs, strict=True)]
    loglog_gap = [a - b for a, b in zip(other.loglog_powers(), term.loglog_powers(), strict=True)]
    p = q = r = ZERO
    for j in order:
        p, q, r = p + gap[j], q + log_gap[j], r + loglog_gap[j]
        if p < 0:
            return False
        if not (p > 0 or q > 0 or (q == 0 and r >= 0)):
            return False
    return True


def _ordered_cone_program(
    term: Monomial,
    others: tuple[Monomial, ...],
    cone: tuple[tuple[Fraction, ...], ...],
    order: tuple[int, ...],
    choice: tuple[str, ...],
) -> bool:
    """One choice per log gap (and for the lowest log): ``tie`` (the combined log and log log
    coefficients are non-negative), ``strict`` (the log coefficient is positive) or ``paid``
    (the power gap grows along that gap); variables: λ, η, κ, z, then Farkas multipliers."""
    program = _ConeProgram(term, others, cone, order)
    return program.solve(choice)


class _ConeProgram:
    def __init__(
        self,
        term: Monomial,
        others: tuple[Monomial, ...],
        cone: tuple[tuple[Fraction, ...], ...],
        order: tuple[int, ...],
    ):
        self.term, self.others, self.cone, self.order = term, others, cone, order
        dims, m = len(term.powers), len(order)
        self.steps = [
            tuple(ONE if j == order[i] else -ONE if j == order[i + 1] else ZERO for j in range(dims))
            for i in range(m - 1)
        ]
        self.lowest = tuple(ONE if j == order[-1] else ZERO for j in range(dims))
        n = len(others)
        self.eta, self.kappa, self.z = n, n + 1, n + 2
        self.rows: list[Row] = []
        self.width = 0

    def row(self, entries: dict[int, Fraction], sense: str, rhs: Fraction) -> None:
        coefficients = [ZERO] * self.width
        for index, value in entries.items():
            coefficients[index] += value
        self.rows.append(Row(tuple(coefficients), sense, rhs))  # type: ignore[arg-type]

    def solve(self, choice: tuple[str, ...]) -> bool:
        n, m = len(self.others), len(self.order)
        paid = [self.steps[i] if i < m - 1 else self.lowest for i, c in enumerate(choice) if c == "paid"]
        gaps: list[tuple[Fraction, ...] | None] = [None, *paid]
        block = len(self.cone) + len(self.steps)
        self.width = n + 3 + block * len(gaps)
        self.rows = []
        self.row({i: ONE for i in range(n)}, "=", ONE)
        for b, gap in enumerate(gaps):
            self.nonnegative_on_cone(n + 3 + b * block, gap)
        for i, option in enumerate(choice):
            if option != "paid":
                self.log_gap(self.order[: i + 1], strict=option == "strict")
        needs = ([self.eta] if "strict" in choice else []) + ([self.kappa] if "paid" in choice else [])
        for index in needs:
            self.row({self.z: ONE, index: -ONE}, "<=", ZERO)
        self.row({self.z: ONE}, "<=", ONE)
        objective = [ZERO] * self.width
        objective[self.z] = ONE
        try:
            best = maximize(objective, self.rows)
        except Unbounded:
            return True
        return best is not None and (best > 0 or not needs)

    def nonnegative_on_cone(self, base: int, gap: tuple[Fraction, ...] | None) -> None:
        """Σ λ_i a_i - a_term - κ gap = ω - Σ μ_r c_r + Σ ν_h step_h with ω, μ, ν >= 0 (Farkas)."""
        r = len(self.cone)
        for j in range(len(self.term.powers)):
            entries = {i: o.powers[j] for i, o in enumerate(self.others)}
            if gap is not None and gap[j]:
                entries[self.kappa] = -gap[j]
            for k, c in enumerate(self.cone):
                entries[base + k] = c[j]
            for k, step in enumerate(self.steps):
                entries[base + r + k] = -step[j]
            self.row(entries, ">=", self.term.powers[j])

    def log_gap(self, prefix: tuple[int, ...], strict: bool) -> None:
        levels = [lambda m: m.logs] if strict else [lambda m: m.logs, Monomial.loglog_powers]
        for level in levels:
            entries = {i: sum((level(o)[j] for j in prefix), ZERO) for i, o in enumerate(self.others)}
            if strict:
                entries[self.eta] = -ONE
            self.row(entries, ">=", sum((level(self.term)[j] for j in prefix), ZERO))
