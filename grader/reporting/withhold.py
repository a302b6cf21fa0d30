"""What a student may see of a verdict: the one place the key is withheld.

Every rendering a student reads goes through :func:`student_part` (one part) or
:func:`shown_report` (a report): the service's pages, API and ``/check``
(grader.course.visibility), ``grader check``, and every ``--format`` of ``grader grade``
and the files a batch writes for each student (JSON, Markdown, HTML, GitHub annotations,
Gradescope's results, JUnit, the terminal table). Only a TA's rendering keeps everything:
``--show-expected`` (the TA asks for the key), the class dashboard (``index.html``) and the
gradebooks (scores only); docs/formats.md section 8 lists them.

Never a reference answer: ``expected`` is dropped, and so are the checker's reading of the
reference (``Reading.expected``) and the reference's value at a witness point. The checkers
word their feedback about the student's answer alone (issue 45); as a second line, any
feedback or TA's note that quotes the reference in a spelling grader writes (as the
problem file does, in plain text, in LaTeX, as the checker reads it: a TA's mistake text,
"pi is 3.14159", or a syntax hint whose example happens to be the reference, "write [0, 1)")
is withheld; an ``error`` verdict's text (the TA's side: a problem file that cannot be read,
a crash) becomes a plain "a TA will look at it".
"""

from __future__ import annotations

import dataclasses
import functools
import json
import re
from collections.abc import Iterable
from typing import Any

from grader.core.report import PartResult, Report, points_value
from grader.core.verdict import Status

WITHHELD = "feedback withheld: it would show the reference answer"
ERROR_TEXT = "this answer could not be graded automatically; a TA will look at it"


def reference_strings(result: PartResult) -> list[str]:
    """The reference answer as a report writes it, and as grader renders it (plain text, LaTeX,
    the checker's own reading): what must never reach a student."""
    if not result.expected or not result.expected.strip():
        return []
    read = result.reading.expected.strip() if result.reading is not None else ""
    return list(_references(result.expected, result.type, read))


@functools.lru_cache(maxsize=1024)
def _references(expected: str, type_name: str, read: str) -> tuple[str, ...]:
    """Remembered: a class's reports repeat the same few references thousands of times."""
    from grader.mathlang.render import to_latex, to_text
    from grader.reporting.answers import read_context, read_received

    found = {expected.strip(), *_listed(expected)}
    # each number of the reference, alone: "the factor 0.73519 is missing" states 0.73519 x^2 + 3
    found |= {number for number in _NUMBER.findall(expected) if len(number) >= SHORT}
    if read:
        found.add(read)
    if type_name == "complexity":  # its terms one by one too (the checker, with sympy: on demand)
        from grader.types.complexity.checker import class_terms

        found |= set(class_terms(expected))
    try:
        answer = read_received(expected, read_context(None, type_name))
    except Exception:  # a reference grader cannot read back: its text alone is looked for
        answer = None
    if answer is not None and answer.tree is not None:
        found |= {to_text(answer.tree), to_latex(answer.tree)}
    return tuple(sorted(found))


def warm(parts: Iterable[tuple[str, str | None]]) -> None:
    """Do now, for these parts ((type, reference as a report writes it)), what a student's
    first view of each does once: import what :func:`_references` imports on demand (the
    complexity checker brings sympy: a second with the interpreter's lock held), read each
    reference and compile the patterns that look for it (about a millisecond a part). A
    service does it before its first request, not under a class's first long polls."""
    import grader.mathlang.render
    import grader.reporting.answers

    parts = list(parts)
    if any(type_name == "complexity" for type_name, _ in parts):
        import grader.types.complexity.checker  # noqa: F401
    for type_name, expected in parts:
        if expected and expected.strip():
            for reference in _references(expected, type_name, ""):
                _token(reference)
                _plain(reference)


_NUMBER = re.compile(r"(?<![\w.])\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")


def _listed(text: str) -> list[str]:
    """A list reference (a shape, an array, options) as a sentence writes it: ``k x 1``, ``k, 1``."""
    try:
        value = json.loads(text)
    except ValueError:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str | int | float) for v in value):
        return []
    items = [str(v) for v in value]
    return [" x ".join(items), ", ".join(items)]


def quotes(text: str | None, references: list[str]) -> bool:
    """``text`` contains a reference as a whole token, however it is spaced."""
    if not text:
        return False
    return any(_token(reference).search(text) for reference in references)


# A short reference (an option's key B, a number 0 or 12) is in any sentence ("the options are
# A, B"; "at x = 0"): it is quoted only where a sentence gives it as the answer.
SHORT = 3
_GIVEN = r"(?:expected|should be|answer is|answer|correct|is|was|write|pick|choose|try|use|not)"


@functools.lru_cache(maxsize=4096)
def _token(reference: str) -> re.Pattern[str]:
    """``reference`` quoted in a message (a short one only where a sentence gives it)."""
    token = _plain(reference).pattern
    if len([c for c in reference if not c.isspace()]) < SHORT:
        token = rf"(?i:\b{_GIVEN})\W{{0,12}}{token}"
    return re.compile(token)


@functools.lru_cache(maxsize=4096)
def _plain(reference: str) -> re.Pattern[str]:
    """``reference`` as a whole token, however it is spaced."""
    pieces = [re.escape(c) for c in reference if not c.isspace()]
    if not pieces:
        return re.compile(r"(?!)")  # matches nothing
    spaced = r"\s*".join(pieces)
    return re.compile(rf"(?<![\w.]){spaced}(?![\w])")


def student_part(result: PartResult, **changes: Any) -> PartResult:
    """The part as a student may see it once its verdict is shown (with ``changes`` of the
    caller's own, made in the same copy)."""
    references = reference_strings(result)
    shown_witness = str(result.witness)
    if references and any(quotes(text, references) for text in (result.feedback, result.note, shown_witness)):
        references = _not_their_own(references, result)
    feedback = result.feedback
    if result.status is Status.ERROR:
        # an error of the machine's own state (no sandbox, a library not installed) is what a
        # student running grader in their CI can fix: its words are grader's, never the key's
        machine = result.machine and not quotes(feedback, references)
        feedback = feedback if machine else ERROR_TEXT
    elif quotes(feedback, references):
        feedback = WITHHELD
    witness = result.witness
    if witness is not None and result.type != "network":  # a network's target is the question's
        witness = dataclasses.replace(witness, expected=None)
        shown_witness = str(witness)
    if witness is not None and quotes(shown_witness, references):
        witness = None
    note = None if quotes(result.note, references) else result.note
    return dataclasses.replace(
        result, expected=None, feedback=feedback, witness=witness, reading=None, note=note, **changes
    )


def student_view(report: Report) -> dict[str, Any]:
    """``report`` as its student's JSON shows it with every one of its parts shown: each part
    withheld (no plot file: the service draws the plot in its page), its score."""
    limited = dataclasses.replace(
        report, parts=[student_part(p, plot_file=None) for p in report.parts], folder=None, positions={}
    )
    data = limited.to_dict(show_expected=False)
    for part in data["parts"]:
        part.pop("expected", None)
    data["score"] = points_value(limited.score)
    data["max_score"] = points_value(limited.max_score)
    return data


def _not_their_own(references: list[str], result: PartResult) -> list[str]:
    """The references but those the student's answer holds itself (as typed, or as grader
    reads it: ``Θ(n^2 h + d^2 h)`` of ``\\Theta(h(n^2 + d^2 + nd))``): a message that says
    them back tells the student nothing new."""
    own = [result.received or ""]
    if result.reading is not None:
        own.append(result.reading.received)
    if result.received and result.status is not Status.INVALID:
        own += _rendered(result.received, result.type)
    text = "\n".join(own)
    return [reference for reference in references if not _plain(reference).search(text)]


@functools.lru_cache(maxsize=4096)
def _rendered(received: str, type_name: str) -> tuple[str, ...]:
    from grader.mathlang.render import to_latex, to_text
    from grader.reporting.answers import read_context, read_received

    try:
        answer = read_received(received, read_context(None, type_name))
    except Exception:  # an answer grader cannot read back: its text alone is the student's
        return ()
    if answer is None or answer.tree is None:
        return ()
    return (to_text(answer.tree), to_latex(answer.tree))


def shown_report(report: Report, show_expected: bool) -> Report:
    """``report`` as a rendering shows it: whole for a TA who asked for the key
    (``show_expected``), else each part as a student may see it (:func:`student_part`)."""
    if show_expected:
        return report
    return dataclasses.replace(report, parts=[student_part(part) for part in report.parts])
