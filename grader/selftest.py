"""Self-test of a problem set: every reference answer must grade correct, and
every listed mistake must be recognised and get its declared score. A part this machine
cannot check at all (a code part whose PyTorch or sandbox is missing) is not self-tested:
:func:`untested_parts` names it and says why, and it is no problem of the file."""

from __future__ import annotations

import re

from grader.core.parts import PartBase
from grader.core.verdict import Status, Verdict
from grader.engine import check_part, check_unavailable, is_auto_graded, prepare_checks
from grader.spec import ProblemSet
from grader.steps.grading import unreadable_functions


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
    """What is wrong with one part's reference and listed mistakes (its self-test), or with
    the functions a hand-graded part declares for the checks of its steps."""
    if not is_auto_graded(part):
        return _declared_functions_problems(part)
    if check_unavailable(part) is not None:
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


def _declared_functions_problems(part: PartBase) -> list[str]:
    why = unreadable_functions(part)
    return [f"the part's functions cannot be read: {why}"] if why is not None else []


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


# ---- a student-facing note that states an answer ----------------------------------------------

NOTE_WINDOW = 9  # the longest run of words of a note tried as an answer
NOTE_CHECK_SECONDS = 2.0  # each try's time limit
_NOT_TRIED = ("text", "code", "network")  # no formula to read in prose (code runs, networks are weights)


def notes_stating_answers(spec: ProblemSet) -> list[tuple[str, str]]:
    """``(part id, fragment)`` for each part whose student-facing ``note`` holds a run of words
    the part's own checker grades correct: a note that states an answer (it belongs in
    ``ta_note``). The checker decides, so ``24 x 24 x 128`` is found for ``73728``."""
    found = []
    for part_id, _, part in spec.iter_parts():
        if not part.note or part.type in _NOT_TRIED or not is_auto_graded(part):
            continue
        fragment = _stated_answer(part, part.note)
        if fragment is not None:
            found.append((part_id, fragment))
    return found


def _stated_answer(part: PartBase, note: str) -> str | None:
    words = note.split()
    tried: set[str] = set()
    for size in range(min(NOTE_WINDOW, len(words)), 0, -1):
        for start in range(len(words) - size + 1):
            fragment = " ".join(words[start : start + size]).strip(" .,;:!?\"'")
            if not fragment or fragment in tried or not any(c.isdigit() or c.isalpha() for c in fragment):
                continue
            tried.add(fragment)
            if any(_grades_correct(part, text) for text in {fragment, _TIMES.sub("*", fragment)}):
                return fragment
    return None


_TIMES = re.compile(r"(?<=\d)\s*x\s*(?=\d)")  # 24 x 24 x 128: prose's multiplication sign


def _grades_correct(part: PartBase, text: str) -> bool:
    try:
        verdict = check_part(part, text, time_limit=NOTE_CHECK_SECONDS)
    except Exception:
        return False
    return verdict.status is Status.CORRECT
