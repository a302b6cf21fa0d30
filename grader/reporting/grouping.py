"""What an answer means, as a key: answers equal as formulas share one key.

``meaning_key(answer, part)`` evaluates the answer's tree at seeded sample
points and keys it by its values there (rounded to 8 significant digits), so
``\\sigma(x)(1-\\sigma(x))`` and ``sigmoid(x)*(1 - sigmoid(x))`` are one wrong
answer on the dashboard. Expression parts use the expression checker's own
points (arrays and matrix sizes included); other formulas draw each symbol from
its declared domain, or from the reals. What cannot be evaluated (unknown
functions, asymptotic classes, prose) is keyed by its normalised text.

A key is for grouping only, never for grading: two formulas that agree at every
sample point are shown as one group, as the checker would judge them alike.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING

from grader.core.parts import PartBase
from grader.core.verdict import CheckUndecided
from grader.mathlang import ast
from grader.mathlang.domains import SymbolDomain
from grader.mathlang.errors import MathError
from grader.mathlang.render import to_text
from grader.reporting.answers import ReadAnswer, graded_side
from grader.types.expression.part import ExpressionPart

if TYPE_CHECKING:
    import numpy as np

# Evaluating at sample points (numpy, the expression checker's preparation) is imported by
# the functions below when an answer is first keyed: reading reports does not need it.

SAMPLE_POINTS = 24
SIGNIFICANT_DIGITS = 8
_SPACES = re.compile(r"\s+")


def meaning_key(answer: ReadAnswer, part: PartBase | None = None) -> str:
    """Equal for answers that mean the same; a readable prefix says how it was decided."""
    if answer.fields:
        inner = ";".join(f"{name}={meaning_key(field, part)}" for name, field in sorted(answer.fields))
        return "{" + inner + "}"
    if answer.interval is not None:
        ends = answer.interval
        low, high = (ReadAnswer(to_text(end), end) for end in (ends.low, ends.high))
        return f"interval{ends.ends()}:{meaning_key(low, part)};{meaning_key(high, part)}"
    if answer.tree is None:
        return "text:" + normalised_text(answer.text)
    values = _values(answer.tree, answer.text, part)
    if values is None:
        return "form:" + to_text(answer.tree)
    return "values:" + values


def normalised_text(text: str) -> str:
    """Case, spaces and a final full stop do not change what a text answer says."""
    return _SPACES.sub(" ", text.strip().rstrip(".").casefold())


def _values(tree: ast.Node, text: str, part: PartBase | None) -> str | None:
    import numpy as np

    from grader.types.expression.prepare import StudentShapeError

    try:
        with np.errstate(all="ignore"):
            if isinstance(part, ExpressionPart):
                return _fingerprint(_checker_values(tree, text, part))
            return _fingerprint(_sampled_values(tree, part))
    except (MathError, StudentShapeError, CheckUndecided, ValueError, TypeError, OverflowError):
        return None


def _checker_values(tree: ast.Node, text: str, part: ExpressionPart) -> np.ndarray:
    """The answer at the expression checker's first batch of points."""
    import numpy as np

    from grader.types.expression.prepare import prepare, student_value

    prepared = prepare(part)
    tree, _ = graded_side(tree, part)  # g(x) = x H(x): keyed by the formula, as it is graded
    if isinstance(tree, ast.Relation) and tree.op == "=" and isinstance(tree.left, ast.Sym):
        tree = tree.right  # an equation lambda = 2 eta gamma: keyed by its right side
    value = student_value(prepared, tree, text, 0, {})
    return np.asarray(value.a, dtype=float).reshape(value.a.shape[0], -1)


def _sampled_values(tree: ast.Node, part: PartBase | None) -> np.ndarray:
    import numpy as np

    from grader.mathlang.evaluate import evaluate
    from grader.mathlang.sampling import draw_scalars, seed_for

    domains: Mapping[str, SymbolDomain] = getattr(part, "symbols", None) or {}
    if not isinstance(domains, Mapping):
        domains = {}
    points = {
        name: draw_scalars(
            domains.get(name, SymbolDomain()),
            SAMPLE_POINTS,
            np.random.default_rng(seed_for("grouping:" + name)),
        )
        for name in sorted(ast.free_names(tree))
    }
    values = evaluate(tree, points, batch=SAMPLE_POINTS)
    return np.asarray(values, dtype=float).reshape(SAMPLE_POINTS, -1)


def _fingerprint(values: np.ndarray) -> str | None:
    """A short digest of the rounded values; None when they say nothing (undefined everywhere)."""
    import numpy as np

    if values.size == 0 or not np.isfinite(values).any():
        return None
    shape = "x".join(str(n) for n in values.shape[1:])
    shown = ",".join(_rounded(float(v)) for v in values.ravel())
    return shape + ":" + hashlib.sha256(shown.encode()).hexdigest()[:16]


def _rounded(value: float) -> str:
    if value == 0:
        return "0"  # -0.0 and 0.0 alike
    return f"{value:.{SIGNIFICANT_DIGITS - 1}e}"
