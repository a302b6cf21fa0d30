"""The ``code`` part: what a TA writes to have a student's function or method run and compared."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from grader.core.parts import AbsoluteTolerance, PartBase, Strict

MAX_TRIALS = 100
MAX_SOURCE_CHARS = 100_000
MAX_INPUT_ENTRIES = 100_000
MAX_SIZE = 1_000
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_ENTRY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$")

Source = Annotated[str, Field(max_length=MAX_SOURCE_CHARS)]
Dimension = int | str  # a whole number or a size's name


def _python_name(value: str) -> str:
    if not _NAME.match(value):
        raise ValueError(f"{value!r} is not a Python name")
    return value


class InputSpec(Strict):
    """How one input is drawn: its shape (sizes by name), dtype, and values."""

    shape: tuple[Dimension, ...] = ()
    dtype: Literal["float64", "float32", "int64", "bool"] = "float64"
    # floats: uniform in [low, high); integers: low..high-1. An end may be a size's name.
    range: tuple[float | str, float | str] = (-2.0, 2.0)
    # drawn from these values instead (small integers make zeros and ties likely)
    choices: tuple[float, ...] | None = Field(None, min_length=1, max_length=1000)

    @field_validator("shape")
    @classmethod
    def _dims(cls, shape: tuple[Dimension, ...]) -> tuple[Dimension, ...]:
        for dim in shape:
            if isinstance(dim, str):
                _python_name(dim)
            elif not 1 <= dim <= MAX_SIZE:
                raise ValueError(f"a dimension is from 1 to {MAX_SIZE}, not {dim}")
        return shape


class CodePart(PartBase):
    """A function or a class's methods, run on drawn inputs and compared with the reference's.

    ``answer`` is the reference implementation (Python source); mistakes are buggy
    reference implementations. ``given`` is the code run before the answer (the
    homework's scaffold: base classes, the methods the part does not ask for).
    """

    type: Literal["code"]
    answer: Source
    framework: Literal["numpy", "torch"] = "numpy"
    entry: str = Field(description="the function, or Class.method, the student writes")
    signature: str | None = Field(
        None, description="def line (and lines after it) an answer may give just the body of"
    )
    given: Source = ""
    harness: Source | None = Field(
        None, description="def run(impl, <inputs>...) returning the outputs to compare, by name"
    )
    sizes: dict[str, tuple[int, int]] = Field(default_factory=dict)
    inputs: dict[str, InputSpec] = Field(default_factory=dict)
    cases: tuple[dict[str, Any], ...] = Field((), max_length=MAX_TRIALS)
    # Feedback on a fixed case may give the case's expected output (never a drawn trial's).
    show_case_expected: bool = False
    # Edge inputs of the part's own, written as cases are; drawn edges come as well (see trials).
    edges: tuple[dict[str, Any], ...] = Field((), max_length=MAX_TRIALS)
    trials: int = Field(5, ge=0, le=MAX_TRIALS)
    seed: int = Field(0, ge=0, le=2**32 - 1)
    atol: AbsoluteTolerance = 1e-8

    @field_validator("entry")
    @classmethod
    def _entry_shape(cls, value: str) -> str:
        if not _ENTRY.match(value):
            raise ValueError(f"entry is a function name or Class.method, not {value!r}")
        return value

    @field_validator("sizes")
    @classmethod
    def _size_ranges(cls, sizes: dict[str, tuple[int, int]]) -> dict[str, tuple[int, int]]:
        for name, (low, high) in sizes.items():
            _python_name(name)
            if not 1 <= low <= high <= MAX_SIZE:
                raise ValueError(f"size {name}: [{low}, {high}] must lie within [1, {MAX_SIZE}], low first")
        return sizes

    @model_validator(mode="after")
    def _known_names(self) -> CodePart:
        for name in self.inputs:
            _python_name(name)
            if name in self.sizes:
                raise ValueError(f"{name!r} is both a size and an input")
        for name, spec in self.inputs.items():
            for dim in (*spec.shape, *spec.range):
                if isinstance(dim, str) and dim not in self.sizes:
                    raise ValueError(f"input {name}: {dim!r} is not a declared size")
        if self.harness is None and "." in self.entry:
            raise ValueError(f"entry {self.entry} is a method: give a harness that calls it")
        if not self.inputs and self.trials and not self.cases:
            raise ValueError("declare the inputs the code is called with")
        if not self.trials and not self.cases:  # nothing compared would be 'correct' on nothing
            raise ValueError("give at least one case or trial: with none, no answer is ever run")
        return self

    @property
    def entry_name(self) -> str:
        """The name an answer defines: the method for Class.method, else the function."""
        return self.entry.rsplit(".", 1)[-1]

    @property
    def entry_class(self) -> str | None:
        return self.entry.split(".", 1)[0] if "." in self.entry else None
