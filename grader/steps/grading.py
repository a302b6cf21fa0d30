"""The step marks of a hand-graded part, computed when the part is graded (not when a page
shows them): the ``text`` answer type's checker. The verdict stays ``manual`` (a TA grades
the part); its ``steps`` carry the marks as plain data, stored with the verdict and the
report, and read back by :func:`stored_marks` wherever they are shown."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from grader.core.verdict import Verdict
from grader.steps.find import STEP_RELATION

if TYPE_CHECKING:
    from grader.steps import ChainMarks

MAX_ANSWER_CHARS = 20_000  # past this an answer's steps are not checked
ANSWER_SECONDS = 30.0  # the steps of one answer: those past this time are left undecided
# An answer without a relation a step is made of (find.py's list) has no steps, and the
# engine (exact arithmetic, python-flint) is not loaded for it.
_RELATION = STEP_RELATION


def check(part: Any, answer: Any) -> Verdict:
    """``manual`` (graded by a TA), with the marks of the answer's derivations."""
    words = len(str(answer).split())
    verdict = Verdict.manual(f"graded by a TA ({words} words received)")
    if not isinstance(answer, str) or len(answer) > MAX_ANSWER_CHARS or not _RELATION.search(answer):
        return verdict
    if unreadable_functions(part) is not None:  # grader validate says so
        return verdict
    from grader.steps import check_answer, context_for

    chains = check_answer(answer, context_for(part), seconds=ANSWER_SECONDS)
    marks = tuple(plain_marks(chains))
    return Verdict(verdict.status, verdict.score, verdict.feedback, steps=marks) if marks else verdict


def unreadable_functions(part: Any) -> str | None:
    """Why the functions a part declares (``{sigma_s: "log(1 + exp(x))"}``) do not read, or None."""
    functions = getattr(part, "functions", None)
    if not functions:
        return None
    from grader.mathlang.errors import MathError
    from grader.mathlang.evaluate import compile_functions

    try:
        compile_functions(functions, getattr(part, "symbols", None) or {})
    except MathError as err:
        return str(err)
    return None


def plain_marks(chains: Iterable[ChainMarks]) -> list[dict[str, Any]]:
    """Chains as plain data (JSON's values): what a verdict and a report keep."""
    return [c.model_dump(mode="json", by_alias=True) for c in chains if c.steps]


def stored_marks(steps: Iterable[Mapping[str, Any]] | None) -> list[ChainMarks]:
    """The marks a verdict or report keeps, as chains again (those that do not read are left out)."""
    from grader.steps import ChainMarks

    out = []
    for data in steps or ():
        try:
            out.append(ChainMarks.model_validate(data))
        except ValueError:
            continue
    return out
