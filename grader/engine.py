"""The pure core: ``grade(spec, submission) -> Report``. No files, no click.

The engine looks up each part's checker, enforces the time limit, turns
exceptions into verdicts (an unreadable answer is ``invalid`` with a caret, an
undecidable one ``error`` with why, a crash ``error`` too, never a stopped
batch), matches known mistakes, and adds ids, points and context.
"""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import json
import sys
import time
import traceback
from collections.abc import Callable, Mapping
from pathlib import PurePath
from typing import Any

from grader import clock
from grader.core.deferred import deferred, with_imports
from grader.core.parts import PartBase
from grader.core.report import DECIDED, PartResult, Report
from grader.core.submission import MAX_WARNINGS, SourcePosition, Submission, bounded_warnings
from grader.core.timelimit import NO_LIMITS, CheckLimits, CheckTimeout, memory_limit, run_with_time_limit
from grader.core.verdict import AnswerError, CheckUndecided, Decision, MachineLacks, Status, Verdict
from grader.mathlang.candidates import (
    APART,
    PROSE,
    chain_members,
    math_and_prose,
    mended,
    several_answers,
    withdrawal,
)
from grader.mathlang.labels import strip_value_label
from grader.spec import ProblemSet, Question
from grader.types import ANSWER_TYPES
from grader.types.base import AnswerType

PartCheck = Callable[[PartBase, Any], Verdict]
_MAP_PDF = deferred("grader.pdf.mapping", "map_submission")

MAX_ANSWER_CHARS = 20_000  # refused before any parsing
RECEIVED_PREVIEW_CHARS = 500


def is_blank(answer: Any) -> bool:
    """No answer: nothing, blank text, or an empty list or mapping."""
    if isinstance(answer, str):
        return not answer.strip()
    return answer is None or (isinstance(answer, list | dict) and not answer)


def check_part(part: PartBase, answer: Any, *, time_limit: float | None = None) -> Verdict:
    """The verdict for one answer to one part, with known mistakes applied (and the modules
    the check turns out to need imported outside its time limit: see :func:`with_imports`)."""
    return with_imports(lambda: check_part_once(part, answer, time_limit=time_limit))


def check_part_once(part: PartBase, answer: Any, *, time_limit: float | None = None) -> Verdict:
    """:func:`check_part`, raising :class:`NotImported` when the check needs a module not
    imported yet (for a caller that puts limits of its own around it)."""
    if is_blank(answer):
        return Verdict.missing()
    load_checker(part.type)
    if not is_auto_graded(part):
        return _run_checker(part, answer)
    if _answer_size(answer) > MAX_ANSWER_CHARS:
        return Verdict.invalid(f"answer is too long (over {MAX_ANSWER_CHARS:,} characters); not read")
    seconds = time_budget(part) if time_limit is None else time_limit
    try:
        return run_with_time_limit(lambda: _verdict_with_mistakes(part, answer), seconds)
    except CheckTimeout as exc:
        # A CPU-time limit is reached again by the same check: the store may keep that verdict
        # (keyed by the part, limit included). A wall-clock stop depends on the machine's load.
        message = f"{exc}; the answer could not be decided, a TA should look at it"
        if exc.clock == "cpu":
            return Verdict.error(message, time_limit=exc.seconds)
        return Verdict.error(message)


def load_checker(type_name: str) -> None:
    """Import the checker of an answer type (numpy, sympy...: up to a second and tens of MiB)
    before a check runs, so that no answer's time or memory limit pays for it. A checker
    that cannot be imported is left to the check, whose verdict then says why."""
    answer_type = ANSWER_TYPES.get(type_name)
    if answer_type is not None:
        with contextlib.suppress(Exception):
            answer_type.load()


def time_budget(part: PartBase) -> float:
    """Seconds one check of this part may take: its time_limit, or what its type needs."""
    answer_type = ANSWER_TYPES.get(part.type)
    if answer_type is not None and answer_type.time_budget is not None:
        return answer_type.time_budget(part)
    return part.time_limit


def error_is_settled(part: PartBase) -> bool:
    """May an ``error`` verdict for this part be stored and served again (see AnswerType)?"""
    answer_type = ANSWER_TYPES.get(part.type)
    return answer_type is None or answer_type.errors_are_settled


def check_unavailable(part: PartBase) -> str | None:
    """Why this machine cannot check any answer to the part (a tool its type needs is missing),
    or None."""
    answer_type = ANSWER_TYPES.get(part.type)
    if answer_type is None or answer_type.unavailable is None:
        return None
    return answer_type.unavailable(part)


def is_auto_graded(part: PartBase) -> bool:
    answer_type = ANSWER_TYPES.get(part.type)
    return answer_type is None or answer_type.auto_graded


def _verdict_with_mistakes(part: PartBase, answer: Any) -> Verdict:
    verdict = _run_checker(part, answer)
    if verdict.status not in (Status.INCORRECT, Status.PARTIAL) or not part.mistakes:
        return verdict
    for mistake in part.mistakes:
        if _gives_mistake(part, mistake.answer, answer):
            feedback = mistake.feedback.strip()
            if verdict.witness:  # keep the checker's witness
                feedback = f"{feedback} ({verdict.feedback})"
            matched = Verdict.partial(mistake.score, feedback)
            return dataclasses.replace(
                verdict, status=matched.status, score=matched.score, feedback=feedback, mistake=True
            )
    return verdict


def same_answer(part: PartBase, one: Any, other: Any) -> bool:
    """``other`` is shown equal to ``one`` by the part's checker (``one`` taken as the
    reference, under the part's time limit), as a listed mistake is matched."""
    load_checker(part.type)
    return with_imports(lambda: _same_answer_once(part, one, other))


def _same_answer_once(part: PartBase, one: Any, other: Any) -> bool:
    try:
        return run_with_time_limit(lambda: _gives_mistake(part, one, other), part.time_limit)
    except CheckTimeout:
        return False


def _gives_mistake(part: PartBase, listed: Any, answer: Any) -> bool:
    answer_type = ANSWER_TYPES.get(part.type)
    if answer_type is not None and answer_type.same_mistake is not None:
        return answer_type.same_mistake(part, listed, answer)
    as_reference = part.model_copy(update={"answer": listed, "mistakes": ()})
    return _run_checker(as_reference, answer).status is Status.CORRECT


def _run_checker(part: PartBase, answer: Any) -> Verdict:
    answer_type = ANSWER_TYPES.get(part.type)
    if answer_type is None:
        return Verdict.error(f"answer type {part.type!r} cannot be graded by this version of grader")
    try:
        answer = _one_answer(answer_type, answer)
        members = chain_members(answer) if isinstance(answer, str) and answer_type.one_answer else []
        reference = getattr(part, "answer", None)
        if (
            members
            and part.type in CHAINED_TYPES
            and isinstance(reference, str | int | float)
            and "=" not in str(reference)
        ):
            return _chain(part, answer_type, members)
        return _with_decision(answer_type, answer_type.check(part, answer))
    except AnswerError as exc:
        return Verdict.invalid(exc.render())
    except MachineLacks as exc:
        return Verdict.error(f"could not decide: {exc}", machine=True)
    except CheckUndecided as exc:
        return Verdict.error(f"could not decide: {exc}")
    except CheckTimeout:
        raise
    except RecursionError:
        return Verdict.invalid("answer is nested too deeply to read")
    except Exception as exc:  # a crash in one part must not stop the others
        return Verdict.error(
            f"internal error while checking ({type(exc).__name__}: {exc}); a TA should look at it",
            traceback=traceback.format_exc(limit=8),
        )


# Types whose answer is one value or formula: working before it may be written as a chain.
CHAINED_TYPES = frozenset({"expression", "number", "matrix"})


def _chain(part: PartBase, answer_type: AnswerType, members: list[str]) -> Verdict:
    """Working written as a chain (``L = x + x = 2x``, ``&=`` rows): the last member is the
    answer; every earlier one grader can read as a value must equal it too."""
    verdict = _with_decision(answer_type, answer_type.check(part, members[-1]))
    if verdict.status is not Status.CORRECT:
        return verdict
    for step in members[:-1]:  # a label (L, \\nabla_W L) reads as no value and is passed over
        try:
            checked = answer_type.check(part, step)
        except (AnswerError, CheckUndecided):
            continue
        if checked.status is Status.INCORRECT:
            return Verdict.invalid(
                f"your last line {members[-1]} is graded, but a step before it ({step}) does not "
                "equal it: check your working"
            )
    return verdict


def _one_answer(answer_type: AnswerType, answer: Any) -> Any:
    """The answer as its type reads it: refused when a text offers several answers (a mark is
    graded on one answer, never on one of two), a value's label (``\\eta = ...``) left out."""
    answer = _read_prose(answer, answer_type.one_answer)
    if answer_type.formulas_apart == "items" or not answer_type.one_answer:
        answer = _joined_apart(answer, ", " if answer_type.formulas_apart == "items" else " ")
    if answer_type.one_answer:
        for text in _texts(answer):
            offered = several_answers(text)
            if offered:
                shown = "; ".join(offered)
                raise AnswerError(f"two answers here: {shown}; keep one")
            withdrawn = withdrawal(text)
            if withdrawn:
                raise AnswerError(
                    f"the words with this answer withdraw it ({withdrawn!r}): give only the answer you submit"
                )
    if answer_type.value_after_label and isinstance(answer, str):
        return strip_value_label(answer)
    return answer


def _read_prose(answer: Any, formula: bool) -> Any:
    """Prose a write-up's mark holds beside its math: a formula part reads the math alone
    (refused when the prose withdraws it), another part the text as written."""
    if isinstance(answer, list):
        return [_read_prose(item, formula) for item in answer]
    if isinstance(answer, dict):
        return {key: _read_prose(item, formula) for key, item in answer.items()}
    if not isinstance(answer, str):
        return answer
    if PROSE not in answer:
        return mended(answer)
    if not formula:
        return mended(answer.replace(PROSE, ""))
    math, prose = math_and_prose(answer)
    withdrawn = withdrawal(f"\\text{{{prose}}}")
    formulas = [piece.strip() for piece in mended(math).split(APART) if piece.strip()]
    if withdrawn and len(formulas) > 1:
        raise AnswerError(f"two answers here: {'; '.join(formulas)}; keep one")
    if withdrawn:
        raise AnswerError(
            f"the words with this answer withdraw it ({withdrawn!r}): give only the answer you submit"
        )
    return mended(math)


def _joined_apart(answer: Any, separator: str) -> Any:
    """Formulas a write-up kept apart, joined as the type reads them (``, `` for items)."""
    if isinstance(answer, str):
        return answer.replace(f" {APART} ", separator).replace(APART, separator)
    if isinstance(answer, list):
        return [_joined_apart(item, separator) for item in answer]
    if isinstance(answer, dict):
        return {key: _joined_apart(item, separator) for key, item in answer.items()}
    return answer


def _texts(answer: Any) -> list[str]:
    """Every text in an answer: itself, or the texts in its lists and mappings."""
    if isinstance(answer, str):
        return [answer]
    if isinstance(answer, list | tuple):
        return [text for item in answer for text in _texts(item)]
    if isinstance(answer, dict):
        return [text for item in answer.values() for text in _texts(item)]
    return []


def _with_decision(answer_type: AnswerType, verdict: Verdict) -> Verdict:
    """A verdict that states no decision gets its type's (the certificate in the report)."""
    if verdict.decision is not None or answer_type.decided is None or verdict.status not in DECIDED:
        return verdict
    decided = Decision(f"{answer_type.decided.value} comparison", certificate=answer_type.decided)
    return dataclasses.replace(verdict, decision=decided)


def _answer_size(answer: Any) -> int:
    if isinstance(answer, str):
        return len(answer)
    try:
        return len(json.dumps(answer, default=str))
    except (TypeError, ValueError):
        return MAX_ANSWER_CHARS + 1


TEMPLATE_NOT_GRADED = (
    "not graded: this problem set gives each student their own variant, and the student's was not "
    "drawn (give the variant key: --variant-key or GRADER_VARIANT_KEY)"
)


def grade(spec: ProblemSet, submission: Submission, check: PartCheck = check_part) -> Report:
    """Grade every part of ``spec`` for one submission; ``check`` decides one answer
    (the batch passes one that reuses stored verdicts and bounds memory)."""
    submission = submission.matched_to(part_id for part_id, _, _ in spec.iter_parts())
    if submission.pdf is not None and not submission.load_error:
        submission = _MAP_PDF(spec, submission)  # each part's pages; what a TA grades from them
    report = Report(
        assignment=spec.assignment,
        student=submission.student,
        parts=[],
        warnings=list(submission.warnings),
        folder=submission.folder,
        notes=list(submission.notes),
        warning_positions=dict(submission.warning_positions),
        error=submission.load_error,
        positions=dict(submission.positions),
        error_position=submission.error_position,
        variant=spec.variant.id if spec.variant is not None else None,
        pages=dict(submission.pages),
    )
    if spec.is_template():  # never graded against another student's numbers
        for part_id, question, part in spec.iter_parts():
            verdict = Verdict.error(TEMPLATE_NOT_GRADED)
            report.parts.append(_result(part_id, question, part, verdict, submission.answers.get(part_id)))
        return report
    if not submission.load_error:
        load_checkers(spec, submission.answers)
        prepare_checks(spec, submission.answers)
    for part_id, question, part in spec.iter_parts():
        if submission.load_error:
            verdict = _unread_verdict(submission)
        elif part_id in submission.by_hand and is_blank(submission.answers.get(part_id)):
            verdict = Verdict.manual(submission.by_hand[part_id])
        else:
            verdict = check(part, submission.answers.get(part_id))
            verdict = _in_writeup_words(
                part, verdict, submission.answers.get(part_id), submission.positions.get(part_id)
            )
        report.parts.append(_result(part_id, question, part, verdict, submission.answers.get(part_id)))
    if not submission.load_error:
        report.warnings.extend(unmatched_answer_warnings(spec, submission.answers, submission.positions))
    report.warnings = bounded_warnings(report.warnings)
    return report


# A write-up's format, by the suffix of the file an answer was read from.
WRITEUP_FORMATS = {".tex": "latex", ".md": "markdown", ".ipynb": "ipynb"}


def _in_writeup_words(
    part: PartBase, verdict: Verdict, answer: Any, position: SourcePosition | None
) -> Verdict:
    """An unreadable one-line answer from a write-up, with advice in that write-up's own words
    where its type is written otherwise there (code: in a block that keeps its lines)."""
    answer_type = ANSWER_TYPES.get(part.type)
    fmt = WRITEUP_FORMATS.get(PurePath(position.file).suffix.lower()) if position else None
    if (
        verdict.status is not Status.INVALID
        or fmt is None
        or answer_type is None
        or answer_type.unreadable_in_writeup is None
        or not isinstance(answer, str)
        or "\n" in answer.strip()
    ):
        return verdict
    advice = answer_type.unreadable_in_writeup(part, fmt)
    return dataclasses.replace(verdict, feedback=f"{verdict.feedback}\n{advice}") if advice else verdict


def load_checkers(spec: ProblemSet, answers: Mapping[str, Any] | None = None) -> None:
    """Import the checkers the answers given need (all the problem set's, without ``answers``)
    before any is checked: here, not under the time and memory limits the batch puts around
    each check."""
    answered = {
        part.type
        for part_id, _, part in spec.iter_parts()
        if answers is None or not is_blank(answers.get(part_id))
    }
    for name in answered:
        load_checker(name)


def prepare_checks(spec: ProblemSet, answers: Mapping[str, Any]) -> None:
    """Work an answer type does once for all its parts of one submission (code: one sandbox).
    A failure here is no verdict: each check then does its own work and reports."""
    pairs: dict[str, list[tuple[PartBase, Any]]] = {}
    for part_id, _, part in spec.iter_parts():
        answer_type = ANSWER_TYPES.get(part.type)
        answer = answers.get(part_id)
        if (
            answer_type is not None
            and answer_type.prepare is not None
            and not is_blank(answer)
            and _answer_size(answer) <= MAX_ANSWER_CHARS
        ):
            pairs.setdefault(part.type, []).append((part, answer))
    for name, found in pairs.items():
        prepare = ANSWER_TYPES[name].prepare
        try:
            if prepare is not None:
                prepare(found)
        except Exception:
            pass


def _unread_verdict(submission: Submission) -> Verdict:
    """Every part of a submission whose answers could not be read: invalid, with why
    (missing only when no answers file was handed in at all)."""
    if submission.source is None:
        return Verdict.missing(f"not graded: {submission.load_error}")
    return Verdict.invalid(f"not graded: the answers file could not be read ({submission.load_error})")


def _result(part_id: str, question: Question, part: PartBase, verdict: Verdict, answer: Any) -> PartResult:
    return PartResult(
        id=part_id,
        status=verdict.status,
        score=round(verdict.score * part.points, 6),
        max_score=part.points,
        feedback=verdict.feedback,
        type=part.type,
        prompt=part.prompt or question.prompt,
        received=None if is_blank(answer) else preview(answer),
        expected=None if part.answer is None else preview(part.answer),
        note=part.note,
        decision=verdict.decision,
        witness=verdict.witness,
        reading=verdict.reading,
        plot=verdict.plot,
        mistake=verdict.mistake,
        machine=verdict.machine,
        visible=part.visible,
        outputs=verdict.outputs,
        steps=verdict.steps,
        steps_visible=getattr(part, "steps", "hidden") == "visible",
    )


def preview(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    if len(text) > RECEIVED_PREVIEW_CHARS:
        return text[:RECEIVED_PREVIEW_CHARS] + "…"
    return text


def unmatched_answer_warnings(
    spec: ProblemSet, answers: dict[str, Any], positions: Mapping[str, SourcePosition] | None = None
) -> list[str]:
    """Answers whose key matches no part: reported, never silently dropped; with the file and
    line where the answer was written, when known."""
    known = [part_id for part_id, _, _ in spec.iter_parts()]
    questions = {q.id: q for q in spec.questions}
    warnings: list[str] = []
    unmatched = 0
    for key in answers:
        if key in known:
            continue
        unmatched += 1
        if len(warnings) >= MAX_WARNINGS:  # counted, not described (difflib is slow)
            continue
        where = f"{positions[key]}: " if positions and key in positions else ""
        if key in questions and not questions[key].single:
            parts = ", ".join(f"{key}.{p.id}" for p in questions[key].parts)
            warnings.append(
                f"{where}answer '{key}' is not graded: question {key} has parts {parts}; answer each"
            )
            continue
        close = difflib.get_close_matches(key, known, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        warnings.append(f"{where}answer '{key}' matches no part of {spec.assignment} and is not graded{hint}")
    return bounded_warnings(warnings, unmatched - len(warnings))


def limited_check(part: PartBase, answer: Any, limits: CheckLimits = NO_LIMITS) -> tuple[Verdict, bool]:
    """The verdict under the part's time and memory limits, and whether a re-run would give
    the same one: not when the memory limit or the wall clock stopped the check, nor when a
    step of it stopped at a deadline (:mod:`grader.clock`). A CPU-time
    limit reached is kept (the limit is in the part's key, so raising it regrades), and so is
    an internal error (grader's code version is part of every stored verdict's key, so a fix
    regrades it)."""
    return with_imports(lambda: _limited_check_once(part, answer, limits))


def _limited_check_once(part: PartBase, answer: Any, limits: CheckLimits) -> tuple[Verdict, bool]:
    """One check under the limits; a module it needs is imported by the caller, outside them."""
    started, cuts_before = time.monotonic(), clock.cuts()
    guard = limits.watchdog.guard(time_budget(part)) if limits.watchdog else contextlib.nullcontext()
    with memory_limit(part.memory_limit), guard:
        verdict = check_part_once(part, answer)
    if clock.cuts() != cuts_before:  # a step stopped at a deadline: another run may decide otherwise
        return verdict, False
    if verdict.status is not Status.ERROR or verdict.time_limit is not None:
        return verdict, True  # a CPU-time limit reached is remembered, with the limit in the key
    if not error_is_settled(part):
        return verdict, False
    if "MemoryError" in (verdict.traceback or ""):
        message = (
            f"the check needed more than {part.memory_limit} MiB of memory (memory_limit) "
            "and was stopped; a TA should look at it"
        )
        return Verdict.error(message), False
    slow = time.monotonic() - started >= part.time_limit / 2
    return verdict, not slow


def not_graded(spec: ProblemSet, student: str, folder: str, reason: str) -> Report:
    """The report of a submission that could not be graded (its worker died or was stopped):
    every part an error saying why."""
    feedback = f"not graded: {reason}; a TA should look at it"
    parts = [
        PartResult(
            id=address,
            status=Status.ERROR,
            score=0.0,
            max_score=part.points,
            feedback=feedback,
            type=part.type,
            prompt=part.prompt or question.prompt,
            note=part.note,
        )
        for address, question, part in spec.iter_parts()
    ]
    return Report(spec.assignment, student, parts, folder=folder, error=reason)


def clear_sympy_caches() -> None:
    """Empty sympy's caches, if this process imported it (a check imports it when it needs it)."""
    if "sympy" in sys.modules:
        from sympy.core.cache import clear_cache

        clear_cache()
