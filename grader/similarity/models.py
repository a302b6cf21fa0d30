"""What a similarity run finds: ranked pairs, a score per signal and why (pydantic models)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

SIGNALS = ("code", "formulas", "prose", "answers")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Passage(Strict):
    """A passage both sheets share: the part, and the lines (1-based, inclusive) in each answer."""

    part: str
    a_lines: tuple[int, int]
    b_lines: tuple[int, int]
    a_span: tuple[int, int] = Field(description="character offsets in a's answer to the part")
    b_span: tuple[int, int]


class SharedAnswer(Strict):
    """A wrong answer both students gave, and how many in the class gave it."""

    part: str
    answer: str
    students: int


class Signal(Strict):
    """One signal of a pair: its score from 0 to 1, what the score is made of, and where."""

    score: float = Field(ge=0, le=1)
    parts: dict[str, float] = Field(default_factory=dict, description="each part's share of the score")
    passages: list[Passage] = Field(default_factory=list)
    answers: list[SharedAnswer] = Field(default_factory=list)


class Pair(Strict):
    a: str
    b: str
    score: float = Field(
        ge=0,
        le=1,
        description="code, formulas and prose together, beyond chance; or the wrong answers' if higher",
    )
    signals: dict[str, Signal]

    @property
    def strongest(self) -> str:
        return max(self.signals, key=lambda name: self.signals[name].score)
