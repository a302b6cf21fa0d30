"""``code``: a student's function or methods, run in a sandbox and compared with the reference.

See :mod:`part` for what a TA writes, :mod:`sandbox` and :mod:`runner` for how code
runs, :mod:`compare` for the feedback.
"""

from __future__ import annotations

from grader.types.base import AnswerType
from grader.types.code.checker import check, same_mistake
from grader.types.code.part import CodePart
from grader.types.code.runs import job_seconds, prepare, startup_seconds


def _hint(part: CodePart) -> str:
    what = f"the method {part.entry}" if part.entry_class else f"the function {part.entry}"
    if part.signature:
        what += f" (or just its body, under {part.signature.strip().splitlines()[0]})"
    return f"Python source of {what}, in a | block, or {{file: yourfile.py}}"


def _time_budget(part: CodePart) -> float:
    """A check may run the reference and the answer, each with its start-up."""
    return 2 * (job_seconds(part.time_limit) + startup_seconds([part.framework]))


ANSWER_TYPE = AnswerType(
    name="code",
    part=CodePart,
    check=check,
    hint=_hint,
    prepare=prepare,
    same_mistake=same_mistake,
    time_budget=_time_budget,
    errors_are_settled=False,
)

__all__ = ["ANSWER_TYPE", "CodePart"]
