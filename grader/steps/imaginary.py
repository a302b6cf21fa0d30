"""Where ``i`` may be the imaginary unit (red team R12: ``e^{i\\pi} + 1 = 0`` was marked wrong at
``i = 0``, ``i`` read as a real variable).

Every symbol is read as a real number, so a step that writes ``i`` where it may be the imaginary
unit is read over the wrong numbers: a real point where it fails is no witness (Euler's identity
holds), and a proof over real ``i`` is no proof (``|e^{i\\theta}| = e^{i\\theta}`` holds for a real
``i`` only). Such a step is neither shown nor refuted: undecided, with why.

``i`` may be the imaginary unit where it is written bare (not a subscript or a superscript in
brackets, ``x_i``, ``\\mathbf{x}^{(i)}``) in the exponent of ``e`` or ``\\exp``, right beside
``\\pi``, ``\\theta``, ``\\omega``, ``\\sin``, ``\\cos`` (``i\\sin\\theta``, ``\\pi i``),
squared (``i^2``), or as
``\\mathrm{i}``, ``\\imath``; never where a sum or a product of the step runs over ``i``
(``\\sum_{i}``: an index) or the chain states ``i``'s domain (``i \\in \\mathbb{N}``, ``i > 0``).
"""

from __future__ import annotations

import re

from grader.mathlang import ast
from grader.steps.latex import closing, group_end
from grader.steps.scope import Scope

WHY = (
    "i may be the imaginary unit here (as in e^{i\\pi}): the step is read over real values of i only, "
    "so a point where it fails is no witness and agreement is no proof; state i's domain to decide it"
)

_TEXT = re.compile(r"\\(?:text|mathrm|operatorname|textrm)\s*\{(?!\s*i\s*\})[^{}]*\}")
# subscripts, and superscripts that name an index in brackets (x^{(i)}, not e^{(i\pi)})
_SCRIPT = re.compile(
    r"_\s*(?:\{[^{}]*(?:\{[^{}]*\}[^{}]*)*\}|\\?[A-Za-z0-9])"  # a subscript
    r"|\^\s*\{\s*\(\s*[^{}()\\]*\)\s*\}"  # an index in brackets as a superscript
)
_BARE = r"(?<![A-Za-z\\_])i(?![A-Za-z])"
_NAMED = re.compile(r"\\mathrm\s*\{\s*i\s*\}|\\imath(?![A-Za-z])")
_BESIDE = re.compile(
    rf"{_BARE}\s*\\(?:pi|theta|omega|sin|cos)(?![A-Za-z])|\\(?:pi|theta|omega)(?![A-Za-z])\s*i(?![A-Za-z])|"
    rf"{_BARE}\s*\^\s*\{{?\s*2(?![0-9])"
)
_OVER_I = re.compile(r"\\(?:sum|prod)\s*_\s*\{?\s*i(?![A-Za-z])")
_EXPONENT = re.compile(r"(?<![A-Za-z\\])e\s*\^|\\exp(?![A-Za-z])")


def may_be_imaginary(text: str, scope: Scope) -> bool:
    """Does ``text`` (a step's two sides) write ``i`` where it may be the imaginary unit, with
    nothing in the chain saying what ``i`` is."""
    if "i" not in text or _OVER_I.search(text) or _stated(scope):
        return False
    if _NAMED.search(text):
        return True
    plain = _SCRIPT.sub(" ", _TEXT.sub(" ", text))
    if _BESIDE.search(plain):
        return True
    return any(re.search(_BARE, exponent) for exponent in _exponents(plain))


def _stated(scope: Scope) -> bool:
    if "i" in scope.domains or "i" in scope.reals:
        return True
    return any("i" in ast.free_names(c) for c in scope.conditions)


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


__all__ = ["WHY", "may_be_imaginary"]
