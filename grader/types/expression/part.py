"""The ``expression`` part: a formula, an equation or a mapping of named formulas."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from grader.core.parts import DEFAULT_FORMULA_ATOL, AbsoluteTolerance, DeclaringPart, SettingNumber


class ExpressionPart(DeclaringPart):
    type: Literal["expression"]
    atol: AbsoluteTolerance = DEFAULT_FORMULA_ATOL
    answer: Any  # a formula, an equation, or a mapping of named formulas
    let: dict[str, str] = Field(default_factory=dict)
    # Symbols a student may use but that are not part of the identity (none by default).
    constants: dict[str, SettingNumber] = Field(default_factory=dict)
    # "required": an answer shown equal only at probe points (not decided exactly or proved
    # symbolically) is status error, never correct.
    proof: Literal["required", "optional"] = "optional"
