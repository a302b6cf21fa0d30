"""``check(part, answer)`` for code: run the answer and the reference on the same inputs, compare.

The student's code and the reference each run in the sandbox (the reference once per
process, the submission's code parts together: see :mod:`runs`); the comparison is
here, outside, on the plain arrays that came back.
"""

from __future__ import annotations

import dataclasses
import importlib.util
from typing import Any

from grader.core.verdict import MachineLacks, Verdict
from grader.types.code import compare, runs
from grader.types.code.outputs import kept_outputs
from grader.types.code.part import CodePart
from grader.types.code.sandbox import NoSandbox, isolation
from grader.types.code.source import program
from grader.types.code.structure import STRUCTURED, TWIN
from grader.types.code.trials import Trial


def check(part: CodePart, answer: Any) -> Verdict:
    code = program(part, answer)
    _require_sandbox(part)
    seed = runs.seed_for(part, code)
    reference = _reference_result(part, seed)
    structured = _structured_result(part, seed)
    student_job = runs.answer_job(part, code, seed)
    trials = _trials(part, seed, student_job)
    student = runs.results([student_job]).get(student_job["id"], {})
    outputs = kept_outputs(student_job, student, trials)
    if "result" not in student or not isinstance(student["result"], dict):
        return dataclasses.replace(compare.ending(student, part), outputs=outputs)
    result = compare.shift_lines(student["result"], code)
    expected, twins = _expected(part, seed, reference, structured, len(trials))
    verdict = compare.compare(part, result, {"trials": expected}, trials, seed, twins)
    return dataclasses.replace(verdict, outputs=outputs)


def _trials(part: CodePart, seed: int, job: dict[str, Any]) -> list[Trial]:
    """The trials the answer's job runs: the base ones, then its share of the structured ones."""
    base = runs.trials_for(part, seed)
    return [*base, *runs.pool_for(part, seed).plain[: len(job["trials"]) - len(base)]]


def _structured_result(part: CodePart, seed: int) -> dict[str, Any]:
    """The reference's record on the structured trials and their twins ({}: none)."""
    job = runs.structured_reference_job(part, part.answer, seed)
    if job is None:
        return {}
    record = runs.results([job]).get(job["id"], {})  # run with the reference's base trials
    result = record.get("result")
    return result if isinstance(result, dict) else {}


def _expected(
    part: CodePart, seed: int, reference: dict[str, Any], structured: dict[str, Any], count: int
) -> tuple[list[Any], dict[int, Any]]:
    """The reference's outputs trial by trial, for the answer's trials, and the twins' outputs
    of the structured ones (by the answer's trial number)."""
    expected = list(reference.get("trials") or [])
    twins: dict[int, Any] = {}
    given = structured.get("trials") or []
    pool = runs.pool_for(part, seed)
    for index, trial in enumerate(pool.trials):
        if len(expected) >= count or index >= len(given):
            break
        if trial.kind == TWIN:
            continue
        if trial.kind == STRUCTURED and index + 1 < len(given):
            twins[len(expected)] = given[index + 1]
        expected.append(given[index])
    return expected, twins


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
        raise MachineLacks(reason)


def _reference_result(part: CodePart, seed: int) -> dict[str, Any]:
    """The reference's outputs on the answer's base trials; its structured run in the same
    sandbox, for later (a listed mistake's run only when an answer is not correct)."""
    jobs = runs.reference_jobs(part, seed)
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
    structured_job = runs.structured_mistake_job(part, listed, seed)
    student_job = runs.answer_job(part, code, seed)
    # each in a sandbox of its own: the listed mistake is the TA's code, never run beside a student's
    mistake_jobs = [mistake_job] + ([structured_job] if structured_job is not None else [])
    found = runs.results(mistake_jobs)
    student = runs.results([student_job]).get(student_job["id"], {})
    mistake = found.get(mistake_job["id"], {})
    if not isinstance(mistake.get("result"), dict) or not isinstance(student.get("result"), dict):
        return False
    combined = mistake["result"]
    extra = len(student_job["trials"]) - len(combined.get("trials") or [])
    if structured_job is not None and extra > 0 and combined.get("error") is None:
        more = found.get(structured_job["id"], {}).get("result")
        if not isinstance(more, dict):
            return False
        combined = _joined(combined, more, extra)
    return compare.behaves_alike(part, student["result"], combined)


def _joined(base: dict[str, Any], more: dict[str, Any], count: int) -> dict[str, Any]:
    """A run's base trials, then the first ``count`` of its structured ones (an exception
    among them numbered as the answer's trials are)."""
    trials = list(base.get("trials") or [])
    offset = len(trials)
    trials += list(more.get("trials") or [])[:count]
    error = more.get("error")
    if isinstance(error, dict) and isinstance(error.get("trial"), int) and error["trial"] < count:
        return {"trials": trials, "error": {**error, "trial": error["trial"] + offset}}
    return {"trials": trials}
