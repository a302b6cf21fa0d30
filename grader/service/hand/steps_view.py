"""The steps of a student's derivations in the grading view of a hand-graded part: each
chain step by step (shown / wrong with its witness / undecided), the first wrong step marked
so that a TA's eye goes there, and a rubric item suggested from it (never applied: the TA
adds it, or not). The marks are those computed when the part was graded, stored with its
verdict (:mod:`grader.steps.grading`): a page only reads them. Formulas are typeset by KaTeX
(their LaTeX source, escaped, in ``span.math``: the ``math`` filter); the panel is the template
``hand/steps.html``, autoescaped: everything shown is the student's own text."""

from __future__ import annotations

from markupsafe import Markup

from grader.core.parts import PartBase
from grader.core.report import PartResult
from grader.service.templating import asset, fragment
from grader.steps import ChainMarks, StepMark
from grader.steps.grading import stored_marks

RELATIONS = {"iff": "⇔", "implies": "⇒", "approx": "≈", "<=": "≤", ">=": "≥"}
MARK_WORDS = {"shown": "✓ shown", "wrong": "✗ wrong", "undecided": "? undecided"}

STEPS_CSS = asset("steps.css")


def marks_for(part: PartBase, result: PartResult | None) -> list[ChainMarks]:
    """The chains of a text answer with each step marked, as stored when it was graded."""
    if part.type != "text" or result is None:
        return []
    return stored_marks(result.steps)


def first_wrong(chains: list[ChainMarks]) -> StepMark | None:
    return next((s for c in chains for s in c.steps if s.status == "wrong"), None)


def steps_html(part: PartBase, result: PartResult | None) -> Markup:
    """The panel of the steps, or nothing when the answer has no derivation."""
    chains = [c for c in marks_for(part, result) if c.steps]
    if not chains:
        return Markup()
    counts = {k: sum(s.status == k for c in chains for s in c.steps) for k in MARK_WORDS}
    return fragment(
        "hand/steps.html",
        chains=chains,
        wrong=first_wrong(chains),
        counts=counts,
        words=MARK_WORDS,
        relations=RELATIONS,
    )
