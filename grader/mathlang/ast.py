"""The tree every formula is parsed into, LaTeX or plain text alike.

Nodes are immutable; ``pos`` is the character offset in the source text where
the node starts (used for carets in error messages). Names are normalised by
the parser: ``\\lambda`` -> ``lambda``, ``\\mathbf{x}`` -> ``x``, ``w_0`` and
``w_{0}`` -> ``w_0``, ``\\theta_{small}`` -> ``theta_small``, ``\\text{diag}``
-> ``diag``, ``\\ln`` -> ``log``, ``\\sigma`` -> ``sigma``.

Nothing here runs anything: evaluators walk these nodes with an allow-list.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from typing import Any


@dataclass(frozen=True)
class Node:
    pos: int


@dataclass(frozen=True)
class Num(Node):
    """A literal number, kept exact: ``1.3e5`` -> Fraction(130000)."""

    value: Fraction
    # True when written with a decimal point or exponent (``0.5``, ``1e-3``):
    # such answers are compared with the part's tolerance, not exactly.
    is_float: bool = False


@dataclass(frozen=True)
class Sym(Node):
    """A symbol or array name: ``x``, ``lambda``, ``w_0``, ``W``."""

    name: str


@dataclass(frozen=True)
class Const(Node):
    """A named constant: ``pi``, ``e`` (only when written ``\\mathrm{e}`` or ``e^{..}``),
    ``inf``/``\\infty``, ``true``/``otherwise``."""

    name: str


@dataclass(frozen=True)
class Neg(Node):
    operand: Node


# Product kinds, kept apart because their meaning depends on shapes:
#   "implicit"  juxtaposition: 2x, W x, S(x) S(x)^T  (scalar product or matrix product)
#   "star"      *        (scalar, or element-wise for arrays)
#   "cdot"      \cdot    (matrix product where shapes make it one, else scalar)
#   "times"     \times   (scalar product; in shapes, a dimension separator)
#   "dot"       .        (dot/matrix product: ``w1 . relu(...)``)
#   "matmul"    @
#   "odot"      \odot    (element-wise)
#   "otimes"    \otimes  (outer product)
PRODUCT_KINDS = ("implicit", "star", "cdot", "times", "dot", "matmul", "odot", "otimes")


@dataclass(frozen=True)
class BinOp(Node):
    """``op`` is one of ``+ - / ^`` or a product kind from PRODUCT_KINDS."""

    op: str
    left: Node
    right: Node


@dataclass(frozen=True)
class Transpose(Node):
    """``A^T``, ``A^\\top``, ``A^{T}``, ``A^\\intercal``."""

    operand: Node


@dataclass(frozen=True)
class Prime(Node):
    """``x'``: a transpose for arrays, a derivative-like name (``theta'``) for scalars."""

    operand: Node


@dataclass(frozen=True)
class Call(Node):
    """A function application: ``relu(x)``, ``\\max\\{0, x\\}`` -> max(0, x),
    ``|x|`` -> abs(x), ``\\|y\\|`` -> norm(y), ``\\sqrt[3]{x}`` -> root(x, 3),
    ``\\frac{..}{..}`` is a BinOp("/"), not a call.

    ``name`` is a built-in or a name the context declared as a function
    (``S``, ``H``, ``Theta``). Bounds ``\\Theta(..) O(..) \\Omega(..)`` are
    ``Call("Theta"|"O"|"Omega", [arg])`` when parsed in complexity mode.
    """

    name: str
    args: tuple[Node, ...]


@dataclass(frozen=True)
class Index(Node):
    """``x_i`` where ``i`` is not part of a name, or ``S(x)_1``: element access
    (1-based, as students write it)."""

    operand: Node
    indices: tuple[Node, ...]


@dataclass(frozen=True)
class ListLit(Node):
    """``[a, b, c]`` or ``[1 \\quad 1]``: a 1-D list; nested lists give matrices."""

    items: tuple[Node, ...]


@dataclass(frozen=True)
class Matrix(Node):
    """``\\begin{bmatrix} a & b \\\\ c & d \\end{bmatrix}`` (also pmatrix, vmatrix..)."""

    rows: tuple[tuple[Node, ...], ...]


@dataclass(frozen=True)
class TupleLit(Node):
    """``(24, 24, 128)`` or a comma-separated top-level list ``k = 8, s = 2``."""

    items: tuple[Node, ...]


@dataclass(frozen=True)
class Relation(Node):
    """A single comparison; chains (``-2 <= x <= 0``) become ``Logic("and", ..)``.
    ``op`` is one of ``= != < <= > >=``."""

    op: str
    left: Node
    right: Node


@dataclass(frozen=True)
class Logic(Node):
    """``op`` is ``and``, ``or`` or ``not`` (one operand)."""

    op: str
    operands: tuple[Node, ...]


@dataclass(frozen=True)
class Piecewise(Node):
    """``piecewise((e1, c1), (e2, c2), (e3, true))`` or ``\\begin{cases}``.
    A condition of ``Const("true")`` is "otherwise"."""

    cases: tuple[tuple[Node, Node], ...]


@dataclass(frozen=True)
class Space(Node):
    """``\\mathbb{R}^{a \\times b}`` (also ``R^{a x b}``): a real space with these dims.
    ``dims`` is empty for plain ``\\mathbb{R}``."""

    dims: tuple[Node, ...]


@dataclass(frozen=True)
class Member(Node):
    """``x \\in S``; the left side may be empty (``\\in \\mathbb{R}^{1 \\times k}``)."""

    element: Node | None
    space: Node


def walk(node: Node) -> Iterator[Node]:
    """Every node of the tree, depth first (parents before children)."""
    stack: list[Node] = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(list(children(current))))


def children(node: Node) -> tuple[Node, ...]:
    """The direct sub-trees of ``node``, in source order."""
    found = _CHILDREN.get(type(node))
    return found(node) if found is not None else ()


def _member_children(node: Member) -> tuple[Node, ...]:
    return (node.space,) if node.element is None else (node.element, node.space)


_CHILDREN: dict[type, Callable[[Any], tuple[Node, ...]]] = {
    Neg: lambda n: (n.operand,),
    Transpose: lambda n: (n.operand,),
    Prime: lambda n: (n.operand,),
    BinOp: lambda n: (n.left, n.right),
    Relation: lambda n: (n.left, n.right),
    Call: lambda n: n.args,
    Index: lambda n: (n.operand, *n.indices),
    ListLit: lambda n: n.items,
    TupleLit: lambda n: n.items,
    Matrix: lambda n: tuple(item for row in n.rows for item in row),
    Logic: lambda n: n.operands,
    Piecewise: lambda n: tuple(part for case in n.cases for part in case),
    Space: lambda n: n.dims,
    Member: _member_children,
}


def free_names(node: Node) -> set[str]:
    """Names of the symbols a tree mentions (not function names)."""
    return {n.name for n in walk(node) if isinstance(n, Sym)}
