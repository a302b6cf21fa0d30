"""The ``expression`` checker: formulas, equations and mappings of formulas
(contract sections 1 and 4), scalar or matrix-valued with symbolic dims.

How a formula is decided:

1. Both sides are parsed with the part's names (symbols, arrays, ``let``
   names, constants) and functions; the parsed reference, the sample points
   and the reference's values are cached per part.
2. Matrix parts: both sides are evaluated at a *naming* size (distinct sizes
   for the dims); a shape error inside the student's formula, or a result of
   another shape than the reference's, is incorrect with a message naming the
   shapes (``n×n matrix``) and the sub-formula.
3. Numeric comparison, batched: scalar parts at 128 seeded points per batch
   (redrawn until at least 64 points where the reference is defined); matrix
   parts at 16 points for each of up to four size sets (the smallest allowed
   sizes among them). A point passes when
   ``|a - b| <= rtol * max(|a|, |b|) + atol * S`` (Frobenius norms for arrays),
   ``S`` the formula's typical size (median |reference|), so a tiny reference
   (2^-99) is still compared relatively.
4. Points where float64 is in doubt (the two sides differ, or the student's
   side overflows) are re-evaluated with mpmath at 40 digits before a verdict:
   only a confirmed difference is a witness; where the reference is defined and
   the student's formula is not, that is wrong.
5. Scalar formulas: sympy (built node by node, no text parsing) confirms
   ``simplify(ref - answer) == 0`` when the numeric evidence is thin (few
   defined points, or float noise had to be settled); the method is in
   the verdict's ``decision``.

Equations are equivalent when they have the same solutions: the same isolated
symbol with equivalent right-hand sides, or ``lhs - rhs`` equal up to a
nonzero constant factor, or (one side isolating ``s = g``) the other holding at
``s = g`` with no other solution for ``s`` (sympy ``solve``).
"""

from __future__ import annotations

from typing import Any

from grader.core.verdict import CheckUndecided, Decision, Verdict
from grader.types.expression.answers import check_fields, check_single
from grader.types.expression.part import ExpressionPart
from grader.types.expression.prepare import FieldMap, prepare


def check(part: ExpressionPart, answer: Any) -> Verdict:
    if answer is None:
        return Verdict.missing()
    prep = prepare(part)
    if isinstance(prep.ref, FieldMap):
        return check_fields(prep, prep.ref, answer)
    outcome = check_single(prep, prep.ref, answer)
    decision = Decision(
        outcome.method or "numeric",
        exact=outcome.exact,
        probes=outcome.points or None,
        certificate=outcome.kind,
        probe_classes=outcome.probe_classes,
    )
    if not outcome.equal:
        return Verdict.incorrect(_joined(outcome.note, outcome.feedback), decision=decision)
    if part.proof == "required" and not outcome.exact:
        raise CheckUndecided(
            f"equal at every probe, not proved ({outcome.method}); this part requires a certificate: "
            "an exact, symbolic, piecewise-linear or interval-bound decision"
        )
    return Verdict.correct(outcome.note, decision=decision)


def _joined(*lines: str) -> str:
    return "\n".join(line for line in lines if line)
