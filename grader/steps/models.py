"""What a derivation is made of, and what grader says about each of its steps."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

# = and the order relations are steps between formulas; iff / implies between statements;
# approx is found and reported, never checked.
Relation = Literal["=", "<", "<=", ">", ">=", "iff", "implies", "approx"]
Status = Literal["shown", "wrong", "undecided"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Step(_Strict):
    """One step as written: ``left relation right`` (formulas, or statements for iff/implies)."""

    left: str
    right: str
    relation: Relation
    line: int


class Chain(_Strict):
    """A derivation found in a write-up: its first line, its steps, and the conditions stated
    around it (``x > 0`` from "for $x > 0$", ``z \\in \\mathbb{R}``, a ``\\text{if }`` clause)."""

    line: int
    steps: tuple[Step, ...]
    conditions: tuple[str, ...] = ()
    # Words around the chain that look like a condition but could not be read: a witness
    # found while one is there is not trusted (the step stays undecided).
    unread_conditions: tuple[str, ...] = ()
    # Names the write-up defines (``v_t = \\beta v_{t-1} + ...``, ``y := 3x``): a step that
    # uses one may rest on that definition, so a point that ignores it is no witness.
    defined: tuple[str, ...] = ()
    # The words around the chain are about shapes (a shape, dimensions, ``\\in \\mathbb{R}^{...}``,
    # a convolution's output size): there ``2 \\times 3`` is a list of dimensions, not a number.
    about_shapes: bool = False
    # Functions of one variable the write-up defines before the chain (``\\sigma(x) = \\frac{1}{1+e^{-x}}``),
    # the latest definition of each name: (name, variable, formula, line). A step that uses one
    # may be shown with it, never refuted with it (a definition in prose is not a declaration).
    functions: tuple[tuple[str, str, str, int], ...] = ()
    # Shapes the write-up declares before the chain (``W \\in \\mathbb{R}^{m \\times n}``, the
    # latest of each name): (name as written, dimensions as written). Arrays are written out
    # at those shapes; a witness against arrays needs every array's shape declared.
    arrays: tuple[tuple[str, tuple[str, ...]], ...] = ()
    # Words near the chain that state a property of arrays grader does not read (symmetric,
    # orthogonal, a unit vector, ...): a point that ignores it is no witness.
    array_words: tuple[str, ...] = ()
    # A 1-D convolution the words just before the chain name (``"full"``, ``"valid"``,
    # ``"same"``) and whether the kernel is flipped (``"full flipped"``, ``"valid unflipped"``;
    # neither word: ``"full"``): ``[1, 2, 3] * [1, 0, 2]`` is then that convolution.
    convolution: str | None = None
    # The chain's first equation when it defines a name by itself at earlier indices
    # (``v_t = \\beta v_{t-1} + (1 - \\beta) g_t``, a recurrence): (name, index letter, rule, line).
    # Its later steps are read with the rule put in at earlier indices (grader.steps.recurrence).
    recurrence: tuple[str, str, str, int] | None = None
    # Vector functions the write-up defines entry by entry before the chain, within their reach
    # (``S(\\mathbf{x})_i = \\frac{e^{\\mathbf{x}_i}}{\\sum_j e^{\\mathbf{x}_j}}``): (name, vector,
    # index, formula, line) (grader.steps.entries); and whether the write-up names the Kronecker delta.
    entries: tuple[tuple[str, str, str, str, int], ...] = ()
    kronecker: bool = False
    # Letters the write-up says stand for the imaginary unit (``$i$ is the imaginary unit``,
    # ``j = \\sqrt{-1}``): a step that writes one is not read over real values (grader.steps.imaginary).
    imaginary: tuple[str, ...] = ()
    # A network the write-up states as equations between arrays before the chain, in the same
    # question (``\\mathbf{y} = \\mathbf{W}\\mathbf{x}``, ``\\mathbf{u} = \\text{ReLU}(\\mathbf{y})``):
    # (name, formula, line) of the latest definition of each name (grader.steps.network), then a
    # marker (name, "?" or "?_", line) for each other `NAME = ...` of the question (read or not).
    network: tuple[tuple[str, str, int], ...] = ()


class Witness(_Strict):
    """A point of the domain where both sides have values, and those values (shown rounded)."""

    at: dict[str, str]
    left: str = Field(alias="from")
    right: str = Field(alias="to")


class StepMark(_Strict):
    """What grader found about one step. ``certificate``: for ``shown`` the certificate word
    verdicts use (exact, proved, piecewise-linear decision, interval bound, probes); for
    ``wrong`` how the witness was confirmed; for ``undecided`` why nothing was decided."""

    left: str = Field(alias="from")
    right: str = Field(alias="to")
    relation: Relation
    status: Status
    certificate: str | None = None
    witness: Witness | None = None
    line: int = 0

    def as_json(self) -> dict[str, object]:
        """The step as ``grader steps --format json`` prints it."""
        return {
            "from": self.left,
            "to": self.right,
            "relation": self.relation,
            "status": self.status,
            "certificate": self.certificate,
            "witness": self.witness.model_dump(by_alias=True) if self.witness else None,
        }


class ChainMarks(_Strict):
    line: int
    steps: tuple[StepMark, ...]
    conditions: tuple[str, ...] = ()

    def first_wrong(self) -> StepMark | None:
        return next((s for s in self.steps if s.status == "wrong"), None)

    def as_json(self) -> dict[str, object]:
        return {"line": self.line, "steps": [s.as_json() for s in self.steps]}
