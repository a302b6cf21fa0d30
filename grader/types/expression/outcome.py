"""What comparing two formulas found, and what is being compared."""

from __future__ import annotations

from dataclasses import dataclass, field

from grader.mathlang import ast
from grader.mathlang.errors import LimitError


@dataclass
class Outcome:
    equal: bool
    feedback: str = ""
    points: int = 0
    method: str = ""
    rechecked: int = 0
    exact: bool = False  # shown equal exactly or proved, not only probed


@dataclass
class Sides:
    """What is compared: the reference side and the student's, with their texts."""

    ref: ast.Node
    ans: ast.Node
    text: str
    overrides: dict[str, ast.Node] = field(default_factory=dict)
    label: str = ""  # "lambda" when comparing the right-hand sides of lambda = ...
    ref_is_student: bool = False  # both sides come from the student (an equation's two sides)
    # values of the answer too large to compute at some probes (kept to explain a failure)
    size_errors: list[LimitError] = field(default_factory=list)
