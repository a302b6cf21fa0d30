"""The difference of two sums of units, exactly and without merging either sum.

A network with one input is a sum of terms: units ``w * g(a x + c)`` (relu,
abs, leaky_relu of an affine function, kept unevaluated as a
:class:`~grader.networks.pl.Hinge`), affine functions and other PLs. Each unit
bends once, at t = -c/a, where its slope changes by w (R - L) |a| (g has
slopes L and R); it is continuous there. So f - g is zero at a kink exactly when
the changes of the terms bending there add up to zero, and f - g bends only
at the kinks where they do not.

:func:`difference` groups the units' kinks exactly with integer arithmetic on
numerators and denominators (numpy int64 when they are small enough for no
product to overflow, Python integers otherwise): the kinks are sorted once,
equal kinks are found by their reduced fractions, and a group of two units is
checked with two integer products. Only the groups that do not cancel become
Fractions; f - g is built from them, the other terms' breakpoints and the
leftmost piece, so comparing two networks of 10,000 units that agree costs a
few integer array operations, and the witness of two that do not is found in a
PL with only the kinks where they differ.
"""

from __future__ import annotations

import contextlib
import gc
import itertools
import math
import operator
from collections.abc import Callable, Iterator, Sequence
from fractions import Fraction
from typing import Any

import numpy as np

from grader.networks.intervals import Num
from grader.networks.pl import PL, Hinge, Triple, changes, from_changes

INT64_SAFE = 2**62  # products below this fit in int64


def difference(f: PL, g: PL) -> PL | None:
    """f - g on all of R, exactly, or None when this way does not apply: a bounded domain,
    or float numbers (then only an exactly zero difference is recognised,
    :func:`_floats_cancel`; otherwise subtract the usual way, in float arithmetic)."""
    if f.bounded or g.bounded:  # a sum is unbounded only when every term is
        return None
    with paused_collection():
        f_terms, g_terms = f.terms(), g.terms()
        f_hinges, g_hinges = [*map(_HINGE, f_terms)], [*map(_HINGE, g_terms)]
        units = [h for h in f_hinges if h is not None]
        n_f = len(units)
        units += [h for h in g_hinges if h is not None]
        others = [t for t, h in zip(f_terms, f_hinges, strict=True) if h is None]
        others += [-t for t, h in zip(g_terms, g_hinges, strict=True) if h is None]
        signs = np.repeat(np.array([1, -1], dtype=np.int64), [n_f, len(units) - n_f])
        columns = _Units(units)
        kinds = columns.number_types() | _number_types(others)
        if float in kinds:
            zero = kinds <= {float, int} and _floats_cancel(columns, signs, others)
            return PL.constant(0) if zero else None
        slope, intercept, events = changes(others)
        table, leftmost = columns.exact(signs)
        events = [_exact_event(e) for e in events] + _uncancelled(table)
    return from_changes(_exact(slope) + leftmost[0], _exact(intercept) + leftmost[1], events)


_HINGE = operator.attrgetter("hinge")


def _number_types(others: Sequence[PL]) -> set[type]:
    """The types of the nonzero numbers of terms that are not units."""
    kinds: set[type] = set()
    for term in others:
        kinds.update(type(v) for v in (*term.slopes, *term.intercepts, *term.values, *term.breakpoints) if v)
    return kinds


@contextlib.contextmanager
def paused_collection() -> Iterator[None]:
    """Without the cyclic garbage collector for a moment. Building and comparing a
    network of thousands of units allocates tens of thousands of objects that live
    until the comparison ends; each batch of them would start a full collection that
    walks every object of the process (and frees nothing: they hold no cycles, and
    reference counting frees them). Collection resumes on leaving."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _exact(value: Num) -> Fraction:
    return value if isinstance(value, Fraction) else Fraction(value)


def _exact_event(event: Triple) -> Triple:
    return tuple(_exact(v) for v in event)  # type: ignore[return-value]


# ---- floats --------------------------------------------------------------------------------------

FLOAT_RANGE = (2.0**-450, 2.0**450)  # magnitudes whose products are exact as two floats


def _floats_cancel(units: _Units, signs: np.ndarray, others: Sequence[PL]) -> bool:
    """Whether the terms, all of float numbers, add up to exactly 0 (as the exact binary
    values they are). Units with the same slope and intercept share a kink and must
    cancel by weight; the leftmost piece must be 0: its products are summed exactly
    (two floats each, then :func:`math.fsum`, which rounds the exact sum correctly, so
    0 only when it is 0). False also means "not shown here" (e.g. equal kinks written
    with other slopes): the caller then compares the usual way."""
    if any(term.breakpoints for term in others):
        return False
    if not units.hinges:
        return _fsum_zero(others, (), ())
    columns = units.columns
    if any(int in kinds for kinds in units.types) and any(
        type(v) is int and abs(v) >= 2**53 for column in columns[:3] for v in column
    ):
        return False  # an integer a float does not hold exactly
    weights, slopes, intercepts = (np.array(c, dtype=float) for c in columns[:3])
    lefts, rights = (_activation_sides(c) for c in columns[3:])
    finite = np.concatenate([weights, slopes, intercepts])
    if not (np.isin(lefts, (0.0, -1.0)).all() and (rights == 1.0).all() and _in_range(finite)):
        return False
    order = np.lexsort((intercepts, slopes))
    w = (signs * weights * (rights - lefts))[order]
    a, c = slopes[order], intercepts[order]
    new = np.ones(len(w), dtype=bool)
    new[1:] = (a[1:] != a[:-1]) | (c[1:] != c[:-1])
    starts = np.flatnonzero(new)
    sizes = np.diff(np.append(starts, len(w)))
    pairs = starts[sizes == 2]
    if (w[starts[sizes == 1]] != 0).any() or (w[pairs] != -w[pairs + 1]).any():
        return False
    for start, size in zip(starts[sizes > 2].tolist(), sizes[sizes > 2].tolist(), strict=True):
        if math.fsum(w[start : start + size].tolist()) != 0:
            return False
    m = signs * np.where(slopes > 0, lefts, rights)  # the leftmost piece: w m (a x + c)
    return _fsum_zero(others, _two_product(m * weights, slopes), _two_product(m * weights, intercepts))


def _activation_sides(values: tuple[Num, ...]) -> np.ndarray:
    """The units' L (or R) as floats; one conversion when every unit has the same."""
    if values.count(values[0]) == len(values):
        return np.full(len(values), float(values[0]))
    return np.array([float(v) for v in values])


def _in_range(values: np.ndarray) -> bool:
    magnitudes = np.abs(values[values != 0])
    return bool(
        np.isfinite(values).all()
        and (
            magnitudes.size == 0 or (magnitudes.min() > FLOAT_RANGE[0] and magnitudes.max() < FLOAT_RANGE[1])
        )
    )


def _two_product(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """p + e == x * y exactly (Veltkamp splitting; magnitudes within FLOAT_RANGE)."""
    p = x * y
    xh, xl = _split(x)
    yh, yl = _split(y)
    e = ((xh * yh - p) + xh * yl + xl * yh) + xl * yl
    return p, e


def _split(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    c = 134217729.0 * x  # 2^27 + 1
    high = c - (c - x)
    return high, x - high


def _fsum_zero(others: Sequence[PL], slopes: Sequence[np.ndarray], intercepts: Sequence[np.ndarray]) -> bool:
    """Whether the leftmost slope and intercept, summed exactly, are both 0."""
    slope = [float(term.slopes[0]) for term in others] + [v for part in slopes for v in part.tolist()]
    intercept = [float(term.intercepts[0]) for term in others] + [
        v for part in intercepts for v in part.tolist()
    ]
    return math.fsum(slope) == 0 and math.fsum(intercept) == 0


# ---- the units -----------------------------------------------------------------------------------

Columns = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
Ratios = tuple[np.ndarray, np.ndarray]
_AS_RATIO = operator.methodcaller("as_integer_ratio")


class _Units:
    """The units' numbers, column by column (weights, slopes, intercepts, L, R)."""

    def __init__(self, hinges: Sequence[Hinge]):
        self.hinges = hinges
        empty: tuple[Num, ...] = ()
        self.columns = list(zip(*hinges, strict=True)) if hinges else [empty] * 5
        self.types = [set(map(type, column)) for column in self.columns[:3]]

    def number_types(self) -> set[type]:
        """The types of the units' weights, slopes and intercepts."""
        return set().union(*self.types)

    def exact(self, signs: np.ndarray) -> tuple[Columns, tuple[Fraction, Fraction]]:
        """Per unit its kink and its slope change there (reduced numerators and denominators),
        and the sum of the units' leftmost pieces w m (a x + c), m = L for a > 0, R for a < 0."""
        if not self.hinges:
            return (np.zeros(0, np.int64),) * 4, (Fraction(0), Fraction(0))
        numbers = [_ratios(column, kinds) for column, kinds in zip(self.columns[:3], self.types, strict=True)]
        parts = [
            _same_activation(self.hinges[int(chosen[0])], *(_pick(c, chosen) for c in (*numbers, signs)))
            for chosen in self._by_activation()
        ]
        joined = tuple(np.concatenate([table[k] for table, _ in parts]) for k in range(4))
        slope = sum((left[0] for _, left in parts), Fraction(0))
        intercept = sum((left[1] for _, left in parts), Fraction(0))
        return joined, (slope, intercept)  # type: ignore[return-value]

    def _by_activation(self) -> list[np.ndarray]:
        """The units' indices, one array per activation (usually one: every unit a relu)."""
        lefts, rights = self.columns[3], self.columns[4]
        n = len(lefts)
        if lefts.count(lefts[0]) == n and rights.count(rights[0]) == n:
            return [np.arange(n)]
        key = np.array([*map(id, lefts)], dtype=np.int64) * 3 + np.array([*map(id, rights)], dtype=np.int64)
        return [np.flatnonzero(key == k) for k in np.unique(key)]


def _pick(column: Any, chosen: np.ndarray) -> Any:
    if isinstance(column, tuple):
        return tuple(c[chosen] for c in column)
    return column[chosen]


def _ratios(values: Sequence[Num], kinds: set[type]) -> tuple[np.ndarray, np.ndarray]:
    """Numerators and denominators (int64 when they fit, else Python integers)."""
    ratio: Callable[[Any], tuple[int, int]] = Fraction.as_integer_ratio if kinds == {Fraction} else _AS_RATIO
    flat: np.ndarray
    try:
        flat = np.fromiter(
            itertools.chain.from_iterable(map(ratio, values)), dtype=np.int64, count=2 * len(values)
        )
    except OverflowError:
        flat = np.array([*itertools.chain.from_iterable(map(ratio, values))], dtype=object)
    return flat[0::2], flat[1::2]


def _product(*factors: np.ndarray | int) -> np.ndarray:
    """The element-wise product, in Python integers when int64 could overflow."""
    bound = 1
    for f in factors:
        if isinstance(f, np.ndarray):
            bound *= int(np.abs(f).max()) if f.size else 0
        else:
            bound *= abs(int(f))
    arrays = [f.astype(object) if bound >= INT64_SAFE and isinstance(f, np.ndarray) else f for f in factors]
    out = arrays[0]
    for f in arrays[1:]:
        out = out * f
    return np.asarray(out)


def _same_activation(
    first: Hinge, w: Ratios, a: Ratios, c: Ratios, sign: np.ndarray
) -> tuple[Columns, tuple[Fraction, Fraction]]:
    """The units of one activation g (slopes L and R): their kinks, slope changes, and
    the sum of their leftmost pieces."""
    (pw, qw), (pa, qa), (pc, qc) = w, a, c
    pj, qj = (first.right - first.left).as_integer_ratio()
    pl, ql = first.left.as_integer_ratio()
    pr, qr = first.right.as_integer_ratio()
    den = _product(qc, pa)
    kink = (_product(-np.sign(den), pc, qa), np.abs(den))
    change = (_product(sign, pw, pj, np.abs(pa)), _product(qw, qj, qa))
    rising = pa > 0  # the leftmost piece is g's left side where the unit rises
    pm, qm = np.where(rising, pl, pr), np.where(rising, ql, qr)
    used = pm != 0
    weight = (_product(sign[used], pw[used], pm[used]), _product(qw[used], qm[used]))
    slope = _exact_sum(_product(weight[0], pa[used]), _product(weight[1], qa[used]))
    intercept = _exact_sum(_product(weight[0], pc[used]), _product(weight[1], qc[used]))
    return (*_reduce(*kink), *_reduce(*change)), (slope, intercept)


def _reduce(num: np.ndarray, den: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    common = np.gcd(num, den)
    common[common == 0] = 1
    return num // common, den // common


def _exact_sum(num: np.ndarray, den: np.ndarray) -> Fraction:
    """The sum of the fractions num / den: numerators added by denominator (exactly:
    in float64 while every partial sum stays below 2^53, else in Python integers), then
    the few denominators over their least common multiple, in Python integers."""
    if num.size == 0:
        return Fraction(0)
    num, den = _reduce(num, den)
    dens, where = np.unique(den, return_inverse=True)
    if num.dtype != object and int(np.abs(num).max()) * len(num) < 2**53:
        sums = np.bincount(where, weights=num.astype(float), minlength=len(dens)).astype(np.int64).tolist()
    else:
        totals = np.zeros(len(dens), dtype=object)
        np.add.at(totals, where, num.astype(object))
        sums = totals.tolist()
    common = math.lcm(*(int(d) for d in dens.tolist()))
    return Fraction(
        sum(int(n) * (common // int(d)) for n, d in zip(sums, dens.tolist(), strict=True)), common
    )


def _uncancelled(table: Columns) -> list[Triple]:
    """One event per kink where the units' slope changes do not add up to zero."""
    tn, td, sn, sd = table
    if len(tn) == 0:
        return []
    order = np.lexsort((td, tn))
    tn, td, sn, sd = tn[order], td[order], sn[order], sd[order]
    new = np.ones(len(tn), dtype=bool)
    new[1:] = (tn[1:] != tn[:-1]) | (td[1:] != td[:-1])
    starts = np.flatnonzero(new)
    sizes = np.diff(np.append(starts, len(tn)))
    alive = np.zeros(len(starts), dtype=bool)
    alive[sizes == 1] = sn[starts[sizes == 1]] != 0
    pairs = np.flatnonzero(sizes == 2)
    first, second = starts[pairs], starts[pairs] + 1
    alive[pairs] = _pair_sums_nonzero(sn[first], sd[first], sn[second], sd[second])
    events: list[Triple] = []
    for k in np.flatnonzero(alive | (sizes > 2)):
        start, size = int(starts[k]), int(sizes[k])
        ds = sum((Fraction(int(sn[i]), int(sd[i])) for i in range(start, start + size)), Fraction(0))
        if ds:
            t = Fraction(int(tn[start]), int(td[start]))
            events.append((t, ds, -ds * t, Fraction(0)))
    return events


def _pair_sums_nonzero(n1: np.ndarray, d1: np.ndarray, n2: np.ndarray, d2: np.ndarray) -> np.ndarray:
    """n1/d1 + n2/d2 != 0, exactly (in Python integers when a product could overflow)."""
    if len(n1) == 0:
        return np.zeros(0, dtype=bool)
    if n1.dtype != object:
        top = max(int(np.abs(n1).max()), int(np.abs(n2).max())) * max(int(d1.max()), int(d2.max()))
        if top >= INT64_SAFE:
            n1, d1, n2, d2 = (a.astype(object) for a in (n1, d1, n2, d2))
    return np.asarray(n1 * d2 + n2 * d1 != 0, dtype=bool)
