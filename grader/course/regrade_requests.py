"""A regrade request as a student asks it (a part and a reason a reader can see), a TA's answer as
sent, and a student as a TA's page names them; :mod:`grader.service.crud.regrade_requests` keeps
and answers them."""

from __future__ import annotations

import unicodedata

from pydantic import BaseModel, ConfigDict, Field, model_validator

from grader.core.parts import MAX_POINTS
from grader.course.anonymous import pseudonym
from grader.course.files import LoadedAssignment
from grader.course.grades import MAX_ID

MAX_TEXT = 5_000  # a reason or a reply, in characters


# Characters that show nothing though Unicode does not call them spaces (a Hangul filler, the
# braille blank, the Mongolian vowel separator); with every format, control and mark character.
_BLANK = frozenset("\u115f\u1160\u3164\uffa0\u2800\u180e")
_UNSEEN = ("Cc", "Cf", "Cs", "Co", "Cn", "Zs", "Zl", "Zp", "Mn", "Me")


def visible_text(text: str) -> bool:
    """Whether ``text`` has a character a reader sees (zero-width spaces and joiners, a
    byte-order mark, combining marks alone or blank fillers are none)."""
    return any(not c.isspace() and c not in _BLANK and unicodedata.category(c) not in _UNSEEN for c in text)


class AskBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    part: str = Field(min_length=1, max_length=200)
    reason: str = Field(min_length=1, max_length=MAX_TEXT)


class AnswerBody(BaseModel):
    """What a TA sends: new ``points`` (a hand grade of the part) or ``keep``, and the reply;
    ``version``: the version of the student's hand grade the TA saw (default: the current)."""

    model_config = ConfigDict(extra="forbid")

    points: float | None = Field(None, ge=0, le=MAX_POINTS, allow_inf_nan=False)
    keep: bool = False
    reply: str = Field(min_length=1, max_length=MAX_TEXT)
    version: int | None = Field(None, ge=0, le=MAX_ID)

    @model_validator(mode="after")
    def _points_or_keep(self) -> AnswerBody:
        if (self.points is None) == (not self.keep):
            raise ValueError("give new points, or keep: true to keep them (not both)")
        if not visible_text(self.reply):
            raise ValueError("the reply is empty: say why the points change or stay")
        return self


def shown_name(loaded: LoadedAssignment | None, student: str, hidden: bool) -> str:
    """The student as a TA's page shows them: their pseudonym when names are hidden."""
    return pseudonym(loaded, student) if hidden and loaded is not None else student
