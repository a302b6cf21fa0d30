"""Symbolic confirmation with sympy, built node by node from our own tree (no text parsing)."""

from __future__ import annotations

from grader.core.deferred import needs
from grader.core.verdict import Certificate
from grader.mathlang import ast
from grader.types.expression.outcome import Outcome, Sides
from grader.types.expression.prepare import SCALAR_MIN_POINTS, Prepared

# What a symbolic step needs: sympy and the translation into it (see needs).
SYMPY = "grader.mathlang.to_sympy"

# "auto": sympy only when numerics are thin; "always": every scalar formula; "never".
SYMBOLIC_MODE = "auto"


SYMBOLIC_MAX_OPS = 40
PROOF_MAX_OPS = 200  # when a part requires a proof, sympy gets a larger formula to simplify


def _symbolic_confirmation(prep: Prepared, sides: Sides, outcome: Outcome) -> Outcome:
    if prep.is_matrix or SYMBOLIC_MODE == "never" or sides.overrides:
        return outcome
    required = prep.part.proof == "required"
    thin = outcome.points < SCALAR_MIN_POINTS + 16 or outcome.rechecked > 0
    if SYMBOLIC_MODE == "auto" and not thin and not required:
        return outcome
    verdict = symbolic_equal(prep, sides.ref, sides.ans, PROOF_MAX_OPS if required else SYMBOLIC_MAX_OPS)
    if verdict:
        outcome.method += "; symbolic: sympy simplifies the difference to 0"
        outcome.certificate = Certificate.PROVED
    elif verdict is None:
        outcome.method += "; symbolic: not decided"
    return outcome


def symbolic_equal(
    prep: Prepared, ref: ast.Node, ans: ast.Node, max_ops: int = SYMBOLIC_MAX_OPS
) -> bool | None:
    """True when sympy shows ref - ans == 0; None when it cannot tell."""
    # sympy (and the translation, which imports it) only here: it costs a third of a second
    # to import, and most runs never reach a symbolic step
    needs(SYMPY)  # imported outside the limits, and the check run again, when it is not yet
    import sympy

    from grader.mathlang.to_sympy import Unsupported, to_sympy

    lets = dict(prep.lets)
    try:
        a = to_sympy(ref, domains=prep.part.symbols, functions=prep.functions, lets=lets)
        b = to_sympy(ans, domains=prep.part.symbols, functions=prep.functions, lets=lets)
    except Unsupported:
        return None
    diff = a - b
    if diff == 0:
        return True
    if sympy.count_ops(diff) > max_ops or diff.has(sympy.Heaviside, sympy.Piecewise):
        return None
    if sympy.simplify(diff) == 0:
        return True
    if max_ops > SYMBOLIC_MAX_OPS and sympy.simplify(diff.rewrite(sympy.exp)) == 0:
        return True
    return None


def algebraic_equal(prep: Prepared, sides: Sides) -> str | None:
    """Why two constants are equal when their difference is an algebraic number whose
    minimal polynomial is x (:func:`grader.mathlang.exact_constants.algebraic_zero`)."""
    needs(SYMPY)
    from grader.mathlang.exact_constants import algebraic_zero
    from grader.mathlang.to_sympy import Unsupported, to_sympy

    lets = dict(prep.lets)
    try:
        a = to_sympy(sides.ref, domains=prep.part.symbols, functions=prep.functions, lets=lets)
        b = to_sympy(sides.ans, domains=prep.part.symbols, functions=prep.functions, lets=lets)
    except Unsupported:
        return None
    return algebraic_zero(a - b)
