"""What a checker says about one answer: a status, a score fraction and feedback.

Checkers return a :class:`Verdict` whose ``score`` is a fraction of the part's
points (0..1). The engine turns it into a :class:`grader.core.report.PartResult`
with points, ids and context.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypedDict, TypeVar

from typing_extensions import Unpack

from grader.core.plotdata import PlotData
from grader.mathlang.errors import ReadError, caret_excerpt

__all__ = [
    "AnswerError",
    "Certificate",
    "CheckUndecided",
    "Decision",
    "Reading",
    "Status",
    "Verdict",
    "Witness",
    "caret_excerpt",
    "read_reference",
]


class Status(StrEnum):
    CORRECT = "correct"
    PARTIAL = "partial"
    INCORRECT = "incorrect"
    MISSING = "missing"
    INVALID = "invalid"
    MANUAL = "manual"
    ERROR = "error"

    def __str__(self) -> str:  # so f-strings and reports print "correct", not "Status.CORRECT"
        return self.value


class Certificate(StrEnum):
    """What kind of evidence a ``correct`` or ``incorrect`` rests on, strongest first.

    Every kind but ``probes`` is a certificate: the claim holds on the whole domain
    (or, for an ``incorrect``, at a witness whose values are known exactly or with a
    proven error bound). ``probes`` means the two sides agreed at the points compared
    (``Decision.probes`` of them, of the classes in ``Decision.probe_classes``)."""

    EXACT = "exact"  # rational or exact algebraic arithmetic
    PROVED = "proved"  # a symbolic proof: the difference simplifies to 0
    PIECEWISE_LINEAR = "piecewise-linear decision"  # every linear region compared exactly
    INTERVAL_BOUND = "interval bound"  # validated numerics (ball arithmetic) over the whole domain
    PROBES = "probes"  # compared at sample points only

    def __str__(self) -> str:
        return self.value

    @property
    def certified(self) -> bool:
        return self is not Certificate.PROBES


@dataclass(frozen=True)
class Decision:
    """How a verdict was reached: its certificate kind, and the method in words."""

    method: str  # "exact: every breakpoint and the slopes beyond them", "agreed at 256 probes ..."
    exact: bool = True
    probes: int | None = None  # points compared, when the answer was probed
    largest_error: float | None = None  # approx networks: the largest |network - target| found
    certificate: Certificate | None = None  # None: not stated by the checker (derived from ``exact``)
    probe_classes: tuple[str, ...] = ()  # with probes: the kinds of points ("scales", "kinks", ...)
    seed: int | None = None  # the seed the probes were drawn from: the TA's to see, never a student's

    @property
    def kind(self) -> Certificate:
        """The certificate kind; a checker that states none gets ``exact`` or ``probes``."""
        if self.certificate is not None:
            return self.certificate
        return Certificate.EXACT if self.exact else Certificate.PROBES

    @property
    def certified(self) -> bool:
        return self.kind.certified

    def describe(self) -> str:
        """The certificate in a few words: ``probes: 256 points (scales, constants, kinks)``."""
        if self.kind is not Certificate.PROBES:
            return self.kind.value
        count = f"{self.probes} points" if self.probes else "sample points"
        classes = f" ({', '.join(self.probe_classes)})" if self.probe_classes else ""
        return f"probes: {count}{classes}"

    def to_dict(self, private: bool = False) -> dict[str, Any]:
        """The certificate as the JSON report carries it (docs/formats.md, section 7); the seed
        of the probes only in the TA's report (``private``)."""
        data: dict[str, Any] = {"kind": self.kind.value, "method": self.method}
        if self.probes:
            data["points"] = self.probes
        if self.probe_classes:
            data["classes"] = list(self.probe_classes)
        if private and self.seed is not None:
            data["seed"] = self.seed
        return data


@dataclass(frozen=True)
class Witness:
    """A point where the answer and the reference differ, with both values there."""

    point: Mapping[str, str]  # input name -> value, as shown to the student
    received: str | None = None  # the answer's value at the point
    expected: str | None = None  # the reference's value at the point
    condition: bool | None = None  # classify parts: does the condition hold at the point
    symbols: Mapping[str, str] = field(default_factory=dict)  # draws of declared constants


@dataclass(frozen=True)
class Reading:
    """How grader read the answer and the reference, in plain notation (``Θ(n m d)``)."""

    received: str
    expected: str


class Extras(TypedDict, total=False):
    decision: Decision
    witness: Witness
    reading: Reading
    plot: PlotData  # a picture's data, made by the checker that can compute it
    mistake: bool
    traceback: str
    time_limit: float
    machine: bool


@dataclass(frozen=True)
class Verdict:
    status: Status
    score: float = 0.0
    feedback: str = ""
    decision: Decision | None = None
    witness: Witness | None = None
    reading: Reading | None = None
    plot: PlotData | None = None  # a picture's data (a wrong network), drawn by reporters
    mistake: bool = False  # the answer is one of the part's listed mistakes
    traceback: str | None = None  # an internal error's traceback, for the TA
    # An error of this machine's (no sandbox, a library not installed), not of the answer or
    # the key: its words are grader's own, shown to a student as they are.
    machine: bool = False
    time_limit: float | None = None  # the CPU-time limit (s) the check ran out of, if it did
    # What the answer itself did, as plain data (code: its own outputs on the part's trials,
    # never the reference's), for grouping answers without running them again; never shown
    # to a student.
    outputs: Mapping[str, Any] | None = None
    # The marks of the steps of a hand-graded answer's derivations (grader.steps), as plain
    # data: computed when the part is graded, shown from here (never derived from the key).
    steps: tuple[Mapping[str, Any], ...] = ()

    @classmethod
    def correct(cls, feedback: str = "", **extras: Unpack[Extras]) -> Verdict:
        return cls(Status.CORRECT, 1.0, feedback, **extras)

    @classmethod
    def incorrect(cls, feedback: str, **extras: Unpack[Extras]) -> Verdict:
        return cls(Status.INCORRECT, 0.0, feedback, **extras)

    @classmethod
    def partial(cls, score: float, feedback: str, **extras: Unpack[Extras]) -> Verdict:
        if score >= 1.0:
            return cls(Status.CORRECT, 1.0, feedback, **extras)
        if score <= 0.0:
            return cls(Status.INCORRECT, 0.0, feedback, **extras)
        return cls(Status.PARTIAL, score, feedback, **extras)

    @classmethod
    def invalid(cls, feedback: str, **extras: Unpack[Extras]) -> Verdict:
        return cls(Status.INVALID, 0.0, feedback, **extras)

    @classmethod
    def error(cls, feedback: str, **extras: Unpack[Extras]) -> Verdict:
        return cls(Status.ERROR, 0.0, feedback, **extras)

    @classmethod
    def manual(cls, feedback: str = "graded by hand") -> Verdict:
        return cls(Status.MANUAL, 0.0, feedback)

    @classmethod
    def missing(cls, feedback: str = "no answer given") -> Verdict:
        return cls(Status.MISSING, 0.0, feedback)


# Every unreadable answer is one class, whether a formula or a list failed to read.
# It is defined by the math language, which may import nothing else of grader.
AnswerError = ReadError


class CheckUndecided(Exception):
    """The checker cannot decide with confidence: reported as status ``error`` with why."""


class MachineLacks(CheckUndecided):
    """The check needs what this machine lacks (a sandbox, an optional library): an error whose
    words name the machine's state, never the key (a student may see them and fix their CI)."""


_Read = TypeVar("_Read")


def read_reference(read: Callable[[Any], _Read], reference: Any, failure: str) -> _Read:
    """Read a part's reference answer as a student's would be read. A reference that
    cannot be read is the part's fault, not the student's: :class:`CheckUndecided`
    with ``failure`` and the reason."""
    try:
        return read(reference)
    except AnswerError as exc:
        raise CheckUndecided(f"{failure}: {exc.message}") from None
