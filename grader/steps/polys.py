"""Exact arithmetic of vectors and matrices whose entries are polynomials, without sympy.

:mod:`grader.steps.arrays` writes the arrays of a step out with symbolic entries at small
sizes; this module does that arithmetic in Fractions. An entry is a Laurent polynomial: a
map from monomials (atoms with whole exponents) to rational coefficients. Atoms are the
symbols and entries, the constants ``e`` and ``pi``, and opaque applications such as
``exp(<argument>)`` or ``sqrt(<argument>)`` keyed by their argument's canonical form.

Two sides with the same canonical form are equal wherever both have a value (the same
operations on the same values), whatever relations hold between the atoms: equality here
is a sound "shown" at that size. The converse is not claimed: sides that differ here may
still be equal (``exp(a) exp(b)`` and ``exp(a + b)``), so a difference found with an
opaque atom present is :class:`NotCovered` (the caller may try sympy), and never a witness.
``sqrt(p)^2`` is reduced to ``p`` (the radicand of a norm is a sum of squares).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction

from grader.mathlang import ast

MAX_POWER = 8
MAX_TERMS = 4000  # an entry with more terms than this is not expanded (student input is hostile)
MAX_WORK = 20_000  # products of terms both sides may take at one size (at most a few tenths of a second)
_PRODUCTS = ("implicit", "cdot", "dot", "matmul", "times")
_OPAQUE = ("exp", "log", "sqrt", "abs", "tanh")

Monomial = tuple[tuple[str, int], ...]
Poly = dict[Monomial, Fraction]


class NotCovered(Exception):
    """Arithmetic this module does not do (sympy may): a division by a sum, say."""


class TooLarge(Exception):
    """An entry with more terms than :data:`MAX_TERMS`: not expanded, by this or by sympy."""


class Shapes(Exception):
    """Shapes that do not fit (a 2 x 1 vector times a 2 x 1 vector, a scalar plus a vector)."""


@dataclass(frozen=True)
class Array:
    rows: int
    cols: int
    entries: tuple[Poly, ...]  # row-major

    def at(self, i: int, j: int) -> Poly:
        return self.entries[i * self.cols + j]


Value = Poly | Array


class _Atoms:
    """The radicands of the ``sqrt`` atoms met so far (``sqrt(p)^2`` becomes ``p``), and
    whether an opaque atom was made (then a difference proves nothing)."""

    def __init__(self) -> None:
        self.radicands: dict[str, Poly] = {}
        self.opaque = False
        self.work = 0  # products of terms taken so far
        self.functions: frozenset[str] = frozenset()  # functions not defined here: opaque atoms


def constant(c: Fraction | int) -> Poly:
    return {(): Fraction(c)} if c else {}


def symbol(name: str) -> Poly:
    return {((name, 1),): Fraction(1)}


def _add(a: Poly, b: Poly, sign: int = 1) -> Poly:
    out = dict(a)
    for m, c in b.items():
        v = out.get(m, Fraction(0)) + sign * c
        if v:
            out[m] = v
        else:
            out.pop(m, None)
    return out


def _mono_mul(a: Monomial, b: Monomial) -> Monomial:
    powers: dict[str, int] = dict(a)
    for atom, e in b:
        powers[atom] = powers.get(atom, 0) + e
    return tuple(sorted((k, v) for k, v in powers.items() if v))


def _mul(a: Poly, b: Poly, atoms: _Atoms) -> Poly:
    atoms.work += len(a) * len(b)
    if len(a) * len(b) > MAX_TERMS or len(a) > MAX_TERMS or len(b) > MAX_TERMS or atoms.work > MAX_WORK:
        raise TooLarge("an entry too large to expand")
    out: Poly = {}
    for ma, ca in a.items():
        for mb, cb in b.items():
            m = _mono_mul(ma, mb)
            v = out.get(m, Fraction(0)) + ca * cb
            if v:
                out[m] = v
            else:
                out.pop(m, None)
    return _reduce(out, atoms)


def _reduce(p: Poly, atoms: _Atoms) -> Poly:
    """Every ``sqrt(r)^k`` with ``k >= 2`` written as ``r^(k // 2) sqrt(r)^(k % 2)``."""
    if not atoms.radicands or not any(a in atoms.radicands and e >= 2 for m in p for a, e in m):
        return p
    out: Poly = {}
    for m, c in p.items():
        term: Poly = {tuple((a, e) for a, e in m if not (a in atoms.radicands and e >= 2)): c}
        for a, e in m:
            if a in atoms.radicands and e >= 2:
                if e % 2:
                    term = _mul(term, symbol(a), atoms)
                for _ in range(e // 2):
                    term = _mul(term, atoms.radicands[a], atoms)
        out = _add(out, term)
    return out


def _power(a: Poly, k: int, atoms: _Atoms) -> Poly:
    if k == 0:
        return constant(1)  # 0^0 as 1, as sympy has it
    if len(a) == 1:  # a monomial: any whole power, negative ones included
        ((m, c),) = a.items()
        if k < 0 and not c:
            raise ZeroDivisionError
        return _reduce({tuple((x, e * k) for x, e in m): c**k}, atoms)
    if k < 0:
        raise NotCovered("a negative power of a sum")
    out = constant(1)
    for _ in range(k):
        out = _mul(out, a, atoms)
    return out


def canonical(p: Poly) -> str:
    return repr(sorted((m, (c.numerator, c.denominator)) for m, c in p.items()))


def _opaque(name: str, arg: Poly, atoms: _Atoms) -> Poly:
    if not arg and name in ("sqrt", "abs", "tanh"):
        return {}
    if not arg and name == "exp":
        return constant(1)
    if name == "abs" and len(arg) == 1 and () in arg:
        return constant(abs(arg[()]))
    key = f"{name}({canonical(arg)})"
    atoms.opaque = True
    if name == "sqrt":
        atoms.radicands[key] = arg
    return symbol(key)


def _scalar(v: Value) -> Value:
    if isinstance(v, Array) and v.rows == v.cols == 1:
        return v.entries[0]
    return v


def _matmul(a: Array, b: Array, atoms: _Atoms) -> Array:
    if a.cols != b.rows:
        raise Shapes(f"{a.rows} x {a.cols} times {b.rows} x {b.cols}")
    entries = []
    for i in range(a.rows):
        for j in range(b.cols):
            total: Poly = {}
            for k in range(a.cols):
                total = _add(total, _mul(a.at(i, k), b.at(k, j), atoms))
            entries.append(total)
    return Array(a.rows, b.cols, tuple(entries))


def transposed(v: Array) -> Array:
    return Array(v.cols, v.rows, tuple(v.at(i, j) for j in range(v.cols) for i in range(v.rows)))


def _each(v: Array, f: Iterable[Poly]) -> Array:
    return Array(v.rows, v.cols, tuple(f))


def value(node: ast.Node, values: dict[str, Value], atoms: _Atoms) -> Value:
    """The node's value: a polynomial, or an array of them."""
    if isinstance(node, ast.Num):
        return constant(Fraction(node.value))
    if isinstance(node, ast.Sym):
        return values[node.name]
    if isinstance(node, ast.Const) and node.name in ("e", "pi"):
        return symbol(f"<{node.name}>")  # a constant: the same on both sides
    if isinstance(node, ast.Neg):
        v = value(node.operand, values, atoms)
        return _each(v, (_add({}, p, -1) for p in v.entries)) if isinstance(v, Array) else _add({}, v, -1)
    if isinstance(node, ast.Transpose):
        v = value(node.operand, values, atoms)
        return transposed(v) if isinstance(v, Array) else v
    if isinstance(node, ast.Call):
        return _call(node, values, atoms)
    if isinstance(node, ast.BinOp):
        return _binop(node, values, atoms)
    if isinstance(node, (ast.ListLit, ast.Matrix)):
        return _literal(node, values, atoms)
    raise NotCovered(type(node).__name__)


def _call(node: ast.Call, values: dict[str, Value], atoms: _Atoms) -> Value:
    """The norm of a column; ``exp``, ``sqrt``... of a scalar (opaque atoms); a function not
    defined here (``atoms.functions``) of a scalar: an opaque atom keyed by the argument."""
    args = [_scalar(value(a, values, atoms)) for a in node.args]
    if node.name == "norm" and len(args) == 1 and isinstance(args[0], Array) and args[0].cols == 1:
        squares: Poly = {}
        for p in args[0].entries:
            squares = _add(squares, _mul(p, p, atoms))
        return _opaque("sqrt", squares, atoms)
    if len(args) != 1 or isinstance(args[0], Array):
        raise NotCovered(node.name)
    if node.name in _OPAQUE:
        return _opaque(node.name, args[0], atoms)
    if node.name in atoms.functions:
        atoms.opaque = True
        return symbol(f"{node.name}({canonical(args[0])})")  # the same function of the same value
    raise NotCovered(node.name)


def _literal(node: ast.ListLit | ast.Matrix, values: dict[str, Value], atoms: _Atoms) -> Array:
    """``[a, b, c]`` (a column) or ``\\begin{bmatrix}`` (rows) of scalars."""
    rows = [node.items] if isinstance(node, ast.ListLit) else list(node.rows)
    cells = [[_scalar(value(i, values, atoms)) for i in row] for row in rows]
    width = len(cells[0]) if cells else 0
    if not width or any(len(r) != width for r in cells):
        raise Shapes("rows of different lengths")
    flat = [i for r in cells for i in r]
    entries = tuple(i for i in flat if not isinstance(i, Array))
    if len(entries) != len(flat):
        raise NotCovered("a list or matrix of arrays")
    if isinstance(node, ast.ListLit):
        return Array(len(entries), 1, entries)
    return Array(len(cells), width, entries)


def _binop(node: ast.BinOp, values: dict[str, Value], atoms: _Atoms) -> Value:
    a, b = _scalar(value(node.left, values, atoms)), _scalar(value(node.right, values, atoms))
    if node.op in ("+", "-"):
        return _sum(a, b, 1 if node.op == "+" else -1)
    if node.op in _PRODUCTS or node.op == "star":
        return _product(a, b, node.op, atoms)
    if node.op == "/" and not isinstance(b, Array):
        return _quotient(a, b, atoms)
    if node.op == "^" and isinstance(a, Array) and not isinstance(b, Array) and a.rows == a.cols:
        k = int(b[()]) if len(b) == 1 and () in b and b[()].denominator == 1 else 0
        if not 1 <= k <= MAX_POWER:
            raise NotCovered("a power of a matrix that is not a small whole number")
        out = a
        for _ in range(k - 1):
            out = _matmul(out, a, atoms)  # A^2 = A A (products of matrices do not commute)
        return out
    if node.op == "^" and not isinstance(a, Array) and not isinstance(b, Array):
        if len(b) > 1 or (b and () not in b) or (b and b[()].denominator != 1):
            raise NotCovered("a power that is not a whole number")
        k = int(b[()]) if b else 0
        if abs(k) > MAX_POWER:
            raise NotCovered("a power too large to write out")
        return _power(a, k, atoms)
    raise NotCovered(node.op)


def _sum(a: Value, b: Value, sign: int) -> Value:
    if isinstance(a, Array) and isinstance(b, Array):
        if (a.rows, a.cols) != (b.rows, b.cols):
            raise Shapes("arrays of different shapes added")
        return _each(a, (_add(x, y, sign) for x, y in zip(a.entries, b.entries, strict=True)))
    if isinstance(a, Array) or isinstance(b, Array):
        raise Shapes("a scalar added to an array")
    return _add(a, b, sign)


def _product(a: Value, b: Value, op: str, atoms: _Atoms) -> Value:
    if isinstance(a, Array) and isinstance(b, Array):
        if op == "star":
            raise Shapes("* between arrays")
        if op in ("cdot", "dot") and a.cols == b.cols == 1 and a.rows == b.rows > 1:
            return _matmul(transposed(a), b, atoms)  # u \cdot v of two columns: their inner product
        return _matmul(a, b, atoms)
    if isinstance(a, Array):
        assert not isinstance(b, Array)
        return _each(a, (_mul(x, b, atoms) for x in a.entries))
    if isinstance(b, Array):
        return _each(b, (_mul(a, y, atoms) for y in b.entries))
    return _mul(a, b, atoms)


def _quotient(a: Value, b: Poly, atoms: _Atoms) -> Value:
    if not b:
        raise ZeroDivisionError
    if len(b) != 1:
        raise NotCovered("a division by a sum")
    inverse = _power(b, -1, atoms)
    if isinstance(a, Array):
        return _each(a, (_mul(x, inverse, atoms) for x in a.entries))
    return _mul(a, inverse, atoms)


def _values(names: set[str], arrays: set[str], n: int) -> dict[str, Value]:
    out: dict[str, Value] = {}
    for name in sorted(names):
        if name not in arrays:
            out[name] = symbol(name)
        elif name.split("_")[0][:1].isupper():
            out[name] = Array(n, n, tuple(symbol(f"{name}[{i},{j}]") for i in range(n) for j in range(n)))
        else:
            out[name] = Array(n, 1, tuple(symbol(f"{name}[{i}]") for i in range(n)))
    return out


def equal_at_size(left: ast.Node, right: ast.Node, names: set[str], arrays: set[str], n: int) -> bool:
    """True when the two sides are the same (arrays of) polynomials at size ``n``; False when
    they differ and nothing opaque is in them; :class:`NotCovered` when a difference may
    come from what this arithmetic cannot see."""
    atoms = _Atoms()
    values = _values(names, arrays, n)
    a, b = _scalar(value(left, values, atoms)), _scalar(value(right, values, atoms))
    if isinstance(a, Array) != isinstance(b, Array):
        return False
    if isinstance(a, Array) and isinstance(b, Array):
        same = (a.rows, a.cols) == (b.rows, b.cols) and all(
            not _add(x, y, -1) for x, y in zip(a.entries, b.entries, strict=True)
        )
    else:
        assert not isinstance(a, Array) and not isinstance(b, Array)
        same = not _add(a, b, -1)
    if not same and atoms.opaque:
        raise NotCovered("opaque functions: a difference may not be one")
    return same


def derivative(p: Poly, atom: str) -> Poly:
    """The partial derivative of a polynomial by one of its atoms (a symbol or an entry);
    :class:`NotCovered` when an opaque atom (``exp(...)``, ``sqrt(...)``) is in it."""
    out: Poly = {}
    for m, c in p.items():
        if any("(" in a for a, _ in m):
            raise NotCovered("the derivative of an opaque function")
        powers = dict(m)
        e = powers.get(atom, 0)
        if not e:
            continue
        powers[atom] = e - 1
        out = _add(out, {tuple(sorted((k, v) for k, v in powers.items() if v)): c * e})
    return out


def evaluate(p: Poly, point: dict[str, Fraction]) -> Fraction:
    """The polynomial's exact value where each atom takes the point's value (KeyError for an
    atom the point does not give; ZeroDivisionError for a negative power of zero)."""
    total = Fraction(0)
    for m, c in p.items():
        term = Fraction(c)
        for a, e in m:
            term *= point[a] ** e
        total += term
    return total


def atoms_of(v: Value) -> set[str]:
    entries = v.entries if isinstance(v, Array) else (v,)
    return {a for p in entries for m in p for a, _ in m}


def as_scalar(v: Value) -> Value:
    """A 1 x 1 array as its entry."""
    return _scalar(v)


def difference(a: Poly, b: Poly) -> Poly:
    return _add(a, b, -1)


def new_atoms(functions: frozenset[str] = frozenset()) -> _Atoms:
    """The arithmetic's state for one size; ``functions``: names of functions not defined
    here, whose applications to a scalar are opaque atoms keyed by the argument's value."""
    atoms = _Atoms()
    atoms.functions = functions
    return atoms


def is_opaque(atoms: _Atoms) -> bool:
    """Was an opaque atom made (then a difference found proves nothing)?"""
    return atoms.opaque
