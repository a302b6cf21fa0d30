"""A recurrence the chain states, put in at earlier indices, so that an unrolling step can
be checked.

``v_t = \\beta v_{t-1} + (1 - \\beta) g_t = \\beta^2 v_{t-2} + \\beta(1 - \\beta) g_{t-1} + ...``:
the chain's first equation defines ``v_t`` by ``v_{t-1}`` (a recurrence, read as the rule for
every ``t``), and each later step unrolls it. A step that holds ``v`` at several shifts of the
index (``v_{t-1}`` and ``v_{t-2}``) is read with every ``v_{t-k}`` but the deepest replaced by
the rule at ``t - k`` (the index shifted in every subscript and wherever ``t`` stands as a
value), until only the deepest is left; the step is then decided as any other. Pure text
work: the result is read by grader's own parser.

Only a name with the index alone on the left (``v_t``, ``v_{t}``, ``\\mathbf{m}_{t}``), a rule that
holds the name at ``t - 1``, ``t - 2``, ... only, and steps whose every subscript with the index
letter is ``t`` or ``t - k`` are read: ``v_0``, ``v_{t+1}``, ``v_{2t}`` leave the step to the other readings.
"""

from __future__ import annotations

import re

from grader.mathlang import ast
from grader.steps.read import Context, read_side

MAX_SHIFT = 8  # the deepest shift read (v_{t-8})
MAX_PUT_IN = 16  # the rule put in at most this many times in one side

_BOLD = r"\\(?:mathbf|boldsymbol|bm)\s*\{\s*\\?[A-Za-z]+\s*\}"
_LEFT = re.compile(
    rf"^\s*(?P<name>{_BOLD}|\\[A-Za-z]+|[A-Za-z])\s*_\s*(?:\{{\s*(?P<a>[a-z])\s*\}}|(?P<b>[a-z]))\s*$"
)
# a subscript: braced, or one letter or digit
_SUBSCRIPT = re.compile(r"_\s*(?:\{([^{}]*)\}|([A-Za-z0-9]))")
_SHIFTED = re.compile(r"^\s*([a-z])\s*(?:([+-])\s*(\d+))?\s*$")


def _name_pattern(name: str) -> str:
    """The name as written, any spacing inside a bold command's braces."""
    m = re.fullmatch(r"\\(mathbf|boldsymbol|bm)\s*\{\s*(\\?[A-Za-z]+)\s*\}", name)
    if m is not None:
        return rf"\\{m.group(1)}\s*\{{\s*{re.escape(m.group(2))}\s*\}}"
    return (
        rf"(?<![A-Za-z\\]){re.escape(name)}(?![A-Za-z])"
        if len(name) == 1
        else re.escape(name) + r"(?![A-Za-z])"
    )


def canonical(text: str, letter: str) -> str | None:
    """Every subscript with the index letter written ``_{t}`` or ``_{t-k}`` (``v_t``, ``g_{t - 1}``);
    None where one is another form (``t+1``, ``2t``, ``t-k`` with a letter k, ``ti``)."""
    bad = False

    def fix(m: re.Match[str]) -> str:
        nonlocal bad
        inner = m.group(1) if m.group(1) is not None else m.group(2)
        if not re.search(rf"(?<![A-Za-z\\]){letter}(?![A-Za-z])", inner):
            if re.fullmatch(rf"\s*{letter}\w+\s*|\s*\w+{letter}\s*", inner):
                bad = True  # x_{ti}: t one of several indices
            return m.group(0)
        s = _SHIFTED.match(inner)
        if s is None or s.group(1) != letter or s.group(2) == "+":
            bad = True
            return m.group(0)
        shift = int(s.group(3) or 0)
        return f"_{{{letter}}}" if shift == 0 else f"_{{{letter}-{shift}}}"

    out = _SUBSCRIPT.sub(fix, text)
    return None if bad else out


def recurrence_of(left: str, right: str) -> tuple[str, str, str] | None:
    """(name, index letter, rule) when ``left = right`` defines the name at the index by
    itself at earlier indices only (``v_t = \\beta v_{t-1} + (1-\\beta) g_t``); else None."""
    m = _LEFT.match(left)
    if m is None:
        return None
    name, letter = m.group("name"), m.group("a") or m.group("b")
    rule = canonical(right, letter)
    if rule is None:
        return None
    shifts = _shifts(rule, name, letter)
    if shifts is None or not shifts or 0 in shifts:
        return None
    return name, letter, rule


def _shifts(text: str, name: str, letter: str) -> set[int] | None:
    """The k of every ``name_{t-k}`` in a canonical text; None where the name stands with
    another subscript or none (``v_0``, ``v``)."""
    pattern = _name_pattern(name)
    found: set[int] = set()
    for m in re.finditer(pattern, text):
        rest = text[m.end() :]
        s = re.match(rf"\s*_\{{{letter}(?:-(\d+))?\}}", rest)
        if s is None:
            return None
        found.add(int(s.group(1) or 0))
    return found


def shifted(rule: str, letter: str, k: int) -> str:
    """The rule at ``t - k``: every subscript ``t - j`` as ``t - (j + k)``, the letter standing
    as a value elsewhere as ``(t - k)``."""

    def sub(m: re.Match[str]) -> str:
        s = _SHIFTED.match(m.group(1) if m.group(1) is not None else m.group(2))
        if s is None or s.group(1) != letter:
            return m.group(0)
        return f"_{{{letter}-{int(s.group(3) or 0) + k}}}"

    parts = re.split(r"(_\s*(?:\{[^{}]*\}|[A-Za-z0-9]))", rule)
    out = []
    for part in parts:
        if part.startswith("_"):
            out.append(_SUBSCRIPT.sub(sub, part))
        else:
            out.append(re.sub(rf"(?<![A-Za-z\\]){letter}(?![A-Za-z])", f"({letter}-{k})", part))
    return "".join(out)


def unrolled(
    left: str, right: str, recurrence: tuple[str, str, str]
) -> tuple[str, str, list[int], str] | None:
    """The step's sides with the rule put in for every ``name_{t-k}`` but the deepest, the
    shifts it was put in at (none when the step holds the name at one shift only), and the
    deepest (``v_{t-2}``); None when the step holds the name nowhere, in another form, or
    deeper than MAX_SHIFT."""
    name, letter, rule = recurrence
    sides = [canonical(left, letter), canonical(right, letter)]
    if sides[0] is None or sides[1] is None:
        return None
    found = [_shifts(s, name, letter) for s in sides if s is not None]
    if any(f is None for f in found):
        return None
    shifts = set().union(*(f for f in found if f is not None))
    if not shifts or max(shifts) > MAX_SHIFT:
        return None
    deepest = max(shifts)
    used: set[int] = set()
    out = []
    pattern = re.compile(rf"({_name_pattern(name)})\s*_\{{{letter}(?:-(\d+))?\}}")
    for side in sides:
        assert side is not None
        for _ in range(MAX_PUT_IN):
            m = next((m for m in pattern.finditer(side) if int(m.group(2) or 0) < deepest), None)
            if m is None:
                break
            k = int(m.group(2) or 0)
            used.add(k)
            side = f"{side[: m.start()]}\\left({shifted(rule, letter, k)}\\right){side[m.end() :]}"
        else:
            return None
        rest = _shifts(side, name, letter)
        if rest is None or rest - {deepest}:
            return None
        out.append(side)
    return (
        out[0],
        out[1],
        sorted(used),
        f"{name}_{{{letter}-{deepest}}}" if deepest else f"{name}_{{{letter}}}",
    )


def free_of(left: str, right: str, name: str, context: Context) -> bool:
    """Whether the difference of the two sides does not depend on ``name`` (its derivative by
    it is 0, sympy on grader's own trees): a point where they differ then fails at every value
    of it, one the recurrence reaches among them."""
    import sympy  # only where an unrolled step is wrong: a write-up without one never loads it

    from grader.mathlang.to_sympy import to_sympy

    sides = [read_side(t, context) for t in (left, right, name)]
    if any(s.node is None for s in sides) or not isinstance(sides[2].node, ast.Sym):
        return False
    assert sides[0].node is not None and sides[1].node is not None
    try:
        difference = to_sympy(sides[0].node) - to_sympy(sides[1].node)
        symbol = next((s for s in difference.free_symbols if str(s) == sides[2].node.name), None)
        return symbol is None or sympy.simplify(sympy.diff(difference, symbol)) == 0
    except Exception:  # not read by sympy: no claim
        return False
