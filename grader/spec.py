"""Problem-set models (contract section 1): what a TA writes in ``problems/*.yaml``.

A problem set holds questions, a question holds parts, and each part is one of
the answer types of :data:`grader.types.ANSWER_TYPES`: the union a part is read
with is derived from that registry. Every model forbids unknown keys. A question
without ``parts`` is itself one part, addressed by the question id alone.
"""

from __future__ import annotations

import contextlib
import re
from typing import TYPE_CHECKING, Annotated, Any, Union

from pydantic import (
    Field,
    GetJsonSchemaHandler,
    PlainValidator,
    PrivateAttr,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from grader.core.parts import (
    ID_PATTERN,
    AbsoluteTolerance,
    MemoryLimit,
    PartBase,
    Points,
    RelativeTolerance,
    Seconds,
    Strict,
)
from grader.types import ANSWER_TYPES
from grader.variants import (
    Domain,
    Parameters,
    Variant,
    VariantError,
    degenerate,
    has_question_parameters,
    read_parameters,
    substitute_questions,
)

ASSIGNMENT_PATTERN = re.compile(r"^[a-z0-9_-]+$")


class Defaults(Strict):
    """Settings inherited by every part that has the field, unless the part sets its own."""

    rtol: RelativeTolerance | None = None
    atol: AbsoluteTolerance | None = None
    points: Points | None = None
    time_limit: Seconds | None = None
    memory_limit: MemoryLimit | None = None
    strict_shape: bool | None = None


PART_TYPES = tuple(ANSWER_TYPES)
PART_MODELS = tuple(answer_type.part for answer_type in ANSWER_TYPES.values())
PART_MODEL_OF_TYPE = {name: answer_type.part for name, answer_type in ANSWER_TYPES.items()}
_EXPECTED_TAGS = ", ".join(repr(name) for name in PART_TYPES)


def _part_of_its_type(value: Any) -> PartBase:
    """A part read as the model its ``type`` names, as pydantic's union tagged by ``type``
    reads it (the same errors), but only that model is ever built: the part models defer
    building their validators (``Strict``), so reading a problem file builds those of the
    types it uses, not all eleven (``grader check`` starts sooner)."""
    if isinstance(value, dict):
        if "type" not in value:
            raise PydanticCustomError(
                "union_tag_not_found",
                "Unable to extract tag using discriminator {discriminator}",
                {"discriminator": "'type'"},
            )
        tag = value["type"]
    elif isinstance(value, PartBase):
        tag = value.type
    else:
        raise PydanticCustomError(
            "model_attributes_type", "Input should be a valid dictionary or object to extract fields from"
        )
    model = PART_MODEL_OF_TYPE.get(tag) if isinstance(tag, str) else None
    if model is None:
        raise PydanticCustomError(
            "union_tag_invalid",
            "Input tag '{tag}' found using {discriminator} does not match any of the expected tags:"
            " {expected_tags}",
            {"discriminator": "'type'", "tag": str(tag), "expected_tags": _EXPECTED_TAGS},
        )
    return model.model_validate(value)


class _TaggedUnionJsonSchema:
    """The JSON schema of a part (grader.reporting.schema): pydantic's union of the part
    models tagged by ``type``, built only when a JSON schema is asked for."""

    def __get_pydantic_json_schema__(self, schema: Any, handler: GetJsonSchemaHandler) -> Any:
        return handler(TypeAdapter(PART_UNION).core_schema)


if TYPE_CHECKING:  # every part model is a PartBase
    Part = PartBase
    PART_UNION: Any = PartBase
else:
    PART_UNION = Annotated[Union[PART_MODELS], Field(discriminator="type")]  # noqa: UP007
    Part = Annotated[Any, PlainValidator(_part_of_its_type), _TaggedUnionJsonSchema()]

_PART_FIELDS_INHERITED = tuple(Defaults.model_fields)


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
    # A variant per student (grader.variants, docs/authoring.md "Variants").
    parameters: dict[str, Domain] = Field(default_factory=dict)
    where: tuple[str, ...] = ()
    pinned: dict[str, dict[str, int | str]] = Field(default_factory=dict)
    questions: tuple[Question, ...]
    # The raw file a parameterised set was read from, and the variant its questions hold
    # (None: the set as written, its formulas read with a first variant, its prose with {a}).
    _raw: dict[str, Any] | None = PrivateAttr(None)
    _variant: Variant | None = PrivateAttr(None)
    _variants: dict[str, ProblemSet] = PrivateAttr(default_factory=dict)

    @model_validator(mode="wrap")
    @classmethod
    def _put_in_variant(cls, data: Any, handler: ValidatorFunctionWrapHandler, info: ValidationInfo) -> Any:
        """A set with ``parameters``: its questions with the variant of the validation's
        context put in (the set as written: a first variant in its formulas only)."""
        if not isinstance(data, dict) or not (data.get("parameters") or has_question_parameters(data)):
            return handler(data)
        try:
            parameters = read_parameters(data)
        except VariantError as exc:
            raise ValueError(str(exc)) from None
        variant = (info.context or {}).get("variant")
        candidates = [variant] if variant is not None else _first_variants(parameters)
        # The set as written reads its formulas with the first of its variants that fits.
        *earlier, last = candidates
        for candidate in earlier:
            with contextlib.suppress(VariantError, ValidationError):
                return _holding(data, handler(_with_variant(data, candidate, variant)), variant)
        try:
            filled = _with_variant(data, last, variant)
        except VariantError as exc:
            raise ValueError(str(exc)) from None
        return _holding(data, handler(filled), variant)

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

    @property
    def variant(self) -> Variant | None:
        """The variant this set's questions hold; None for a set as written."""
        return self._variant

    def is_template(self) -> bool:
        """True for a parameterised set as written: no student is graded against it."""
        return bool(self.parameters) and self._variant is None

    def parameter_block(self) -> Parameters:
        if self._raw is not None:  # with its questions' own parameters
            return read_parameters(self._raw)
        return read_parameters({"parameters": self.parameters, "where": self.where, "pinned": self.pinned})

    def for_variant(self, variant: Variant) -> ProblemSet:
        """The set with ``variant`` put in (the set itself when it has no parameters)."""
        if self._raw is None:
            return self
        found = self._variants.get(variant.id)
        if found is None:
            found = ProblemSet.model_validate(self._raw, context={"variant": variant})
            self._variants[variant.id] = found
        return found

    def variant_problems(self, variant: Variant) -> list[str]:
        """Why ``variant`` is not well posed (a zero denominator, coinciding breakpoints, a
        shape that does not fit), found in the formulas of the file; empty when none is."""
        return degenerate(self._raw.get("questions"), variant) if self._raw is not None else []

    def raw_parts(self) -> dict[str, dict[str, Any]]:
        """The parts of a parameterised set as written in its file, by address."""
        found: dict[str, dict[str, Any]] = {}
        questions = self._raw.get("questions") if self._raw is not None else None
        for question in questions if isinstance(questions, list) else []:
            if not isinstance(question, dict):
                continue
            parts = question.get("parts")
            if not isinstance(parts, list):
                found[str(question.get("id"))] = question
                continue
            for part in parts:
                if isinstance(part, dict):
                    found[f"{question.get('id')}.{part.get('id')}"] = part
        return found

    def for_student(self, student: str, key: bytes) -> ProblemSet:
        """The student's variant of the set (the set itself when it has no parameters)."""
        if self._raw is None:
            return self
        return self.for_variant(self.parameter_block().draw(key, self.assignment, student))

    def iter_parts(self) -> list[tuple[str, Question, PartBase]]:
        """(address, question, part) for every part, in file order."""
        return [(address(q, p), q, p) for q in self.questions for p in q.parts]

    @property
    def max_score(self) -> float:
        return sum(p.points for _, _, p in self.iter_parts())


# A code part compares floating-point outputs: its own tolerances (rtol 1e-6, atol 1e-8) hold
# unless the part sets others; a set's ``defaults`` tolerances are for answers written by hand.
_OWN_DEFAULTS = {"code": frozenset({"rtol", "atol"})}


def _with_defaults(part: dict[str, Any], defaults: dict[str, Any]) -> dict[str, Any]:
    answer_type = ANSWER_TYPES.get(str(part.get("type")))
    kept = _OWN_DEFAULTS.get(str(part.get("type")), frozenset())
    merged = dict(part)
    for key, value in defaults.items():
        if value is None or key in merged or key in kept:
            continue
        if answer_type is not None and key not in answer_type.part.model_fields:
            continue  # strict_shape is for arrays only
        merged[key] = value
    return merged


def _with_variant(data: dict[str, Any], variant: Variant, given: Variant | None) -> dict[str, Any]:
    """The raw file with the variant in its questions (in their formulas only, but ``given``);
    its parameters with the questions' own (``q2.k``), so that the set says it has some."""
    return {
        **data,
        "parameters": read_parameters(data).parameters,
        "questions": substitute_questions(data.get("questions"), variant, prose=given is not None),
    }


def _holding(raw: dict[str, Any], model: ProblemSet, variant: Variant | None) -> ProblemSet:
    model._raw = raw
    model._variant = variant
    return model


FIRST_VARIANTS = 8  # the set as written reads its formulas with the first of these that fits


def _first_variants(parameters: Parameters) -> list[Variant]:
    """The variants a set as written may read its formulas with: the first allowed ones."""
    found = parameters.all_variants() if parameters.enumerable() else parameters.extremes()
    if not found:
        found = [parameters.draw(b"first", "first", "first")]
    return found[:FIRST_VARIANTS]


def address(question: Question, part: PartBase) -> str:
    """``q6.full``, or ``q7`` for a question that is itself one part."""
    return question.id if question.single else f"{question.id}.{part.id}"
