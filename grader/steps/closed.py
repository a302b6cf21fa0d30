"""Sums over a size proved in closed form (``\\sum_{i=1}^{n} i^3 = \\frac{n^2 (n+1)^2}{4}``).

A step whose size symbol (or a sum's index) stands as a value is a claim about a function of
the size: written out at a few sizes it may agree where it is false
(``(n-1)(n-2)(n-3)(n-4)`` vanishes at ``n = 1, 2, 3, 4``). Such a step is shown here only by a
proof: every sum ``\\sum_{i=a}^{b} body`` whose body is a formula in its index and other
scalars (no entry ``x_i`` of the index; a sum nested in it summed first) summed symbolically (sympy's
``Sum(...).doit()``, over an integer index), the rest of each side read by grader's own
parser, and the difference simplified to 0 for every size (where both sides are defined:
a closed form's case for an equation of its parameters, ``q = 1`` in a geometric sum, is
taken as its generic one, which a finite sum, continuous in them, agrees with).
"""

from __future__ import annotations

import re
from typing import Any

from grader.steps.opaque import sum_span
from grader.steps.read import Context, read_side
from grader.steps.sums import SUM_BOUNDED

MAX_SUMS = 4  # sums put in closed form in one side
MAX_DEPTH = 1  # sums nested in a sum's body (\\sum_{i=1}^{m} \\sum_{j=1}^{n} 1)
MAX_DEGREE = 12  # a body's degree in its index, and powers anywhere: beyond, no proof tried
_PLACEHOLDER = "q_{{9{k}}}"


def closed_forms_equal(left: str, right: str, context: Context) -> bool:
    """True only when both sides, their sums in closed form, are proved equal for every size."""
    import sympy

    try:
        a, b = _closed(left, context), _closed(right, context)
        if a is None or b is None:
            return False
        return bool(sympy.simplify(a - b) == 0)
    except Exception:  # sympy on hostile input: no proof, never a mark
        return False


def _closed(text: str, context: Context, depth: int = 0) -> Any:
    import sympy

    sums: dict[str, Any] = {}
    for k in range(MAX_SUMS + 1):
        m = SUM_BOUNDED.search(text)
        if m is None:
            break
        if k == MAX_SUMS:
            return None
        span = sum_span(text[m.start() :])
        if span is None or span == (-1, -1):
            return None
        end = m.start() + span[1]
        body, index = text[m.end() : end], m.group(1)
        if "\\prod" in body or _in_subscript(body, index) or (depth >= MAX_DEPTH and "\\sum" in body):
            return None  # x_i, sums nested deeper: not a formula in the index alone
        inner = _closed(body, context, depth + 1) if "\\sum" in body else _scalar(body, context)
        parts = [inner, *(_scalar(t, context) for t in (m.group(2), m.group(3) or m.group(4)))]
        if any(p is None for p in parts):
            return None
        expr, low, high = parts
        i = sympy.Symbol("i_summed", integer=True)
        free = {str(s): s for s in expr.free_symbols}
        if index in free:
            expr = expr.subs(free[index], i)
        if _too_large(expr) or (expr.is_polynomial(i) and sympy.Poly(expr, i).degree() > MAX_DEGREE):
            return None  # i^{60} (i+1)^{60}: a minute of sympy for a student's line (under limits)
        closed = _generic(sympy.Sum(expr, (i, low, high)).doit())
        if closed.has(sympy.Sum):
            return None
        name = _PLACEHOLDER.format(k=k)
        sums[f"q_9{k}"] = closed
        text = text[: m.start()] + f" {name} " + text[end:]
    whole = _scalar(text, context)
    if whole is None or _too_large(whole):
        return None
    values = {s: sums[str(s)] for s in whole.free_symbols if str(s) in sums}
    return whole.subs(values)


def _too_large(expr: Any) -> bool:
    """A power with a whole exponent beyond :data:`MAX_DEGREE` (``(n+1)^{500}``)."""
    import sympy

    return any(p.exp.is_Integer and abs(int(p.exp)) > MAX_DEGREE for p in expr.atoms(sympy.Pow))


def _in_subscript(body: str, index: str) -> bool:
    """The index inside a subscript of the body (``x_i``, ``w_{ij}``): an entry of it."""
    return any(
        re.search(rf"(?<![A-Za-z\\]){index}(?![A-Za-z])", m.group(1) or m.group(2) or "")
        for m in re.finditer(r"_\s*(?:\{([^{}]*)\}|([A-Za-z0-9]))", body)
    )


def _scalar(text: str, context: Context) -> Any:
    from grader.mathlang.to_sympy import Unsupported, to_sympy

    read = read_side(text, context)
    if read.node is None:
        return None
    try:
        return to_sympy(read.node, domains=dict(context.domains))  # type: ignore[arg-type]
    except (Unsupported, ValueError, TypeError):
        return None


def _generic(closed: Any) -> Any:
    """A closed form's generic case (``\\sum_{j=0}^{t-1} q^j``: ``(1 - q^t) / (1 - q)``, not its
    ``q = 1`` case): a finite sum is continuous in its parameters, so a side equal to the
    generic case and defined where an equation's case applies equals the sum there too."""
    import sympy

    def generic(e: Any) -> bool:
        *cases, last = e.args
        return bool(last[1] == sympy.true) and all(isinstance(c, sympy.Eq) for _, c in cases)

    return closed.replace(lambda e: isinstance(e, sympy.Piecewise) and generic(e), lambda e: e.args[-1][0])
