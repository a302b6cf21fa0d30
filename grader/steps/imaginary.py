"""Where ``i`` or ``j`` may be the imaginary unit (red team R12: ``e^{i\\pi} + 1 = 0`` was marked wrong
at ``i = 0``, ``i`` read as a real variable; session 26: ``\\frac{1}{i} = -i`` after "$i$ is the
imaginary unit", and engineering's ``(a + bj)(a - bj) = a^2 + b^2``).

Every symbol is read as a real number, so a step that writes ``i`` where it may be the imaginary
unit is read over the wrong numbers: a real point where it fails is no witness (Euler's identity
holds), and a proof over real ``i`` is no proof (``|e^{i\\theta}| = e^{i\\theta}`` holds for a real
``i`` only). Such a step is neither shown nor refuted: undecided, with why.

A letter ``i`` or ``j`` may be the imaginary unit where it is written bare (not a subscript or a
superscript in brackets, ``x_i``, ``\\mathbf{x}^{(i)}``) and either the write-up says so anywhere
("$i$ is the imaginary unit", "the imaginary unit $j$", ``i = \\sqrt{-1}``, ``j^2 = -1``), or it
stands in the exponent of ``e`` or ``\\exp``, right beside ``\\pi``, ``\\theta``, ``\\omega``,
``\\sin``, ``\\cos`` (``i\\sin\\theta``, ``\\pi i``), squared (``i^2``), or is written
``\\mathrm{i}``, ``\\imath``; never where a sum or a product of the step runs over it
(``\\sum_{i}``: an index) or the chain states its domain (``i \\in \\mathbb{N}``, ``i > 0``).
"""

from __future__ import annotations

import re

from grader.mathlang import ast
from grader.steps.latex import closing, group_end
from grader.steps.scope import Scope

LETTERS = ("i", "j")
WHY = (
    "{0} may be the imaginary unit here (as in e^{{{0}\\pi}}): the step is read over real values of {0} "
    "only, so a point where it fails is no witness and agreement is no proof; state {0}'s domain to decide it"
)

_TEXT = re.compile(r"\\(?:text|mathrm|operatorname|textrm)\s*\{(?!\s*[ij]\s*\})[^{}]*\}")
# subscripts, and superscripts that name an index in brackets (x^{(i)}, not e^{(i\pi)})
_SCRIPT = re.compile(
    r"_\s*(?:\{[^{}]*(?:\{[^{}]*\}[^{}]*)*\}|\\?[A-Za-z0-9])"  # a subscript
    r"|\^\s*\{\s*\(\s*[^{}()\\]*\)\s*\}"  # an index in brackets as a superscript
)
_EXPONENT = re.compile(r"(?<![A-Za-z\\])e\s*\^|\\exp(?![A-Za-z])")
# what says a letter is the imaginary unit: words around it, or an equation that makes it one
_SAID = (
    r"\$\s*({0})\s*\$,?\s*(?:is|denotes|being|be|as|for|stands\s+for)?\s*(?:the|an?)?\s*imaginary",
    r"imaginary\s+(?:unit|number)\s*,?\s*\$\s*({0})\s*\$",
    r"(?<![A-Za-z\\_])({0})\s*(?::=|=)\s*\\sqrt\s*\{{?\s*-\s*1\s*\}}?",
    r"(?<![A-Za-z\\_])({0})\s*\^\s*\{{?\s*2\s*\}}?\s*=\s*-\s*1(?![0-9.])",
)


def declared(text: str) -> tuple[str, ...]:
    """The letters (``i``, ``j``) the write-up says stand for the imaginary unit, or writes as it
    somewhere (``e^{i\\theta}``, ``j\\sin\\omega t``)."""
    found = {
        m.group(1)
        for pattern in _SAID
        for m in re.finditer(pattern.format("[ij]"), text, re.IGNORECASE if "imaginary" in pattern else 0)
    }
    plain = _SCRIPT.sub(" ", _TEXT.sub(" ", text))
    found |= {letter for letter in LETTERS if _written_as_one(letter, text, plain)}
    return tuple(sorted(found & set(LETTERS)))


def imaginary_letter(text: str, scope: Scope) -> str | None:
    """The letter ``text`` (a step's two sides) writes where it may be the imaginary unit, with
    nothing in the chain saying what it is; None when there is none."""
    plain = _SCRIPT.sub(" ", _TEXT.sub(" ", text))
    return next((letter for letter in LETTERS if _may_be_imaginary(letter, text, plain, scope)), None)


def _may_be_imaginary(letter: str, text: str, plain: str, scope: Scope) -> bool:
    if letter not in text or _stated(letter, scope):
        return False
    if re.search(rf"\\(?:sum|prod)\s*_\s*\{{?\s*{letter}(?![A-Za-z])", text):
        return False  # an index
    if letter in scope.imaginary:  # b j is b times j: any letter left once commands are gone
        return letter in re.sub(r"\\[A-Za-z]+", " ", plain)
    return _written_as_one(letter, text, plain)


def _written_as_one(letter: str, text: str, plain: str) -> bool:
    """``letter`` written as the imaginary unit is: ``\\mathrm{i}``, in an exponent of ``e``,
    beside ``\\pi``, ``\\sin``, ..., squared."""
    if letter == "i" and re.search(r"\\mathrm\s*\{\s*i\s*\}|\\imath(?![A-Za-z])", text):
        return True
    bare = rf"(?<![A-Za-z\\_]){letter}(?![A-Za-z])"
    beside = (
        rf"{bare}\s*\\(?:pi|theta|omega|sin|cos)(?![A-Za-z])|\\(?:pi|theta|omega)(?![A-Za-z])\s*{letter}"
        rf"(?![A-Za-z])|{bare}\s*\^\s*\{{?\s*2(?![0-9])"
    )
    if re.search(beside, plain):
        return True
    return any(re.search(bare, exponent) for exponent in _exponents(plain))


def _stated(letter: str, scope: Scope) -> bool:
    if letter in scope.domains or letter in scope.reals:
        return True
    return any(letter in ast.free_names(c) for c in scope.conditions)


def _exponents(text: str) -> list[str]:
    """The exponents of ``e`` and the arguments of ``\\exp`` written in ``text``."""
    out = []
    for m in _EXPONENT.finditer(text):
        at = m.end()
        while at < len(text) and text[at].isspace():
            at += 1
        if text.startswith("\\left", at):
            at += len("\\left")
        if at >= len(text):
            continue
        if text[at] == "{":
            end = group_end(text, at)
        elif text[at] == "(":
            end = closing(text, at)
        else:
            end = at + 1
        out.append(text[at : end if end is not None else len(text)])
    return out


__all__ = ["LETTERS", "WHY", "declared", "imaginary_letter"]
