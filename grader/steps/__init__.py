"""Which step is wrong: the derivations of a write-up found and checked step by step.

``chains_in_text`` finds the chains (:mod:`grader.steps.find`), ``mark_chains`` decides
each step with the engine (:mod:`grader.steps.decide`): shown with a certificate, wrong
with a witness confirmed in exact or ball arithmetic, or undecided with why.
See docs/steps.md.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from grader.steps.find import chains_in_text
from grader.steps.models import Chain, ChainMarks, Step, StepMark, Witness
from grader.steps.read import Context

__all__ = [
    "Chain",
    "ChainMarks",
    "Context",
    "Step",
    "StepMark",
    "Witness",
    "chains_in_text",
    "check_answer",
    "check_text",
    "context_for",
    "kind_of",
]


def kind_of(path: str | Path) -> str:
    suffix = Path(path).suffix.lower()
    return {".tex": "latex", ".md": "markdown", ".ipynb": "ipynb"}.get(suffix, "markdown")


def context_for(part: Any) -> Context:
    """A part's declared symbols (with domains), functions and arrays."""
    return Context(
        domains=dict(getattr(part, "symbols", None) or {}),
        functions=dict(getattr(part, "functions", None) or {}),
        arrays=frozenset(getattr(part, "arrays", None) or {}),
        shapes=dict(getattr(part, "arrays", None) or {}),
    )


def check_answer(text: str, context: Context | None = None, seconds: float | None = None) -> list[ChainMarks]:
    """The chains of an answer to a part: Markdown, or math written among words without
    delimiters (each run of math then put in ``$...$``: :mod:`grader.steps.plain`). Where the
    words end and the math begins is then a guess, which may have dropped a condition the
    words state: a point where such a step fails is no witness (it may be shown, never wrong)."""
    if _DELIMITED.search(text):
        return check_text(text, "markdown", context, seconds)
    from grader.steps.plain import GUESSED, delimited

    names = [*context.functions, *context.domains] if context is not None else []
    return check_text(delimited(text, names), "markdown", context, seconds, unread=(GUESSED,))


_DELIMITED = re.compile(r"\$|\\\(|\\\[|\\begin\{")


def check_text(
    text: str,
    kind: str = "markdown",
    context: Context | None = None,
    seconds: float | None = None,
    unread: tuple[str, ...] = (),
) -> list[ChainMarks]:
    """Every chain of the text with each step marked (those past ``seconds`` left undecided);
    ``unread``: words said of every chain that no witness may ignore."""
    from grader.steps.decide import mark_chains  # the engine: imported when a step is checked

    declared = tuple(context.functions) if context is not None else ()
    chains = chains_in_text(text, kind, declared)
    if unread:
        chains = [c.model_copy(update={"unread_conditions": (*c.unread_conditions, *unread)}) for c in chains]
    return mark_chains(chains, context, seconds)
