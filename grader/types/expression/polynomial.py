"""Polynomial equations in one unknown with rational coefficients, solved exactly.

Roots found by sign changes miss a root where the two sides touch (a double root:
``(x^2 - 2.89)^2 = 0`` at ±1.7 never changes sign). When both equations are
polynomial in the same single unknown with rational coefficients, their real
solution sets are computed exactly (sympy's ``real_roots``: rational numbers and
isolated algebraic roots), kept to the unknown's domain, and compared exactly.
"""

from __future__ import annotations

from typing import Any

from grader.core.deferred import needs
from grader.core.verdict import Certificate
from grader.mathlang import ast
from grader.mathlang.domains import SymbolDomain
from grader.mathlang.sampling import bounds
from grader.types.expression.feedback import _fmt
from grader.types.expression.outcome import Outcome
from grader.types.expression.prepare import Prepared, relevant_scalars
from grader.types.expression.symbolic import SYMPY

MAX_DEGREE = 64


def polynomial_outcome(prep: Prepared, ref: ast.Relation, ans: ast.Relation) -> Outcome | None:
    """Both equations' real solution sets compared exactly, or None when either is not a
    polynomial equation in one unknown with rational coefficients."""
    names = relevant_scalars(prep, [ref, ans])
    if len(names) != 1 or prep.is_matrix:
        return None
    name = names[0]
    ref_roots = _real_roots(prep, ref, name)
    ans_roots = _real_roots(prep, ans, name) if ref_roots is not None else None
    if ref_roots is None or ans_roots is None:
        return None
    method = "exact: the real roots of both polynomial equations"
    missing = [r for r in ref_roots if r not in ans_roots]
    extra = [r for r in ans_roots if r not in ref_roots]
    if not missing and not extra:
        return Outcome(True, "", len(ref_roots), method, certificate=Certificate.EXACT)
    if extra:
        feedback = f"{name} = {_shown(extra[0])} solves your equation, but not the expected one"
    else:  # which solution the answer lacks is the key's
        feedback = (
            f"your equation misses a real solution of the expected one (yours: {_listing(name, ans_roots)})"
        )
    return Outcome(False, feedback, len(ref_roots), method, certificate=Certificate.EXACT)


def _real_roots(prep: Prepared, rel: ast.Relation, name: str) -> list[Any] | None:
    needs(SYMPY)  # imported outside the limits, and the check run again, when it is not yet
    import sympy

    from grader.mathlang.to_sympy import Unsupported, symbol_for, to_sympy

    domain = prep.part.symbols.get(name)
    try:
        equation = to_sympy(rel, domains=prep.part.symbols, functions=prep.functions, lets=dict(prep.lets))
    except Unsupported:
        return None
    if not isinstance(equation, sympy.Equality):
        return None
    unknown = symbol_for(name, domain)
    try:
        poly = sympy.Poly(
            sympy.together(equation.lhs - equation.rhs).as_numer_denom()[0], unknown, domain="QQ"
        )
    except (sympy.PolynomialError, sympy.CoercionFailed, sympy.GeneratorsNeeded):
        return None
    if poly.is_zero or poly.degree() > MAX_DEGREE or _has_denominator(equation, unknown):
        return None
    roots = sorted(set(sympy.real_roots(poly)), key=lambda r: float(r))
    return [r for r in roots if _admissible(float(r), r, domain)]


def _has_denominator(equation: Any, unknown: Any) -> bool:
    """A rational equation (1/x = 2) has values excluded where a denominator vanishes: not here."""
    import sympy

    for side in (equation.lhs, equation.rhs):
        _, denominator = sympy.together(side).as_numer_denom()
        if denominator.has(unknown):
            return True
    return False


def _admissible(value: float, root: Any, domain: SymbolDomain | None) -> bool:
    if domain is None:
        return True
    if domain.integer and not root.is_integer:
        return False
    if domain.nonzero and root == 0:
        return False
    if domain.positive and not value > 0:
        return False
    if domain.nonnegative and not value >= 0:
        return False
    lo, hi = bounds(domain)
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        return False
    open_ends = domain.interval is not None
    return not (open_ends and value in (lo, hi))


def _shown(root: Any) -> str:
    if root.is_Rational:
        return str(root) if root.q < 10_000 else _fmt(float(root))
    return _fmt(float(root))


def _listing(name: str, roots: list[Any]) -> str:
    if not roots:
        return "none"
    return ", ".join(f"{name} = {_shown(r)}" for r in roots)
