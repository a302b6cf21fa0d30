"""Expectations taken apart by linearity before they are read as unknowns.

``\\mathbb{E}[(1-\\beta) g_t + \\beta v_{t-1}]`` is written ``(1-\\beta)\\mathbb{E}[g_t] +
\\beta\\mathbb{E}[v_{t-1}]``: each term of the argument with its constant factors (numbers,
fractions of numbers, the hyper-parameters ``\\alpha \\beta \\gamma \\eta \\lambda \\rho \\tau`` and
brackets of those) taken out, the expectation of a constant the constant. The expectations
left are then read as unknowns by :mod:`grader.steps.opaque` (the same text, the same unknown),
so a step that holds by linearity is shown; nothing is ever refuted this way.

Other letters may be random (``\\epsilon``, ``x``, ``w``...): they stay inside.
"""

from __future__ import annotations

import re

from grader.steps.latex import closing, term_end

EXPECTATION = re.compile(
    r"(?P<op>\\mathbb\s*\{\s*E\s*\}|\\mathrm\s*\{\s*E\s*\}|\\operatorname\s*\{\s*E\s*\}|(?<![A-Za-z\\])E)"
    r"(?P<sub>\s*_(?:\{[^{}]*\}|\w))?\s*(?P<left>\\left\s*)?\["
)
_HYPER = r"\\(?:alpha|beta|gamma|eta|lambda|rho|tau)(?![A-Za-z])"
_NUMBER = r"\d+(?:\.\d+)?|\\frac\s*\{\s*\d+\s*\}\s*\{\s*\d+\s*\}"
_POWER = r"(?:\s*\^\s*(?:\{[^{}]*\}|\w))?"
_CONSTANT_TEXT = re.compile(rf"(?:\s|[-+*/]|\\cdot|{_NUMBER}|{_HYPER}|\^\s*(?:\{{[^{{}}]*\}}|\w))*")
_FACTOR = re.compile(rf"\s*(?:(?:{_NUMBER}|{_HYPER}){_POWER})\s*(?:\\cdot|\*)?\s*")
MAX_EXPECTATIONS = 12


def linear_expectations(text: str) -> str:
    """The text with every expectation of a sum or of a constant multiple taken apart."""
    at = 0
    for _ in range(MAX_EXPECTATIONS):
        m = EXPECTATION.search(text, at)
        if m is None:
            return text
        end = closing(text, m.end() - 1)
        if end is None:
            return text
        inner = text[m.end() : end - 1]
        if m.group("left"):
            inner = re.sub(r"\\right\s*$", "", inner.rstrip())
        head = m.group("op") + (m.group("sub") or "")
        written = _apart(head, inner)
        if written is None:
            at = m.end()
            continue
        text = text[: m.start()] + "(" + written + ")" + text[end:]
        at = m.start() + len(written) + 2
    return text


def _apart(head: str, inner: str) -> str | None:
    """``E[a X + b]`` -> ``a E[X] + b``, or None when nothing comes apart."""
    terms = _terms(inner)
    if terms is None:
        return None
    out = []
    for sign, term in terms:
        constant, rest = _constant_factors(term)
        if not rest.strip():
            out.append(f"{sign} {constant}" if constant.strip() else f"{sign} 0")
        elif constant.strip():
            out.append(f"{sign} {constant} {head}[{rest}]")
        else:
            out.append(f"{sign} {head}[{rest}]")
    if len(terms) == 1 and not _constant_factors(terms[0][1])[0].strip():
        return None  # nothing to take out
    return " ".join(out)


def _terms(inner: str) -> list[tuple[str, str]] | None:
    """The top-level terms with their signs."""
    terms: list[tuple[str, str]] = []
    at, sign = 0, "+"
    text = inner.strip()
    while at < len(text):
        while at < len(text) and text[at] in " +-":
            if text[at] == "-":
                sign = "-" if sign == "+" else "+"
            at += 1
        if at >= len(text):
            return None
        end = term_end(text, at)
        if end == at:
            return None
        terms.append((sign, text[at:end].strip()))
        at, sign = end, "+"
        if at < len(text) and text[at] not in "+-":
            return None  # a relation or a bracket out of place
    return terms or None


def _constant_factors(term: str) -> tuple[str, str]:
    """The leading constant factors of a term (numbers, hyper-parameters, brackets of those)
    and the rest."""
    taken = []
    at = 0
    while at < len(term):
        m = _FACTOR.match(term, at)
        if m is not None and m.end() > at:
            taken.append(m.group(0))
            at = m.end()
            continue
        bracket = re.match(r"\s*(\\left\s*)?\(", term[at:])
        if bracket is not None:
            end = closing(term, at + bracket.end() - 1)
            if end is not None:
                inside = term[at + bracket.end() : end - 1].removesuffix("\\right").strip()
                if inside and _CONSTANT_TEXT.fullmatch(inside):
                    power = re.match(_POWER + r"\s*(?:\\cdot|\*)?\s*", term[end:])
                    stop = end + (power.end() if power else 0)
                    taken.append(term[at:stop])
                    at = stop
                    continue
        break
    return " ".join(t.strip() for t in taken), term[at:]
