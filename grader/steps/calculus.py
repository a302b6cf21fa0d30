"""Derivatives in a step computed symbolically, so that the step can be decided.

``\\frac{d}{dx}\\left(\\frac{1}{1+e^{-x}}\\right) = \\frac{e^{-x}}{(1+e^{-x})^2}`` holds when the
derivative of the formula the math language reads equals the other side. Each derivative
of a formula it reads (``\\frac{d}{dx}(...)``, ``\\frac{\\partial}{\\partial x}(...)``,
``\\frac{d (...)}{dx}``, ``\\frac{\\partial (...)}{\\partial w}``, ``\\frac{d^2}{dx^2}(...)``,
``\\tanh'(x)`` for a known smooth function) is replaced by the derivative sympy computes
from grader's own tree of the operand (:func:`grader.mathlang.to_sympy.to_sympy`: nothing
is parsed from text by sympy); the result is put back as a formula in the math language.
The step is then decided as any other: shown with a certificate, or wrong at a point
confirmed in exact or ball arithmetic where the operand itself has a value (the operand
rides as a condition). A limit ``\\lim_{h \\to 0} BODY`` that runs to the end of its side is
computed the same way (sympy's ``limit``, two-sided at a number), when it is finite.

Only smooth operands are differentiated (no ``|x|``, ``relu``, ``max``, steps or pieces:
their derivative at a kink is a convention). A derivative is refutable only when nothing
else may depend on its variable: a partial derivative, or an ordinary one whose operand has
no other symbol; and never when the variable is an entry with a letter index (``x_j``)
while the operand holds another entry of the same name (``x_i``: ``i = j`` may hold).
Anything else is left as written (and then read as an unknown by :mod:`grader.steps.opaque`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from grader.mathlang import ast
from grader.mathlang.render import to_text
from grader.steps.latex import closing, group_end, scripts_end, term_end
from grader.steps.models import StepMark
from grader.steps.read import Context, read_side
from grader.steps.rewrite import with_children

_D = r"(?:d|\\partial|\\mathrm\s*\{\s*d\s*\}|\\operatorname\s*\{\s*d\s*\})"
_FRAC_D = re.compile(rf"\\frac\s*\{{\s*{_D}(?![A-Za-z])")
_SECOND = re.compile(rf"^\s*({_D})\s*\^\s*(?:\{{\s*2\s*\}}|2)")
_SECOND_BELOW = re.compile(rf"^\s*({_D}\s*.+?)\s*\^\s*(?:\{{\s*2\s*\}}|2)\s*$", re.DOTALL)
_D_ALONE = re.compile(rf"^\s*{_D}\s*$")
_D_THEN = re.compile(rf"^\s*({_D})\s*(.+?)\s*$", re.DOTALL)
_LIM = re.compile(r"\\lim\s*_\s*\{(?P<under>[^{}]*)\}")
_UNDER = re.compile(
    r"\s*(?P<var>\\?[A-Za-z]+(?:_\w)?)\s*(?:\\to|\\rightarrow|\\longrightarrow|->)\s*"
    r"(?P<to>[+-]?\s*\\infty|-?\d+(?:\.\d+)?)\s*"
)
MAX_LIMIT_NODES = 60
# f'(x), \\tanh'(x), f''(x); a subscripted name only as a declared function's (\\sigma_s'(z))
_PRIME_CALL = re.compile(r"(?<![A-Za-z\\])(\\?[A-Za-z]+(?:_\{?\\?\w+\}?)?)\s*('+)\s*(\\left\s*\(|\()")
_CALL = re.compile(r"\s*\\?[A-Za-z]+\s*(\\left\s*\(|\()")
_ENDS_TERM = re.compile(r"\s*(?:$|[-+)\]=<>]|\\right|\\cdot|\}|&)")
_OPEN = re.compile(r"\s*(\\left\s*[(\[]|\\left\s*\\\{|[(\[{])")


def _smooth() -> dict[Any, str]:
    """Smooth functions sympy differentiates, and how the math language spells them back."""
    import sympy

    return {
        sympy.exp: "exp",
        sympy.log: "log",
        sympy.sin: "sin",
        sympy.cos: "cos",
        sympy.tan: "tan",
        sympy.sinh: "sinh",
        sympy.cosh: "cosh",
        sympy.tanh: "tanh",
        sympy.atan: "atan",
        sympy.asin: "asin",
        sympy.acos: "acos",
    }


def _not_smooth() -> tuple[Any, ...]:
    import sympy

    return (
        sympy.Abs,
        sympy.Max,
        sympy.Min,
        sympy.Heaviside,
        sympy.sign,
        sympy.floor,
        sympy.ceiling,
        sympy.Piecewise,
        sympy.Mod,
    )


PRIMED_FUNCTIONS = frozenset(
    {"exp", "log", "ln", "sin", "cos", "tanh", "sinh", "cosh", "sigmoid", "softplus"}
)
MAX_DERIVATIVES = 6


@dataclass
class Computed:
    """The texts with their derivatives computed, the operands (each must have a value at a
    witness), and whether a point where the step fails may be a witness."""

    texts: list[str]
    operands: list[ast.Node] = field(default_factory=list)
    refutable: bool = True
    said: list[str] = field(default_factory=list)
    # signs the domain fixes ("positive" / "negative" by name, from x > 0, x < 0): a limit's
    # other symbols carry them into sympy (lim_{k -> oo} 1/(1+e^{-kx}) is 1 for x > 0)
    signs: Mapping[str, str] = field(default_factory=dict)
    arrays: frozenset[str] = frozenset()  # names declared vectors or matrices: their norms are not |.|
    numbers: frozenset[str] = (
        frozenset()
    )  # names stated numbers (x > 0, x \in \mathbb{R}): their norms are |.|
    # why a step these texts hold may not be shown (a norm read as a number's, which a vector's
    # gradient does not follow), None when it may: it may still be refuted, at size 1
    not_shown: str | None = None


def _sympy_failures() -> tuple[type[Exception], ...]:
    """What sympy's ``limit`` and ``diff`` raise on forms they cannot take (sympy loaded lazily)."""
    from sympy.core.function import PoleError
    from sympy.polys.polyerrors import BasePolynomialError

    return (
        AssertionError,
        TypeError,
        ValueError,
        NotImplementedError,
        RecursionError,
        AttributeError,
        ZeroDivisionError,
        PoleError,
        BasePolynomialError,
    )


def has_derivative(text: str) -> bool:
    """Is there a derivative or a limit to compute in the text."""
    return bool(_FRAC_D.search(text) or _PRIME_CALL.search(text) or _LIM.search(text))


def computed(
    texts: list[str],
    context: Context,
    signs: Mapping[str, str] | None = None,
    arrays: frozenset[str] = frozenset(),
    numbers: frozenset[str] = frozenset(),
) -> Computed | None:
    """The texts with every derivative and limit of a formula the math language reads
    computed (those it cannot compute left as written, for the other readings); None when
    none was computed. ``signs``: the symbols the domain makes positive or negative;
    ``arrays``: the names the chain declares vectors or matrices (with the part's own);
    ``numbers``: the names it states numbers (a norm of one is its absolute value)."""
    out = Computed(
        [],
        signs=dict(signs or {}),
        arrays=arrays | context.arrays | frozenset(context.shapes),
        numbers=numbers - arrays,
    )
    for text in texts:
        at = 0
        for _ in range(MAX_DERIVATIVES):
            found = _next_derivative(text, at, context, out)
            if found is None:
                break
            if isinstance(found, int):  # not computed: left as written, the search goes on past it
                at = found + 1
                continue
            start, end, value = found
            text = f"{text[:start]} ({value}) {text[end:]}"
            at = start
        out.texts.append(text)
    return out if out.said else None


def _next_derivative(
    text: str, at: int, context: Context, out: Computed
) -> tuple[int, int, str] | int | None:
    """The first derivative or limit from ``at`` computed (start, end, value), or where it
    starts when it cannot be, or None when there is none."""
    matches = [
        m for m in (_FRAC_D.search(text, at), _PRIME_CALL.search(text, at), _LIM.search(text, at)) if m
    ]
    if not matches:
        return None
    m = min(matches, key=lambda match: match.start())
    if m.re is _FRAC_D:
        found = _leibniz(text, m.start(), context, out)
    elif m.re is _PRIME_CALL:
        found = _primed(text, m, context, out)
    else:
        found = _limit(text, m, context, out)
    return m.start() if isinstance(found, str) else found


def _limit(text: str, m: re.Match[str], context: Context, out: Computed) -> tuple[int, int, str] | str:
    """``\\lim_{h \\to 0} BODY`` to the end of the side: the limit sympy computes of a smooth
    formula the math language reads (two-sided at a number), when it is finite."""
    import sympy

    from grader.mathlang.to_sympy import Unsupported, to_sympy

    under = _UNDER.fullmatch(m.group("under"))
    body_at = m.end()
    if under is None or not text[body_at:].strip() or term_end(text, body_at) < len(text.rstrip()):
        return "unreadable"
    variable = read_side(under.group("var"), context).node
    body = read_side(text[body_at:], context).node
    if not isinstance(variable, ast.Sym) or body is None or sum(1 for _ in ast.walk(body)) > MAX_LIMIT_NODES:
        return "unreadable"
    target_text = under.group("to").replace(" ", "")
    infinite = target_text.endswith("\\infty")
    try:
        from grader.mathlang.evaluate import compile_functions

        functions = compile_functions(dict(context.functions)) if context.functions else {}
        expr, signed = _signed(to_sympy(body, functions=functions), out.signs, keep=variable.name)
        v = next((x for x in expr.free_symbols if x.name == variable.name), None)
        if v is not None and not infinite:
            expr = _local_branches(expr, v, sympy.Rational(target_text))
        if expr.has(*_not_smooth()):
            return "unreadable"
        value = _limit_value(expr, v, target_text)
        if not value.is_finite or value.has(sympy.Limit, sympy.AccumBounds):
            return "unreadable"
        value = value.subs(signed)
        written = to_text(_node(value))
        if not _same(written, value, context, functions):
            return "unreadable"
    # sympy's limit raises these from its own internals on forms it cannot take (AttributeError,
    # NotImplementedError, PoleError and the polynomial errors included): the step is left
    # undecided, never marked either way, and says why
    except Unsupported as err:
        return f"unreadable: {err}"
    except _sympy_failures() as err:
        return f"the limit could not be computed ({type(err).__name__})"
    if ast.free_names(body) - {variable.name}:
        out.refutable = False  # sympy's limit with parameters may hold only for most of their values
    out.said.append(f"the limit as {variable.name} -> {under.group('to').strip()}")
    return m.start(), len(text), written


def _limit_value(expr: Any, v: Any, target_text: str) -> Any:
    """sympy's limit of ``expr`` as ``v`` tends to the target (two-sided at a number)."""
    import sympy

    if v is None:
        return expr
    if target_text.endswith("\\infty"):
        return sympy.limit(expr, v, -sympy.oo if target_text.startswith("-") else sympy.oo)
    return sympy.limit(expr, v, sympy.Rational(target_text), dir="+-")


def _leibniz(text: str, start: int, context: Context, out: Computed) -> tuple[int, int, str] | str:
    """``\\frac{d}{dx} OPERAND`` or ``\\frac{d OPERAND}{dx}`` (``\\partial`` alike)."""
    top_end = group_end(text, start + len("\\frac"))
    bottom_end = group_end(text, top_end) if top_end is not None else None
    if top_end is None or bottom_end is None:
        return "unreadable"
    top = text[text.index("{", start) + 1 : top_end - 1]
    bottom = text[text.index("{", top_end) + 1 : bottom_end - 1]
    order = 1
    second_top, second_bottom = _SECOND.match(top), _SECOND_BELOW.match(bottom)
    if second_top is not None and second_bottom is not None:  # \frac{d^2}{dx^2}
        order, top, bottom = 2, second_top.group(1) + top[second_top.end() :], second_bottom.group(1)
    elif second_top is not None or second_bottom is not None:
        return "unreadable"
    below = _D_THEN.match(bottom)
    variable = read_side(below.group(2), context).node if below is not None else None
    if below is None or not isinstance(variable, ast.Sym):
        return "unreadable"
    operand_text, end = _leibniz_operand(text, top, bottom_end)
    operand = read_side(operand_text, context).node if operand_text is not None else None
    if operand is None:
        return "unreadable"
    others = ast.free_names(operand) - {variable.name}
    if _entry_may_coincide(variable.name, others):
        return "unreadable"  # d/dx_j of x_i: 0 or not, as i = j or not
    if any(_entry_may_coincide(other, {variable.name}) for other in others):
        return "unreadable"  # d/dx of x_1: x_1 may be an entry of the vector x
    number = variable.name in out.numbers or variable.name in out.arrays  # arrays: not read as |.|
    if not number and not _norm_read_as_abs_holds_for_vectors(operand, variable.name):
        # ||u||^4 by u: 4u^3 for a number, 4||u||^2 u for a vector; a vector of one entry is
        # the number, so a point where the number's fails is a witness still
        out.not_shown = (
            f"computed with ||{variable.name}|| read as a number's |{variable.name}|, not a vector's"
        )
    value = _derivative(operand, variable.name, context, order=order, signs=out.signs, arrays=out.arrays)
    if value is None:
        return "unreadable"
    if not ("partial" in below.group(1) or "partial" in top) and others:
        out.refutable = False
    out.operands.append(operand)
    out.said.append(f"the {'second ' if order == 2 else ''}derivative by {variable.name}")
    return start, end, value


def _leibniz_operand(text: str, top: str, bottom_end: int) -> tuple[str | None, int]:
    """The operand of the operator form (after it) or of the fraction form (its numerator)."""
    if _D_ALONE.match(top):
        return _operand_after(text, bottom_end)
    above = _D_THEN.match(top)
    if above is None or re.fullmatch(r"\s*\\?[A-Za-z]+(?:_\{[^{}]*\}|_\w)?\s*", above.group(2)):
        return None, bottom_end  # dy/dx, dL/dw: a name, maybe a function of the variable
    return above.group(2), bottom_end


def _operand_after(text: str, at: int) -> tuple[str | None, int]:
    """What a derivative operator applies to: a bracketed group or a call (with its powers),
    or the rest of the side, when what follows it ends the term (``\\frac{d}{dx}(x) y`` and
    ``\\frac{d}{dx} x^2 + 1`` are left alone: which factors, which terms?)."""
    opening = _OPEN.match(text, at)
    call = _CALL.match(text, at)
    if opening is not None or call is not None:
        bracket = opening.end() - 1 if opening is not None else call.end() - 1  # type: ignore[union-attr]
        end = closing(text, bracket)
        if end is None:
            return None, at
        powered = scripts_end(text, end)
        if not _ENDS_TERM.match(text, powered):
            return None, at
        if opening is not None and powered == end:
            inner = re.sub(r"\\right\s*$", "", text[opening.end() : end - 1].rstrip())
            return inner, end
        return text[at:powered], powered
    rest = text[at:]
    if rest.strip() and term_end(text, at) >= len(text.rstrip()):
        return rest, len(text)
    return None, at


def _primed(text: str, m: re.Match[str], context: Context, out: Computed) -> tuple[int, int, str] | str:
    """``\\tanh'(x)``, ``f''(x)``: a known smooth function's or a declared one's derivative at
    its argument (a subscripted name only where the part declares it: ``sigma_s``)."""
    name = re.sub(r"[{}\\]", "", m.group(1))
    if name not in context.functions and ("_" in name or name not in PRIMED_FUNCTIONS):
        return "unreadable"
    end = closing(text, m.end() - 1)
    if end is None:
        return "unreadable"
    argument = read_side(text[m.end() : end - 1].removesuffix("\\right"), context)
    if argument.node is None:
        return "unreadable"
    fresh = "t"
    call = read_side(f"{m.group(1)}({fresh})", context)
    if call.node is None:
        return "unreadable"
    order = len(m.group(2))
    value = _derivative(call.node, _only_name(call.node), context, at=argument.node, order=order)
    if value is None:
        return "unreadable"
    out.operands.append(argument.node)
    out.said.append(f"the derivative {name}{m.group(2)}")
    return m.start(), end, value


def _norm_read_as_abs_holds_for_vectors(operand: ast.Node, name: str) -> bool:
    """Whether the derivative by ``name`` with its norm read as ``|name|`` (a number's) is the
    gradient if ``name`` is a vector, as a norm between double bars says it may be: where the
    operand holds ``name`` only in squared norms, each with a factor free of it
    (``d/du a||u||^2 = 2au`` for a vector too). ``||u||^4`` or ``e^{||u||^2}`` have another
    gradient (``4||u||^2 u``), which the reading as ``|u|`` writes ``4u^3``; the operand of a
    name never in a norm is a number's, as read."""
    import sympy

    from grader.mathlang.to_sympy import Unsupported, to_sympy

    def is_norm(node: ast.Node) -> bool:
        return (
            isinstance(node, ast.Call)
            and node.name == "norm"
            and bool(node.args)
            and isinstance(node.args[0], ast.Sym)
            and node.args[0].name == name
        )

    def euclidean(node: ast.Node) -> bool:
        return is_norm(node) and all(_is_two(p) for p in node.args[1:])  # type: ignore[attr-defined]

    def squared_norms(node: ast.Node) -> ast.Node:
        if isinstance(node, ast.BinOp) and node.op == "^" and _is_two(node.right) and euclidean(node.left):
            return ast.Sym(node.pos, _SQUARED_NORM)
        return with_children(node, squared_norms)

    if not any(is_norm(node) for node in ast.walk(operand)):
        return True
    replaced = squared_norms(operand)
    if name in ast.free_names(replaced):  # ||u||^4, |u| beside ||u||^2, e^u
        return False
    try:
        expr = to_sympy(replaced)
    except Unsupported:
        return False
    squared = next(s for s in expr.free_symbols if s.name == _SQUARED_NORM)
    return bool(sympy.diff(expr, squared, 2) == 0)


_SQUARED_NORM = "grader_squared_norm"


def numbers_only(mark: StepMark, nodes: tuple[ast.Node, ...], numbers: frozenset[str]) -> StepMark:
    """A step shown with its norms read as numbers' (the scalar reading), undecided where a
    norm between double bars may be a vector's and the step hold of numbers only
    (:func:`vectors_may_differ`); ``numbers``: names the write-up states numbers (x > 0,
    x \\in \\mathbb{R})."""
    why = vectors_may_differ(*nodes, numbers=numbers) if mark.status == "shown" else None
    if why is None:
        return mark
    return mark.model_copy(update={"status": "undecided", "certificate": f"shown of numbers only: {why}"})


def vectors_may_differ(*nodes: ast.Node, numbers: frozenset[str] = frozenset()) -> str | None:
    """Why a step read with each norm as a number's ``|.|`` may not hold if a name inside a norm
    is a vector, as double bars say it may be; None when it holds of vectors too. A name is a
    number where the step takes its absolute value (``|a|`` beside ``||a x||``). A vector's name
    also outside its norm (``||u||^2 = u^2``: ``u^2`` of a vector is another thing), or two
    of them in one norm (``||x + y|| ||x - y|| = | ||x||^2 - ||y||^2 |`` holds of numbers, not of
    vectors at right angles), or two orders of its norm (``||x||_1 \\le ||x||_2``), is why. A point
    where such a step fails is a witness still: a vector of one entry is the number."""
    in_norms: list[tuple[set[str], str]] = []  # each norm's names and its order ("2" when unwritten)
    taken_abs: set[str] = set(numbers)
    outside: set[str] = set()

    def look(node: ast.Node, norm: set[str] | None = None, in_abs: bool = False) -> None:
        if isinstance(node, ast.Call) and node.name == "norm" and norm is None:
            norm = set()
            in_norms.append((norm, "2" if all(_is_two(p) for p in node.args[1:]) else to_text(node.args[1])))
        in_abs = in_abs or (isinstance(node, ast.Call) and node.name == "abs" and norm is None)
        if isinstance(node, ast.Sym):
            (norm if norm is not None else taken_abs if in_abs else outside).add(node.name)
        for child in ast.children(node):
            look(child, norm, in_abs)

    for node in nodes:
        look(node)
    orders: dict[str, set[str]] = {}
    for names, order in in_norms:
        vectors = sorted(names - taken_abs)
        if len(vectors) > 1:
            return f"{' and '.join(vectors)} in one norm between double bars may be vectors"
        if vectors and vectors[0] in outside:
            return f"{vectors[0]} is inside a norm between double bars (a vector's?) and outside it"
        for name in vectors:
            orders.setdefault(name, set()).add(order)
    mixed = sorted(name for name, kinds in orders.items() if len(kinds) > 1)
    if mixed:
        return f"norms of {mixed[0]} of different orders, equal for a number only"
    return None


def _is_two(node: ast.Node) -> bool:
    return isinstance(node, ast.Num) and node.value == 2


def _only_name(node: ast.Node) -> str:
    names = sorted(ast.free_names(node))
    return names[0] if names else ""


def _entry_may_coincide(variable: str, others: set[str]) -> bool:
    """``x_j`` against ``x_i``, ``x_1`` or ``x_{12}`` (and ``x_1`` against ``x_j``): two entries
    of one name, one with a letter index, may be the same entry; ``x_j`` (or ``x_1``) against
    the name ``x`` itself (``\\|\\theta\\|^2`` by ``\\theta_j``): the vector whose entry it is."""
    m = _ENTRY_NAME.fullmatch(variable)
    if m is None:
        return False
    if m.group(1) in others and (m.group(2).isdigit() or len(m.group(2)) == 1):  # not y_hat beside y
        return True
    for other in others:
        o = _ENTRY_NAME.fullmatch(other)
        if o is not None and o.group(1) == m.group(1) and (m.group(2).isalpha() or o.group(2).isalpha()):
            return True
    return False


_ENTRY_NAME = re.compile(r"(.+?)_\{?([A-Za-z]+|\d+)\}?")  # y_hat_j: an entry of y_hat


MAX_PATTERN_INDICES = 3
# a subscript (a Kronecker delta's apart): each must be one of the indices tried
_ANY_SUBSCRIPT = re.compile(r"(\\delta\s*)?_\s*(?:\{([^{}]*)\}|([A-Za-z0-9]))")
_NUMBERED = re.compile(r"_\s*\{?\s*\d|\\sum|\\prod|\\dots|\\cdots|\\ldots")


def index_patterns(texts: list[str], indices: list[str]) -> int:
    """How many values each free index takes (1 to that number) so that every pattern of the
    indices (``i = j`` or ``i != j``...) is tried, or 0 when that does not settle the step.
    With no sum, no entry with a number index and each index only a subscript, the step is
    about entries that are distinct symbols exactly where their indices differ: its truth
    depends on which indices coincide, and values 1 to k give k indices every pattern. So
    ``\\frac{d}{dx_j} e^{x_i} = 0`` fails where ``i = j`` (never wrong: the words may say
    ``i \\ne j``) and ``\\frac{d}{dx_j} e^{x_i} = \\delta_{ij} e^{x_i}`` is shown (the
    Kronecker delta the write-up names). Every subscript but a Kronecker delta's must be one
    of the indices: ``w_{ij}`` beside ``w_{ik} x_k`` is ``x_j`` where ``k = j``."""
    if not indices or len(indices) > MAX_PATTERN_INDICES or any(_NUMBERED.search(t) for t in texts):
        return 0
    for m in _ANY_SUBSCRIPT.finditer(" ".join(texts)):
        if not m.group(1) and re.sub(r"\s", "", m.group(2) or m.group(3)) not in indices:
            return 0  # w_{ij} beside w_{ik} x_k with k tried alone: the letters i, j not tried
    return len(indices)


def patterns_said(mark: Any, indices: list[str]) -> str:
    """The certificate of a step shown at every pattern of its indices."""
    count = len(indices)
    return (
        f"{mark.certificate}, at every pattern of {', '.join(indices)} (equal or not: each from 1 to "
        f"{count}; the step is the same at any values with the same pattern)"
    )


def _signed(expr: Any, signs: Mapping[str, str], keep: str | None = None) -> tuple[Any, dict[Any, Any]]:
    """The expression with the symbols the domain makes positive or negative (but ``keep``)
    carrying that sign into sympy, and the table that takes them back to plain symbols."""
    import sympy

    table = {
        x: sympy.Symbol(x.name, **{signs[x.name]: True})
        for x in expr.free_symbols
        if x.name in signs and x.name != keep
    }
    return expr.subs(table), {b: a for a, b in table.items()}


def _local_branches(expr: Any, variable: Any, point: Any) -> Any:
    """``max``, ``min`` and ``|.|`` whose arguments at ``variable = point`` are strictly ordered
    (the domain's signs decide: ``max(0, x + h)`` at ``h = 0`` with ``x > 0``) replaced by the
    branch that holds near the point, where the arguments are continuous; the others kept
    (a limit of them is not computed)."""
    import sympy

    def pick(e: Any) -> Any:
        if not e.args:
            return e
        args = [pick(a) for a in e.args]
        if isinstance(e, sympy.Max | sympy.Min):
            at = [a.subs(variable, point) for a in args]
            above = sympy.Max == e.func
            for i, a in enumerate(at):
                if all(
                    (a - b).is_positive if above else (a - b).is_negative for j, b in enumerate(at) if j != i
                ):
                    return args[i]
        if isinstance(e, sympy.Abs):
            at = args[0].subs(variable, point)
            if at.is_positive:
                return args[0]
            if at.is_negative:
                return -args[0]
        return e.func(*args)

    return pick(expr)


def _derivative(
    node: ast.Node,
    name: str,
    context: Context,
    at: ast.Node | None = None,
    order: int = 1,
    signs: Mapping[str, str] | None = None,
    arrays: frozenset[str] = frozenset(),
) -> str | None:
    """The derivative in the math language's text, or None (not smooth, not covered). With
    ``signs`` (x > 0 on the whole domain) ``max(0, x)`` is ``x`` there: its derivative is 1.
    A norm of a declared array (``arrays``) is not read as ``|.|``."""
    import sympy

    from grader.mathlang.to_sympy import Unsupported, to_sympy

    try:
        from grader.mathlang.evaluate import compile_functions

        functions = compile_functions(dict(context.functions)) if context.functions else {}
        expr, back = _signed(to_sympy(euclidean_as_abs(node, arrays), functions=functions), signs or {})
        if expr.has(*_not_smooth()):
            return None
        variable = next((s for s in expr.free_symbols if s.name == name), None)
        result = sympy.diff(expr, variable, order) if variable is not None else sympy.Integer(0)
        if at is not None:
            assert variable is not None
            result = result.subs(variable, to_sympy(at, functions=functions))
        result = result.subs(back)
        text = to_text(_node(result))
        return text if _same(text, result, context, functions) else None
    except Unsupported:
        return None
    except _sympy_failures():  # AssertionError among them: no variable where a point was given
        return None


def euclidean_as_abs(node: ast.Node, arrays: frozenset[str] = frozenset()) -> ast.Node:
    """The tree with each Euclidean norm (``\\|u\\|``, ``||u||_2``) read as ``|u|``, its value
    for a real ``u``: ``||\\theta||_2^2`` is then ``\\theta^2`` (sympy's ``Abs(t)**2`` of a real
    symbol), smooth, with the derivative ``2\\theta`` (the gradient of a vector's squared norm
    too); a norm left unsquared stays ``|u|``, not smooth, and is not differentiated. Other
    norms (``||u||_1``, ``||u||_\\infty``) are left as written (not read symbolically), and so
    is the norm of a formula holding a name declared a vector or a matrix (``arrays``: for
    ``u \\in \\mathbb{R}^n`` the gradient of ``||u||^4`` is ``4||u||^2 u``, not ``4u^3``)."""
    if isinstance(node, ast.Call) and node.name == "norm" and node.args:
        p = node.args[1:]
        euclidean = not p or (len(p) == 1 and isinstance(p[0], ast.Num) and p[0].value == 2)
        if euclidean and not ast.free_names(node.args[0]) & arrays:
            return ast.Call(node.pos, "abs", (euclidean_as_abs(node.args[0], arrays),))
    return with_children(node, lambda child: euclidean_as_abs(child, arrays))


def _same(text: str, value: Any, context: Context, functions: Any) -> bool:
    """The text written back reads as the value computed (at a few rational points)."""
    import sympy

    from grader.mathlang.to_sympy import to_sympy

    back = read_side(text, context)
    if back.node is None:
        return False
    again = to_sympy(back.node, functions=functions)
    symbols = sorted(value.free_symbols | again.free_symbols, key=lambda s: s.name)
    for k, point in enumerate(((3, 7), (5, 11), (-2, 9))):
        at = {x: sympy.Rational(point[0] + 2 * i + k, point[1]) for i, x in enumerate(symbols)}
        a, b = complex(value.subs(at).evalf(30)), complex(again.subs(at).evalf(30))
        if abs(a - b) > 1e-12 * (1 + abs(a)):
            return False
    return True


def _node(e: Any) -> ast.Node:
    """A sympy expression built here back as grader's tree (an allow-list; else Unsupported)."""
    import sympy

    from grader.mathlang.to_sympy import Unsupported

    if e.is_Rational:
        value = Fraction(int(e.p), int(e.q))
        if value < 0:
            return ast.Neg(0, _node(-e))
        if value.denominator != 1:  # 1/2 as a quotient: x^(1/2), never x^1/2
            return ast.BinOp(0, "/", _number(value.numerator), _number(value.denominator))
        return _number(value.numerator)
    if e.is_Symbol:  # a Greek name is written back as the command it was read from (theta: \theta)
        base = e.name.split("_", 1)[0]
        return ast.Sym(0, f"\\{e.name}" if len(base) > 1 and base.isalpha() else e.name)
    if e is sympy.E or e is sympy.pi:
        return ast.Const(0, "e" if e is sympy.E else "pi")
    if e.is_Add or e.is_Mul or e.is_Pow:
        return _arithmetic(e)
    for function, name in _smooth().items():
        if isinstance(e, function):
            return ast.Call(0, name, tuple(_node(a) for a in e.args))
    raise Unsupported(f"{type(e).__name__} is not read back")


def _number(n: int) -> ast.Num:
    return ast.Num(0, Fraction(n))


def _arithmetic(e: Any) -> ast.Node:
    import sympy

    if e.is_Add:
        return _fold("+", [_node(a) for a in e.args])
    if e.is_Mul:
        numerator, denominator = e.as_numer_denom()
        if denominator != 1:
            return ast.BinOp(0, "/", _node(numerator), _node(denominator))
        return _fold("star", [_node(a) for a in e.args])
    base, exponent = e.args
    if exponent.is_Rational and exponent < 0:
        return ast.BinOp(0, "/", _number(1), _node(sympy.Pow(base, -exponent)))
    return ast.BinOp(0, "^", _node(base), _node(exponent))


def _fold(op: str, nodes: list[ast.Node]) -> ast.Node:
    out = nodes[0]
    for node in nodes[1:]:
        out = ast.BinOp(0, op, out, node)
    return out


def guards(operands: list[ast.Node]) -> list[ast.Node]:
    """Conditions that hold exactly where each operand has a value (``u \\ne u + 1``)."""
    return [ast.Relation(0, "!=", u, ast.BinOp(0, "+", u, ast.Num(0, Fraction(1)))) for u in operands]


__all__ = ["Computed", "computed", "guards", "has_derivative"]
