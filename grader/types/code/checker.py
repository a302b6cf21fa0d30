"""``check(part, answer)`` for code: run the answer and the reference on the same inputs, compare.

The student's code and the reference each run in the sandbox (the reference once per
process, the submission's code parts together: see :mod:`runs`); the comparison is
here, outside, on the plain arrays that came back.
"""

from __future__ import annotations

import dataclasses
import importlib.util
from typing import Any

from grader.core.verdict import CheckUndecided, Verdict
from grader.types.code import compare, runs
from grader.types.code.outputs import kept_outputs
from grader.types.code.part import CodePart
from grader.types.code.sandbox import NoSandbox, isolation
from grader.types.code.source import program
from grader.types.code.trials import draw_trials


def check(part: CodePart, answer: Any) -> Verdict:
    code = program(part, answer)
    _require_sandbox(part)
    seed = runs.seed_for(part, code)
    trials = draw_trials(part, seed)
    reference = _reference_result(part, seed)
    student_job = runs.build_job(part, code, seed)
    student = runs.results([student_job]).get(student_job["id"], {})
    outputs = kept_outputs(student_job, student)
    if "result" not in student or not isinstance(student["result"], dict):
        return dataclasses.replace(compare.ending(student, part), outputs=outputs)
    result = compare.shift_lines(student["result"], code)
    return dataclasses.replace(compare.compare(part, result, reference, trials, seed), outputs=outputs)


def unavailable(part: CodePart) -> str | None:
    """Why this machine cannot run the part's code (None: it can)."""
    if part.framework == "torch" and importlib.util.find_spec("torch") is None:
        return 'this part needs PyTorch, which is not installed (pip install "dl-theory-grader[torch]")'
    try:
        isolation()
    except NoSandbox as exc:
        return f"{exc} (a TA may grade code unsandboxed with --unsafe-run-code)"
    return None


def _require_sandbox(part: CodePart) -> None:
    reason = unavailable(part)
    if reason is not None:
        raise CheckUndecided(reason)


def _reference_result(part: CodePart, seed: int) -> dict[str, Any]:
    """The reference's outputs on the answer's trials; its listed mistakes run in the same
    sandbox, for later."""
    jobs = [runs.reference_job(part, part.answer, seed)]
    jobs += [runs.reference_job(part, mistake.answer, seed) for mistake in part.mistakes]
    reference = runs.results(jobs).get(jobs[0]["id"], {})
    failure = compare.reference_failure(reference, "the reference")
    if failure:
        raise ValueError(f"problem spec: {failure}")
    result: dict[str, Any] = reference["result"]
    return result


def same_mistake(part: CodePart, listed: Any, answer: Any) -> bool:
    """Does the answer behave as the listed buggy reference does: the same outputs on every
    trial, or the same exception on the same trial after the same outputs before it?"""
    _require_sandbox(part)
    code = program(part, answer)
    seed = runs.seed_for(part, code)
    mistake_job = runs.reference_job(part, listed, seed)
    student_job = runs.build_job(part, code, seed)
    # each in a sandbox of its own: the listed mistake is the TA's code, never run beside a student's
    mistake = runs.results([mistake_job]).get(mistake_job["id"], {})
    student = runs.results([student_job]).get(student_job["id"], {})
    if not isinstance(mistake.get("result"), dict) or not isinstance(student.get("result"), dict):
        return False
    return compare.behaves_alike(part, student["result"], mistake["result"])
