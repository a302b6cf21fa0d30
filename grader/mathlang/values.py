"""Values and scopes of the evaluator (see :mod:`grader.mathlang.evaluate`).

Every value is a :class:`Val`: a numpy array whose first axis is the *batch*
(B sample points evaluated at once) and whose remaining axes are the value's
logical shape: ``()`` a scalar, ``(n,)`` an n-vector (a column in products),
``(r, c)`` a matrix. A row vector (``x^T``) is a 1×n matrix flagged ``row``.

Three backends share the tree walk:

* ``float``: float64 arrays, B points at once (sampling, equivalence checks);
* ``exact``: object arrays of ``Fraction`` (or any element with the arithmetic
  operators and, for kinks, ``relu``/``heaviside``/``maximum``... methods, such
  as :class:`grader.networks.pl.PL`), B = 1;
* ``mp``: object arrays of mpmath numbers at 40 digits, to settle points where
  float64 is in doubt (overflow, cancellation).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Literal

import numpy as np

from grader.mathlang import ast

BackendName = Literal["float", "exact", "mp"]

MAX_DIM = 64  # largest size of one axis of any array value
MAX_ELEMENTS = 4096  # largest number of entries of one array value (per point)


class Val:
    """A batched value: ``a.shape == (B, *logical_shape)``; ``row`` marks a 1×n row vector."""

    __slots__ = ("a", "row")

    def __init__(self, a: np.ndarray, row: bool = False):
        self.a = a
        self.row = row

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.a.shape[1:])

    @property
    def ndim(self) -> int:
        return self.a.ndim - 1

    @property
    def batch(self) -> int:
        return int(self.a.shape[0])

    def is_scalar(self) -> bool:
        return self.a.ndim == 1

    def is_vector(self) -> bool:
        """A column vector (1-D logical shape)."""
        return self.a.ndim == 2

    def is_matrix(self) -> bool:
        return self.a.ndim == 3

    def __repr__(self) -> str:
        return f"Val(shape={self.shape}, row={self.row}, dtype={self.a.dtype})"


@dataclass(frozen=True)
class FunctionDef:
    """A function the part declares: an alias of a built-in, or a one-parameter formula."""

    name: str
    alias: str | None = None  # a built-in's name
    param: str | None = None
    body: ast.Node | None = None
    text: str = ""  # the body's source, for messages


@dataclass
class Env:
    """Everything one evaluation needs."""

    backend: BackendName
    batch: int
    values: dict[str, Val]
    functions: dict[str, FunctionDef] = field(default_factory=dict)
    # Sizes the checker gave distinct symbolic dims, for messages: {5: "n", 7: "m"}.
    dim_names: dict[int, str] = field(default_factory=dict)
    # Names shown in "this part knows ..." (default: the keys of ``values``).
    known: tuple[str, ...] | None = None
    # When set, every node's value is recorded here: id(node) -> Val.
    trace: dict[int, Val] | None = None
    depth: int = 0  # nesting of declared-function calls

    def known_names(self) -> tuple[str, ...]:
        if self.known is not None:
            return self.known
        return tuple(sorted(k for k in self.values if k != "1"))


def dim_text(size: int, names: dict[int, str]) -> str:
    return names.get(size, str(size))


def describe(val: Val, names: dict[int, str] | None = None) -> str:
    """``scalar``, ``n-vector``, ``row vector (1×n)``, ``n×m matrix``."""
    return describe_shape(val.shape, val.row, names or {})


def describe_shape(shape: tuple[int, ...], row: bool, names: dict[int, str]) -> str:
    if not shape:
        return "scalar"
    dims = [dim_text(s, names) for s in shape]
    if len(shape) == 1:
        return f"{dims[0]}-vector"
    if row and len(shape) == 2:
        return f"row vector (1×{dims[1]})"
    kind = "matrix" if len(shape) == 2 else "array"
    return f"{'×'.join(dims)} {kind}"


# ---- a plain-text printer for sub-formulas in messages --------------------------

_PREC = {"+": 1, "-": 1, "/": 2, "^": 4}


def show(node: ast.Node) -> str:
    """The formula as plain text (for messages; not necessarily the student's spelling)."""
    return _show(node, 0)


def show_operand(node: ast.Node) -> str:
    """The formula as plain text, in parentheses unless it is an atom (``x``, ``S(x)``, ``W^T``)."""
    text = show(node)
    atoms = ast.Sym | ast.Num | ast.Const | ast.Call | ast.Transpose | ast.Index | ast.ListLit | ast.Matrix
    return text if isinstance(node, atoms) else f"({text})"


def _prec(node: ast.Node) -> int:
    if isinstance(node, ast.BinOp):
        return _PREC.get(node.op, 2)
    if isinstance(node, ast.Neg):
        return 1
    if isinstance(node, ast.Relation | ast.Logic):
        return 0
    return 5


_PRODUCT_TEXT = {
    "implicit": " ",
    "star": "*",
    "cdot": "·",
    "times": "×",
    "dot": ".",
    "matmul": " @ ",
    "odot": " ⊙ ",
    "otimes": " ⊗ ",
}


def _wrap(node: ast.Node, level: int) -> str:
    text = _show(node, level)
    return f"({text})" if _prec(node) < level else text


def _show(node: ast.Node, level: int) -> str:
    match node:
        case ast.Num(value=v):
            return _num_text(v)
        case ast.Sym(name=n) | ast.Const(name=n):
            return n
        case ast.Neg(operand=o):
            return "-" + _wrap(o, 2)
        case ast.BinOp(op="^", left=a, right=b):
            return f"{_wrap(a, 5)}^{_wrap(b, 5)}"
        case ast.BinOp(op=op, left=a, right=b) if op in ("+", "-"):
            return f"{_wrap(a, 1)} {op} {_wrap(b, 2)}"
        case ast.BinOp(op="/", left=a, right=b):
            return f"{_wrap(a, 2)}/{_wrap(b, 3)}"
        case ast.BinOp(op=op, left=a, right=b):
            return f"{_wrap(a, 2)}{_PRODUCT_TEXT.get(op, '*')}{_wrap(b, 3)}"
        case ast.Transpose(operand=o):
            return f"{_wrap(o, 5)}^T"
        case ast.Prime(operand=o):
            return f"{_wrap(o, 5)}'"
        case ast.Call(name=n, args=args):
            return f"{n}({', '.join(_show(a, 0) for a in args)})"
        case ast.Index(operand=o, indices=ix):
            inner = ",".join(_show(i, 0) for i in ix)
            return f"{_wrap(o, 5)}_{{{inner}}}"
        case ast.ListLit(items=items) | ast.TupleLit(items=items):
            return "[" + ", ".join(_show(i, 0) for i in items) + "]"
        case ast.Matrix(rows=rows):
            return "[" + "; ".join(", ".join(_show(i, 0) for i in r) for r in rows) + "]"
        case ast.Relation(op=op, left=a, right=b):
            return f"{_show(a, 1)} {op} {_show(b, 1)}"
        case ast.Logic(op="not", operands=ops):
            return "not " + _wrap(ops[0], 5)
        case ast.Logic(op=op, operands=ops):
            return f" {op} ".join(_wrap(o, 1) for o in ops)
        case ast.Piecewise(cases=cases):
            inner = ", ".join(f"({_show(v, 0)}, {_show(c, 0)})" for v, c in cases)
            return f"piecewise({inner})"
        case _:
            return type(node).__name__


def _num_text(v: Fraction) -> str:
    if v.denominator == 1:
        return str(v.numerator)
    return f"{v.numerator}/{v.denominator}"
