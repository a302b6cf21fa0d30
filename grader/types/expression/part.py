"""The ``expression`` part: a formula, an equation or a mapping of named formulas."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from grader.core.parts import DEFAULT_FORMULA_ATOL, PartBase
from grader.mathlang.domains import SymbolDomain, symbols_from_yaml


class ExpressionPart(PartBase):
    type: Literal["expression"]
    atol: float = Field(DEFAULT_FORMULA_ATOL, ge=0)
    answer: Any  # a formula, an equation, or a mapping of named formulas
    symbols: dict[str, SymbolDomain] = Field(default_factory=dict)
    arrays: dict[str, tuple[int | str, ...]] = Field(default_factory=dict)
    functions: dict[str, str] = Field(default_factory=dict)
    let: dict[str, str] = Field(default_factory=dict)
    # Symbols a student may use but that are not part of the identity (none by default).
    constants: dict[str, float] = Field(default_factory=dict)

    @field_validator("symbols", mode="before")
    @classmethod
    def _symbol_words(cls, value: Any) -> Any:
        return symbols_from_yaml(value)
