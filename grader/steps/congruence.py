"""The same function at arguments shown equal: ``f(a) = f(b)`` where ``a = b`` is shown.

``\\phi(\\mathbf{w}^\\top \\mathbf{x} + b) = \\phi(\\epsilon)`` with ``\\phi`` defined nowhere: a
function gives equal values at equal arguments, whatever it is, so the step is shown when each
pair of arguments that differ is shown equal as a step of its own (under the same stated
conditions: equal at every point where they hold). Read as a product (``\\phi`` times the
bracket), the two sides are equal too. Never refuted that way: an unknown function may agree
at different arguments.

Kept narrow: the two sides are each one application ``name(args)`` (or ``name\\left(...\\right)``)
of the same written name, a plain name with at most a subscript or a prime (``f``, ``\\phi``,
``f_\\theta``, ``\\sigma'``), never an operator that binds or differentiates a name (sums,
limits, integrals, derivatives, expectations, ``\\max_i``), whose value at a point is not a
function of the argument's value there.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from grader.steps.latex import closing, split_top_level
from grader.steps.models import Step, StepMark

MAX_ARGUMENTS = 4
_HEAD = re.compile(
    r"\s*(?P<name>\\?[A-Za-z]+(?:\s*_\s*(?:\{[^{}]*\}|[A-Za-z0-9]|\\[A-Za-z]+))?'*)\s*(?P<open>\\left\s*\(|\()"
)
_OPERATORS = {
    "d", "E", "P", "Pr", "Var", "Cov", "lim", "sum", "prod", "int", "partial", "nabla", "max", "min",
    "sup", "inf", "arg", "argmax", "argmin", "frac", "mathbb", "mathcal", "operatorname", "text",
    "left", "right", "sqrt", "Theta", "O", "Omega", "o", "exp", "log", "ln", "sin", "cos", "tan",
    "tanh", "det", "tr",
}  # fmt: skip


def _application(text: str) -> tuple[str, list[str]] | None:
    """``(name, args)`` when ``text`` is one application ``name(args)`` and nothing else."""
    m = _HEAD.match(text)
    if m is None:
        return None
    name = re.sub(r"\s+", "", m.group("name"))
    if name.lstrip("\\").split("_")[0].rstrip("'") in _OPERATORS:
        return None
    start = m.end() - 1
    end = closing(text, start)  # just past the closing bracket
    if end is None or text[end:].strip():
        return None
    inner = text[start + 1 : end - 1]
    inner = re.sub(r"\\right\s*$", "", inner.rstrip())
    return name, [part.strip() for part in split_top_level(inner, ",")]


def shown(step: Step, mark: Callable[[Step], StepMark]) -> StepMark | None:
    """The step shown when both sides apply the same function and each pair of arguments
    that differ is shown equal by ``mark``; None otherwise."""
    if step.relation != "=":
        return None
    left, right = _application(step.left), _application(step.right)
    if left is None or right is None or left[0] != right[0] or len(left[1]) != len(right[1]):
        return None
    pairs = [
        (a, b) for a, b in zip(left[1], right[1], strict=True) if a.replace(" ", "") != b.replace(" ", "")
    ]
    if not pairs or len(pairs) > MAX_ARGUMENTS or any(not a or not b for a, b in pairs):
        return None
    said = []
    for a, b in pairs:
        result = mark(step.model_copy(update={"left": a, "right": b}))
        if result.status != "shown":
            return None
        said.append(f"{a} = {b}: {result.certificate}")
    return StepMark(
        **{"from": step.left, "to": step.right, "relation": step.relation, "line": step.line},
        status="shown",
        certificate=f"the same function {left[0]} at arguments shown equal ({'; '.join(said)})",
    )
