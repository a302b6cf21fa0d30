"""The step tables (tests/cases/steps/corpus.yaml): a derivation row as a write-up's text,
right or with its planted error, and which step the plant changed. Read by the tests and
by benchmarks/bench_steps.py."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from grader.core.yamlio import load_with_positions

PlantKind = Literal[
    "dropped factor",
    "sign",
    "flipped inequality",
    "exponent",
    "one-way equivalence",
    "order",  # the factors of a product of matrices swapped
    "arithmetic",  # a number computed wrong
]


class Plant(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: PlantKind
    replace: str
    by: str


class Row(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    topic: str
    math: str
    plant: Plant
    given: str | None = None
    functions: dict[str, str] = Field(default_factory=dict)
    # words and math before the derivation that define its functions, as a student writes
    # them ("Let $\\sigma(z) = \\frac{1}{1+e^{-z}}$.", "Here $\\phi$ is the ReLU.")
    defines: str | None = None
    must_find: bool = False

    def text(self, planted: bool = False) -> str:
        """The derivation as a student's Markdown: the condition in words, then the math."""
        math = self.math.strip()
        if planted:
            if math.count(self.plant.replace) != 1:
                raise ValueError(f"{self.id}: the plant's text must occur exactly once in the math")
            math = math.replace(self.plant.replace, self.plant.by)
        intro = f"{self.defines}\n\n" if self.defines else ""
        intro += f"For ${self.given}$:\n\n" if self.given else ""
        body = f"\\begin{{align*}}\n{math}\n\\end{{align*}}" if "\\\\" in math else f"$$\n{math}\n$$"
        return f"{intro}{body}\n"


def load_corpus(path: Path) -> list[Row]:
    data, _ = load_with_positions(path.read_text(encoding="utf-8"))
    return [Row.model_validate(item) for item in data]
