"""Functions the write-up defines, put in where a step applies them.

A definition the student states (``\\sigma(x) = \\frac{1}{1+e^{-kx}}``, ``g(x) := \\max\\{0, x\\}``,
"where $\\sigma$ is the logistic function"; :func:`grader.steps.find._function_definitions`)
is a definition: the steps after it, within its reach (the same item of the same question,
at most 40 lines on), are checked under it. Each application ``name(ARG)`` is replaced, in
the step's LaTeX, by the definition's formula with its variable replaced by ``(ARG)``;
its other letters (``k``) are the step's own symbols. Pure text work: the result is read by
grader's own parser like any step.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from grader.mathlang import ast
from grader.steps.latex import closing
from grader.steps.read import read_side
from grader.steps.scope import Scope

Definition = tuple[str, str, str, int]  # (name, variable, formula, line) as Chain.functions holds them

MAX_NESTING = 4  # definitions put in inside definitions' arguments at most this deep
MAX_APPLICATIONS = 64  # applications put in, a step at most (f(f(f(...))) with f(x) = x + x + x grows fast)
MAX_LENGTH = 4000  # characters a side may grow to with definitions put in


def _call(name: str) -> re.Pattern[str]:
    """``\\sigma(``, ``\\sigma\\left(``, ``g (``: the name applied (not ``\\sigma_1(``, not ``\\sigma'(``)."""
    spelled = rf"\\{name}" if len(name) > 1 else rf"(?<![A-Za-z\\]){name}"
    return re.compile(rf"{spelled}(?![A-Za-z])\s*(?:\\left\s*)?(?=\()")


def applies(text: str, definitions: Sequence[Definition]) -> list[Definition]:
    """The definitions whose name the text applies (``name(...)``) or primes (``name'(...)``)."""
    out = []
    for d in definitions:
        spelled = rf"\\{d[0]}" if len(d[0]) > 1 else rf"(?<![A-Za-z\\]){d[0]}"
        if re.search(rf"{spelled}(?![A-Za-z])\s*(?:'+|\\prime)?\s*(?:\\left\s*)?\(", text):
            out.append(d)
    return out


def needed(text: str, definitions: Sequence[Definition]) -> list[Definition]:
    """The definitions the text applies, and those their formulas apply (``L(z) = -\\log\\sigma(z)``
    with ``\\sigma`` defined too), in the order the write-up states them."""
    found = applies(text, definitions)
    while True:
        more = [d for d in applies(" ".join(d[2] for d in found), definitions) if d not in found]
        if not more:
            return [d for d in definitions if d in found]
        found += more


def substituted(formula: str, variable: str, argument: str) -> str:
    """The formula with each use of its variable replaced by ``(argument)`` (LaTeX commands
    kept; a lone name or number goes in without brackets: ``e^{(z)}`` would read as an index)."""
    if re.fullmatch(r"\\?[A-Za-z]+|\d+", argument):
        return _substituted_plain(formula, variable, argument)
    if len(variable) > 1:
        return re.sub(rf"\\{variable}(?![A-Za-z])", lambda _: f"({argument})", formula)
    return re.sub(rf"(\\[A-Za-z]+)|{variable}", lambda m: m.group(1) or f"({argument})", formula)


def put_in(text: str, definitions: Sequence[Definition]) -> str | None:
    """The text with every application of a defined function replaced by its formula
    (``\\sigma(2z)`` -> ``\\left(\\frac{1}{1+e^{-k(2z)}}\\right)``); None where an application's
    bracket does not close, or past MAX_APPLICATIONS applications or MAX_LENGTH characters."""
    count = 0
    for _ in range(MAX_NESTING):
        changed = False
        for name, variable, formula, _line in definitions:
            pattern = _call(name)
            while (m := pattern.search(text)) is not None:
                open_at = m.end()
                end = closing(text, open_at)
                if end is None:
                    return None
                argument = text[open_at + 1 : end - 1].strip()
                argument = re.sub(r"\\right\s*$", "", argument).strip()
                if not argument or "," in argument:
                    return None  # no argument, or several: not this function of one variable
                replaced = substituted(formula, variable, argument)
                text = f"{text[: m.start()]}\\left({replaced}\\right){text[end:]}"
                changed = True
                count += 1
                if count > MAX_APPLICATIONS or len(text) > MAX_LENGTH:
                    return None  # a hostile nesting: not put in, the step stays undecided
        if not changed:
            return text
    return None


def _substituted_plain(formula: str, variable: str, argument: str) -> str:
    spaced = f"{{{argument}}}"  # braces keep \\lambda x from reading as \\lambdax
    if len(variable) > 1:
        return re.sub(rf"\\{variable}(?![A-Za-z])", lambda _: spaced, formula)
    return re.sub(rf"(\\[A-Za-z]+)|{variable}", lambda m: m.group(1) or spaced, formula)


_DERIVATIVE = re.compile(
    r"\\frac\{d\}\{d(?P<v>\\?[A-Za-z]+)\}(?P<f>\\?[A-Za-z]+)\((?P=v)\)|(?P<g>\\?[A-Za-z]+)'\((?P<w>\\?[A-Za-z]+)\)"
)


def _plain(text: str) -> str:
    text = re.sub(r"\\(?:left|right)(?![A-Za-z])|\\[,;:!]|\s+", "", text)
    return re.sub(r"\\(?:rightarrow|longrightarrow|to)(?![A-Za-z])", "->", text)


def derivative_definition(left: str, right: str) -> bool:
    """Is the step the definition of the derivative, ``\\frac{d}{dx} f(x) = \\lim_{h \\to 0}
    \\frac{f(x+h) - f(x)}{h}`` (either way round, ``f'(x)`` alike), for one name ``f``, one
    variable and one increment: true of every function, where the derivative exists."""
    for one, other in ((left, right), (right, left)):
        m = _DERIVATIVE.fullmatch(_plain(one))
        if m is None:
            continue
        f, v = (m.group("f"), m.group("v")) if m.group("f") else (m.group("g"), m.group("w"))
        fe, ve = re.escape(f), re.escape(v)
        quotient = re.compile(
            rf"\\lim_\{{(?P<h>\\?[A-Za-z]+)->0\}}\\frac\{{{fe}\({ve}\+(?P=h)\)-{fe}\({ve}\)\}}\{{(?P=h)\}}"
        )
        found = quotient.fullmatch(_plain(other))
        if found is not None and found.group("h") != v:
            return True
    return False


def unranged_parameters(
    found: Sequence[tuple[str, str, str, int]], point: Mapping[str, str], scope: Scope, own: str
) -> list[tuple[str, int]]:
    """The letters a witness fixes that are parameters of a definition (``k`` in
    ``\\sigma(x) = \\frac{1}{1+e^{-kx}}``) with no range stated for the step (declared, or a
    condition around it): "the slope $k$ is positive" may say it in words. A letter the step
    writes itself (``\\lim_{k \\to \\infty} \\sigma(x)``) is the step's own symbol, as in any step."""
    written = set(re.findall(r"(?<![A-Za-z\\])[A-Za-z](?![A-Za-z])", re.sub(r"\\[A-Za-z]+", " ", own)))
    written |= set(re.findall(r"\\([A-Za-z]+)", own))
    stated = set(scope.domains)
    names = {d[0] for d in scope.written} | {d[0] for d in found}
    for condition in scope.conditions:
        letters = ast.free_names(condition)
        if not letters & names:  # "let $\\sigma(x) = ...$" read as a condition is the definition, no range
            stated |= letters
    out = []
    for _name, variable, formula, line in found:
        body = read_side(formula, scope.context)
        letters = ast.free_names(body.node) - {variable} if body.node is not None else set()
        out += [(n, line) for n in sorted(letters) if n in point and n not in stated and n not in written]
    return out
