"""What comparing a student's network with its target found, and how it is told."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from grader.core.verdict import Witness
from grader.types.network.feedback import YOUR, assignment_text, fmt, point_text


@dataclass(frozen=True)
class Mismatch:
    """A point where the network and the other side disagree: its value there and the
    other side's value (``expected``) or whether the condition holds (``condition``)."""

    point: tuple[Any, ...]  # in the order of the part's inputs
    network: Any
    draw: Mapping[str, Any] = field(default_factory=dict)  # the symbols' values
    expected: Any = None
    condition: bool | None = None

    def witness(self, inputs: Sequence[str]) -> Witness:
        """The point and the values there, formatted as the feedback shows them."""
        return Witness(
            point={name: fmt(v) for name, v in zip(inputs, self.point, strict=True)},
            received=fmt(self.network),
            expected=None if self.expected is None else fmt(self.expected),
            condition=self.condition,
            symbols={k: fmt(v) for k, v in self.draw.items()},
        )

    def difference_text(self, inputs: Sequence[str], other: str) -> str:
        """``at x = -1 (m = 1, b = 0) your network gives 0, the target -1``."""
        return (
            f"at {point_text(inputs, self.point)}{assignment_text(self.draw)} {YOUR} gives "
            f"{fmt(self.network)}, {other} {fmt(self.expected)}"
        )

    def sign_text(self, inputs: Sequence[str], holds: str) -> str:
        """``at x = -1 your network gives 1 > 0, but x < -1 or x > 1 does not hold``."""
        sign = "> 0" if self.condition is False else "<= 0"
        return (
            f"at {point_text(inputs, self.point)}{assignment_text(self.draw)} {YOUR} gives "
            f"{fmt(self.network)} {sign}, but {holds}"
        )


@dataclass
class Comparison:
    """Whether the network meets the target, how that was decided, and the feedback;
    when it does not, where (``mismatch``)."""

    holds: bool
    feedback: str  # "at x = -1 (m = 1, b = 0) your network gives 0, the target -1"
    method: str
    exact: bool
    mismatch: Mismatch | None = None
    largest_error: float | None = None  # approx: the largest |network - target| found
    bounded: bool = False  # approx: the error is enclosed by interval arithmetic (a proof)


def differs(
    inputs: Sequence[str], other: str, mismatch: Mismatch, method: str, *, exact: bool = True
) -> Comparison:
    """The network differs from ``other`` (the target, that network) at the mismatch."""
    return Comparison(False, mismatch.difference_text(inputs, other), method, exact, mismatch)
