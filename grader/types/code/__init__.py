"""``code``: a student's function or methods, run in a sandbox and compared with the reference.

See :mod:`part` for what a TA writes, :mod:`sandbox` and :mod:`runner` for how code
runs, :mod:`compare` for the feedback.
"""

from __future__ import annotations

from grader.core.deferred import deferred
from grader.types.base import AnswerType
from grader.types.code.part import CodePart


def _hint(part: CodePart) -> str:
    what = f"the method {part.entry}" if part.entry_class else f"the function {part.entry}"
    if part.signature:
        what += f" (or just its body, under {part.signature.strip().splitlines()[0]})"
    return f"Python source of {what}, in a | block, or {{file: yourfile.py}}"


def _time_budget(part: CodePart) -> float:
    """A check may run the reference and the answer, each with its start-up."""
    from grader.types.code.runs import job_seconds, startup_seconds

    return 2 * (job_seconds(part.time_limit) + startup_seconds([part.framework]))


ANSWER_TYPE = AnswerType(
    name="code",
    part=CodePart,
    check=deferred("grader.types.code.checker", "check"),
    hint=_hint,
    prepare=deferred("grader.types.code.runs", "prepare"),
    same_mistake=deferred("grader.types.code.checker", "same_mistake"),
    time_budget=_time_budget,
    errors_are_settled=False,
    unavailable=deferred("grader.types.code.checker", "unavailable"),
    alike_by_outputs=deferred("grader.types.code.outputs", "alike"),
    one_answer=False,
    value_after_label=False,
)

__all__ = ["ANSWER_TYPE", "CodePart"]
