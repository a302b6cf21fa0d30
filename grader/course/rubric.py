"""A rubric item's edit as a TA sends it from the grading view (the item as wanted, and as they
saw it), and what it does to a grade given with the item; :mod:`grader.service.crud.rubric`
applies it to the grades and the rubric file."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field

from grader.core.parts import PartBase, RubricItem
from grader.hand import HandGrade


class ItemEdit(BaseModel):
    """An item of a part's rubric as the TA wants it, and as they saw it (``was_points``,
    ``was_text``; None: a new item)."""

    model_config = ConfigDict(extra="forbid")

    item: RubricItem
    was_points: float | None = Field(None, allow_inf_nan=False)
    was_text: str | None = None


@dataclass(frozen=True)
class Move:
    """A grade given with the item: its points before and after the edit; ``by_hand``: the TA
    wrote the points, so they stay (only the item shown changes)."""

    student: str
    old: float
    new: float
    by_hand: bool

    @property
    def moved(self) -> bool:
        return self.old != self.new


def edited(part: PartBase, item: RubricItem) -> PartBase:
    """``part`` with ``item`` in its rubric: in place of the item with its id, else last."""
    items = {old.id: old for old in part.rubric} | {item.id: item}  # a dict keeps a replaced key's place
    return part.model_copy(update={"rubric": tuple(items.values())})


def awarded(grade: HandGrade, part: PartBase) -> float:
    """The points ``grade`` gives on ``part`` (never more than the part's)."""
    return round(min(grade.awarded(part), part.points), 6)
