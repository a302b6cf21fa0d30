"""What every part of a problem set has, whatever its answer type.

Each answer type (``grader/types/``) subclasses :class:`PartBase` with its own
``type`` literal and fields; :mod:`grader.spec` gathers them into the union a
problem file is read with. Every model forbids unknown keys, so a typo in a
problem file is an error with its file and line, not a silently ignored setting.
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from grader.mathlang.domains import SymbolDomain, dimension_problems, symbols_from_yaml
from grader.mathlang.limits import MAX_DIM

ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]+$")

DEFAULT_RTOL = 1e-6
# Numbers and arrays are compared relatively by default: an absolute tolerance would
# make 2^-99 equal 2^-98. A TA who wants one (answers near 0) sets atol.
DEFAULT_ATOL = 0.0
# Formula checkers scale atol by the typical magnitude of the values they compare,
# which absorbs floating-point cancellation near zeros without swallowing differences.
DEFAULT_FORMULA_ATOL = 1e-9
DEFAULT_TIME_LIMIT = 10.0  # seconds per part check
DEFAULT_MEMORY_LIMIT = 1024  # MiB a check may allocate, on top of what its process already holds
MEMORY_LIMIT_RANGE = (64, 65536)  # MiB

Scalar = int | float | str

# Ranges of the numeric settings of a problem file: a value outside one is refused with
# its file, line and column, so no check ever meets a time limit of 1e300 s or an atol of nan.
MAX_POINTS = 10_000
MAX_TIME_LIMIT = 600.0  # seconds per part check
MAX_SETTING_MAGNITUDE = 1e12  # absolute tolerances, domain ends, epsilon, constants
Points = Annotated[float, Field(ge=0, le=MAX_POINTS, allow_inf_nan=False)]
RelativeTolerance = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
AbsoluteTolerance = Annotated[float, Field(ge=0, le=MAX_SETTING_MAGNITUDE, allow_inf_nan=False)]
Seconds = Annotated[float, Field(gt=0, le=MAX_TIME_LIMIT, allow_inf_nan=False)]
SettingNumber = Annotated[
    float, Field(ge=-MAX_SETTING_MAGNITUDE, le=MAX_SETTING_MAGNITUDE, allow_inf_nan=False)
]
PositiveSetting = Annotated[float, Field(gt=0, le=MAX_SETTING_MAGNITUDE, allow_inf_nan=False)]
MemoryLimit = Annotated[int, Field(ge=MEMORY_LIMIT_RANGE[0], le=MEMORY_LIMIT_RANGE[1])]  # MiB
MAX_NETWORK_WIDTH = 100_000  # one dimension of a network parameter
MAX_NETWORK_ENTRIES = 1_000_000  # entries of one network parameter


_DIMENSION_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _fixed_sizes(shape: tuple[int | str, ...]) -> list[int]:
    """The whole-number dimensions of a shape; a dimension is that or a symbol's name."""
    sizes = []
    for dim in shape:
        text = str(dim).strip()
        if isinstance(dim, int) or text.lstrip("-").isdigit():
            sizes.append(int(dim))
        elif not _DIMENSION_NAME.match(text):
            raise ValueError(f"a dimension is a whole number or a symbol's name, not {text!r}")
    return sizes


def _array_dims_in_range(shape: tuple[int | str, ...]) -> tuple[int | str, ...]:
    for size in _fixed_sizes(shape):
        if not 1 <= size <= MAX_DIM:
            raise ValueError(f"a dimension is from 1 to {MAX_DIM}, not {size}")
    return shape


def _dims_declared(arrays: dict[str, tuple[int | str, ...]], info: ValidationInfo) -> Any:
    symbols = info.data.get("symbols")
    problems = dimension_problems(arrays, symbols, MAX_DIM) if symbols is not None else []
    if problems:
        raise ValueError("; ".join(problems))
    return arrays


def _network_dims_in_range(shape: tuple[int | str, ...]) -> tuple[int | str, ...]:
    sizes = _fixed_sizes(shape)
    for size in sizes:
        if not 1 <= size <= MAX_NETWORK_WIDTH:
            raise ValueError(f"a dimension is from 1 to {MAX_NETWORK_WIDTH:,}, not {size:,}")
    if math.prod(sizes) > MAX_NETWORK_ENTRIES:
        raise ValueError(f"{math.prod(sizes):,} entries is past the limit of {MAX_NETWORK_ENTRIES:,}")
    return shape


def _increasing(pair: tuple[float, float]) -> tuple[float, float]:
    if not pair[0] < pair[1]:
        raise ValueError(f"[{pair[0]:g}, {pair[1]:g}] is empty: give the lower end first")
    return pair


ArrayShapes = Annotated[
    dict[str, Annotated[tuple[int | str, ...], AfterValidator(_array_dims_in_range)]],
    AfterValidator(_dims_declared),
]
NetworkShape = Annotated[tuple[int | str, ...], AfterValidator(_network_dims_in_range)]
SettingInterval = Annotated[tuple[SettingNumber, SettingNumber], AfterValidator(_increasing)]


class Strict(BaseModel):
    # defer_build: a model builds its validator when first used, so a problem file builds
    # the part models of the types it uses only (grader.spec).
    model_config = ConfigDict(extra="forbid", coerce_numbers_to_str=True, frozen=True, defer_build=True)


class Mistake(Strict):
    """A known wrong answer: a student answer that matches it gets this feedback and score."""

    answer: Any
    feedback: str
    score: float = Field(
        0.0, ge=0.0, le=1.0, allow_inf_nan=False, description="fraction of the part's points"
    )


class RubricItem(Strict):
    """One item of a part's rubric: points a TA adds (positive) or takes off (negative) by
    applying it to an answer graded by hand."""

    id: str
    points: Annotated[float, Field(ge=-MAX_POINTS, le=MAX_POINTS, allow_inf_nan=False)]
    text: str

    @field_validator("id")
    @classmethod
    def _id_shape(cls, value: str) -> str:
        if not ID_PATTERN.match(value):
            raise ValueError(f"rubric item id {value!r} may only hold letters, digits, - and _")
        return value


class PartBase(Strict):
    type: str
    id: str
    points: Points = 1.0
    prompt: str | None = None
    title: str | None = None
    mistakes: tuple[Mistake, ...] = ()
    rtol: RelativeTolerance = DEFAULT_RTOL
    atol: AbsoluteTolerance = DEFAULT_ATOL
    time_limit: Seconds = DEFAULT_TIME_LIMIT
    memory_limit: MemoryLimit = Field(DEFAULT_MEMORY_LIMIT, description="MiB")
    note: str | None = Field(
        None,
        description="For students: shown beside the verdict in every report ('Note from the TA'). "
        "Never an answer, a seed's mistake or how a TA grades (that is ta_note); grader validate "
        "warns when it states a correct answer.",
    )
    ta_note: str | None = Field(
        None,
        description="For TAs only (how to grade, known slips, answers): never in a student-facing output.",
    )
    # True: ``grader check`` shows students this part's verdict before the deadline.
    visible: bool = False
    # "visible": the marks of each step of the student's derivations (grader steps) are shown
    # to the student (``grader check``); "hidden" (default): to TAs only. They come from the
    # student's own text, never from the reference.
    steps: Literal["hidden", "visible"] = "hidden"
    # Items a TA applies when grading by hand (proofs, or an override): see docs/formats.md.
    rubric: tuple[RubricItem, ...] = ()
    answer: Any = None

    @field_validator("id")
    @classmethod
    def _id_shape(cls, value: str) -> str:
        if not ID_PATTERN.match(value):
            raise ValueError(f"part id {value!r} may only hold letters, digits, - and _")
        return value

    @field_validator("rubric")
    @classmethod
    def _rubric_ids_unique(cls, items: tuple[RubricItem, ...]) -> tuple[RubricItem, ...]:
        ids = [item.id for item in items]
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        if repeated:
            raise ValueError(f"rubric item ids must be unique: {', '.join(repeated)} repeated")
        return items

    def rubric_start(self) -> float:
        """Where a grade from rubric items starts: full points when the rubric takes points
        off (it has a negative item), else nothing."""
        return self.points if any(item.points < 0 for item in self.rubric) else 0.0


class DeclaringPart(PartBase):
    """A part that declares the names its answers use: the symbols (with domains), the arrays
    (with shapes) and the functions (``{S: softmax, sigma_s: "log(1 + exp(x))"}``). An
    ``expression`` part's answers are read with them; a ``text`` part's derivations are checked
    step by step with them (docs/steps.md)."""

    symbols: dict[str, SymbolDomain] = Field(default_factory=dict)
    arrays: ArrayShapes = Field(default_factory=dict)
    functions: dict[str, str] = Field(default_factory=dict)

    @field_validator("symbols", mode="before")
    @classmethod
    def _symbol_words(cls, value: Any) -> Any:
        return symbols_from_yaml(value)
