"""Derivatives of functions not defined here, taken by the chain rule and the product rule.

``\\frac{d}{dx} f(g(x)) = f'(g(x)) g'(x)`` and ``\\frac{d}{dx} e^{g(x)} = e^{g(x)} g'(x)`` hold
whatever ``f`` and ``g`` are (where they are differentiable): each derivative whose operand
applies a function not defined here is computed by sympy with that function left *generic*
(its derivative ``f'`` an unknown function of its own), and each application, ``f(u)``,
``f'(u)``, ``f''(u)``, is then one unknown, keyed by the function, the order and the value of
its argument (``f'(g(x))`` on one side and the chain rule's ``f'(g(x))`` on the other are one
unknown). When the two sides are then the same function of those unknowns and the other
symbols, the step holds for every such function: it is shown ("the derivatives computed by
the chain rule, ... read as unknowns"). Never refuted this way: a point that separates the
sides need not be one where the unknowns take values that functions give them together.

Nothing of the student's text is parsed by sympy: the operands and arguments are read by
grader's own parser (:mod:`grader.steps.read`) and turned into sympy by
:func:`grader.mathlang.to_sympy.to_sympy`; the two sides come back as formulas of the math
language, checked to read back as the values computed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from grader.mathlang import ast
from grader.mathlang.render import to_text
from grader.steps.calculus import _D_ALONE, _D_THEN, _FRAC_D, _operand_after, _sympy_failures
from grader.steps.latex import closing, group_end
from grader.steps.read import CALLED_ON_A_NAME, FUNCTION_LETTERS, KNOWN_CALLS, Context, read_side

PREFIX = "o"  # as grader.steps.opaque: the letter o is never a student's name here
_FRESH = re.compile(r"(?<![A-Za-z\\])o_")
# an application of a function: its name, its primes, the opening bracket
_APPLIED = re.compile(r"((?<![A-Za-z\\])[A-Za-z]+|(?<!\\)\\[A-Za-z]+)\s*('*)\s*(\\left\s*\(|\()")
# what a generic function's argument must not hold: vectors, matrices, their operators
_NOT_SCALAR = re.compile(
    r"\\(?:mathbf|boldsymbol|bm|vec)\b|\\odot|\\otimes|\^\s*\{?\s*(?:T|\\top|\\intercal)\b|"
    r"\\begin|\\nabla|\\sum|\\prod|\\int|\\lim|\\mathbb|\\\||\\lVert|\|"
)
MAX_APPLICATIONS = 16
MAX_ORDER = 3


class _Generic:
    """The generic functions of one step: ``f`` of order 0, ``f'`` of order 1, ..., each a
    sympy function whose derivative is the next order's."""

    def __init__(self) -> None:
        self.classes: dict[tuple[str, int], Any] = {}

    def function(self, name: str, order: int) -> Any:
        import sympy

        key = (name, order)
        if key not in self.classes:
            generic = self

            def fdiff(self: Any, argindex: int = 1) -> Any:
                if order >= MAX_ORDER:
                    raise ValueError("derivative of too high an order")
                return generic.function(name, order + 1)(self.args[0])

            self.classes[key] = type(f"G_{name}_{order}", (sympy.Function,), {"nargs": 1, "fdiff": fdiff})
        return self.classes[key]

    def key(self, e: Any) -> tuple[str, int] | None:
        for key, cls in self.classes.items():
            if isinstance(e, cls):
                return key
        return None


def _applied_name(name: str, primes: str, inside: str, functions: Mapping[str, Any]) -> bool:
    """Is ``name(inside)`` an application of a function not defined here."""
    if name in functions or name in KNOWN_CALLS or name.lower() in KNOWN_CALLS:
        return False
    if name in FUNCTION_LETTERS or primes:
        return len(name) == 1 or name in FUNCTION_LETTERS
    return name in CALLED_ON_A_NAME and bool(re.fullmatch(r"\s*\\?[A-Za-z]+(?:_\{?\w+\}?)?\s*", inside))


def generic_sides(texts: list[str], context: Context) -> tuple[list[str], list[str]] | None:
    """The texts with each derivative of a formula that applies functions not defined here
    computed by the chain rule, and each application of such a function (and of its
    derivatives) replaced by one unknown; and the applications as written. None when there is
    no such derivative, or anything in the way cannot be read."""
    if any(_FRESH.search(t) for t in texts):
        return None

    from grader.mathlang.evaluate import compile_functions

    generic = _Generic()
    functions = compile_functions(dict(context.functions)) if context.functions else {}
    reader = _Reader(context, generic, functions)
    failures: tuple[type[Exception], ...] = (_Unread, *_sympy_failures())
    try:
        values = [reader.value(t) for t in texts]
    except failures:
        return None
    if not reader.applications or any(v is None for v in values):
        return None
    return _written_back(values, generic, context, functions, failures)


def _written_back(
    values: list[Any],
    generic: _Generic,
    context: Context,
    functions: Mapping[str, Any],
    failures: tuple[type[Exception], ...],
) -> tuple[list[str], list[str]] | None:
    """The values with each generic application an unknown, written back in the math
    language (checked to read back as the values), and the applications as written."""
    import sympy

    from grader.mathlang.to_sympy import Unsupported, symbol_for

    table: dict[str, Any] = {}
    shown: dict[str, str] = {}
    unread: tuple[type[Exception], ...] = (*failures, Unsupported)  # Unsupported: not written back

    def unknown(e: Any) -> Any:
        if not e.args:
            return e
        key = generic.key(e)
        if key is None:
            return e.func(*[unknown(a) for a in e.args])
        name, order = key
        argument = e.args[0]
        label = f"{name}/{order}/{sympy.srepr(sympy.expand(argument))}"
        if label not in table:
            table[label] = symbol_for(f"{PREFIX}_{len(table) + 1}")
            shown[label] = f"{_spelled(name)}{chr(39) * order}({_written(argument)})"
        return table[label]

    try:
        plain = [unknown(v) for v in values]
        if len(table) > MAX_APPLICATIONS or any(p.has(sympy.Derivative, sympy.Subs) for p in plain):
            return None
        from grader.steps.calculus import _node, _same

        out = [to_text(_node(p)) for p in plain]
        if not all(_same(text, p, context, functions) for text, p in zip(out, plain, strict=True)):
            return None
    except unread:
        return None
    return out, [shown[k] for k in table]


def _spelled(name: str) -> str:
    return name if len(name) == 1 else f"\\{name}"


def _written(argument: Any) -> str:
    """An argument as the step would write it: ``g(x)`` for the generic ``g``'s application."""
    import sympy

    def spelled(m: re.Match[str]) -> str:
        return f"{_spelled(m.group(1))}{chr(39) * int(m.group(2))}("

    return re.sub(r"G_([A-Za-z]+)_(\d)\(", spelled, sympy.sstr(argument))


class _Unread(Exception):
    pass


class _Reader:
    """A side read to a sympy value: derivatives computed, applications generic."""

    def __init__(self, context: Context, generic: _Generic, functions: Mapping[str, Any]) -> None:
        self.context = context
        self.generic = generic
        self.functions = functions
        self.derivatives = 0
        self.applications = 0
        self.count = 0

    def value(self, text: str) -> Any:
        from grader.mathlang.to_sympy import Unsupported, to_sympy

        holes: dict[str, Any] = {}
        text = self._holes(text, holes)
        read = read_side(text, self.context)
        if read.node is None:
            raise _Unread(read.why or "unread")
        try:
            expr = to_sympy(read.node, functions=self.functions)
        except Unsupported as err:
            raise _Unread(str(err)) from err
        return expr.subs({s: holes[s.name] for s in expr.free_symbols if s.name in holes})

    def _hole(self, holes: dict[str, Any], value: Any) -> str:
        self.count += 1
        if self.count > MAX_APPLICATIONS * 2:
            raise _Unread("too many applications")
        name = f"{PREFIX}_{{{len(holes) + 1}}}"
        holes[f"{PREFIX}_{len(holes) + 1}"] = value
        return name

    def _holes(self, text: str, holes: dict[str, Any]) -> str:
        """The text with its derivatives and generic applications replaced by symbols whose
        values ``holes`` holds, left to right."""
        at = 0
        for _ in range(MAX_APPLICATIONS * 2):
            d, a = _FRAC_D.search(text, at), self._application(text, at)
            if d is None and a is None:
                return text
            if d is not None and (a is None or d.start() <= a[0]):
                start, end, value = self._derivative(text, d.start())
            else:
                assert a is not None
                start, end, value = a
            name = self._hole(holes, value)
            text = f"{text[:start]} {name} {text[end:]}"
            at = start + len(name) + 2
        raise _Unread("too many pieces")

    def _application(self, text: str, at: int) -> tuple[int, int, Any] | None:
        for m in _APPLIED.finditer(text, at):
            name, primes = m.group(1).lstrip("\\"), m.group(2)
            close = closing(text, m.end() - 1)
            if close is None:
                raise _Unread("a bracket not closed")
            inside = re.sub(r"\\right\s*$", "", text[m.end() : close - 1].rstrip())
            if not _applied_name(name, primes, inside, self.context.functions):
                continue
            if len(primes) > MAX_ORDER or _NOT_SCALAR.search(inside) or "," in inside:
                raise _Unread("not a scalar function of one scalar")
            if re.match(r"\s*_", text[close:]):
                raise _Unread("an application with a script after it")
            argument = self.value(inside)
            self.applications += 1
            return m.start(), close, self.generic.function(name, len(primes))(argument)
        return None

    def _derivative(self, text: str, start: int) -> tuple[int, int, Any]:
        """``\\frac{d}{dx} OPERAND`` (``\\partial`` alike, first order) computed with sympy."""
        import sympy

        top_end = group_end(text, start + len("\\frac"))
        bottom_end = group_end(text, top_end) if top_end is not None else None
        if top_end is None or bottom_end is None:
            raise _Unread("a fraction not closed")
        top = text[text.index("{", start) + 1 : top_end - 1]
        bottom = text[text.index("{", top_end) + 1 : bottom_end - 1]
        below = _D_THEN.match(bottom)
        if below is None or not _D_ALONE.match(top):
            raise _Unread("not a derivative operator")
        variable = read_side(below.group(2), self.context)
        if not isinstance(variable.node, ast.Sym):
            raise _Unread("not a derivative by a name")
        operand_text, end = _operand_after(text, bottom_end)
        if operand_text is None:
            raise _Unread("which factors the derivative applies to is not written")
        operand = self.value(operand_text)
        names = {s.name: s for s in operand.free_symbols}
        var_name = variable.node.name
        if var_name not in names or re.search(r"_\{?[A-Za-z]", var_name):
            raise _Unread("a derivative by an entry, or by a name the operand does not hold")
        self.derivatives += 1
        return start, end, sympy.diff(operand, names[var_name])


__all__ = ["generic_sides"]
