"""Several inputs, decided exactly: walk the activation regions of a piecewise-linear network.

The network is evaluated by the ordinary exact evaluator with inputs that are
:class:`Aff` objects, affine forms ``c . x + d`` with Fraction coefficients.
Affine layers and ``concat`` work on them unchanged; each ``relu``,
``leaky_relu``, ``abs``, ``max`` and ``min`` of a form that is not constant
asks the walk which side of its kink the current region is on (``z >= 0`` or
``z <= 0``; for ``max(a, b)`` the sign of ``a - b``). So one evaluation follows
one activation pattern, and within it every pre-activation and the output are
affine in x.

The walk (:func:`decide_classify`) is depth-first with replay: a pattern's
prefix of decisions is replayed from the start, and at a new decision two exact
LPs (:mod:`grader.exact.lp`) tell whether the current region (a closed
polyhedron ``A x <= b``) has points with ``z > 0`` and points with ``z < 0``.
Only when both exist does the walk branch (into the closed halves); when one
side is empty the other side is the whole region and no constraint is added;
when z is identically 0 on the region both formulas agree and one is taken.
So only realised patterns are visited, every visited region is full-dimensional
(when the domain is), and the closed regions cover the domain. The activations
are continuous, so on a closed region the network equals the region's affine
formula everywhere, kinks included.

``positive_when`` is split into polyhedral cells the same way: linear
relations under ``and``/``or``/``not`` and products of affine factors compared
with 0 (``x1*x2 < 0`` is ``(x1 > 0 and x2 < 0) or (x1 < 0 and x2 > 0)``) become
a union of cells for the condition and one for its negation, each cell a
conjunction of ``a . x < b``, ``a . x <= b`` and ``a . x = b``. Anything else
raises :class:`NotPolyhedral` (the caller samples instead).

Strict inequalities need no epsilon: a system with strict rows ``a . x < b``
has a solution iff the LP "maximise t subject to a . x + t <= b for the strict
rows, the other rows as they are, 0 <= t <= 1" is feasible with t > 0. On each
region R with output m and each cell C of the condition it is decided whether
some x in R and C has m(x) <= 0 (the condition holds, the network is not
positive), and for each cell D of the negation whether some x in R and D has
m(x) > 0. A witness is made simple coordinate by coordinate (the simplest
rational in the exact range of each coordinate over the solution set).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
from flint import fmpq

from grader.clock import past
from grader.exact.lp import Q, QRow, Unbounded, maximize_q
from grader.mathlang import ast
from grader.networks.intervals import Interval, simplest_in, simplicity_key

MAX_REGIONS = 20_000  # activation patterns visited before giving up (the caller samples then)
MAX_CELLS = 512  # cells of a condition
MAX_FACTORS = 8  # affine factors of one product
MAX_FAILURES = 16  # failing (region, cell) pairs collected before picking the simplest witness

# Inside the walk every number is one of FLINT's rationals (fmpq: exact, as Fraction, and about
# ten times faster); what comes out (witnesses, simple points) is Fraction. Mind that an fmpq
# never equals a Fraction (fmpq(1) == Fraction(1) is False): numbers are converted on the way in.
ZERO = fmpq(0)
ONE = fmpq(1)
HALF = fmpq(1, 2)

Point = tuple[Fraction, ...]
QPoint = tuple[Q, ...]


def _fraction(v: Q) -> Fraction:
    return Fraction(int(v.p), int(v.q))


def _fractions(p: Sequence[Q]) -> Point:
    return tuple(_fraction(v) for v in p)


def _qs(p: Sequence[Any]) -> QPoint:
    return tuple(v if type(v) is fmpq else _q(v) for v in p)


def _q(v: Any) -> Q:
    n = _number(v)
    if n is None:
        raise NotAffine(f"not a number ({type(v).__name__})")
    return n


class NotAffine(Exception):
    """The formula is not piecewise linear in a way the walk handles (x1*x2, heaviside of x)."""


class NotPolyhedral(Exception):
    """The condition is not a finite union of polyhedral cells the walk understands."""


class TooManyRegions(Exception):
    """The walk went past its cap on activation patterns or its time budget."""


# ---- affine forms ------------------------------------------------------------------------------


def _number(v: Any) -> Q | None:
    if type(v) is fmpq:
        return v
    if isinstance(v, bool):
        return None
    if isinstance(v, Fraction):
        return fmpq(v.numerator, v.denominator)
    if isinstance(v, int):
        return fmpq(v)
    if isinstance(v, float):
        if v != v or v in (float("inf"), float("-inf")):
            raise NotAffine("a weight that is not a finite number")
        exact = Fraction(v)  # the exact binary value
        return fmpq(exact.numerator, exact.denominator)
    if isinstance(v, np.integer):
        return fmpq(int(v))
    if isinstance(v, np.floating):
        return _number(float(v))
    return None


class Aff:
    """``coef . x + const`` with exact coefficients (fmpq); activations ask ``walk`` for a side."""

    __slots__ = ("coef", "const", "walk")

    def __init__(self, coef: tuple[Q, ...], const: Q, walk: _Walk | None = None):
        self.coef = coef
        self.const = const
        self.walk = walk

    @staticmethod
    def variable(i: int, dim: int, walk: _Walk | None = None) -> Aff:
        return Aff(tuple(ONE if j == i else ZERO for j in range(dim)), ZERO, walk)

    def is_constant(self) -> bool:
        return not any(self.coef)

    def constant_value(self) -> Q:
        if not self.is_constant():
            raise NotAffine("not a constant")
        return self.const

    def at(self, p: Sequence[Any]) -> Q:
        """The value at a point of fmpq (or of Fraction, converted)."""
        return sum((c * v for c, v in zip(self.coef, _qs(p), strict=True)), self.const)

    def _lift(self, other: Any) -> Aff | None:
        if isinstance(other, Aff):
            return other
        n = _number(other)
        if n is None:
            return None
        return Aff(_zeros(len(self.coef)), n, self.walk)

    def _new(self, coef: tuple[Q, ...], const: Q, other: Any = None) -> Aff:
        walk = self.walk if self.walk is not None else getattr(other, "walk", None)
        return Aff(coef, const, walk)

    def __add__(self, other: Any) -> Any:
        if not isinstance(other, Aff):
            n = _number(other)
            return NotImplemented if n is None else Aff(self.coef, self.const + n, self.walk)
        if other.coef is _zeros(len(self.coef)):  # a weight of 0 times an input (most of a sparse layer)
            coef = self.coef
        elif self.coef is _zeros(len(self.coef)):
            coef = other.coef
        else:
            coef = tuple(a + b for a, b in zip(self.coef, other.coef, strict=True))
        return self._new(coef, self.const + other.const, other)

    __radd__ = __add__

    def __neg__(self) -> Aff:
        return self._new(tuple(-a for a in self.coef), -self.const)

    def __pos__(self) -> Aff:
        return self

    def __sub__(self, other: Any) -> Any:
        o = self._lift(other)
        if o is None:
            return NotImplemented
        return self + (-o)

    def __rsub__(self, other: Any) -> Any:
        o = self._lift(other)
        if o is None:
            return NotImplemented
        return o + (-self)

    def scale(self, k: Q) -> Aff:
        if not k:
            return self._new(_zeros(len(self.coef)), ZERO)
        return self._new(tuple(a * k for a in self.coef), self.const * k)

    def __mul__(self, other: Any) -> Any:
        if not isinstance(other, Aff):
            n = _number(other)
            return NotImplemented if n is None else self.scale(n)
        o = other
        if o.is_constant():
            return self.scale(o.const)
        if self.is_constant():
            k = self.const
            return self._new(tuple(a * k for a in o.coef), o.const * k, o)
        raise NotAffine("a product of two functions of the input")

    __rmul__ = __mul__

    def __truediv__(self, other: Any) -> Any:
        o = self._lift(other)
        if o is None:
            return NotImplemented
        if not o.is_constant():
            raise NotAffine("a division by a function of the input")
        if o.const == 0:
            raise ZeroDivisionError("division by zero")
        return self.scale(1 / o.const)

    def __rtruediv__(self, other: Any) -> Any:
        o = self._lift(other)
        if o is None:
            return NotImplemented
        return o / self

    def __pow__(self, k: Any) -> Any:
        n = _number(k.constant_value() if isinstance(k, Aff) else k)
        if n is None or n.q != 1:
            raise NotAffine("a power of a function of the input")
        if self.is_constant():
            return self._new(self.coef, self.const ** int(n))
        if n == 1:
            return self
        if n == 0:
            return self._new(tuple(ZERO for _ in self.coef), ONE)
        raise NotAffine("a power of a function of the input")

    def _cmp(self, other: Any) -> Q:
        o = self._lift(other)
        if o is None:
            raise NotAffine("a comparison with a value that is not a number")
        d = self - o
        if not d.is_constant():
            raise NotAffine("a condition on the input inside the network")
        return d.const

    def __lt__(self, other: Any) -> bool:
        return self._cmp(other) < 0

    def __le__(self, other: Any) -> bool:
        return self._cmp(other) <= 0

    def __gt__(self, other: Any) -> bool:
        return self._cmp(other) > 0

    def __ge__(self, other: Any) -> bool:
        return self._cmp(other) >= 0

    def __eq__(self, other: object) -> bool:
        o = self._lift(other)
        return o is not None and self.coef == o.coef and self.const == o.const

    def __hash__(self) -> int:
        return hash((self.coef, self.const))

    def __repr__(self) -> str:
        return f"Aff({[str(c) for c in self.coef]}, {self.const})"

    # activations -------------------------------------------------------------------------------

    def _side(self, z: Aff) -> int:
        if z.is_constant():
            return 1 if z.const >= 0 else -1
        if self.walk is None:
            raise NotAffine("an activation of the input outside the walk")
        return self.walk.decide(z)

    def relu(self) -> Aff:
        return self if self._side(self) > 0 else self.scale(ZERO)

    def leaky_relu(self, alpha: Any) -> Aff:
        a = _number(alpha.constant_value() if isinstance(alpha, Aff) else alpha)
        if a is None:
            raise NotAffine("leaky_relu with a slope that is not a number")
        return self if self._side(self) > 0 else self.scale(a)

    def __abs__(self) -> Aff:
        return self if self._side(self) > 0 else -self

    def maximum(self, other: Any) -> Aff:
        o = self._lift(other)
        if o is None:
            raise NotAffine("max with a value that is not a number")
        return self if self._side(self - o) > 0 else o

    def minimum(self, other: Any) -> Aff:
        o = self._lift(other)
        if o is None:
            raise NotAffine("min with a value that is not a number")
        return self if self._side(o - self) > 0 else o

    def heaviside(self, h0: Any = HALF) -> Any:
        c = self._cmp(0)  # a step of the input is not continuous: not handled
        at_zero = _number(h0.constant_value() if isinstance(h0, Aff) else h0)
        if c == 0 and at_zero is None:
            raise NotAffine("heaviside with a value at 0 that is not a number")
        return self._new(self.coef, ONE if c > 0 else ZERO if c < 0 else at_zero or ZERO)

    def sign(self) -> Aff:
        c = self._cmp(0)
        return self._new(self.coef, fmpq((c > 0) - (c < 0)))


_ZEROS: dict[int, tuple[Q, ...]] = {}


def _zeros(dim: int) -> tuple[Q, ...]:
    """The one tuple of ``dim`` zeros (so that adding it is seen by identity)."""
    found = _ZEROS.get(dim)
    if found is None:
        found = _ZEROS[dim] = (ZERO,) * dim
    return found


def as_aff(value: Any, dim: int) -> Aff:
    """A scalar output as an affine form (NotAffine for anything else)."""
    if isinstance(value, Aff):
        return value
    n = _number(value)
    if n is None:
        raise NotAffine(f"the output is not a number ({type(value).__name__})")
    return Aff(_zeros(dim), n)


# ---- cells: conjunctions of affine atoms -------------------------------------------------------

# An atom (f, kind) is the relation ``f(x) kind 0`` with kind "<", "<=" or "=".
Atom = tuple[Aff, str]
Cell = tuple[Atom, ...]
Cells = list[Cell]

_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "=": "=", "!=": "!="}
_NEGATE = {"<": ">=", "<=": ">", ">": "<=", ">=": "<", "=": "!=", "!=": "="}


def _compare(a: Q, op: str) -> bool:
    return {
        "<": a < 0,
        "<=": a <= 0,
        ">": a > 0,
        ">=": a >= 0,
        "=": a == 0,
        "!=": a != 0,
    }[op]


def _atom_cells(f: Aff, op: str) -> Cells:
    """The cells of ``f op 0`` for an affine f."""
    if f.is_constant():
        return [()] if _compare(f.const, op) else []
    match op:
        case "<":
            return [((f, "<"),)]
        case "<=":
            return [((f, "<="),)]
        case ">":
            return [((-f, "<"),)]
        case ">=":
            return [((-f, "<="),)]
        case "=":
            return [((f, "="),)]
    return [((f, "<"),), ((-f, "<"),)]  # !=


def product_cells(c: Any, factors: Sequence[Aff], op: str) -> Cells:
    """The cells of ``c * f1 * ... * fk  op  0`` for affine factors (sign patterns)."""
    c = _q(c)
    fs = []
    for f in factors:
        if f.is_constant():
            c *= f.const
        else:
            fs.append(f)
    if c == 0 or not fs:
        return [()] if _compare(c, op) else []
    if c < 0:
        op = _FLIP[op]
    if len(fs) == 1:
        return _atom_cells(fs[0], op)
    if len(fs) > MAX_FACTORS:
        raise NotPolyhedral(f"a product of {len(fs)} factors")
    if op == "=":
        return [((f, "="),) for f in fs]
    if op == "!=":
        return product_cells(ONE, fs, "<") + product_cells(ONE, fs, ">")
    want = -1 if op in ("<", "<=") else 1
    strict = op in ("<", ">")
    out: Cells = []
    for signs in itertools.product((1, -1), repeat=len(fs)):
        if _prod(signs) != want:
            continue
        # s f > 0 is (-s f) < 0; s f >= 0 is (-s f) <= 0
        kind = "<" if strict else "<="
        out.append(tuple((f.scale(fmpq(-s)), kind) for s, f in zip(signs, fs, strict=True)))
    return out


def _prod(signs: Sequence[int]) -> int:
    out = 1
    for s in signs:
        out *= s
    return out


def _and(a: Cells, b: Cells) -> Cells:
    out = [x + y for x in a for y in b]
    if len(out) > MAX_CELLS:
        raise NotPolyhedral(f"the condition splits into more than {MAX_CELLS} cells")
    return out


def _or(a: Cells, b: Cells) -> Cells:
    out = a + b
    if len(out) > MAX_CELLS:
        raise NotPolyhedral(f"the condition splits into more than {MAX_CELLS} cells")
    return out


Evaluate = Callable[[ast.Node], Any]


def condition_cells(node: ast.Node, evaluate: Evaluate) -> tuple[Cells, Cells]:
    """The cells where the condition holds and where it does not.

    ``evaluate(sub)`` is a sub-formula's value with the inputs as :class:`Aff`
    (raising :class:`NotAffine` for a product of two functions of the input).
    """
    return _cells(node, evaluate, True), _cells(node, evaluate, False)


def _cells(node: ast.Node, evaluate: Evaluate, holds: bool) -> Cells:
    match node:
        case ast.Const(name="true" | "otherwise"):
            return [()] if holds else []
        case ast.Const(name="false"):
            return [] if holds else [()]
        case ast.Logic(op="not", operands=ops):
            return _cells(ops[0], evaluate, not holds)
        case ast.Logic(op="and" | "or", operands=ops):
            conj = (node.op == "and") == holds
            out: Cells = [()] if conj else []
            for o in ops:
                sub = _cells(o, evaluate, holds)
                out = _and(out, sub) if conj else _or(out, sub)
            return out
        case ast.Relation(op=op, left=left, right=right):
            return _relation_cells(op if holds else _NEGATE[op], left, right, evaluate)
    value = _try(evaluate, node)
    if isinstance(value, bool):
        return [()] if value == holds else []
    raise NotPolyhedral("a condition that is not made of relations")


def _try(evaluate: Evaluate, node: ast.Node) -> Any:
    try:
        value = evaluate(node)
    except NotAffine:
        return None
    if isinstance(value, np.ndarray):
        if value.size != 1:
            raise NotPolyhedral("a condition on a vector")
        value = value.reshape(-1)[0]
    if isinstance(value, np.generic):
        value = value.item()
    return value


def _affine(value: Any) -> Aff | Q | None:
    if isinstance(value, Aff):
        return value
    return _number(value)


def _relation_cells(op: str, left: ast.Node, right: ast.Node, evaluate: Evaluate) -> Cells:
    lv, rv = _affine(_try(evaluate, left)), _affine(_try(evaluate, right))
    if lv is not None and rv is not None:
        diff = lv - rv
        if not isinstance(diff, Aff):
            return [()] if _compare(diff, op) else []
        return _atom_cells(diff, op)
    if rv is not None and _is_zero(rv):
        c, fs = _factors(left, evaluate, 0)
    elif lv is not None and _is_zero(lv):
        c, fs = _factors(right, evaluate, 0)
        op = _FLIP[op]
    else:
        raise NotPolyhedral("a relation between functions of the input that are not linear")
    return product_cells(c, fs, op)


def _is_zero(v: Aff | Q) -> bool:
    return (v.is_constant() and v.const == 0) if isinstance(v, Aff) else v == 0


def _factors(node: ast.Node, evaluate: Evaluate, depth: int) -> tuple[Q, list[Aff]]:
    """``node`` as c * f1 * ... * fk with affine f (NotPolyhedral otherwise)."""
    if depth > 12:
        raise NotPolyhedral("a product nested too deeply")
    value = _affine(_try(evaluate, node))
    if value is not None and not isinstance(value, Aff):
        return value, []
    if isinstance(value, Aff):
        return ONE, [value]
    match node:
        case ast.BinOp(op=op, left=a, right=b) if op in ast.PRODUCT_KINDS:
            ca, fa = _factors(a, evaluate, depth + 1)
            cb, fb = _factors(b, evaluate, depth + 1)
            return ca * cb, fa + fb
        case ast.BinOp(op="/", left=a, right=b):
            d = _affine(_try(evaluate, b))
            if isinstance(d, Aff) and d.is_constant():
                d = d.const
            if d is None or isinstance(d, Aff) or d == 0:
                raise NotPolyhedral("a division by a function of the input")
            ca, fa = _factors(a, evaluate, depth + 1)
            return ca / d, fa
        case ast.BinOp(op="^", left=a, right=b):
            k = _affine(_try(evaluate, b))
            if isinstance(k, Aff) and k.is_constant():
                k = k.const
            if k is None or isinstance(k, Aff) or k.q != 1 or not 0 <= k <= MAX_FACTORS:
                raise NotPolyhedral("a power that is not a small whole number")
            ca, fa = _factors(a, evaluate, depth + 1)
            return ca ** int(k), fa * int(k)
        case ast.Neg(operand=o):
            c, fs = _factors(o, evaluate, depth + 1)
            return -c, fs
    raise NotPolyhedral("a function of the input that is not a product of linear factors")


def holds_at(cells: Cells, p: Sequence[Any]) -> bool:
    q = _qs(p)
    return any(all(_compare(f.at(q), kind) for f, kind in cell) for cell in cells)


# ---- exact LPs over free variables -------------------------------------------------------------

# A linear row (a, b): a . x <= b (or < b, or = b, by the list it is in); fmpq inside.
Lin = tuple[tuple[Any, ...], Any]


def _lin(row: Lin) -> Lin:
    a, b = row
    return (_qs(a), _q(b))


@dataclass
class System:
    """``le``: a . x <= b; ``lt``: a . x < b; ``eq``: a . x = b (numbers made fmpq)."""

    le: list[Lin]
    lt: list[Lin]
    eq: list[Lin]

    def __post_init__(self) -> None:
        self.le = [_lin(r) for r in self.le]
        self.lt = [_lin(r) for r in self.lt]
        self.eq = [_lin(r) for r in self.eq]

    @classmethod
    def _of(cls, le: list[Lin], lt: list[Lin], eq: list[Lin]) -> System:
        """A system of rows already in fmpq (no conversion)."""
        out = object.__new__(cls)
        out.le, out.lt, out.eq = le, lt, eq
        return out

    def with_rows(self, le: Sequence[Lin] = (), lt: Sequence[Lin] = (), eq: Sequence[Lin] = ()) -> System:
        return System._of([*self.le, *map(_lin, le)], [*self.lt, *map(_lin, lt)], [*self.eq, *map(_lin, eq)])

    def contains(self, p: Sequence[Any]) -> bool:
        q = _qs(p)

        def dot(a: Sequence[Q]) -> Q:
            return sum((x * y for x, y in zip(a, q, strict=True)), ZERO)

        return (
            all(dot(a) <= b for a, b in self.le)
            and all(dot(a) < b for a, b in self.lt)
            and all(dot(a) == b for a, b in self.eq)
        )


def _row(f: Aff) -> Lin:
    """``f kind 0`` as a row: f.coef . x kind -f.const."""
    return (f.coef, -f.const)


def add_atoms(sys: System, atoms: Sequence[Atom]) -> System:
    le: list[Lin] = []
    lt: list[Lin] = []
    eq: list[Lin] = []
    for f, kind in atoms:
        {"<=": le, "<": lt, "=": eq}[kind].append(_row(f))
    return System._of([*sys.le, *le], [*sys.lt, *lt], [*sys.eq, *eq])


def _dot(a: Sequence[Q], p: Sequence[Q]) -> Q:
    return sum((x * y for x, y in zip(a, p, strict=True)), ZERO)


class _LP:
    def __init__(self) -> None:
        self.count = 0

    def solve(
        self,
        dim: int,
        sys: System,
        objective: Sequence[Any] | None = None,
        origin: Sequence[Any] | None = None,
    ) -> tuple[Fraction, Point] | None:
        """With ``objective``: its maximum over the closure of ``sys`` and a maximiser
        (Unbounded when infinite). Without: a point of ``sys`` itself (strict rows
        strict) as (t, x) with t > 0, or None when there is none. ``origin`` (a point
        meeting most rows) only speeds it up: x = origin + d, fewer negative sides."""
        found = self.solve_q(dim, sys, None if objective is None else _qs(objective), origin)
        return None if found is None else (_fraction(found[0]), _fractions(found[1]))

    def solve_q(
        self, dim: int, sys: System, objective: QPoint | None = None, origin: Sequence[Any] | None = None
    ) -> tuple[Q, QPoint] | None:
        """:meth:`solve` in fmpq."""
        self.count += 1
        strict = objective is None
        o = _qs(origin) if origin is not None else tuple(ZERO for _ in range(dim))
        t_strict = (ONE,) if strict else ()
        t_closed = (ZERO,) if strict else ()

        def row(a: Sequence[Q], b: Q, sense: Any, t: tuple[Q, ...]) -> QRow:
            return ((*a, *(-v for v in a), *t), sense, b - _dot(a, o))

        rows = [row(a, b, "<=", t_closed) for a, b in sys.le]
        rows += [row(a, b, "<=", t_strict) for a, b in sys.lt]
        rows += [row(a, b, "=", t_closed) for a, b in sys.eq]
        if strict:
            rows.append(((*(ZERO for _ in range(2 * dim)), ONE), "<=", ONE))
            cost: list[Q] = [ZERO] * (2 * dim) + [ONE]
        else:
            assert objective is not None
            cost = [*objective, *(-v for v in objective)]
        found = maximize_q(cost, rows)
        if found is None:
            return None
        value, y = found
        x = tuple(o[i] + y[i] - y[dim + i] for i in range(dim))
        if strict and sys.lt and value <= 0:
            return None
        if not strict:
            assert objective is not None
            value += _dot(objective, o)
        return value, x


# ---- cheap exact screens before a linear program -----------------------------------------------

Direction = tuple[tuple[Any, Any], ...]
End = tuple[Q, bool] | None  # a bound on one coordinate and whether it is strict; None: none


def _direction(a: Sequence[Q]) -> tuple[Direction, Direction, Q] | None:
    """``a`` scaled so that its first non-zero entry is +-1, the same for ``-a``, and that
    scale (None for a = 0). As numerators and denominators: an fmpq's hash is slow."""
    for v in a:
        if v:
            s = abs(v)
            scaled = [x / s for x in a]
            return tuple((x.p, x.q) for x in scaled), tuple((-x.p, x.q) for x in scaled), s
    return None


def _axis(a: Sequence[Q]) -> int | None:
    """The coordinate of a row with exactly one non-zero coefficient."""
    found = None
    for j, v in enumerate(a):
        if v:
            if found is not None:
                return None
            found = j
    return found


def _tighter(old: End, new: End, upper: bool) -> End:
    if old is None:
        return new
    assert new is not None
    if new[0] == old[0]:
        return (new[0], new[1] or old[1])
    return new if (new[0] < old[0]) == upper else old


class _Bounds:
    """What the current region's rows ``a . x <= b`` show cheaply, to rule out a system
    before a linear program; every "no point" it gives is a Farkas certificate of two or
    a few rows, so it is exact.

    * Two rows: the tightest bound on each direction; ``c . x < d`` is impossible when a
      row bounds ``-c . x`` so that ``c . x >= d`` (their sum reads 0 < 0).
    * A box: the bounds of the rows on one coordinate (``x3 >= 0``, the kinks of units fed
      by one input); a row is impossible when its least value over the box is past it.
    """

    __slots__ = ("hi", "lo", "upper")

    def __init__(self, dim: int, rows: Sequence[Lin] = ()) -> None:
        self.upper: dict[Direction, Q] = {}
        self.lo: list[End] = [None] * dim
        self.hi: list[End] = [None] * dim
        for a, b in rows:
            self.add(a, b)

    def copy(self) -> _Bounds:
        out = _Bounds(0)
        out.upper, out.lo, out.hi = dict(self.upper), list(self.lo), list(self.hi)
        return out

    def add(self, a: Sequence[Q], b: Q) -> None:
        """The region's row ``a . x <= b``."""
        found = _direction(a)
        if found is None:
            return
        key, _, scale = found
        bound = b / scale
        old = self.upper.get(key)
        if old is None or bound < old:
            self.upper[key] = bound
        _narrow(self.lo, self.hi, a, b, "<=")

    def excludes_atoms(self, atoms: Sequence[Atom]) -> bool:
        """Whether no point of the region meets every atom ``f kind 0``."""
        rows = [(f.coef, -f.const, kind) for f, kind in atoms]
        if any(self._opposed(a, b, kind) for a, b, kind in rows):
            return True
        lo, hi = list(self.lo), list(self.hi)
        for a, b, kind in rows:
            _narrow(lo, hi, a, b, kind)
        if any(_empty(low, high) for low, high in zip(lo, hi, strict=True)):
            return True
        return any(_past(lo, hi, a, b, kind) for a, b, kind in rows)

    def _opposed(self, a: Sequence[Q], b: Q, kind: str) -> bool:
        """Whether a single row of the region rules out ``a . x  kind  b``."""
        if kind == "=":
            return self._opposed(a, b, "<=") or self._opposed(tuple(-v for v in a), -b, "<=")
        found = _direction(a)
        if found is None:
            return b < 0 or (b == 0 and kind == "<")
        _, opposite, scale = found
        other = self.upper.get(opposite)
        if other is None:
            return False
        least = -other  # (a / scale) . x >= least on the region
        bound = b / scale
        return bound < least or (bound == least and kind == "<")


def _narrow(lo: list[End], hi: list[End], a: Sequence[Q], b: Q, kind: str) -> None:
    """Tighten the box by ``a . x  kind  b`` when it bears on one coordinate."""
    j = _axis(a)
    if j is None:
        return
    bound: End = (b / a[j], kind == "<")
    if kind == "=" or a[j] > 0:
        hi[j] = _tighter(hi[j], bound, upper=True)
    if kind == "=" or a[j] < 0:
        lo[j] = _tighter(lo[j], bound, upper=False)


def _empty(low: End, high: End) -> bool:
    if low is None or high is None:
        return False
    return low[0] > high[0] or (low[0] == high[0] and (low[1] or high[1]))


def _least(lo: list[End], hi: list[End], a: Sequence[Q]) -> End:
    """The infimum of ``a . x`` over the box and whether it is not reached (None: -inf)."""
    total, strict = ZERO, False
    for c, low, high in zip(a, lo, hi, strict=True):
        if not c:
            continue
        end = low if c > 0 else high
        if end is None:
            return None
        total += c * end[0]
        strict = strict or end[1]
    return total, strict


def _past(lo: list[End], hi: list[End], a: Sequence[Q], b: Q, kind: str) -> bool:
    """Whether no point of the box meets ``a . x  kind  b``."""
    if kind == "=":
        return _past(lo, hi, a, b, "<=") or _past(lo, hi, tuple(-v for v in a), -b, "<=")
    least = _least(lo, hi, a)
    if least is None:
        return False
    value, strict = least
    return value > b or (value == b and (strict or kind == "<"))


# ---- the walk ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Failure:
    """A point where (model > 0) differs from the condition."""

    point: Point
    model_value: Fraction
    holds: bool  # whether the condition holds there


@dataclass(frozen=True)
class WalkResult:
    holds: bool
    witness: Failure | None
    regions: int
    lps: int
    failures: tuple[tuple[System, Aff], ...] = ()  # without a witness asked for: the failing parts


Model = Callable[[list[Aff]], Any]
Condition = Callable[[list[Aff]], tuple[Cells, Cells]]


class _Walk:
    def __init__(self, dim: int, base: System, max_regions: int, deadline: float | None):
        self.dim = dim
        self.base = base
        self.max_regions = max_regions
        self.deadline = deadline
        self.lp = _LP()
        # the current run
        self.decisions: list[tuple[int, bool]] = []
        self.pos = 0
        self.asked = 0  # sides asked for (decide), replayed or new
        self.sys = base
        self.base_bounds = _Bounds(dim, base.le)
        self.bounds = self.base_bounds.copy()  # of the current region's rows
        self.point: QPoint = ()
        self.pending: list[tuple[list[tuple[int, bool]], QPoint]] = []

    def start(self, decisions: list[tuple[int, bool]], point: QPoint) -> list[Aff]:
        self.decisions = list(decisions)
        self.pos = 0
        self.sys = self.base
        self.bounds = self.base_bounds.copy()
        self.point = point
        return [Aff.variable(i, self.dim, self) for i in range(self.dim)]

    def _constrain(self, z: Aff, side: int) -> None:
        # side * z >= 0  is  (-side z) <= 0
        a, b = _row(z.scale(fmpq(-side)))
        self.sys = System._of([*self.sys.le, (a, b)], self.sys.lt, self.sys.eq)
        self.bounds.add(a, b)

    def decide(self, z: Aff) -> int:
        self.asked += 1
        if self.pos < len(self.decisions):
            side, constrained = self.decisions[self.pos]
            self.pos += 1
            if constrained:
                self._constrain(z, side)
            return side
        self._check_budget()
        v = z.at(self.point)
        other: QPoint | None = self.point
        if v == 0:  # both sides are looked for; the points found are not kept
            up, down = self._exists(z, 1), self._exists(z, -1)
        else:  # the other side's point (the simplex's) starts that side's walk
            other = self._find(z, -1 if v > 0 else 1)
            up, down = (True, other is not None) if v > 0 else (other is not None, True)
        if up and down:
            assert other is not None
            side = -1 if v < 0 else 1
            self.pending.append(([*self.decisions, (-side, True)], other))
            self.decisions.append((side, True))
            self._constrain(z, side)
        else:
            side = -1 if down and not up else 1
            self.decisions.append((side, False))
        self.pos += 1
        return side

    def _exists(self, z: Aff, side: int) -> bool:
        """Whether the current region has a point with side * z > 0 (z = 0 at the current
        point): the screens, a step from the point along the plane's normal, or the simplex."""
        f = z.scale(fmpq(side))
        if self.bounds.excludes_atoms(((-f, "<"),)):
            return False
        return self._along_normal(f) or self._find(z, side) is not None

    def _along_normal(self, f: Aff) -> bool:
        """Whether p + t u meets every row of the region for some t > 0, with u = f's
        coefficients (then f > 0 there, as f(p) = 0 and f grows along u): exact, no program."""
        p, u = self.point, f.coef
        for a, b in self.sys.le:
            rate = _dot(a, u)
            if rate > 0 and b - _dot(a, p) <= 0:  # the row is tight at p and u leaves it
                return False
        return True

    def _find(self, z: Aff, side: int) -> QPoint | None:
        """A point of the current region with side * z > 0 (here side * z <= 0 at the
        current point). One phase-2 simplex: with x = point + d every right-hand side
        is >= 0, and capping side * z at 1 keeps the maximum finite."""
        f = z.scale(fmpq(side))
        if self.bounds.excludes_atoms(((-f, "<"),)):  # f > 0 nowhere
            return None
        p = self.point
        start = f.at(p)

        def shifted(a: tuple[Q, ...], b: Q) -> QRow:
            return ((*a, *(-v for v in a)), "<=", b - _dot(a, p))

        rows = [shifted(a, b) for a, b in self.sys.le]
        rows.append(((*f.coef, *(-v for v in f.coef)), "<=", ONE - start))
        self.lp.count += 1
        found = maximize_q([*f.coef, *(-v for v in f.coef)], rows)
        assert found is not None  # d = 0 is feasible
        value, y = found
        if start + value <= 0:
            return None
        return tuple(x + y[i] - y[self.dim + i] for i, x in enumerate(p))

    def _check_budget(self) -> None:
        if past(self.deadline):
            raise TooManyRegions("its time budget ran out")

    def feasible(self, sys: System, atoms: Sequence[Atom] = ()) -> bool:
        """Whether ``sys`` (the current region with ``atoms`` added) has a point."""
        if self.bounds.excludes_atoms(atoms):
            return False
        if sys.contains(self.point):
            return True
        return self.lp.solve_q(self.dim, sys, origin=self.point) is not None


def _box(dim: int, box: tuple[Fraction, Fraction] | None) -> tuple[System, QPoint]:
    if box is None:
        return System([], [], []), tuple(ZERO for _ in range(dim))
    lo, hi = _q(box[0]), _q(box[1])
    le: list[Lin] = []
    for i in range(dim):
        e = tuple(ONE if j == i else ZERO for j in range(dim))
        le += [(e, hi), (tuple(-v for v in e), -lo)]
    mid = (lo + hi) / 2
    return System(le, [], []), tuple(mid for _ in range(dim))


def decide_classify(
    dim: int,
    model: Model,
    condition: Condition,
    *,
    box: tuple[Fraction, Fraction] | None = None,
    max_regions: int | None = None,
    deadline: float | None = None,
    witness: bool = True,
) -> WalkResult:
    """Whether ``model(x) > 0`` exactly where the condition holds, over R^dim (or the box
    ``[lo, hi]^dim``), deciding every activation region exactly. Without ``witness`` the
    failing parts found are returned as they are (:func:`simplest_failure` makes the
    witness from them when it is wanted).

    ``model(xs)`` evaluates the network at the :class:`Aff` inputs ``xs``;
    ``condition(xs)`` returns the cells where the condition holds and where it
    does not (:func:`condition_cells`; it may evaluate networks too). Raises
    :class:`NotAffine`, :class:`NotPolyhedral` or :class:`TooManyRegions`.
    """
    cap = MAX_REGIONS if max_regions is None else max_regions
    base, start = _box(dim, box)
    walk = _Walk(dim, base, cap, deadline)
    walk.pending = [([], start)]
    regions = 0
    failures: list[tuple[System, Aff]] = []
    cells = _CellsOnce(walk, condition)
    while walk.pending and len(failures) < MAX_FAILURES:
        decisions, point = walk.pending.pop()
        regions += 1
        if regions > cap:
            raise TooManyRegions(f"more than {cap} activation regions")
        xs = walk.start(decisions, point)
        m = as_aff(model(xs), dim)
        true_cells, false_cells = cells(xs)
        checks = [(*cell, (m, "<=")) for cell in true_cells]  # the condition holds: m must be > 0
        checks += [(*cell, (-m, "<")) for cell in false_cells]  # it does not: m must not be > 0
        for atoms in checks:
            sys = add_atoms(walk.sys, atoms)
            if walk.feasible(sys, atoms):
                failures.append((sys, m))
    if not failures or not witness:
        return WalkResult(not failures, None, regions, walk.lp.count, tuple(failures))
    best = simplest_failure(dim, failures, walk.lp)
    return WalkResult(False, best, regions, walk.lp.count)


def simplest_failure(dim: int, failures: Sequence[tuple[System, Aff]], lp: _LP | None = None) -> Failure:
    """The simplest witness of the failing parts (a system and the network's affine form on it)."""
    best: Failure | None = None
    for sys, m in failures:
        for order in (range(dim), reversed(range(dim))):
            p = simple_point(dim, sys, list(order), lp)
            value = _fraction(m.at(p))
            candidate = Failure(p, value, not value > 0)
            if best is None or _point_key(p) < _point_key(best.point):
                best = candidate
    assert best is not None
    return best


class _CellsOnce:
    """The condition's cells in the current region; computed once when the condition asked
    the walk for no side (no activation of the input in it): then they are the same in
    every region, as the inputs are the same affine forms."""

    def __init__(self, walk: _Walk, condition: Condition) -> None:
        self.walk = walk
        self.condition = condition
        self.fixed: tuple[Cells, Cells] | None = None

    def __call__(self, xs: list[Aff]) -> tuple[Cells, Cells]:
        if self.fixed is not None:
            return self.fixed
        asked = self.walk.asked
        found = self.condition(xs)
        if self.walk.asked == asked:
            self.fixed = found
        return found


@dataclass(frozen=True)
class DifferingInputs:
    """A point of several inputs where the two functions differ, with both values there."""

    point: Point
    model_value: Fraction
    target_value: Fraction


@dataclass(frozen=True)
class EqualResult:
    equal: bool
    witness: DifferingInputs | None
    regions: int
    lps: int


def decide_equal(
    dim: int,
    model: Model,
    target: Model,
    *,
    box: tuple[Fraction, Fraction] | None = None,
    max_regions: int | None = None,
    deadline: float | None = None,
    tolerance: tuple[Fraction, Fraction] = (Fraction(0), Fraction(0)),
) -> EqualResult:
    """Whether two piecewise-linear functions (both walked together) are equal on R^dim
    (or the box). Every visited region is full-dimensional, so on a region the two
    affine formulas agree iff their coefficients do; otherwise a simple point of the
    region where they differ is the witness.

    With ``tolerance = (atol, rtol)`` they count as equal where
    |model - target| <= atol + rtol |target|; on a region both are affine, so the
    points past it are found exactly too, on each side of target = 0."""
    cap = MAX_REGIONS if max_regions is None else max_regions
    base, start = _box(dim, box)
    walk = _Walk(dim, base, cap, deadline)
    walk.pending = [([], start)]
    regions = 0
    best: DifferingInputs | None = None
    while walk.pending:
        decisions, point = walk.pending.pop()
        regions += 1
        if regions > cap:
            raise TooManyRegions(f"more than {cap} activation regions")
        xs = walk.start(decisions, point)
        m = as_aff(model(xs), dim)
        t = as_aff(target(xs), dim)
        d = m - t
        if d.is_constant() and d.const == 0:
            continue
        for atoms in _beyond(d, t, tolerance):
            sys = add_atoms(walk.sys, atoms)
            if walk.feasible(sys, atoms):
                p = simple_point(dim, sys, range(dim), walk.lp)
                found = DifferingInputs(p, _fraction(m.at(p)), _fraction(t.at(p)))
                if best is None or _point_key(p) < _point_key(best.point):
                    best = found
        if best is not None and regions >= MAX_FAILURES:
            break
    if best is None:
        return EqualResult(True, None, regions, walk.lp.count)
    return EqualResult(False, best, regions, walk.lp.count)


def _beyond(d: Aff, t: Aff, tolerance: tuple[Fraction, Fraction]) -> list[tuple[Atom, ...]]:
    """The atoms of the parts of a region where |d| > atol + rtol |t|: d < 0 or d > 0 without
    a tolerance; else, on each side s of t = 0, s' d - rtol s t - atol > 0 for s' = +-1."""
    atol, rtol = _q(tolerance[0]), _q(tolerance[1])
    if not (atol or rtol):
        return [((f, "<"),) for f in (d, -d)]
    out: list[tuple[Atom, ...]] = []
    for s in (ONE, -ONE):
        side = (t.scale(-s), "<=")  # s t >= 0
        for f in (d, -d):
            excess = f - t.scale(rtol * s) - atol
            out.append((side, (-excess, "<")))
    return out


def _point_key(p: Point) -> tuple[int, Fraction, Fraction, Point]:
    return (max(v.denominator for v in p), max(abs(v) for v in p), sum((abs(v) for v in p), Fraction(0)), p)


def simple_point(dim: int, sys: System, order: Sequence[int], lp: _LP | None = None) -> Point:
    """A simple point of the (non-empty) system: each coordinate in turn the simplest
    value it can take given the ones already fixed.

    0 is tried first (it is simpler than any other value: when it fits, it is the value,
    whatever the coordinate's bounds). Whether another value fits is told by a point of
    the system that takes it: on the segment from a known point of the system to a
    maximiser of the coordinate's bound (all but its far end is in the system, strict rows
    included), checked exactly; by a linear program only when no such point is at hand."""
    lp = lp or _LP()
    fixed: dict[int, Fraction] = {}
    known: Point | None = None
    for i in order:
        e = tuple(Fraction(int(j == i)) for j in range(dim))
        at_zero = _point_at_zero(lp, dim, sys, known, i)
        if at_zero is not None:  # 0 is the simplest value of all: no bound needed
            sys, known = at_zero
            fixed[i] = Fraction(0)
            continue
        low = _bound(lp, dim, sys, tuple(-v for v in e), known)
        high = _bound(lp, dim, sys, e, known)
        lo = None if low is None else -low[0]
        hi = None if high is None else high[0]
        candidates: list[Fraction] = []
        if lo is not None and hi is not None and lo == hi:
            candidates = [lo]
        else:
            candidates = [simplest_in(Interval.open(lo, hi))]
            candidates += [v for v in (lo, hi) if v is not None]
            candidates.sort(key=simplicity_key)
        ends = [found[1] for found in (low, high) if found is not None]
        for v in candidates:
            trial = sys.with_rows(eq=[(e, v)])
            point = _point_taking(trial, known, ends, i, v)
            if point is None:
                solved = lp.solve(dim, trial, origin=known)
                point = None if solved is None else solved[1]
            if point is not None:
                sys, known = trial, point
                fixed[i] = v
                break
        else:  # pragma: no cover - the open range always works
            raise AssertionError("no value of a coordinate fits")
    return tuple(fixed[i] for i in range(dim))


def _point_at_zero(
    lp: _LP, dim: int, sys: System, known: Point | None, i: int
) -> tuple[System, Point] | None:
    """The system with x_i = 0 and a point of it, when it has one."""
    e = tuple(Fraction(int(j == i)) for j in range(dim))
    trial = sys.with_rows(eq=[(e, Fraction(0))])
    if known is not None and known[i] == 0:
        return trial, known
    solved = lp.solve(dim, trial, origin=known)
    return None if solved is None else (trial, solved[1])


def _point_taking(
    trial: System, known: Point | None, ends: Sequence[Point], i: int, v: Fraction
) -> Point | None:
    """A point of ``trial`` (the system with x_i = v) on a segment from ``known`` (a point
    of the system) towards one of ``ends`` (points of its closure), or None."""
    if known is None:
        return None
    for end in ends:
        span = end[i] - known[i]
        t = Fraction(0) if v == known[i] else (v - known[i]) / span if span else None
        if t is not None and 0 <= t < 1:
            point = tuple(k + t * (b - k) for k, b in zip(known, end, strict=True))
            if trial.contains(point):
                return point
    return None


def _bound(
    lp: _LP, dim: int, sys: System, objective: tuple[Fraction, ...], origin: Point | None
) -> tuple[Fraction, Point] | None:
    """The maximum of ``objective`` over the closure of ``sys`` and a maximiser; None when
    unbounded. ``origin``: a point of the system, if one is known (it only speeds it up)."""
    try:
        found = lp.solve(dim, sys, objective, origin)
    except Unbounded:
        return None
    assert found is not None
    return found


__all__ = [
    "MAX_REGIONS",
    "Aff",
    "DifferingInputs",
    "EqualResult",
    "Failure",
    "NotAffine",
    "NotPolyhedral",
    "System",
    "TooManyRegions",
    "WalkResult",
    "as_aff",
    "condition_cells",
    "decide_classify",
    "decide_equal",
    "holds_at",
    "product_cells",
    "simple_point",
    "simplest_failure",
]
