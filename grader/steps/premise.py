"""Stated equations (premises, constraints) in the search for a witness and in a proof.

A premise such as ``x^2 + y^2 = 1`` holds on a thin set: points of the search grid almost
never satisfy it, so a witness is looked for ON it (:func:`points_on`: the premise solved,
in exact rationals, for one of its symbols at grid values of the others), and each point is
still checked exactly against every condition before it counts (:meth:`witness.Domain.holds`).

A step that holds only under the premise (``x^2 = 1 - y^2`` given ``x^2 + y^2 = 1``;
``a^2 = 4b^2`` given ``a = 2b``) is shown by :func:`holds_given`: the numerator of the
difference of its sides lies in the ideal the premises' numerators generate (a Groebner
basis reduction to 0), so it vanishes wherever the premises hold and both sides have values.
Only polynomials of small degree are tried (student input is hostile); anything else is left
to the caller, which then leaves the step undecided.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Sequence
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from grader.mathlang import ast

if TYPE_CHECKING:
    import sympy

MAX_DEGREE = 6  # total degree of a premise or a step's difference tried symbolically
MAX_PREMISES = 3
MAX_SYMBOLS = 6
VALUES = ("0", "1", "-1", "2", "-2", "1/2", "-1/2", "3", "-3", "3/5", "4/5", "-3/5")


def equations(conditions: Sequence[ast.Node]) -> list[ast.Relation]:
    """The stated equations among the conditions (``a = 2b``, not ``x > 0``)."""
    return [c for c in conditions if isinstance(c, ast.Relation) and c.op == "="]


def defines_function(text: str, functions: set[str]) -> bool:
    """``\\sigma(z) = ...`` where ``sigma`` is a function the write-up or the part defines."""
    m = re.match(r"\s*\\?([A-Za-z]+)\s*(?:\\left)?\s*\(", text)
    return m is not None and m.group(1) in functions and "=" in text


def connected_names(names: Sequence[str], conditions: Sequence[ast.Node]) -> list[str]:
    """The step's symbols and those of every condition that shares a symbol with them
    (transitively): a witness must extend to values of these that satisfy the conditions."""
    out = list(names)
    grew = True
    while grew:
        grew = False
        for c in conditions:
            free = ast.free_names(c)
            if free & set(out) and not free <= set(out):
                out += sorted(free - set(out))
                grew = True
    return out


def _degree_bound(node: ast.Node, fractions: bool = False) -> int | None:
    """An upper bound on the degree of a formula's numerator, read before sympy expands it
    (student input is hostile: ``(x + y)^{1000}`` is never expanded); None: not tried."""
    if isinstance(node, ast.Num):
        return 0
    if isinstance(node, ast.Sym):
        return 1
    if isinstance(node, ast.Neg):
        return _degree_bound(node.operand, fractions)
    if isinstance(node, ast.BinOp):
        a, b = _degree_bound(node.left, fractions), _degree_bound(node.right, fractions)
        if a is None or b is None:
            return None
        if node.op in ("+", "-"):
            return a + b if fractions else max(a, b)  # over a common denominator: a sum of products
        if node.op in ("*", "implicit", "cdot", "times", "/"):
            return a + b
        if node.op == "^" and isinstance(node.right, ast.Num) and node.right.value.denominator == 1:
            k = abs(node.right.value.numerator)
            return a * k if k <= MAX_DEGREE else None
    return None


def _polynomial(node: ast.Node) -> sympy.Expr | None:
    """The numerator of a relation's ``left - right`` as a small polynomial, or None."""
    import sympy  # only where a premise is stated: a write-up without one never loads sympy

    from grader.mathlang.to_sympy import to_sympy

    try:
        assert isinstance(node, ast.Relation)
        if len(ast.free_names(node)) > MAX_SYMBOLS:
            return None
        difference = ast.BinOp(0, "-", node.left, node.right)
        divided = any(isinstance(n, ast.BinOp) and n.op == "/" for n in ast.walk(difference))
        bound = _degree_bound(difference, divided)
        if bound is None or bound > 2 * MAX_DEGREE:
            return None
        expr = to_sympy(node.left) - to_sympy(node.right)
        numerator, _ = sympy.fraction(sympy.together(expr))
        if not numerator.free_symbols:
            return sympy.Integer(0) if numerator == 0 else None
        poly = sympy.Poly(numerator, *sorted(numerator.free_symbols, key=str))
        if poly.total_degree() > MAX_DEGREE or not (poly.domain.is_QQ or poly.domain.is_ZZ):
            return None
        return poly.as_expr()
    except Exception:  # outside what is tried here (functions, arrays, huge): no claim
        return None


def points_on(conditions: Sequence[ast.Node], names: Sequence[str], admits: Any) -> list[dict[str, Fraction]]:
    """Rational points that satisfy the first stated equation, for the witness search:
    one symbol solved for (its rational roots) at small values of the others.
    ``admits(name, value)`` says whether a value is in a symbol's domain."""
    found = equations(conditions)
    if not found or len(names) > MAX_SYMBOLS:
        return []
    expr = _polynomial(found[0])
    if expr is None or not expr.free_symbols:
        return []
    symbols = {str(s): s for s in expr.free_symbols}
    if not set(symbols) <= set(names):
        return []
    inside = sorted(symbols)
    others = [n for n in names if n not in symbols]
    points: list[dict[str, Fraction]] = []
    for solved in inside:
        rest = [n for n in inside if n != solved]
        for combo in itertools.islice(itertools.product(VALUES, repeat=len(rest)), 60):
            at = {n: Fraction(v) for n, v in zip(rest, combo, strict=True)}
            if all(admits(n, v) for n, v in at.items()):
                for value in _rational_roots(expr, symbols, solved, at):
                    if admits(solved, value):
                        for fill in VALUES[:4]:
                            point = {**at, solved: value, **{n: Fraction(fill) for n in others}}
                            if all(admits(n, point[n]) for n in others):
                                points.append(point)
    unique = {tuple(sorted(p.items())): p for p in points}
    return list(unique.values())[:200]


def _rational_roots(
    expr: sympy.Expr, symbols: dict[str, sympy.Symbol], solved: str, at: dict[str, Fraction]
) -> list[Fraction]:
    """The rational values of ``solved`` where ``expr`` vanishes, the others fixed ``at``."""
    import sympy

    reduced = expr.subs({symbols[n]: sympy.Rational(v.numerator, v.denominator) for n, v in at.items()})
    if not reduced.free_symbols:
        return []
    try:
        roots = sympy.Poly(reduced, symbols[solved]).ground_roots()
    except Exception:  # not a polynomial in it after all: no points
        return []
    return [Fraction(int(r.p), int(r.q)) for r in roots if r.is_Rational]


def holds_given(left: ast.Node, right: ast.Node, conditions: Sequence[ast.Node]) -> str | None:
    """The premises (as text) under which ``left = right`` is proved, or None.

    The numerator of ``left - right`` reduces to 0 modulo a Groebner basis of the premises'
    numerators: it is a combination of them, so it vanishes wherever they all do."""
    premises = equations(conditions)[:MAX_PREMISES]
    if not premises:
        return None
    import sympy

    from grader.mathlang.to_sympy import to_sympy

    step = ast.Relation(0, "=", left, right)
    # only the premises tied to the step's symbols (directly or through one another)
    reach = set(connected_names(sorted(ast.free_names(step)), premises))
    premises = [p for p in premises if ast.free_names(p) & reach]
    if not premises:
        return None
    names = set().union(ast.free_names(step), *(ast.free_names(p) for p in premises))
    if len(names) > MAX_SYMBOLS:
        return None
    difference = _polynomial(step)
    stated = [(p, e) for p in premises if (e := _polynomial(p)) is not None and e.free_symbols]
    if difference is None or difference == 0 or not stated:
        return None  # 0: an identity, which the caller's own proof says
    gens = sorted(set().union(difference.free_symbols, *(e.free_symbols for _, e in stated)), key=str)
    try:
        # a premise and its square-free part vanish at the same points: (x - 1)^2 = 0 gives x = 1
        basis = sympy.groebner([sympy.sqf_part(e) for _, e in stated], *gens, order="grevlex")
        if list(basis.exprs) == [1]:
            return None  # premises with no common solution: no claim either way
        _, remainder = basis.reduce(difference)
    except Exception:
        return None
    if remainder != 0 or _undefined_on(left, right, [sympy.sqf_part(e) for _, e in stated], gens):
        return None
    return ", ".join(f"{sympy.latex(to_sympy(p.left))} = {sympy.latex(to_sympy(p.right))}" for p, _ in stated)


def restated(
    left: ast.Node,
    right: ast.Node,
    conditions: Sequence[ast.Node],
    same: Callable[[ast.Node, ast.Node], bool],
) -> ast.Relation | None:
    """The stated equation that the step ``left = right`` restates, or None: the difference
    of its sides is identically the difference of the equation's sides, or its negative
    (``4k^2 = (2k')^l`` given ``(2k)^2 = (2k')^l``; ``b = a`` given ``a = b``), by ``same``
    (the engine's exact identity). Then wherever the equation holds and every side has a
    value, the step's difference is 0: a proof, whatever the formulas are (powers with
    symbolic exponents, functions), where :func:`holds_given` tries small polynomials only."""
    difference = ast.BinOp(0, "-", left, right)
    for p in equations(conditions)[:MAX_PREMISES]:
        if not ast.free_names(p) & ast.free_names(difference):
            continue
        for stated in (ast.BinOp(0, "-", p.left, p.right), ast.BinOp(0, "-", p.right, p.left)):
            if same(difference, stated):
                return p
    return None


def _undefined_on(
    left: ast.Node, right: ast.Node, stated: list[sympy.Expr], gens: list[sympy.Symbol]
) -> bool:
    """Whether a side's denominator vanishes wherever the premises hold (``\\frac{x - y}{x^2 - y^2}``
    given ``x = y``): the step then holds nowhere, and a proof of it is vacuous. The
    denominator is in the radical of the premises' ideal (Rabinowitsch: 1 is in the ideal
    with ``1 - t d`` added). True also when this cannot be told (no claim)."""
    import sympy

    from grader.mathlang.to_sympy import to_sympy

    try:
        for side in (left, right):
            _, denominator = sympy.fraction(sympy.together(to_sympy(side)))
            if not (denominator.free_symbols & set(gens)):
                continue
            t = sympy.Dummy("t")
            basis = sympy.groebner([*stated, 1 - t * denominator], *gens, t, order="grevlex")
            if list(basis.exprs) == [1]:
                return True
    except Exception:
        return True
    return False


def undecided_why(conditions: Sequence[ast.Node]) -> str | None:
    """Why a step after a stated equation is left undecided (never wrong without a witness)."""
    if not equations(conditions):
        return None
    return (
        "the step may rest on the stated equation: it was neither proved from it nor refuted "
        "at a point that satisfies it"
    )


# a sign stated in words, in a clause a premise word leads: a domain not read (a positive
# integer is a number set, read)
_SIGN_WORDS = re.compile(
    r"\b(?:(?:strictly |non-?)?(?:positive|negative)(?! (?:integers?|natural|whole))|non-?zero"
    r"|(?:in)?active (?:region|units?|set))\b",
    re.I,
)
_PREMISE_WORDS = re.compile(r"\b(?:for|since|as|because|if|when|whenever|where|given|let|with|in)\b", re.I)


def sign_words(prose: str) -> list[tuple[int, str]]:
    """(offset, words) of each sign stated in words in a clause a premise word leads ("for
    positive $x$", "since $W$ has only positive entries", "in the active region"), the math
    masked out of ``prose``: a condition grader does not read."""
    found = []
    for m in _SIGN_WORDS.finditer(prose):
        clause = re.split(r"[.;:()!?]|\n\s*\n", prose[max(0, m.start() - 100) : m.start()])[-1]
        if _PREMISE_WORDS.search(clause):
            found.append((m.start(), m.group(0)))
    return found
