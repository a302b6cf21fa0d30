"""Answers to a hand-graded part grouped by their first wrong step (issue 61): the answers
whose derivations first fail at the same step, with a witness, form one group a TA can grade
at once; the others keep their groups. Nothing is graded here."""

from __future__ import annotations

from collections.abc import Sequence

from grader.core.parts import PartBase
from grader.core.report import PartResult
from grader.reporting.answer_groups import AnswerGroup, GivenAnswer
from grader.steps.grading import stored_marks


def first_wrong_step(result: PartResult) -> str | None:
    """The first step of the answer's derivations marked wrong when it was graded, as
    ``left relation right``."""
    for chain in stored_marks(result.steps):
        for step in chain.steps:
            if step.status == "wrong":
                return " ".join(f"{step.left} {step.relation} {step.right}".split())
    return None


def by_first_wrong_step(part: PartBase, groups: Sequence[AnswerGroup]) -> list[AnswerGroup]:
    """The groups with every answer whose derivation fails first at the same step moved into
    a group of its own (kind ``wrong``, named by that step), the largest first."""
    by_step: dict[str, list[GivenAnswer]] = {}
    kept: list[AnswerGroup] = []
    for group in groups:
        if group.kind not in ("text", "single"):
            kept.append(group)
            continue
        rest = []
        for member in group.members:
            step = first_wrong_step(member.result)
            if step is None:
                rest.append(member)
            else:
                by_step.setdefault(step, []).append(member)
        if rest:
            kind = group.kind if len(rest) > 1 or group.kind == "single" else "single"
            kept.append(AnswerGroup(kind, group.answer, rest, proven=group.proven))
    stepped = [
        AnswerGroup("wrong", f"first wrong step: {step}", members, proven=False)
        for step, members in sorted(by_step.items(), key=lambda item: -len(item[1]))
    ]
    return stepped + kept
