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

from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING, Any, Literal

from grader.mathlang import ast
from grader.mathlang.wording import value_kind

if TYPE_CHECKING:
    import numpy as np

BackendName = Literal["float", "exact", "mp"]


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


def describe(val: Val, names: dict[int, str] | None = None) -> str:
    """``scalar``, ``n-vector``, ``row vector (1×n)``, ``n×m matrix``."""
    return value_kind(val.shape, val.row, names)


# ---- a plain-text printer for sub-formulas in messages --------------------------

_PREC = {"+": 1, "-": 1, "/": 2, "^": 4}


def show(node: ast.Node) -> str:
    """The formula as plain text (for messages; not necessarily the student's spelling)."""
    return _show(node)


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
    text = _show(node)
    return f"({text})" if _prec(node) < level else text


def _show(node: ast.Node) -> str:
    shown = _SHOWN.get(type(node))
    return shown(node) if shown is not None else type(node).__name__


def _show_binop(node: ast.BinOp) -> str:
    a, b, op = node.left, node.right, node.op
    if op == "^":
        return f"{_wrap(a, 5)}^{_wrap(b, 5)}"
    if op in ("+", "-"):
        return f"{_wrap(a, 1)} {op} {_wrap(b, 2)}"
    if op == "/":
        return f"{_wrap(a, 2)}/{_wrap(b, 3)}"
    return f"{_wrap(a, 2)}{_PRODUCT_TEXT.get(op, '*')}{_wrap(b, 3)}"


def _show_logic(node: ast.Logic) -> str:
    if node.op == "not":
        return "not " + _wrap(node.operands[0], 5)
    return f" {node.op} ".join(_wrap(o, 1) for o in node.operands)


def _show_items(items: tuple[ast.Node, ...]) -> str:
    return ", ".join(_show(item) for item in items)


_SHOWN: dict[type, Callable[[Any], str]] = {
    ast.Num: lambda n: number_text(n.value, n.is_float),
    ast.Sym: lambda n: n.name,
    ast.Const: lambda n: n.name,
    ast.Neg: lambda n: "-" + _wrap(n.operand, 2),
    ast.BinOp: _show_binop,
    ast.Transpose: lambda n: f"{_wrap(n.operand, 5)}^T",
    ast.Prime: lambda n: f"{_wrap(n.operand, 5)}'",
    ast.Call: lambda n: f"{n.name}({_show_items(n.args)})",
    ast.Index: lambda n: f"{_wrap(n.operand, 5)}_{{{','.join(_show(i) for i in n.indices)}}}",
    ast.ListLit: lambda n: f"[{_show_items(n.items)}]",
    ast.TupleLit: lambda n: f"[{_show_items(n.items)}]",
    ast.Matrix: lambda n: "[" + "; ".join(_show_items(row) for row in n.rows) + "]",
    ast.Relation: lambda n: f"{_show(n.left)} {n.op} {_show(n.right)}",
    ast.Logic: _show_logic,
    ast.Piecewise: lambda n: "piecewise(" + ", ".join(f"({_show(v)}, {_show(c)})" for v, c in n.cases) + ")",
}


LONGEST_DECIMAL = 12


def number_text(value: Fraction, is_float: bool = False) -> str:
    """A literal in the student's notation: ``3``, ``1/4``, and a number written with a point
    or an exponent as a decimal (``0.6652``, not ``1663/2500``; ``1e-20`` as such)."""
    if value.denominator == 1:
        return str(value.numerator)
    if is_float:
        decimal = decimal_text(abs(value))
        return ("-" if value < 0 else "") + decimal if decimal is not None else repr(float(value))
    return f"{value.numerator}/{value.denominator}"


def decimal_text(value: Fraction) -> str | None:
    """``0.125`` for 1/8; None when the decimal does not end soon."""
    denominator = value.denominator
    for prime in (2, 5):
        while denominator % prime == 0:
            denominator //= prime
    if denominator != 1:
        return None
    digits = 0
    scaled = value
    while scaled.denominator != 1:
        scaled *= 10
        digits += 1
    if digits > LONGEST_DECIMAL:
        return None
    whole, fraction = divmod(int(scaled), 10**digits)
    return f"{whole}.{fraction:0{digits}d}"
