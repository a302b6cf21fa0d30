"""What every part of a problem set has, whatever its answer type.

Each answer type (``grader/types/``) subclasses :class:`PartBase` with its own
``type`` literal and fields; :mod:`grader.spec` gathers them into the union a
problem file is read with. Every model forbids unknown keys, so a typo in a
problem file is an error with its file and line, not a silently ignored setting.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]+$")

DEFAULT_RTOL = 1e-6
# Numbers and arrays are compared relatively by default: an absolute tolerance would
# make 2^-99 equal 2^-98. A TA who wants one (answers near 0) sets atol.
DEFAULT_ATOL = 0.0
# Formula checkers scale atol by the typical magnitude of the values they compare,
# which absorbs floating-point cancellation near zeros without swallowing differences.
DEFAULT_FORMULA_ATOL = 1e-9
DEFAULT_TIME_LIMIT = 10.0  # seconds per part check

Scalar = int | float | str


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", coerce_numbers_to_str=True, frozen=True)


class Mistake(Strict):
    """A known wrong answer: a student answer that matches it gets this feedback and score."""

    answer: Any
    feedback: str
    score: float = Field(0.0, ge=0.0, le=1.0, description="fraction of the part's points")


class PartBase(Strict):
    type: str
    id: str
    points: float = Field(1.0, ge=0)
    prompt: str | None = None
    title: str | None = None
    mistakes: tuple[Mistake, ...] = ()
    rtol: float = Field(DEFAULT_RTOL, ge=0)
    atol: float = Field(DEFAULT_ATOL, ge=0)
    time_limit: float = Field(DEFAULT_TIME_LIMIT, gt=0)
    # A TA's note shown in reports next to the verdict (why a verdict is arguable, etc.).
    note: str | None = None
    answer: Any = None

    @field_validator("id")
    @classmethod
    def _id_shape(cls, value: str) -> str:
        if not ID_PATTERN.match(value):
            raise ValueError(f"part id {value!r} may only hold letters, digits, - and _")
        return value
