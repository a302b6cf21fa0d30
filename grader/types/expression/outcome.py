"""What comparing two formulas found, and what is being compared."""

from __future__ import annotations

from dataclasses import dataclass, field

from grader.core.verdict import Certificate
from grader.mathlang import ast
from grader.mathlang.errors import LimitError


@dataclass
class Outcome:
    equal: bool
    feedback: str = ""
    points: int = 0
    method: str = ""
    rechecked: int = 0
    # How it was decided; None: at probe points (numeric evidence only).
    certificate: Certificate | None = None
    probe_classes: tuple[str, ...] = ()
    note: str = ""  # what of the answer was not graded (words after the formula)

    @property
    def kind(self) -> Certificate:
        if self.certificate is not None:
            return self.certificate
        return Certificate.PROBES

    @property
    def exact(self) -> bool:
        """Shown equal (or different) exactly, proved or bounded, not only probed."""
        return self.kind.certified


def weakest(certificates: list[Certificate]) -> Certificate:
    """The weakest of several certificates (items of a list each decided on their own)."""
    order = list(Certificate)
    return max(certificates, key=order.index, default=Certificate.EXACT)


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
