"""Self-test of a problem set: every reference answer must grade correct, and
every listed mistake must be recognised and get its declared score. A part this machine
cannot check at all (a code part whose PyTorch or sandbox is missing) is not self-tested:
:func:`untested_parts` names it and says why, and it is no problem of the file."""

from __future__ import annotations

from grader.core.parts import PartBase
from grader.core.verdict import Status, Verdict
from grader.engine import check_part, check_unavailable, is_auto_graded, prepare_checks
from grader.spec import ProblemSet


def validate_problem_set(spec: ProblemSet) -> list[str]:
    """Human-readable problems; empty when the set is sound."""
    problems: list[str] = []
    prepare_checks(spec, {part_id: part.answer for part_id, _, part in spec.iter_parts()})
    for part_id, _, part in spec.iter_parts():
        problems.extend(f"{part_id}: {message}" for message in part_problems(part))
    return problems


def untested_parts(spec: ProblemSet) -> dict[str, str]:
    """The parts this machine cannot self-test, by id, with why (the same for every answer)."""
    untested = {}
    for part_id, _, part in spec.iter_parts():
        reason = check_unavailable(part) if is_auto_graded(part) else None
        if reason is not None:
            untested[part_id] = reason
    return untested


def part_problems(part: PartBase) -> list[str]:
    """What is wrong with one part's reference and listed mistakes (its self-test)."""
    if not is_auto_graded(part) or check_unavailable(part) is not None:
        return []
    problems = []
    verdict = check_part(part, part.answer)
    definition = _definition_mistake(verdict)
    if definition:
        return [f"this part cannot be graded: {definition}"]
    if verdict.status is not Status.CORRECT:
        problems.append(f"the reference answer grades {verdict.status}: {_one_line(verdict.feedback)}")
    for number, mistake in enumerate(part.mistakes, start=1):
        got = check_part(part, mistake.answer)
        definition = _definition_mistake(got)
        if definition:
            problems.append(f"mistake {number} cannot be used: {definition}")
        elif got.status is Status.CORRECT:
            problems.append(f"mistake {number} grades correct: it is equivalent to the reference answer")
        elif not got.mistake or abs(got.score - mistake.score) > 1e-9:
            problems.append(
                f"mistake {number} is not recognised (it grades {got.status}, score {got.score:g}): "
                f"{_one_line(got.feedback)}"
            )
    return problems


# Checkers report a mistake in a part's definition (a ``require`` that cannot be read, a
# reference in undeclared symbols) as a ValueError with this prefix; the engine keeps its
# traceback. Shown to the TA as what it is, a problem-file mistake, not an internal error.
_DEFINITION_MISTAKE = "ValueError: problem spec: "


def _definition_mistake(verdict: Verdict) -> str | None:
    if verdict.traceback is None:
        return None
    at = verdict.traceback.rfind("\n" + _DEFINITION_MISTAKE)
    if at < 0:
        return None
    return _one_line(verdict.traceback[at + 1 + len(_DEFINITION_MISTAKE) :])


def _one_line(text: str) -> str:
    first = text.strip().splitlines()[0] if text.strip() else ""
    return first if len(first) < 200 else first[:200] + "…"
