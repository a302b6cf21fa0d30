"""The steps of a student's derivations in the grading view of a hand-graded part: each
chain step by step (shown / wrong with its witness / undecided), the first wrong step marked
so that a TA's eye goes there, and a rubric item suggested from it (never applied: the TA
adds it, or not). The marks are those computed when the part was graded, stored with its
verdict (:mod:`grader.steps.grading`): a page only reads them. Formulas are typeset by KaTeX
(their LaTeX source, escaped, in ``span.math``: :func:`grader.reporting.typeset.math_html`);
everything shown is the student's own text, escaped."""

from __future__ import annotations

from html import escape

from grader.core.parts import PartBase
from grader.core.report import PartResult
from grader.reporting.typeset import math_html
from grader.steps import ChainMarks, StepMark
from grader.steps.grading import stored_marks

MARK_WORDS = {"shown": "✓ shown", "wrong": "✗ wrong", "undecided": "? undecided"}

STEPS_CSS = """
.steps ol { padding-left: 1.5rem; }
.steps li { margin: .2rem 0; }
.steps li.shown .mark { color: #1a7f37; }
.steps li.wrong .mark { color: #b3261e; font-weight: 600; }
.steps li.undecided .mark { color: #6b6b6b; }
.steps li.first-wrong { background: #fde7e6; outline: 2px solid #b3261e; border-radius: 4px; padding: .2rem; }
.steps .why { color: #6b6b6b; font-size: .9em; }
.steps .rel { padding: 0 .3em; }
.steps .suggestion { border-left: 3px solid #b3261e; padding-left: .5rem; }
"""


def marks_for(part: PartBase, result: PartResult | None) -> list[ChainMarks]:
    """The chains of a text answer with each step marked, as stored when it was graded."""
    if part.type != "text" or result is None:
        return []
    return stored_marks(result.steps)


def first_wrong(chains: list[ChainMarks]) -> StepMark | None:
    return next((s for c in chains for s in c.steps if s.status == "wrong"), None)


def steps_html(part: PartBase, result: PartResult | None) -> str:
    """The panel of the steps, or nothing when the answer has no derivation."""
    chains = [c for c in marks_for(part, result) if c.steps]
    if not chains:
        return ""
    wrong = first_wrong(chains)
    counts = {k: sum(s.status == k for c in chains for s in c.steps) for k in MARK_WORDS}
    items = []
    for chain in chains:
        given = (
            f" <span class='why'>(given {', '.join(math_html(c) for c in chain.conditions)})</span>"
            if chain.conditions
            else ""
        )
        lis = "".join(_step_li(step, step is wrong) for step in chain.steps)
        items.append(f"<li>line {chain.line}{given}<ol>{lis}</ol></li>")
    summary = f"{counts['shown']} shown, {counts['wrong']} wrong, {counts['undecided']} undecided"
    suggestion = (
        "<p class='suggestion' id='suggested-rubric'>Suggested rubric item (not applied): "
        f"<q>Step {math_html(wrong.left)} {escape(_relation(wrong.relation))} {math_html(wrong.right)} "
        "does not hold</q></p>"
        if wrong is not None
        else ""
    )
    return (
        f"<section class='steps' id='steps'><h3>Steps</h3><p class='muted'>{summary}</p>"
        f"<ul>{''.join(items)}</ul>{suggestion}</section>"
    )


def _step_li(step: StepMark, first: bool) -> str:
    classes = step.status + (" first-wrong" if first else "")
    ident = " id='first-wrong'" if first else ""
    relation = escape(_relation(step.relation))
    body = f"{math_html(step.left)} <span class='rel'>{relation}</span> {math_html(step.right)}"
    if step.witness is not None:
        at = ", ".join(f"{k} = {v}" for k, v in step.witness.at.items()) or "as written"
        note = (
            f"fails at {escape(at)}: {math_html(step.witness.left)} against "
            f"{math_html(step.witness.right)} ({escape(step.certificate or '')})"
        )
    else:
        note = escape(step.certificate or "")
    return (
        f"<li class='{classes}'{ident}><span class='mark'>{escape(MARK_WORDS[step.status])}</span> {body}"
        f" <span class='why'>{note}</span></li>"
    )


def _relation(relation: str) -> str:
    return {"iff": "⇔", "implies": "⇒", "approx": "≈", "<=": "≤", ">=": "≥"}.get(relation, relation)
