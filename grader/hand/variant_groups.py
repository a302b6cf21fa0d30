"""Wrong answers across the variants of a set with parameters (issue 51), for answer groups.

Two students of different variants give different numbers for the same slip. A wrong
answer is put with its student's variant: it *is* a listed mistake when the checker shows
it equal to that mistake in the student's own variant (``mistakes: [{answer: "a*x - b"}]``
evaluated there), else a known slip of the variant's reference
(:mod:`grader.hand.misconceptions`). Such a relation is the same in every variant, so the
answers that share one are one group, shown as the formula of the parameters the file
writes (the mistake as written, or the slip of the reference as written). What is neither
stays in its own variant.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from grader.core.parts import PartBase
from grader.engine import same_answer
from grader.hand.misconceptions import Misconception, perturbations
from grader.spec import ProblemSet
from grader.variants import VariantError

MAX_SLIPS = 40  # as grader.hand.misconceptions tries per answer


@dataclass(frozen=True)
class Relation:
    """What a wrong answer is in its student's own variant, the same in every variant."""

    key: str  # equal keys: one group across variants
    shown: str  # the group's answer, a formula of the parameters where the file gives one
    formula: Any  # the formula of the parameters as the file would list it; None when unknown
    misconception: Misconception | None = None


def own_part(spec: ProblemSet, address: str, variant_id: str | None) -> PartBase | None:
    """The part at ``address`` in the variant a report names (``a=3,k=5``); None for a set
    without parameters, or a variant the set no longer draws (a changed file)."""
    if not spec.parameters or not variant_id:
        return None
    values = dict(pair.split("=", 1) for pair in variant_id.split(",") if "=" in pair)
    try:
        own = spec.for_variant(spec.parameter_block().variant_of(values))
    except (VariantError, ValueError):
        return None
    return next((p for a, _, p in own.iter_parts() if a == address), None)


def relation(
    part: PartBase, answer: Any, written: Mapping[str, Any] | None, *, slips: bool
) -> Relation | None:
    """The listed mistake or (with ``slips``) the known slip of its variant's ``part`` that
    ``answer`` is shown equal to; None when it is neither. ``written``: the part as the file
    writes it (its formulas in the parameters)."""
    written = written or {}
    mistakes = written.get("mistakes")
    listed: list[Any] = mistakes if isinstance(mistakes, list) else []
    for index, mistake in enumerate(part.mistakes):
        if _same(part, mistake.answer, answer):
            entry = listed[index] if index < len(listed) else None
            as_written = entry.get("answer") if isinstance(entry, dict) else None
            formula = as_written if as_written is not None else mistake.answer
            return Relation(f"mistake {index}", _text(formula), formula)
    if not slips:
        return None
    own = list(perturbations(part))[:MAX_SLIPS]
    for index, slip in enumerate(own):
        if _same(part, slip.answer, answer):
            formula = _slip_as_written(part, written, own, index)
            shown = _text(formula) if formula is not None else f"the reference, {slip.name}"
            slipped = Misconception(slip.name, formula if formula is not None else shown)
            return Relation(f"slip {index} {slip.name}", shown, formula, slipped)
    return None


def _slip_as_written(part: PartBase, written: Mapping[str, Any], own: list[Misconception], index: int) -> Any:
    """The slip ``own[index]`` of the reference as the file writes it: the slip of the same
    name (and rank among those of its name) of the written reference; None when the two
    references do not give the same slips of that name."""
    reference = written.get("answer")
    if reference is None:
        return None
    name = own[index].name
    rank = sum(1 for slip in own[:index] if slip.name == name)
    try:
        as_written = [
            s for s in perturbations(part.model_copy(update={"answer": reference})) if s.name == name
        ]
    except Exception:  # a written reference the slips cannot be built from
        return None
    if len(as_written) != sum(1 for slip in own if slip.name == name):
        return None
    return as_written[rank].answer


def _same(part: PartBase, listed: Any, answer: Any) -> bool:
    try:
        return same_answer(part, listed, answer)
    except Exception:  # a checker that fails on the pair proves nothing
        return False


def _text(formula: Any) -> str:
    return formula if isinstance(formula, str) else json.dumps(formula, default=str)
