"""A stated equation ``L = R`` substituted where its left side is written verbatim.

"Setting $\\mathbf{b}_j^{(1)} = -\\mathbf{w}^\\top \\mathbf{x}^{(j)} + \\epsilon$, ...
$\\phi(\\mathbf{w}^\\top \\mathbf{x}^{(j)} + \\mathbf{b}_j^{(1)}) = \\phi(\\epsilon)$": where the
stated conditions hold, ``L`` and ``R`` are the same value, so a step with each written ``L``
replaced by ``(R)`` has the same truth at every such point; the rewritten step shown is the
written one shown under the condition. Only ever used to show a step, never to refute one.

Kept narrow (student input is hostile, and the same letters may name another thing):

- ``L`` is one name with its decorations (``\\mathbf{b}_j^{(1)}``, ``x_0``), and ``R`` does
  not hold it;
- an occurrence counts only where it is the whole name: not followed by ``_``, ``'``, more
  letters, a bracket (``\\sigma = \\text{ReLU}`` says nothing of ``\\sigma(z)`` read as a
  product) or ``^`` (but for a transpose, ``^\\top``, ``^T``), nor preceded by a letter,
  ``\\``, ``_``, ``^`` or ``{``;
- a step with notation that binds or differentiates a name (sums, products, integrals,
  limits, derivatives, ``\\max_i``, primes) is never rewritten: there ``L`` may not be the
  value the condition states.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from grader.steps.models import Step, StepMark

MAX_EQUATIONS = 4
_GROUP = r"\{(?:[^{}]|\{[^{}]*\})*\}"
_NAME = re.compile(
    rf"\\?[A-Za-z]+(?:\s*{_GROUP})?(?:\s*[_^]\s*(?:{_GROUP}|[A-Za-z0-9]|\\[A-Za-z]+))*",
)
_TRANSPOSE = r"\s*(?:\\top|\\intercal|T|\{\s*(?:\\top|T)\s*\})(?![A-Za-z0-9])"
_EQUATION = re.compile(r"^\s*(?P<left>[^=<>]+?)\s*=\s*(?P<right>[^=<>]+?)\s*$")
_BINDS = re.compile(
    r"\\(?:sum|prod|int|oint|lim|limsup|liminf|partial|nabla|frac\s*\{\s*d|max_|min_|sup|inf|forall|exists"
    r"|mathbb\s*\{\s*E|operatorname|dot|ddot)|\bd\s*/\s*d|\bd[xyzt]\b|'|\\max\s*_|\\min\s*_|\\arg"
)


def _equations(texts: Iterable[str]) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for text in texts:
        m = _EQUATION.match(text)
        if m is None:
            continue
        left, right = m.group("left").strip(), m.group("right").strip()
        if _NAME.fullmatch(left) is None or left in right or _BINDS.search(right):
            continue
        found.append((left, right))
    return found


def _occurrences(name: str) -> re.Pattern[str]:
    tail = r"(?![A-Za-z])" if name[-1].isalpha() else ""
    after = rf"(?!\s*(?:_|'|\(|\\left|\^(?!{_TRANSPOSE})))"
    return re.compile(rf"(?<![A-Za-z\\_^{{]){re.escape(name)}{tail}{after}")


def substituted(text: str, left: str, right: str) -> str | None:
    """``text`` with each whole written ``left`` replaced by ``(right)``; None: none there."""
    pattern = _occurrences(left)
    if pattern.search(text) is None:
        return None
    return pattern.sub(lambda _: f"({right})", text)


def shown(step: Step, stated: Iterable[str], mark: Callable[[Step], StepMark]) -> StepMark | None:
    """The step shown with a stated equation substituted (``mark`` decides the rewritten
    step); None: nothing substituted, or the rewritten step not shown."""
    if step.relation == "approx" or _BINDS.search(f"{step.left} {step.right}"):
        return None
    tried = 0
    for left, right in _equations(stated):
        new_left = substituted(step.left, left, right)
        new_right = substituted(step.right, left, right)
        if new_left is None and new_right is None:
            continue
        tried += 1
        if tried > MAX_EQUATIONS:
            return None
        rewritten = step.model_copy(update={"left": new_left or step.left, "right": new_right or step.right})
        result = mark(rewritten)
        if result.status != "shown":
            continue
        said = f"{result.certificate} (with {left} = {right} as stated substituted)"
        return StepMark(
            **{"from": step.left, "to": step.right, "relation": step.relation, "line": step.line},
            status="shown",
            certificate=said,
        )
    return None
