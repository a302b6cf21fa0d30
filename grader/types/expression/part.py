"""The ``expression`` part: a formula, an equation or a mapping of named formulas."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from grader.core.parts import DEFAULT_FORMULA_ATOL, AbsoluteTolerance, ArrayShapes, PartBase, SettingNumber
from grader.mathlang.domains import SymbolDomain, symbols_from_yaml


class ExpressionPart(PartBase):
    type: Literal["expression"]
    atol: AbsoluteTolerance = DEFAULT_FORMULA_ATOL
    answer: Any  # a formula, an equation, or a mapping of named formulas
    symbols: dict[str, SymbolDomain] = Field(default_factory=dict)
    arrays: ArrayShapes = Field(default_factory=dict)
    functions: dict[str, str] = Field(default_factory=dict)
    let: dict[str, str] = Field(default_factory=dict)
    # Symbols a student may use but that are not part of the identity (none by default).
    constants: dict[str, SettingNumber] = Field(default_factory=dict)
    # "required": an answer shown equal only at probe points (not decided exactly or proved
    # symbolically) is status error, never correct.
    proof: Literal["required", "optional"] = "optional"

    @field_validator("symbols", mode="before")
    @classmethod
    def _symbol_words(cls, value: Any) -> Any:
        return symbols_from_yaml(value)
