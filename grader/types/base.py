"""What an answer type is: its part model, its checker, how it recognises a known
mistake, and how the blank answers template tells a student to answer.

Each module (or package) in ``grader/types/`` declares one :class:`AnswerType`
named ``ANSWER_TYPE``; :data:`grader.types.ANSWER_TYPES` gathers them, and every
list of types elsewhere (the problem-file schema, the template, the engine) is
derived from that registry.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from grader.core.deferred import loaded
from grader.core.parts import PartBase
from grader.core.verdict import Certificate, Verdict

# A checker only states what is wrong. It may raise AnswerError (the answer cannot
# be read: status invalid, with a caret) or CheckUndecided (it cannot decide:
# status error); the engine adds ids, points, mistakes, time limits and crash isolation.
Checker = Callable[[Any, Any], Verdict]
# (part, listed mistake answer, student answer) -> does the student give that mistake?
MistakeMatcher = Callable[[Any, Any, Any], bool]
# part -> the "answer with ..." line of the blank answers template
TemplateHint = Callable[[Any], str]
# (part, answer) pairs of one submission, of one type -> None: work done once for them all
# (code: one sandbox runs every code part) before their checks, which then find it done.
Preparation = Callable[[Sequence[tuple[Any, Any]]], None]
# part -> why this machine cannot check any answer to it (a tool it needs is missing), or None
Unavailability = Callable[[Any], str | None]
# (part, one verdict's outputs, another's) -> did the two answers do the same?
OutputsMatcher = Callable[[Any, Mapping[str, Any], Mapping[str, Any]], bool]
# (part, write-up format: latex, markdown or ipynb) -> a hint in that format's own words
WriteupHint = Callable[[Any, str], str]


@dataclass(frozen=True)
class AnswerType:
    name: str
    part: type[PartBase]
    check: Checker
    hint: TemplateHint
    # How a known mistake is recognised where grading the student's answer against the
    # mistake (the default, None) cannot tell: constraints are judged by predicates,
    # networks against a target.
    same_mistake: MistakeMatcher | None = None
    # False for answers a TA grades by hand: no time limit, no size limit, no self-test.
    auto_graded: bool = True
    prepare: Preparation | None = None
    # part -> seconds the engine allows one check, when that is not the part's time_limit
    # (code: the sandbox stops the code at time_limit; starting it takes time of its own).
    time_budget: Callable[[Any], float] | None = None
    # False when an ``error`` verdict depends on the machine rather than the answer (code: no
    # sandbox, PyTorch missing, a run stopped at its time limit): never stored for re-use.
    errors_are_settled: bool = True
    # The example answers the hint shows: forms only, never a shipped part's answer
    # (tests/test_first_week.py grades each against every shipped part of the type).
    examples: tuple[str, ...] = ()
    # How a verdict of this type that states no decision of its own was reached (the
    # certificate in the report): ``exact`` for answers read and compared exactly.
    decided: Certificate | None = None
    # Modules a check imports inside a function on first use (numpy to evaluate a formula,
    # sympy to prove two formulas equal): :meth:`load` imports them with the checker, so that
    # an import never runs under a check's time or memory limit (numpy alone reserves over
    # 100 MiB of address space) and never makes a verdict depend on what was imported before.
    loads: tuple[str, ...] = ()
    # Why this machine cannot check a part of this type at all (code: PyTorch or the sandbox
    # missing); every check of it is then ``error`` saying so, and the self-test names the part
    # as not self-tested here instead of failing its reference answer and each listed mistake.
    unavailable: Unavailability | None = None
    # How two answers are shown alike for a TA's groups from the ``outputs`` their verdicts
    # keep, never by running one beside the other (code: a student's code runs only in a
    # sandbox of its own). None: the checker compares the two answers (:func:`same_answer`).
    alike_by_outputs: OutputsMatcher | None = None
    # A text answer that offers several answers (``1/2 or 1``, ``2x. Actually, x^2``) is not
    # graded on either: the engine refuses it before the check. False where the type reads
    # the words itself (choice: ``yes or no``; code; text for a TA).
    one_answer: bool = True
    # ``\eta_{\max} = \frac{1}{2}``: the answer is a value, and a label before ``=`` names it.
    # False where an ``=`` may be the answer (equations) or the type reads labels itself.
    value_after_label: bool = True
    # Formulas a write-up shows apart (``$k = 8$ $s = 2$``, two displays in one mark):
    # "answers" (each a candidate: more than one is refused by ``one_answer``) or "items"
    # (the items of one answer, as if separated by commas: a constraint's named values).
    formulas_apart: Literal["answers", "items"] = "answers"
    # Where a type's answers are written otherwise in a write-up than in an answers file
    # (code: in a verbatim block, a fenced block, a code cell), in that write-up's words:
    # the skeleton's hint, and the advice an unreadable answer of one line gets (a write-up
    # read it as one line). None: the answers file's hint, no advice.
    writeup_hint: WriteupHint | None = None
    unreadable_in_writeup: WriteupHint | None = None

    def load(self) -> None:
        """Import everything deciding an answer of this type needs: its deferred functions
        and the modules its checks import on first use."""
        for function in (
            self.check,
            self.same_mistake,
            self.prepare,
            self.unavailable,
            self.alike_by_outputs,
        ):
            if function is not None:
                loaded(function)
        for module in self.loads:
            importlib.import_module(module)


def fixed_hint(text: str) -> TemplateHint:
    return lambda part: text


def example_hint(kind: str, examples: tuple[str, ...]) -> TemplateHint:
    """``kind: e1, e2 or e3``: the same for every part, in words that fit every template
    (answers.yaml, LaTeX, Markdown, a notebook)."""
    shown = ", ".join(examples[:-1]) + f" or {examples[-1]}" if len(examples) > 1 else examples[0]
    return fixed_hint(f"{kind}: {shown}")
