"""What a student receives of a verdict, and the reference answer in every spelling.

A leak test grades a wrong answer, renders every view a student gets of it (the API's
JSON, the student's page, ``/check``'s JSON and text) and looks there for the reference
answer (and a constraint's conditions): as the problem file writes it, in plain text and
LaTeX (grader.mathlang.render), in MathML (grader.reporting.mathml), as the checker reads
it (its ``Reading``), its value when it is a constant, and, for a complexity, each of its
terms. A spelling the student's own answer holds is theirs to see (``-131072`` against ``131072``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import html
import json
import re
from collections.abc import Iterable
from fractions import Fraction
from typing import Any

from grader.core.parts import PartBase
from grader.core.report import PartResult, Report
from grader.core.submission import Submission
from grader.course.files import LoadedAssignment
from grader.course.visibility import student_json, student_part, student_report
from grader.engine import grade
from grader.mathlang import ast
from grader.mathlang.constant import constant_value
from grader.mathlang.errors import MathError
from grader.mathlang.render import to_latex, to_text
from grader.reporting.answers import read_context, read_received, shown_text
from grader.reporting.check import CheckResult, PartCheck, render_check
from grader.reporting.html import answer_math, render_student_page
from grader.reporting.mathml import to_mathml
from grader.reporting.readback import read_back
from grader.reporting.reporters import REPORTERS
from grader.spec import ProblemSet

STUDENT_FORMATS = ("github", "junit", "gradescope", "json", "markdown", "html", "table")
SHORT = 3  # a spelling shorter than this (x, 0, B) is looked for only where a sentence gives it
_GIVEN = r"(?:expected|should be|answer is|correct answer|tight statement is|asks for)"
# The reference's value at a point stated outright: "the expected 1", "the expected value is 0.5".
_VALUE_AT_POINT = re.compile(r"the expected (?:value )?(?:is )?[-−]?\d")


def one_part_set(part_spec: dict[str, Any]) -> ProblemSet:
    return ProblemSet.model_validate(
        {"assignment": "leak", "questions": [{"id": "q", "parts": [{"id": "p", **part_spec}]}]}
    )


def graded(spec: ProblemSet, answers: dict[str, Any]) -> tuple[Report, Submission]:
    submission = Submission(student="student", folder="student", answers=answers)
    return grade(spec, submission), submission


def student_views(
    spec: ProblemSet, report: Report, submission: Submission, formats: tuple[str, ...] = ()
) -> dict[str, str]:
    """Every rendering a student receives of ``report``: before the release (the part made
    visible) and after it, through the API, the page and ``/check``; and the reports of
    ``formats`` (--format) as written for a student (no ``show_expected``)."""
    visible = dataclasses.replace(report, parts=[dataclasses.replace(p, visible=True) for p in report.parts])
    now = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    views = {}
    for moment, release in (("before release", now + dt.timedelta(days=1)), ("after release", now)):
        assignment = LoadedAssignment(1, spec.assignment, "hash", spec, release, release)
        views[f"API {moment}"] = json.dumps(student_json(visible, assignment, now), ensure_ascii=False)
        limited, _ = student_report(visible, assignment, now)
        views[f"page {moment}"] = render_student_page(limited, show_expected=False, spec=spec)
    # What CI and the exports write for the student (the TA's `show_expected` off): GitHub's
    # annotations and job summary, JUnit, Gradescope's results, JSON, Markdown, the HTML page.
    for name in formats:
        views[f"--format {name}"] = REPORTERS[name].render(visible)
    checked = dataclasses.replace(visible, parts=[student_part(p) for p in visible.parts])
    for part in checked.parts:
        readings = read_back(_part_at(spec, part.id), submission.answers.get(part.id))
        views["check text"] = render_check(CheckResult(checked, [PartCheck(part, readings)]))
        views["check JSON"] = json.dumps(part.to_dict(), ensure_ascii=False)
    return views


def _part_at(spec: ProblemSet, address: str) -> PartBase:
    return next(part for a, _, part in spec.iter_parts() if a == address)


def reference_texts(answer: Any) -> list[str]:
    """The reference as the problem file writes it, whole and field by field."""
    if isinstance(answer, dict):
        texts = [json.dumps(answer, ensure_ascii=False)]
        for name, value in answer.items():
            texts += [f"{name} = {t}" for t in reference_texts(value)]
            texts += reference_texts(value)
        return texts
    if isinstance(answer, list | tuple):
        items = [str(item) for item in answer]
        return [json.dumps(list(answer), ensure_ascii=False), ", ".join(items), " x ".join(items)]
    return [str(answer).strip()]


def spellings(part: PartBase, result: PartResult) -> set[str]:
    """The reference answer of ``part`` in every spelling grader knows."""
    found = set(reference_texts(part.answer))
    for text in list(found):
        found |= _rendered(part, text)
    if result.reading is not None:
        found.add(result.reading.expected)
    if part.type == "complexity":
        found |= _complexity_terms(part)
    for condition in getattr(part, "require", ()) if part.type == "constraint" else ():
        found |= {condition, *_rendered(part, condition)}  # the TA's predicate is the key too
    return {s.strip() for s in found if s and s.strip()}


def _rendered(part: PartBase, text: str) -> set[str]:
    try:
        answer = read_received(text, read_context(part, part.type))
    except (MathError, ValueError, RecursionError):
        return set()
    if answer is None or answer.tree is None:
        return set()
    tree = answer.tree
    found = {to_text(tree), to_latex(tree), to_mathml(tree, label=to_text(tree))}
    value = _constant(tree)
    if value is not None:
        if isinstance(value, Fraction):
            found.add(str(value))
        with contextlib.suppress(OverflowError):  # past a float's range (2^1500): the exact spelling
            found |= {f"{float(value):.6g}", f"{float(value):.6f}", f"{float(value):.9g}"}
    return found


def _constant(tree: Any) -> Fraction | float | None:
    if ast.free_names(tree):
        return None
    try:
        return constant_value(tree)
    except Exception:  # no value (a formula the evaluator refuses): no spelling to look for
        return None


def _complexity_terms(part: Any) -> set[str]:
    from grader.types.complexity.checker import _setting, show

    setting = _setting(part.answer, tuple(part.symbols), tuple(part.assumptions))
    terms = {setting.space.show(term) for term in setting.reference.terms}
    return terms | {show(setting.reference, setting.space), setting.space.show_sum(setting.reference.terms)}


def own_texts(part: PartBase, result: PartResult, answer: Any) -> str:
    """Everything the student may see without the key: their own answer as written and as read
    back, and what the question states (its prompt; a network's target)."""
    texts = [result.received or "", result.prompt or ""]
    if result.received:
        texts += [shown_text(result.received), *_rendered(part, result.received)]
        read = read_received(result.received, read_context(part, part.type))
        texts.append((answer_math(read) if read is not None else None) or "")
    if result.reading is not None:
        texts.append(result.reading.received)
    for reading in read_back(part, answer):
        texts += [reading.text, reading.latex or ""]
        if reading.label:
            texts += [f"{reading.label} = {reading.text}", f"{reading.label} = {reading.latex or ''}"]
    target = getattr(part, "target", None)
    if isinstance(target, str):
        texts += [target, *_rendered(part, target)]
    for name, value in getattr(part, "given", {}).items() if part.type == "constraint" else ():
        texts.append(f"{name} = {value}")
    # A decimal the student typed or the question states is the same number as a fraction
    # (0.5 is 1/2): a message that writes it as one tells the student nothing new.
    texts += [str(Fraction(decimal)) for decimal in re.findall(r"\d+\.\d+", "\n".join(texts))]
    return "\n".join(texts)


def leaks(views: dict[str, str], references: Iterable[str], own: str) -> list[str]:
    """``view: spelling`` for each reference spelling a view holds that the student's answer
    does not, and each view that states the reference's value at a point."""
    found = []
    for name, view in views.items():
        text = html.unescape(_PAGE_CODE.sub("", view))
        for spelling in references:
            if _squeezed(spelling) in _squeezed(own):
                continue
            if _holds(text, spelling):
                found.append(f"{name}: {spelling!r}")
        if _VALUE_AT_POINT.search(text):
            found.append(f"{name}: the expected value at a point ({_VALUE_AT_POINT.search(text)[0]!r})")
    return found


# a page's own style sheet (``line-height: 1.5``) is no text a student reads; its scripts are
# searched (data a script carries reaches the student)
_PAGE_CODE = re.compile(r"<style\b[^>]*>.*?</style>", re.DOTALL | re.IGNORECASE)


def _squeezed(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _holds(text: str, spelling: str) -> bool:
    pieces = [re.escape(c) for c in spelling if not c.isspace()]
    if not pieces:
        return False
    spaced = r"\s*".join(pieces)
    token = rf"(?<![\w.^]){spaced}(?![\w(^])"
    if len(pieces) < SHORT:
        token = rf"{_GIVEN}\W{{0,12}}{token}"
    return re.search(token, text) is not None
