"""``code``: a student's function or methods, run in a sandbox and compared with the reference.

See :mod:`part` for what a TA writes, :mod:`sandbox` and :mod:`runner` for how code
runs, :mod:`compare` for the feedback.
"""

from __future__ import annotations

from grader.core.deferred import deferred
from grader.types.base import AnswerType
from grader.types.code.part import CodePart

# Where a code answer goes, in each format's own words: its line breaks and indentation
# are kept only there (a write-up reads any other answer as one line).
WHERE_CODE_GOES = {
    "yaml": "in a | block, or {file: yourfile.py}",
    "latex": "in \\begin{verbatim} ... \\end{verbatim} (or lstlisting) inside the answer environment",
    "markdown": "in a fenced ```python block right under its Answer line",
    "ipynb": "in a code cell tagged answer:<part id>",
}
_WRITEUP_NAMES = {"latex": "a LaTeX", "markdown": "a Markdown", "ipynb": "a notebook"}


def _what(part: CodePart) -> str:
    what = f"the method {part.entry}" if part.entry_class else f"the function {part.entry}"
    if part.signature:
        what += f" (or just its body, under {part.signature.strip().splitlines()[0]})"
    return f"Python source of {what}"


def _hint(part: CodePart) -> str:
    return f"{_what(part)}, {WHERE_CODE_GOES['yaml']}"


def _writeup_hint(part: CodePart, fmt: str) -> str:
    return f"{_what(part)}, {WHERE_CODE_GOES.get(fmt, WHERE_CODE_GOES['yaml'])}"


def _unreadable_in_writeup(part: CodePart, fmt: str) -> str:
    """Advice for code a write-up read as one line (outside the block that keeps lines)."""
    if fmt not in _WRITEUP_NAMES:
        return ""
    return (
        f"In {_WRITEUP_NAMES[fmt]} write-up, write code {WHERE_CODE_GOES[fmt]}: "
        "an answer anywhere else is read as one line."
    )


def _time_budget(part: CodePart) -> float:
    """A check may run the reference (on the base and on the structured trials) and the
    answer, each with its start-up."""
    from grader.types.code.runs import job_seconds, startup_seconds

    return 3 * job_seconds(part.time_limit) + 2 * startup_seconds([part.framework])


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
    writeup_hint=_writeup_hint,
    unreadable_in_writeup=_unreadable_in_writeup,
)

__all__ = ["ANSWER_TYPE", "CodePart"]
