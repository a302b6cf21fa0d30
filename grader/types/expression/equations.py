"""Equations are equivalent when they have the same real solutions."""

from __future__ import annotations

import numpy as np

from grader.core.deferred import needs
from grader.core.verdict import Certificate
from grader.mathlang import ast
from grader.mathlang.evaluate import (
    evaluate_val,
)
from grader.mathlang.values import Env, show
from grader.types.expression import identity
from grader.types.expression.compare import _close, compare
from grader.types.expression.feedback import _fmt, canonical, point_text
from grader.types.expression.outcome import Outcome, Sides
from grader.types.expression.polynomial import polynomial_outcome
from grader.types.expression.prepare import (
    MATRIX_MIN_POINTS,
    SCALAR_MIN_POINTS,
    Prepared,
    StudentShapeError,
    _spec_call,
    batch_indices,
    get_batch,
    isolated,
    reference_value,
    student_value,
)
from grader.types.expression.solutions import Equation, compare_solution_sets, identity_outcome
from grader.types.expression.symbolic import SYMBOLIC_MAX_OPS, SYMPY


def compare_equations(prep: Prepared, ref: ast.Relation, ans: ast.Relation, text: str) -> Outcome:
    ref_iso = isolated(ref)
    ans_iso = isolated(ans)
    if ref_iso and ans_iso and ref_iso[0] == ans_iso[0]:
        return compare(prep, Sides(ref_iso[1], ans_iso[1], text, label=ref_iso[0]))
    if prep.is_matrix:
        return _matrix_equations(prep, ref, ans, text, ref_iso, ans_iso)
    reference, answer = Equation(ref, show(ref), True), Equation(ans, text, False)
    decided = identity_outcome(prep, reference, answer)
    if decided is not None:
        return _proportional(prep, ref, ans, decided)
    ratio = _ratio_test(prep, ref, ans, text)
    if ratio.equal:
        return _proportional(prep, ref, ans, ratio)
    exact = polynomial_outcome(prep, ref, ans)
    if exact is not None:
        return exact
    label = f"{ref_iso[0]} = {show(ref_iso[1])}" if ref_iso else ""
    return compare_solution_sets(prep, reference, answer, label)


def _proportional(prep: Prepared, ref: ast.Relation, ans: ast.Relation, found: Outcome) -> Outcome:
    """An equivalence found at probes, proved where lhs - rhs of the answer is exactly a
    nonzero constant times that of the reference (both 0 for two identities), over the
    same atoms and denominators (so the two are defined at the same points)."""
    if not found.equal or found.exact or prep.is_matrix:
        return found
    reading = identity.read_both(_difference(ref), _difference(ans), prep.functions, dict(prep.lets))
    if reading is None or not reading.same_domain():
        return found
    if reading.ref.num.is_zero() and reading.ans.num.is_zero():
        proof = "proved: both equations are identities (lhs - rhs is the zero rational function)"
    else:
        ratio = reading.ratio()
        if not ratio:
            return found
        proof = f"proved: lhs - rhs is exactly {ratio} times the expected (exact polynomial identity)"
    found.method = f"{found.method}; {proof}"
    found.certificate = Certificate.PROVED
    return found


def _matrix_equations(
    prep: Prepared,
    ref: ast.Relation,
    ans: ast.Relation,
    text: str,
    ref_iso: tuple[str, ast.Node] | None,
    ans_iso: tuple[str, ast.Node] | None,
) -> Outcome:
    ratio = _ratio_test(prep, ref, ans, text)
    if ratio.equal:
        return ratio
    if ref_iso is not None:
        return _reference_solution_test(prep, ref_iso, ans, text)
    if ans_iso is not None:
        return _student_solution_test(prep, ref, ans_iso, text)
    return ratio


def _reference_difference(prep: Prepared, rel: ast.Relation) -> ast.Node:
    """lhs - rhs of a reference equation, built once per part (so its values are cached)."""
    found = prep.derived.get(id(rel))
    if found is None or found[0] is not rel:
        found = (rel, _difference(rel))
        prep.derived[id(rel)] = found
    return found[1]


def _difference(rel: ast.Relation) -> ast.Node:
    return ast.BinOp(rel.pos, "-", rel.left, rel.right)


def _ratio_test(prep: Prepared, ref: ast.Relation, ans: ast.Relation, text: str) -> Outcome:
    """lhs - rhs of the answer is a nonzero constant times that of the reference."""
    f_ref, f_ans = _reference_difference(prep, ref), _difference(ans)
    ratios: list[np.ndarray] = []
    for bi in batch_indices(prep):
        r = reference_value(prep, f_ref, bi, {})
        try:
            a = student_value(prep, f_ans, text, bi, {})
        except StudentShapeError as err:
            return Outcome(False, err.message)
        _, rr = canonical(r)
        _, aa = canonical(a)
        size = get_batch(prep, bi).size
        rr, aa = np.broadcast_to(rr, (size, rr.shape[1])), np.broadcast_to(aa, (size, aa.shape[1]))
        with np.errstate(all="ignore"):
            ref_defined, ans_defined = np.all(np.isfinite(rr), axis=1), np.all(np.isfinite(aa), axis=1)
            if np.any(ref_defined != ans_defined):  # defined on different points: the solution sets decide
                return Outcome(False, "your equation is not equivalent to the expected one")
            ok = ref_defined & ans_defined & np.all(np.abs(rr) > 1e-9 * (1 + np.abs(aa)), axis=1)
            ratios.append((aa[ok] / rr[ok]).reshape(-1))
    values = np.concatenate(ratios) if ratios else np.array([])
    minimum = MATRIX_MIN_POINTS if prep.is_matrix else SCALAR_MIN_POINTS
    if len(values) < minimum:
        return Outcome(False, "your equation is not equivalent to the expected one")
    c = float(np.median(values))
    tol = max(prep.part.rtol, 1e-9) * 100
    if c != 0 and np.all(np.abs(values - c) <= tol * abs(c)):
        return Outcome(True, points=len(values), method=f"numeric: lhs - rhs is {_fmt(c)} times the expected")
    return Outcome(False, "your equation is not equivalent to the expected one")


def _reference_solution_test(
    prep: Prepared, ref_iso: tuple[str, ast.Node], ans: ast.Relation, text: str
) -> Outcome:
    """The reference reads s = g: the student's equation must hold at s = g, for no other s."""
    name, solution = ref_iso
    label = f"{name} = {show(solution)}"
    sides = Sides(ans.left, ans.right, text, {name: solution}, label=label, ref_is_student=True)
    held = compare(prep, sides)
    if not held.equal:
        # where it fails, its sides are the expected value put in: the key's
        return Outcome(False, f"your equation does not hold for the expected {name}")
    unique = _unique_solution(prep, ans, name, solution)
    if unique is False:
        return Outcome(False, f"your equation allows other values of {name} than the expected one")
    method = held.method + ("; symbolic: the only solution" if unique else "")
    return Outcome(True, "", held.points, method)


def _student_solution_test(
    prep: Prepared, ref: ast.Relation, ans_iso: tuple[str, ast.Node], text: str
) -> Outcome:
    """The student writes s = g: g must solve the expected equation, and be its only solution."""
    name, solution = ans_iso
    label = f"{name} = {show(solution)}"
    try:
        held = _holds_with(prep, ref, name, solution, text)
    except StudentShapeError as err:
        return Outcome(False, err.message)
    if not held.equal:
        return Outcome(False, f"your {label} does not solve the expected equation ({held.feedback})")
    unique = _unique_solution(prep, ref, name, solution)
    if unique is False:
        return Outcome(False, f"the expected equation allows other values of {name} than your {label}")
    method = held.method + ("; symbolic: the only solution" if unique else "")
    return Outcome(True, "", held.points, method)


def _holds_with(prep: Prepared, ref: ast.Relation, name: str, solution: ast.Node, text: str) -> Outcome:
    """Both sides of the reference equation agree when ``name`` is the student's formula."""
    points = 0
    for bi in batch_indices(prep):
        batch = get_batch(prep, bi)
        values = dict(batch.values)
        env = Env("float", batch.size, values, prep.functions, batch.dim_names, prep.known)
        values[name] = student_value(prep, solution, text, bi, {})
        with np.errstate(all="ignore"):
            left = _spec_call(lambda e=env: evaluate_val(ref.left, e), "answer")
            right = _spec_call(lambda e=env: evaluate_val(ref.right, e), "answer")
        _, r = canonical(left)
        _, a = canonical(right)
        r = np.broadcast_to(r, (batch.size, r.shape[1]))
        a = np.broadcast_to(a, (batch.size, a.shape[1]))
        with np.errstate(all="ignore"):
            ok = np.all(np.isfinite(r), axis=1) & np.all(np.isfinite(a), axis=1)
            close = _close(r, a, prep.part.rtol * 10, prep.part.atol)
        bad = np.flatnonzero(ok & ~close)
        if len(bad):
            i = int(bad[0])
            where = point_text(prep, batch, i)
            return Outcome(False, f"at {where} it does not hold")  # its sides' values are the key's
        points += int(ok.sum())
        if not prep.is_matrix and points >= SCALAR_MIN_POINTS:
            break
    return Outcome(points > 0, "", points, f"numeric: {points} points")


def _unique_solution(prep: Prepared, equation: ast.Relation, name: str, solution: ast.Node) -> bool | None:
    """Does ``equation`` have ``solution`` as its only solution for ``name``? (sympy; None: unknown)"""
    # sympy (and the translation, which imports it) only here: it costs a third of a second
    # to import, and most runs never reach a symbolic step
    needs(SYMPY)  # imported outside the limits, and the check run again, when it is not yet
    import sympy

    from grader.mathlang.to_sympy import Unsupported, symbol_for, to_sympy

    if prep.is_matrix:
        return None
    lets = dict(prep.lets)
    try:
        eq = to_sympy(equation, domains=prep.part.symbols, functions=prep.functions, lets=lets)
        expected = to_sympy(solution, domains=prep.part.symbols, functions=prep.functions, lets=lets)
    except Unsupported:
        return None
    if not isinstance(eq, sympy.Equality):
        return None
    target = symbol_for(name, prep.part.symbols.get(name))
    expr = eq.lhs - eq.rhs
    if sympy.count_ops(expr) > SYMBOLIC_MAX_OPS or not expr.is_rational_function(target):
        return None  # solve only where it is quick and complete: rational in the unknown
    numerator = sympy.numer(sympy.together(expr))
    if not numerator.is_polynomial(target) or sympy.degree(numerator, target) > 4:
        return None
    try:
        found = sympy.solve(expr, target, dict=False)
    except (NotImplementedError, ValueError, TypeError):  # sympy's "cannot solve this": undecided
        return None
    if not isinstance(found, list) or not found:
        return None
    return all(sympy.simplify(s - expected) == 0 for s in found)
