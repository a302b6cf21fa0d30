"""Wrong answers two students share, from the class's verdicts (never a new grade).

A part's answers across the class are put in groups by
:func:`grader.reporting.answer_groups.answer_groups`:
wrong answers are one group only when the checker proved them equal, and in a set with
parameters the same listed mistake or known slip in each student's own variant is one
group across variants (the same slip, different numbers). A student's wrong answer is
named by its group; how many students are in the group is how common the slip is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from grader.core.report import Report
from grader.spec import ProblemSet


@dataclass(frozen=True)
class Graded:
    """One student's report and answers as handed in (by part id)."""

    student: str
    report: Report
    answers: Mapping[str, Any]


def wrong_answers(spec: ProblemSet, graded: Sequence[Graded]) -> dict[str, dict[str, tuple[str, str]]]:
    """Each student's wrong answers: part -> (the group's id, the group's answer as shown)."""
    from grader.engine import is_auto_graded
    from grader.hand.variant_groups import own_part
    from grader.reporting.answer_groups import GivenAnswer, answer_groups

    found: dict[str, dict[str, tuple[str, str]]] = {g.student: {} for g in graded}
    written = spec.raw_parts()
    for address, _, part in spec.iter_parts():
        if not is_auto_graded(part):
            continue
        given = [
            GivenAnswer(
                g.student,
                g.student,
                result,
                g.answers.get(address),
                own_part(spec, address, g.report.variant),
                g.report.variant,
            )
            for g in graded
            for result in g.report.parts
            if result.id == address
        ]
        if not given:
            continue
        for group in answer_groups(part, given, mine=bool(spec.parameters), written=written.get(address)):
            if group.kind != "wrong":
                continue
            for member in group.members:
                found[member.folder][address] = (group.id, group.answer)
    return found
