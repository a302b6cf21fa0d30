"""Problem-set models (contract section 1): what a TA writes in ``problems/*.yaml``.

Every model forbids unknown keys, so a typo in a problem file is an error with
its file and line, not a silently ignored setting. A question without
``parts`` is itself one part, addressed by the question id alone.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]+$")
ASSIGNMENT_PATTERN = re.compile(r"^[a-z0-9_-]+$")

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


class Defaults(Strict):
    """Settings inherited by every part unless the part sets its own."""

    rtol: float | None = Field(None, ge=0)
    atol: float | None = Field(None, ge=0)
    points: float | None = Field(None, ge=0)
    time_limit: float | None = Field(None, gt=0)
    strict_shape: bool | None = None


class PartBase(Strict):
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

    @field_validator("id")
    @classmethod
    def _id_shape(cls, value: str) -> str:
        if not ID_PATTERN.match(value):
            raise ValueError(f"part id {value!r} may only hold letters, digits, - and _")
        return value


class NumberPart(PartBase):
    type: Literal["number"]
    answer: Scalar


class ArrayPart(PartBase):
    type: Literal["array"]
    answer: Any
    strict_shape: bool = False


class ShapePart(PartBase):
    type: Literal["shape"]
    answer: Any


class SymbolDomain(Strict):
    """A symbol's admissible values: ``real`` (default), ``positive``, ``nonzero``,
    ``integer`` with optional ``min``/``max``, or an ``interval`` (open at both ends
    unless ``closed``)."""

    real: bool = True
    positive: bool = False
    nonnegative: bool = False
    nonzero: bool = False
    integer: bool = False
    min: float | None = None
    max: float | None = None
    interval: tuple[float, float] | None = None


def _domain_from_word(value: Any) -> Any:
    """``x: real`` / ``delta: positive`` are short for ``{real: true}`` / ``{positive: true}``."""
    words = {"real", "positive", "nonnegative", "nonzero", "integer"}
    if isinstance(value, str):
        if value not in words:
            raise ValueError(f"unknown symbol domain {value!r}; use one of {sorted(words)}")
        return {value: True}
    if value is None:
        return {}
    return value


def _symbols_from_yaml(value: Any) -> Any:
    """``[x, y]`` (all real) or ``{x: real, n: {integer: true}}``."""
    if isinstance(value, list):
        return {str(name): {} for name in value}
    if isinstance(value, dict):
        return {str(k): _domain_from_word(v) for k, v in value.items()}
    return value


class ExpressionPart(PartBase):
    type: Literal["expression"]
    atol: float = Field(DEFAULT_FORMULA_ATOL, ge=0)
    answer: Any  # a formula, an equation, or a mapping of named formulas
    symbols: dict[str, SymbolDomain] = {}
    arrays: dict[str, tuple[int | str, ...]] = {}
    functions: dict[str, str] = {}
    let: dict[str, str] = {}
    # Symbols a student may use but that are not part of the identity (none by default).
    constants: dict[str, float] = {}

    @field_validator("symbols", mode="before")
    @classmethod
    def _symbol_words(cls, value: Any) -> Any:
        return _symbols_from_yaml(value)


class ComplexityPart(PartBase):
    type: Literal["complexity"]
    answer: str
    symbols: tuple[str, ...] = ()
    assumptions: tuple[str, ...] = ()
    # A student's O(...) (an upper bound) against a reference Theta(...).
    accept_big_o: bool = True


class ChoicePart(PartBase):
    type: Literal["choice"]
    options: dict[str, str]
    answer: str | tuple[str, ...]
    # select-all: "partial" gives (right picks - wrong picks) / right keys, at least 0
    scoring: Literal["partial", "all_or_nothing"] = "partial"

    @model_validator(mode="after")
    def _answer_is_an_option(self) -> ChoicePart:
        keys = [self.answer] if isinstance(self.answer, str) else list(self.answer)
        unknown = [k for k in keys if k not in self.options]
        if unknown:
            raise ValueError(f"answer {unknown} is not among the options {list(self.options)}")
        return self


class ConstraintPart(PartBase):
    type: Literal["constraint"]
    fields: tuple[str, ...]
    given: dict[str, Scalar] = {}
    require: tuple[str, ...]
    answer: dict[str, Scalar]
    # Fields are whole numbers unless the TA says otherwise (kernel sizes, strides...).
    integer_fields: bool = True


class NetworkPart(PartBase):
    type: Literal["network"]
    atol: float = Field(DEFAULT_FORMULA_ATOL, ge=0)
    input: str | tuple[str, ...] = "x"
    params: dict[str, tuple[int | str, ...]]
    model: str
    target: str | None = None
    domain: Literal["all"] | tuple[float, float] = "all"
    mode: Literal["exact", "approx", "classify"] = "exact"
    epsilon: float | None = Field(None, gt=0)
    positive_when: str | None = None
    symbols: dict[str, SymbolDomain] = {}
    functions: dict[str, str] = {}
    answer: Any  # a mapping of params, or "impossible"

    @field_validator("symbols", mode="before")
    @classmethod
    def _symbol_words(cls, value: Any) -> Any:
        return _symbols_from_yaml(value)

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


class TextPart(PartBase):
    type: Literal["text"]
    answer: str | None = None  # a model answer for the TA


Part = Annotated[
    NumberPart
    | ArrayPart
    | ShapePart
    | ExpressionPart
    | ComplexityPart
    | ChoicePart
    | ConstraintPart
    | NetworkPart
    | TextPart,
    Field(discriminator="type"),
]

PART_TYPES = (
    "number",
    "array",
    "shape",
    "expression",
    "complexity",
    "choice",
    "constraint",
    "network",
    "text",
)

_PART_FIELDS_INHERITED = ("rtol", "atol", "points", "time_limit", "strict_shape")


class Question(Strict):
    id: str
    title: str | None = None
    prompt: str | None = None
    parts: tuple[Part, ...]
    # True when the YAML question had no ``parts`` and is itself the one part.
    single: bool = False

    @field_validator("id")
    @classmethod
    def _id_shape(cls, value: str) -> str:
        if not ID_PATTERN.match(value):
            raise ValueError(f"question id {value!r} may only hold letters, digits, - and _")
        return value

    @model_validator(mode="before")
    @classmethod
    def _question_as_part(cls, data: Any) -> Any:
        if isinstance(data, dict) and "parts" not in data and "type" in data:
            part = {k: v for k, v in data.items() if k not in ("title",)}
            return {"id": data.get("id"), "title": data.get("title"), "parts": [part], "single": True}
        return data

    @model_validator(mode="after")
    def _unique_parts(self) -> Question:
        seen: set[str] = set()
        for part in self.parts:
            if part.id in seen:
                raise ValueError(f"duplicate part id {part.id!r} in question {self.id!r}")
            seen.add(part.id)
        if not self.parts:
            raise ValueError(f"question {self.id!r} has no parts")
        return self


class ProblemSet(Strict):
    assignment: str
    title: str | None = None
    defaults: Defaults = Defaults()
    questions: tuple[Question, ...]

    @field_validator("assignment")
    @classmethod
    def _assignment_id(cls, value: str) -> str:
        if not ASSIGNMENT_PATTERN.match(value):
            raise ValueError("assignment id may only hold lower-case letters, digits, - and _")
        return value

    @model_validator(mode="before")
    @classmethod
    def _inherit_defaults(cls, data: Any) -> Any:
        """Copy ``defaults`` into every part that does not set the key itself."""
        if not isinstance(data, dict) or not isinstance(data.get("defaults"), dict):
            return data
        defaults = {k: v for k, v in data["defaults"].items() if k in _PART_FIELDS_INHERITED}
        questions = data.get("questions")
        if not isinstance(questions, list):
            return data
        new_questions = []
        for question in questions:
            if not isinstance(question, dict):
                new_questions.append(question)
                continue
            parts = question.get("parts")
            if parts is None:
                new_questions.append(_with_defaults(question, defaults))
            elif isinstance(parts, list):
                new_parts = [_with_defaults(p, defaults) if isinstance(p, dict) else p for p in parts]
                new_questions.append({**question, "parts": new_parts})
            else:
                new_questions.append(question)
        return {**data, "questions": new_questions}

    @model_validator(mode="after")
    def _unique_questions(self) -> ProblemSet:
        seen: set[str] = set()
        for question in self.questions:
            if question.id in seen:
                raise ValueError(f"duplicate question id {question.id!r}")
            seen.add(question.id)
        return self

    def iter_parts(self) -> list[tuple[str, Question, Any]]:
        """(address, question, part) for every part, in file order."""
        return [(address(q, p), q, p) for q in self.questions for p in q.parts]

    @property
    def max_score(self) -> float:
        return sum(p.points for _, _, p in self.iter_parts())


def _with_defaults(part: dict[str, Any], defaults: dict[str, Any]) -> dict[str, Any]:
    part_type = part.get("type")
    merged = dict(part)
    for key, value in defaults.items():
        if value is None or key in merged:
            continue
        if key == "strict_shape" and part_type != "array":
            continue
        merged[key] = value
    return merged


def address(question: Question, part: Any) -> str:
    """``q6.full``, or ``q7`` for a question that is itself one part."""
    return question.id if question.single else f"{question.id}.{part.id}"
