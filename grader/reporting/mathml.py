"""Formulas as MathML (presentation markup), drawn from grader's own parse tree.

``to_mathml(tree)`` shows a formula the way grader read it: ``1/2x`` is a
fraction with ``2x`` below the bar, ``\\frac{1}{2}x`` is one half times x,
``W^{(2)}`` is W with a layer index, ``x_{i+1}`` an element. Every current
browser renders MathML Core without JavaScript.

Student text is hostile: every name, number and operator goes through
:func:`html.escape`, so nothing a student writes becomes markup. Only elements
of MathML Core are produced (no ``mfenced``, no ``mathvariant`` but ``normal``).

The same reading as plain text (``1/(2 x)``) is :func:`grader.mathlang.render.to_text`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from decimal import Decimal, localcontext
from fractions import Fraction
from typing import Any

from grader.mathlang import ast
from grader.mathlang.parser import dump
from grader.reporting.escape import html_text as escape

MATHML_NS = "http://www.w3.org/1998/Math/MathML"

GREEK = {
    "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ε", "zeta": "ζ", "eta": "η",
    "theta": "θ", "iota": "ι", "kappa": "κ", "lambda": "λ", "mu": "μ", "nu": "ν", "xi": "ξ",
    "omicron": "ο", "pi": "π", "rho": "ρ", "sigma": "σ", "tau": "τ", "upsilon": "υ", "phi": "φ",
    "chi": "χ", "psi": "ψ", "omega": "ω", "Gamma": "Γ", "Delta": "Δ", "Theta": "Θ", "Lambda": "Λ",
    "Xi": "Ξ", "Pi": "Π", "Sigma": "Σ", "Upsilon": "Υ", "Phi": "Φ", "Psi": "Ψ", "Omega": "Ω",
    "ell": "ℓ", "varpi": "ϖ",
}  # fmt: skip
ACCENTS = {"hat": "^", "bar": "¯", "tilde": "~", "dot": "˙"}
PRODUCT_SIGNS = {
    "implicit": "\u2062",  # invisible times
    "star": "∗",
    "cdot": "⋅",
    "times": "×",
    "dot": "⋅",
    "matmul": "@",
    "odot": "⊙",
    "otimes": "⊗",
}
RELATION_SIGNS = {"=": "=", "!=": "≠", "<": "<", "<=": "≤", ">": ">", ">=": "≥"}
LOGIC_SIGNS = {"and": "∧", "or": "∨", "not": "¬"}
CONSTANTS = {"pi": "π", "e": "e", "inf": "∞", "true": "true"}
BOUNDS = {"Theta": "Θ", "O": "O", "Omega": "Ω"}
FENCES = {"abs": ("|", "|"), "norm": ("‖", "‖"), "floor": ("⌊", "⌋"), "ceil": ("⌈", "⌉")}
# Parentheses stretch around these (fractions, matrices, cases).
TALL_TAGS = ("<mfrac", "<mtable")
# Decimals with more zeros than this are shown as a × 10^k.
MAX_PLAIN_EXPONENT = 6

# Binding strength, loosest first: what needs parentheses inside what.
LOOSE, SUM, PRODUCT, IMPLICIT, UNARY, POWER, ATOM = range(7)
_SUBSCRIPT_TOKENS = re.compile(r"[0-9]+|[A-Za-z]+|\S")
_SIGNS = {"-": "−", "*": "⋅"}
_LETTERS_DIGITS = re.compile(r"([A-Za-z]+)([0-9]+)")
_NAME = re.compile(r"^(?P<base>[^_^]+)(?P<layer>\^\([^)]*\))?(?P<rest>(?:_.*)?)$")


def to_mathml(node: ast.Node, *, display: bool = False, label: str | None = None) -> str:
    """A ``<math>`` element for the tree; ``label`` becomes its accessible text."""
    attributes = f' xmlns="{MATHML_NS}"'
    if display:
        attributes += ' display="block"'
    if label is not None:
        attributes += f' aria-label="{escape(label)}"'
    return f"<math{attributes}>{_render(node)}</math>"


def interval_mathml(low: ast.Node, high: ast.Node, low_closed: bool, high_closed: bool) -> str:
    """``[0, 1)``: an interval from its ends, each end drawn from its tree."""
    inner = separated([_render(low), _render(high)])
    shown = fenced(inner, "[" if low_closed else "(", "]" if high_closed else ")")
    return f'<math xmlns="{MATHML_NS}">{shown}</math>'


# ---- elements ---------------------------------------------------------------------


def _el(tag: str, *children: str, attrs: str = "") -> str:
    return f"<{tag}{attrs}>{''.join(children)}</{tag}>"


def mi(text: str, *, upright: bool = False) -> str:
    return _el("mi", escape(text), attrs=' mathvariant="normal"' if upright else "")


def mn(text: str) -> str:
    return _el("mn", escape(text))


def mo(text: str, *, stretchy: bool | None = None) -> str:
    attrs = "" if stretchy is None else f' stretchy="{"true" if stretchy else "false"}"'
    return _el("mo", escape(text), attrs=attrs)


def fence(text: str, *, stretchy: bool = False) -> str:
    """A parenthesis or bar. Stretched only around tall content: a stretched glyph is
    wider, and ``σ(x)`` would read ``σ ( x )``."""
    stretch = "true" if stretchy else "false"
    return _el("mo", escape(text), attrs=f' fence="true" stretchy="{stretch}" lspace="0" rspace="0"')


def mtext(text: str) -> str:
    return _el("mtext", escape(text))


def mrow(*children: str) -> str:
    return _el("mrow", *children)


def fenced(inner: str, opening: str = "(", closing: str = ")") -> str:
    tall = any(tag in inner for tag in TALL_TAGS)
    return mrow(fence(opening, stretchy=tall), inner, fence(closing, stretchy=tall))


def separated(items: Iterable[str], separator: str = ",") -> str:
    return mo(separator).join(items)


# ---- the tree walk ----------------------------------------------------------------


def _render(node: ast.Node) -> str:
    renderer = _RENDERERS.get(type(node))
    if renderer is None:
        return mtext(type(node).__name__)
    return renderer(node)


def _strength(node: ast.Node) -> int:
    """How tightly the node binds as drawn (a fraction bar groups, ``e^x`` is a power)."""
    special = _STRENGTH_OF.get(type(node))
    return special(node) if special is not None else _NODE_STRENGTH.get(type(node), ATOM)


def _number_strength(node: ast.Num) -> int:
    if _number_parts(node.value, node.is_float)[1] is not None:
        return PRODUCT  # 1.5 × 10^-7
    return POWER if node.value.denominator != 1 and not node.is_float else ATOM


_BINOP_STRENGTH = {"+": SUM, "-": SUM, "^": POWER, "/": POWER, "implicit": IMPLICIT}
_NODE_STRENGTH: dict[type[ast.Node], int] = {
    ast.Neg: SUM,
    ast.Relation: LOOSE,
    ast.TupleLit: LOOSE,
    ast.Member: LOOSE,
}
_STRENGTH_OF: dict[type[ast.Node], Callable[[Any], int]] = {
    ast.BinOp: lambda node: _BINOP_STRENGTH.get(node.op, PRODUCT),
    ast.Logic: lambda node: UNARY if node.op == "not" else LOOSE,
    ast.Num: _number_strength,
    ast.Call: lambda node: POWER if node.name == "exp" else ATOM,
}


def _operand(node: ast.Node, weakest: int) -> str:
    """The node, in parentheses when it binds looser than ``weakest``."""
    inner = _render(node)
    return fenced(inner) if _strength(node) < weakest else inner


def _num(node: ast.Num) -> str:
    mantissa, exponent = _number_parts(node.value, node.is_float)
    if exponent is not None:
        return mrow(mn(mantissa), mo("×"), _el("msup", mn("10"), mn(str(exponent))))
    if node.value.denominator != 1 and not node.is_float:
        return _el("mfrac", mn(str(node.value.numerator)), mn(str(node.value.denominator)))
    return mn(mantissa)


def _number_parts(value: Fraction, is_float: bool) -> tuple[str, int | None]:
    """The digits of a number and, for a very large or small decimal, its power of ten."""
    if value.denominator == 1 and not is_float:
        return str(value.numerator), None
    with localcontext() as context:
        context.prec = 60
        decimal = (Decimal(value.numerator) / Decimal(value.denominator)).normalize()
    _, digits, exponent = decimal.as_tuple()
    assert isinstance(exponent, int)
    magnitude = len(digits) + exponent - 1
    if exponent <= MAX_PLAIN_EXPONENT and magnitude >= -MAX_PLAIN_EXPONENT:
        return f"{decimal:f}", None
    mantissa = decimal.scaleb(-magnitude).normalize()
    return f"{mantissa:f}", magnitude


def _sym(node: ast.Sym) -> str:
    return name_mathml(node.name)


def name_mathml(name: str) -> str:
    """``w_0``, ``theta_small``, ``W^(2)``, ``y_hat_1``, ``lambda`` as MathML."""
    if name == "1":
        return mn("𝟙")
    numbered = _LETTERS_DIGITS.fullmatch(name)
    if numbered is not None:  # w1 is w with subscript 1, as the parser reads w1 for w_1
        name = f"{numbered[1]}_{numbered[2]}"
    match = _NAME.match(name)
    if match is None:
        return mi(name)
    base = _base(match["base"])
    pieces = [p for p in match["rest"].split("_") if p]
    if pieces and pieces[0] in ACCENTS:
        base = _el("mover", base, mo(ACCENTS[pieces.pop(0)]), attrs=' accent="true"')
    layer = _layer(match["layer"])
    subscript = _subscript(pieces)
    if layer and subscript:
        return _el("msubsup", base, subscript, layer)
    if layer:
        return _el("msup", base, layer)
    return _el("msub", base, subscript) if subscript else base


def _layer(written: str | None) -> str:
    """``^(2)`` of ``W^(2)``: a layer index in parentheses."""
    if not written:
        return ""
    inner = written[2:-1]
    return fenced(mn(inner) if inner.isdigit() else mi(inner))


def _base(word: str) -> str:
    if word in GREEK:
        return mi(GREEK[word], upright=word[0].isupper())
    return mi(word)


def _subscript(pieces: list[str]) -> str:
    if not pieces:
        return ""
    shown = [_subscript_piece(piece.strip("{}")) for piece in pieces]
    return mrow(*shown) if len(shown) > 1 else shown[0]


def _subscript_piece(piece: str) -> str:
    """``0``, ``ij`` (two indices), ``small`` (a word), ``t-1`` (a little formula)."""
    if piece.isdigit():
        return mn(piece)
    if piece in GREEK or (piece.isalpha() and len(piece) > 2):
        return _base(piece)
    if piece.isalpha():
        return mrow(*(mi(letter) for letter in piece))
    tokens = _SUBSCRIPT_TOKENS.findall(piece)
    return mrow(*(mn(t) if t.isdigit() else mi(t) if t.isalpha() else mo(_SIGNS.get(t, t)) for t in tokens))


def _const(node: ast.Const) -> str:
    if node.name == "inf":
        return mi("∞", upright=True)
    return mi(CONSTANTS.get(node.name, node.name), upright=node.name == "e")


def _neg(node: ast.Neg) -> str:
    return mrow(mo("−"), _operand(node.operand, PRODUCT))


def _binop(node: ast.BinOp) -> str:
    match node.op:
        case "+" | "-":
            sign = "+" if node.op == "+" else "−"
            return mrow(_operand(node.left, SUM), mo(sign), _operand(node.right, PRODUCT))
        case "/":
            return _el("mfrac", _render(node.left), _render(node.right))
        case "^" if isinstance(node.left, ast.Call) and node.left.name == "norm" and len(node.left.args) == 2:
            norm, order = node.left.args
            return _el("msubsup", fenced(_render(norm), "‖", "‖"), _render(order), _render(node.right))
        case "^":
            return _el("msup", _operand(node.left, ATOM), _render(node.right))
    return _product(node)


def _product(node: ast.BinOp) -> str:
    strength = _strength(node)
    sign = PRODUCT_SIGNS.get(node.op, "⋅")
    bare_right = _strength(node.right) > strength
    if node.op == "implicit" and bare_right and _leads_with_digit(node.right):
        sign = "⋅"  # 2 3 would read as 23
    # -3*x is (-3)*x: shown -3∗x, which reads the same
    left = _render(node.left) if isinstance(node.left, ast.Neg) else _operand(node.left, strength)
    return mrow(left, mo(sign), _operand(node.right, strength + 1))


def _leads_with_digit(node: ast.Node) -> bool:
    while isinstance(node, ast.BinOp) and node.op != "/":
        node = node.left
    return isinstance(node, ast.Num)


def _transpose(node: ast.Transpose) -> str:
    return _el("msup", _operand(node.operand, ATOM), mi("⊤", upright=True))


def _prime(node: ast.Prime) -> str:
    return _el("msup", _operand(node.operand, ATOM), mo("′"))


def _call(node: ast.Call) -> str:
    name, args = node.name, node.args
    if name == "sqrt" and len(args) == 1:
        return _el("msqrt", _render(args[0]))
    if name == "root" and len(args) == 2:
        return _el("mroot", _render(args[0]), _render(args[1]))
    if name == "pos" and len(args) == 1:  # a unary plus: +\infty
        return mrow(mo("+"), _operand(args[0], PRODUCT))
    if name == "exp" and len(args) == 1:
        return _el("msup", mi("e", upright=True), _render(args[0]))
    if name in FENCES and args:
        opening, closing = FENCES[name]
        shown = fenced(_render(args[0]), opening, closing)
        return _el("msub", shown, _render(args[1])) if len(args) == 2 else shown
    head = mi(BOUNDS[name], upright=True) if name in BOUNDS else name_mathml(name)
    return mrow(head, mo("\u2061"), fenced(separated(_render(a) for a in args)))


def _index(node: ast.Index) -> str:
    return _el("msub", _operand(node.operand, ATOM), mrow(separated(_render(i) for i in node.indices)))


def _list(node: ast.ListLit) -> str:
    rows = _nested_rows(node)
    if rows is not None:
        return _table(rows)
    return fenced(separated(_render(item) for item in node.items), "[", "]")


def _nested_rows(node: ast.ListLit) -> list[tuple[ast.Node, ...]] | None:
    """A list of equally long lists is a matrix."""
    items = node.items
    if len(items) < 1 or not all(isinstance(item, ast.ListLit) for item in items):
        return None
    rows = [item.items for item in items if isinstance(item, ast.ListLit)]
    if len({len(row) for row in rows}) != 1 or any(isinstance(c, ast.ListLit) for r in rows for c in r):
        return None
    return rows


def _matrix(node: ast.Matrix) -> str:
    return _table(list(node.rows))


def _table(rows: list[tuple[ast.Node, ...]]) -> str:
    cells = "".join(_el("mtr", *(_el("mtd", _render(cell)) for cell in row)) for row in rows)
    return mrow(mo("[", stretchy=True), _el("mtable", cells), mo("]", stretchy=True))


def _tuple(node: ast.TupleLit) -> str:
    inner = separated(_render(item) for item in node.items)
    if all(isinstance(item, ast.Relation) for item in node.items):
        return mrow(inner)  # k = 8, s = 2
    return fenced(inner)


def _relation(node: ast.Relation) -> str:
    sign = RELATION_SIGNS.get(node.op, node.op)
    return mrow(_operand(node.left, SUM), mo(sign), _operand(node.right, SUM))


def _logic(node: ast.Logic) -> str:
    if node.op == "not":
        return mrow(mo("¬"), _operand(node.operands[0], UNARY))
    chain = _chain(node)
    if chain is not None:
        return chain
    sign = mo(LOGIC_SIGNS.get(node.op, node.op))
    return mrow(
        sign.join(_render(o) if isinstance(o, ast.Relation) else _operand(o, SUM) for o in node.operands)
    )


def _chain(node: ast.Logic) -> str | None:
    """``-2 <= x <= 0``, read as two relations joined by "and", shown as it was written."""
    if node.op != "and" or len(node.operands) != 2:
        return None
    first, second = node.operands
    if not (isinstance(first, ast.Relation) and isinstance(second, ast.Relation)):
        return None
    if dump(first.right) != dump(second.left):
        return None
    sign_one, sign_two = (mo(RELATION_SIGNS.get(r.op, r.op)) for r in (first, second))
    middle = _operand(first.right, SUM)
    return mrow(_operand(first.left, SUM), sign_one, middle, sign_two, _operand(second.right, SUM))


def _piecewise(node: ast.Piecewise) -> str:
    rows = []
    for value, condition in node.cases:
        if isinstance(condition, ast.Const) and condition.name == "true":
            shown = mtext("otherwise")
        else:
            shown = mrow(mtext("if\u00a0"), _render(condition))
        rows.append(_el("mtr", _el("mtd", _render(value)), _el("mtd", shown)))
    return mrow(mo("{", stretchy=True), _el("mtable", *rows, attrs=' class="cases"'))


def _space(node: ast.Space) -> str:
    reals = mi("ℝ", upright=True)
    if not node.dims:
        return reals
    return _el("msup", reals, mrow(separated((_render(d) for d in node.dims), "×")))


def _member(node: ast.Member) -> str:
    element = "" if node.element is None else _render(node.element)
    return mrow(element, mo("∈"), _render(node.space))


_RENDERERS: dict[type[ast.Node], Callable[[Any], str]] = {
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
