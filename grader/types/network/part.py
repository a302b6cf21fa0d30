"""The ``network`` part: weights of a network that must meet a target."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from grader.core.parts import (
    DEFAULT_FORMULA_ATOL,
    AbsoluteTolerance,
    NetworkShape,
    PartBase,
    PositiveSetting,
    SettingInterval,
)
from grader.mathlang.domains import SymbolDomain, symbols_from_yaml


class NetworkPart(PartBase):
    type: Literal["network"]
    atol: AbsoluteTolerance = DEFAULT_FORMULA_ATOL
    input: str | tuple[str, ...] = "x"
    params: dict[str, NetworkShape]
    model: str
    target: str | None = None
    domain: Literal["all"] | SettingInterval = "all"
    mode: Literal["exact", "approx", "classify"] = "exact"
    epsilon: PositiveSetting | None = None
    positive_when: str | None = None
    symbols: dict[str, SymbolDomain] = Field(default_factory=dict)
    functions: dict[str, str] = Field(default_factory=dict)
    answer: Any  # a mapping of params, or "impossible"

    @field_validator("symbols", mode="before")
    @classmethod
    def _symbol_words(cls, value: Any) -> Any:
        return symbols_from_yaml(value)

    @model_validator(mode="after")
    def _mode_fields(self) -> NetworkPart:
        if self.mode == "approx" and self.epsilon is None:
            raise ValueError("mode approx needs epsilon")
        if self.mode == "approx" and self.domain == "all":
            raise ValueError("mode approx needs a bounded domain [a, b]")
        if self.mode == "classify" and not self.positive_when:
            raise ValueError("mode classify needs positive_when")
        if self.mode != "classify" and self.target is None:
            raise ValueError(f"mode {self.mode} needs a target")
        return self
