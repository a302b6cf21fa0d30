r"""A formula as grader read it, written back: plain text (``1/(2 x)``) or LaTeX (``\frac{1}{2 x}``).

Both writers walk the parse tree, so a student sees what grader understood, not
what they typed: ``1/2x`` reads ``1/(2 x)`` and ``\frac{1}{2 x}``, ``\frac{1}{2}x``
reads ``1/2 x`` and ``\frac{1}{2} x``. Parentheses appear exactly where the
tree needs them. MathML for web pages is :mod:`grader.reporting.mathml`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from grader.mathlang import ast
from grader.mathlang.lexer import GREEK_NAMES
from grader.mathlang.values import decimal_text, show

__all__ = ["decimal_text", "to_latex", "to_text"]


def to_text(node: ast.Node) -> str:
    """The formula as plain text: ``1/2x`` -> ``1/(2 x)``."""
    match node:
        case ast.Member(element=element, space=space):
            left = "" if element is None else to_text(element) + " "
            return f"{left}in {to_text(space)}"
        case ast.Space(dims=dims):
            return "R" if not dims else "R^(" + " x ".join(to_text(d) for d in dims) + ")"
    return show(node)


# Binding strength, loosest first: a child weaker than its slot is parenthesised.
LOOSE, SUM, PRODUCT, UNARY, POWER, ATOM = range(6)

PRODUCT_LATEX = {
    "implicit": " ",
    "star": " * ",  # element-wise, as written: \cdot would read as a matrix product
    "cdot": r" \cdot ",
    "times": r" \times ",
    "dot": r" \cdot ",
    "matmul": " ",
    "odot": r" \odot ",
    "otimes": r" \otimes ",
}
RELATION_LATEX = {"=": "=", "!=": r"\neq", "<": "<", "<=": r"\leq", ">": ">", ">=": r"\geq"}
LOGIC_LATEX = {"and": r"\land", "or": r"\lor"}
CONSTANT_LATEX = {
    "pi": r"\pi",
    "e": "e",
    "inf": r"\infty",
    "true": r"\text{otherwise}",
    "false": r"\text{false}",
}
OPERATOR_NAMES = frozenset({"exp", "log", "sin", "cos", "tan", "tanh", "max", "min", "det"})
BOUNDS = {"Theta": r"\Theta", "O": "O", "Omega": r"\Omega"}
FENCES = {
    "abs": (r"\left|", r"\right|"),
    "norm": (r"\left\|", r"\right\|"),
    "floor": (r"\left\lfloor ", r" \right\rfloor"),
    "ceil": (r"\left\lceil ", r" \right\rceil"),
}
ACCENTS = ("hat", "bar", "tilde", "dot")


def to_latex(node: ast.Node) -> str:
    r"""The formula as LaTeX: ``1/2x`` -> ``\frac{1}{2 x}``."""
    writer = _WRITERS.get(type(node))
    return writer(node) if writer else rf"\text{{{type(node).__name__}}}"


_BINOP_STRENGTH = {"+": SUM, "-": SUM, "^": POWER, "/": ATOM}  # a \frac is an atom
_LOOSE_NODES = (ast.Relation, ast.Logic, ast.Member, ast.TupleLit)


def _strength(node: ast.Node) -> int:
    if isinstance(node, ast.BinOp):
        return _BINOP_STRENGTH.get(node.op, PRODUCT)
    if isinstance(node, ast.Neg) or (isinstance(node, ast.Num) and node.value < 0):
        return UNARY
    return LOOSE if isinstance(node, _LOOSE_NODES) else ATOM


def _operand(node: ast.Node, weakest: int) -> str:
    text = to_latex(node)
    return rf"\left({text}\right)" if _strength(node) < weakest else text


def _num(node: ast.Num) -> str:
    value = node.value
    sign = "-" if value < 0 else ""
    value = abs(value)
    if value.denominator == 1:
        return f"{sign}{value.numerator}"
    if node.is_float:
        decimal = decimal_text(value)
        if decimal is not None:
            return sign + decimal
    return rf"{sign}\frac{{{value.numerator}}}{{{value.denominator}}}"


def name_latex(name: str) -> str:
    r"""``w_0`` -> ``w_{0}``, ``theta_small`` -> ``\theta_{small}``, ``y_hat`` -> ``\hat{y}``,
    ``W^(2)`` -> ``W^{(2)}``."""
    base, _, rest = name.partition("_")
    layer = ""
    if "^(" in base:
        base, _, layer_index = base.partition("^")
        layer = f"^{{{layer_index}}}"
    pieces = [piece for piece in rest.split("_") if piece] if rest else []
    core = _base_latex(base)
    while pieces and pieces[-1] in ACCENTS:
        core = rf"\{pieces.pop()}{{{core}}}"
    subscript = f"_{{{','.join(_base_latex(p) for p in pieces)}}}" if pieces else ""
    return core + subscript + layer


def _base_latex(word: str) -> str:
    if word in GREEK_NAMES:
        return "\\" + word
    if len(word) <= 1 or word.isdigit():
        return word or "{}"
    return rf"\mathit{{{word}}}"


def _sym(node: ast.Sym) -> str:
    if node.name[:1].isdigit():  # \mathbb{1}, a vector of ones
        return rf"\mathbb{{{node.name}}}"
    return name_latex(node.name)


def _const(node: ast.Const) -> str:
    return CONSTANT_LATEX.get(node.name, rf"\mathrm{{{node.name}}}")


def _neg(node: ast.Neg) -> str:
    return "-" + _operand(node.operand, POWER if isinstance(node.operand, ast.Num) else UNARY + 1)


def _binop(node: ast.BinOp) -> str:
    left, right = node.left, node.right
    if node.op in ("+", "-"):
        right_text = _operand(right, SUM + 1)
        return f"{_operand(left, SUM)} {node.op} {right_text}"
    if node.op == "/":
        return rf"\frac{{{to_latex(left)}}}{{{to_latex(right)}}}"
    if node.op == "^":
        base = to_latex(left)
        if _strength(left) < ATOM or (isinstance(left, ast.BinOp) and left.op == "/"):
            base = rf"\left({base}\right)"
        return f"{base}^{{{to_latex(right)}}}"
    sign = PRODUCT_LATEX.get(node.op, r" \cdot ")
    return f"{_operand(left, PRODUCT)}{sign}{_operand(right, PRODUCT + 1)}"


def _transpose(node: ast.Transpose) -> str:
    return _operand(node.operand, ATOM) + r"^{\top}"


def _prime(node: ast.Prime) -> str:
    return _operand(node.operand, ATOM) + "'"


def _call(node: ast.Call) -> str:
    args = ", ".join(to_latex(a) for a in node.args)
    name = node.name
    if name in FENCES and len(node.args) == 1:
        opening, closing = FENCES[name]
        return f"{opening}{args}{closing}"
    if name == "norm" and len(node.args) == 2:
        return rf"\left\|{to_latex(node.args[0])}\right\|_{{{to_latex(node.args[1])}}}"
    if name == "sqrt" and len(node.args) == 1:
        return rf"\sqrt{{{args}}}"
    if name == "root" and len(node.args) == 2:
        return rf"\sqrt[{to_latex(node.args[1])}]{{{to_latex(node.args[0])}}}"
    if name in BOUNDS:
        head = BOUNDS[name]
    elif name in OPERATOR_NAMES:
        head = "\\" + name
    elif len(name) == 1 or name in GREEK_NAMES:
        head = name_latex(name)
    else:
        head = rf"\operatorname{{{name}}}"
    return rf"{head}\left({args}\right)"


def _index(node: ast.Index) -> str:
    indices = ", ".join(to_latex(i) for i in node.indices)
    return f"{_operand(node.operand, ATOM)}_{{{indices}}}"


def _list(node: ast.ListLit) -> str:
    if node.items and all(isinstance(item, ast.ListLit) for item in node.items):
        rows = [item.items for item in node.items if isinstance(item, ast.ListLit)]
        return _bmatrix(rows)
    return r"\left[" + ", ".join(to_latex(i) for i in node.items) + r"\right]"


def _matrix(node: ast.Matrix) -> str:
    return _bmatrix(node.rows)


def _bmatrix(rows: list[tuple[ast.Node, ...]] | tuple[tuple[ast.Node, ...], ...]) -> str:
    body = r" \\ ".join(" & ".join(to_latex(item) for item in row) for row in rows)
    return rf"\begin{{bmatrix}} {body} \end{{bmatrix}}"


def _tuple(node: ast.TupleLit) -> str:
    return r"\left(" + ", ".join(to_latex(i) for i in node.items) + r"\right)"


def _relation(node: ast.Relation) -> str:
    sign = RELATION_LATEX.get(node.op, node.op)
    return f"{_operand(node.left, SUM)} {sign} {_operand(node.right, SUM)}"


def _logic(node: ast.Logic) -> str:
    if node.op == "not":
        return r"\lnot " + _operand(node.operands[0], ATOM)
    chain = _chain(node)
    if chain is not None:
        return chain
    sign = LOGIC_LATEX.get(node.op, node.op)
    parts = (
        rf"\left({to_latex(o)}\right)" if isinstance(o, ast.Logic) else to_latex(o) for o in node.operands
    )
    return f" {sign} ".join(parts)


def _chain(node: ast.Logic) -> str | None:
    """``-2 <= x and x <= 0`` (how the parser keeps ``-2 <= x <= 0``) as one chain."""
    match node:
        case ast.Logic(op="and", operands=(ast.Relation() as first, ast.Relation() as second)) if (
            first.right == second.left
        ):
            signs = (RELATION_LATEX.get(first.op, first.op), RELATION_LATEX.get(second.op, second.op))
            left, middle, right = (to_latex(n) for n in (first.left, first.right, second.right))
            return f"{left} {signs[0]} {middle} {signs[1]} {right}"
    return None


def _piecewise(node: ast.Piecewise) -> str:
    rows = r" \\ ".join(f"{to_latex(value)} & {to_latex(condition)}" for value, condition in node.cases)
    return rf"\begin{{cases}} {rows} \end{{cases}}"


def _space(node: ast.Space) -> str:
    if not node.dims:
        return r"\mathbb{R}"
    return r"\mathbb{R}^{" + r" \times ".join(to_latex(d) for d in node.dims) + "}"


def _member(node: ast.Member) -> str:
    left = "" if node.element is None else to_latex(node.element) + " "
    return rf"{left}\in {to_latex(node.space)}"


_WRITERS: dict[type[ast.Node], Callable[[Any], str]] = {
    ast.Num: _num,
    ast.Sym: _sym,
    ast.Const: _const,
    ast.Neg: _neg,
    ast.BinOp: _binop,
    ast.Transpose: _transpose,
    ast.Prime: _prime,
    ast.Call: _call,
    ast.Index: _index,
    ast.ListLit: _list,
    ast.Matrix: _matrix,
    ast.TupleLit: _tuple,
    ast.Relation: _relation,
    ast.Logic: _logic,
    ast.Piecewise: _piecewise,
    ast.Space: _space,
    ast.Member: _member,
}
