"""The steps of a student's derivations in the grading view of a hand-graded part: each
chain step by step (shown / wrong with its witness / undecided), the first wrong step marked
so that a TA's eye goes there, and a rubric item suggested from it (never applied: the TA
adds it, or not). Everything shown is the student's own text, escaped."""

from __future__ import annotations

from html import escape

from grader.core.parts import PartBase
from grader.steps import ChainMarks, StepMark, check_answer, context_for

MAX_ANSWER_CHARS = 20_000  # past this an answer's steps are not checked on the page
MARK_WORDS = {"shown": "✓ shown", "wrong": "✗ wrong", "undecided": "? undecided"}

STEPS_CSS = """
.steps ol { padding-left: 1.5rem; }
.steps li { margin: .2rem 0; }
.steps li.shown .mark { color: #1a7f37; }
.steps li.wrong .mark { color: #b3261e; font-weight: 600; }
.steps li.undecided .mark { color: #6b6b6b; }
.steps li.first-wrong { background: #fde7e6; outline: 2px solid #b3261e; border-radius: 4px; padding: .2rem; }
.steps .why { color: #6b6b6b; font-size: .9em; }
.steps .suggestion { border-left: 3px solid #b3261e; padding-left: .5rem; }
"""


_CACHE: dict[tuple[str, str], list[ChainMarks]] = {}
CACHED = 512


def _marks(answer: str, part: PartBase) -> list[ChainMarks]:
    key = (answer, part.model_dump_json())
    if key not in _CACHE:
        if len(_CACHE) >= CACHED:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[key] = check_answer(answer, context_for(part))
    return _CACHE[key]


def marks_for(part: PartBase, answer: object) -> list[ChainMarks]:
    """The chains of a text answer with each step marked (cached by answer text)."""
    if part.type != "text" or not isinstance(answer, str) or len(answer) > MAX_ANSWER_CHARS:
        return []
    return list(_marks(answer, part))


def first_wrong(chains: list[ChainMarks]) -> StepMark | None:
    return next((s for c in chains for s in c.steps if s.status == "wrong"), None)


def suggested_rubric_item(step: StepMark) -> str:
    """A rubric item a TA may add for this wrong step (the student's step, never the key)."""
    return f"Step {step.left} {_relation(step.relation)} {step.right} does not hold"


def steps_html(part: PartBase, answer: object) -> str:
    """The panel of the steps, or nothing when the answer has no derivation."""
    chains = [c for c in marks_for(part, answer) if c.steps]
    if not chains:
        return ""
    wrong = first_wrong(chains)
    counts = {k: sum(s.status == k for c in chains for s in c.steps) for k in MARK_WORDS}
    items = []
    for chain in chains:
        given = (
            f" <span class='why'>(given {escape(', '.join(chain.conditions))})</span>"
            if chain.conditions
            else ""
        )
        lis = "".join(_step_li(step, step is wrong) for step in chain.steps)
        items.append(f"<li>line {chain.line}{given}<ol>{lis}</ol></li>")
    summary = f"{counts['shown']} shown, {counts['wrong']} wrong, {counts['undecided']} undecided"
    suggestion = (
        "<p class='suggestion' id='suggested-rubric'>Suggested rubric item (not applied): "
        f"<q>{escape(suggested_rubric_item(wrong))}</q></p>"
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
    body = f"<code>{escape(step.left)}</code> {relation} <code>{escape(step.right)}</code>"
    if step.witness is not None:
        at = ", ".join(f"{k} = {v}" for k, v in step.witness.at.items()) or "as written"
        note = f"fails at {at}: {step.witness.left} against {step.witness.right} ({step.certificate})"
    else:
        note = step.certificate or ""
    return (
        f"<li class='{classes}'{ident}><span class='mark'>{escape(MARK_WORDS[step.status])}</span> {body}"
        f" <span class='why'>{escape(note)}</span></li>"
    )


def _relation(relation: str) -> str:
    return {"iff": "⇔", "implies": "⇒", "approx": "≈", "<=": "≤", ">=": "≥"}.get(relation, relation)
