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
    delimiters (each run of math then put in ``$...$``: :mod:`grader.steps.plain`)."""
    if not _DELIMITED.search(text):
        from grader.steps.plain import delimited

        names = [*context.functions, *context.domains] if context is not None else []
        text = delimited(text, names)
    return check_text(text, "markdown", context, seconds)


_DELIMITED = re.compile(r"\$|\\\(|\\\[|\\begin\{")


def check_text(
    text: str, kind: str = "markdown", context: Context | None = None, seconds: float | None = None
) -> list[ChainMarks]:
    """Every chain of the text with each step marked (those past ``seconds`` left undecided)."""
    from grader.steps.decide import mark_chains  # the engine: imported when a step is checked

    declared = tuple(context.functions) if context is not None else ()
    return mark_chains(chains_in_text(text, kind, declared), context, seconds)
