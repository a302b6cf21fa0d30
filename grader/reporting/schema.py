"""JSON Schemas for problem files and answers files, for editor completion and checking.

``problem_set_schema()`` is generated from the problem-set models (the same ones
``grader validate`` reads with), adjusted where the YAML is friendlier than the
models: a question without ``parts`` is itself one part, and the internal
``single`` flag is not something a TA writes. ``answers_schema(spec)`` lists the
parts of one problem set (with their prompts) so an editor completes part ids;
without a problem set it only says what an answers file is.

A YAML file opts in with a first line the YAML language server reads:
``# yaml-language-server: $schema=../schemas/problem-set.json``.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from grader.core.verdict import Certificate, Status
from grader.mathlang.domains import DOMAIN_WORDS
from grader.spec import ProblemSet

DRAFT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_COMMENT = "# yaml-language-server: $schema="
PROBLEM_SET_SCHEMA_FILE = "problem-set.json"
ANSWERS_SCHEMA_FILE = "answers.json"
ANSWERS_SCHEMA_BESIDE_TEMPLATE = "answers.schema.json"

# Hover help for the keys every part has.
PART_FIELD_HELP = {
    "id": "The part's id: letters, digits, - and _. Addressed as <question>.<part>.",
    "type": "The answer type: how the answer is read and compared.",
    "points": "Points for a right answer (default 1).",
    "prompt": "The question, shown to students in the template and in reports.",
    "answer": "The reference answer; `grader validate` checks that it grades correct.",
    "mistakes": "Known wrong answers, each with feedback and a score (a fraction of the points).",
    "note": "Shown to STUDENTS next to the verdict (why a verdict is arguable, a hint).",
    "ta_note": "For TAs only, never shown to students; `grader validate` lists it.",
    "visible": "true: `grader check` shows students this part's verdict before the deadline (default false).",
    "steps": "visible: students see the marks of each step of their derivations (`grader steps`); "
    "default hidden (TAs only).",
    "rtol": "Relative tolerance for numbers (default 1e-6).",
    "atol": "Absolute tolerance (default 0 for numbers and arrays).",
    "time_limit": "Seconds one check of this part may take (default 10).",
}
# What an answer of each type may look like in YAML; null is an unanswered part.
ANSWER_SHAPES: dict[str, list[str]] = {
    "number": ["number", "string"],
    "array": ["array", "string"],
    "shape": ["array", "string", "integer"],
    "expression": ["string", "object", "number"],
    "complexity": ["string"],
    "choice": ["string", "array", "boolean", "number"],
    "constraint": ["object", "string"],
    "network": ["object", "string"],
    "text": ["string", "number"],
}


def problem_set_schema() -> dict[str, Any]:
    schema = copy.deepcopy(ProblemSet.model_json_schema())
    definitions = schema["$defs"]
    question = definitions.pop("Question")
    question["properties"].pop("single", None)
    own = {name: schema["properties"][name] for name in ("parameters", "where")}  # a question's own
    question["properties"].update(copy.deepcopy(own))
    definitions["Part"] = _part_by_type(question["properties"]["parts"]["items"])
    question["properties"]["parts"]["items"] = {"$ref": "#/$defs/Part"}
    question["properties"]["parts"]["minItems"] = 1
    definitions["QuestionWithParts"] = question
    definitions["Question"] = {
        "description": "A question with parts, or a question that is itself one part (it has a type).",
        "anyOf": [{"$ref": "#/$defs/QuestionWithParts"}, {"$ref": "#/$defs/Part"}],
    }
    definitions["SymbolDomainOrWord"] = {
        "description": f"A domain word ({', '.join(DOMAIN_WORDS)}), or a domain.",
        "anyOf": [{"$ref": "#/$defs/SymbolDomain"}, {"enum": list(DOMAIN_WORDS)}, {"type": "null"}],
    }
    for name, definition in definitions.items():
        if name.endswith("Part") and name != "QuestionWithParts":
            _describe_part(definition)
            _yaml_symbols(definition)
            # a question that is itself one part may declare its own parameters (grader refuses
            # them on a part of a question with parts, with a message)
            definition.setdefault("properties", {}).update(copy.deepcopy(own))
    return {
        "$schema": DRAFT,
        "title": "grader problem set",
        "description": "A problem set for grader: questions, parts, reference answers and tolerances.",
        **schema,
    }


def _part_by_type(union: dict[str, Any]) -> dict[str, Any]:
    """The discriminated union as ``if type is X then part X``: validators and editors then
    report the errors of the part's own type, not of every type."""
    mapping: dict[str, str] = union["discriminator"]["mapping"]
    return {
        "type": "object",
        "required": ["type"],
        "properties": {"type": {"enum": list(mapping), "description": PART_FIELD_HELP["type"]}},
        "allOf": [
            {"if": {"properties": {"type": {"const": name}}, "required": ["type"]}, "then": {"$ref": ref}}
            for name, ref in mapping.items()
        ],
    }


def _yaml_symbols(definition: dict[str, Any]) -> None:
    """``symbols`` as TAs write them: ``[x, y]``, or ``{x: real, n: {integer: true}}``."""
    symbols = definition.get("properties", {}).get("symbols")
    if symbols is None or symbols.get("type") != "object":
        return
    symbols["additionalProperties"] = {"$ref": "#/$defs/SymbolDomainOrWord"}
    symbols.pop("type")
    symbols["anyOf"] = [
        {"type": "object", "additionalProperties": {"$ref": "#/$defs/SymbolDomainOrWord"}},
        {"type": "array", "items": {"type": "string"}},
    ]
    symbols.pop("additionalProperties")


def _describe_part(definition: dict[str, Any]) -> None:
    for key, help_text in PART_FIELD_HELP.items():
        field = definition.get("properties", {}).get(key)
        if field is not None:
            field.setdefault("description", help_text)


def answers_schema(spec: ProblemSet | None = None) -> dict[str, Any]:
    """What an answers file holds; with a problem set, its part ids and what each expects."""
    answers: dict[str, Any] = {
        "type": ["object", "null"],
        "description": "Each part's answer, by its id (q6.full, or q7 for a question without parts).",
    }
    if spec is not None:
        answers["properties"] = {
            part_id: _answer_property(question.prompt, part) for part_id, question, part in spec.iter_parts()
        }
        answers["additionalProperties"] = False
    title = "grader answers file" + (f" for {spec.assignment}" if spec else "")
    return {
        "$schema": DRAFT,
        "title": title,
        "type": "object",
        "properties": {
            "student": {
                "type": ["string", "number", "null"],
                "description": "Your name or id (default: the folder's name).",
            },
            "answers": answers,
        },
        "required": ["answers"],
        "additionalProperties": False,
    }


def _answer_property(question_prompt: str | None, part: Any) -> dict[str, Any]:
    points = f"{part.points:g} point" + ("" if part.points == 1 else "s")
    prompt = (part.prompt or question_prompt or "").strip()
    description = f"{part.type}, {points}" + (f": {prompt}" if prompt else "")
    shapes = ANSWER_SHAPES.get(part.type, ["string", "number", "array", "object", "boolean"])
    return {"type": [*shapes, "null"], "description": description}


REPORT_SCHEMA_FILE = "report.json"


def report_schema() -> dict[str, Any]:
    """The JSON report of one submission (docs/formats.md, section 7), with each part's
    certificate: how its verdict was decided."""
    certificate = {
        "type": "object",
        "description": "How the verdict was decided; every kind but probes is a certificate.",
        "required": ["kind", "method"],
        "properties": {
            "kind": {"enum": [kind.value for kind in Certificate]},
            "method": {"type": "string", "description": "The decision in words."},
            "points": {"type": "integer", "minimum": 1, "description": "Points compared (probes)."},
            "classes": {
                "type": "array",
                "items": {"type": "string"},
                "description": "Kinds of probe points.",
            },
        },
        "additionalProperties": False,
    }
    number = {"type": "number"}
    step = {
        "type": "object",
        "required": ["from", "to", "relation", "status"],
        "properties": {
            "from": {"type": "string"},
            "to": {"type": "string"},
            "relation": {"enum": ["=", "<", "<=", ">", ">=", "iff", "implies", "approx"]},
            "status": {"enum": ["shown", "wrong", "undecided"]},
            "certificate": {"type": ["string", "null"]},
            "witness": {"type": ["object", "null"]},
        },
    }
    steps = {
        "type": "array",
        "description": "The marks of the steps of a hand-graded answer's derivations, computed when "
        "it was graded: in a TA's report always, in a student's where the part says steps: visible.",
        "items": {
            "type": "object",
            "required": ["line", "steps"],
            "properties": {"line": {"type": "integer"}, "steps": {"type": "array", "items": step}},
        },
    }
    part = {
        "type": "object",
        "required": ["id", "status", "score", "max_score", "feedback"],
        "properties": {
            "id": {"type": "string"},
            "status": {"enum": [status.value for status in Status]},
            "score": number,
            "max_score": number,
            "feedback": {"type": "string"},
            "received": {"type": "string"},
            "expected": {"type": "string"},
            "pending": number,
            "certificate": certificate,
            "steps": steps,
        },
    }
    return {
        "$schema": DRAFT,
        "title": "grader report",
        "type": "object",
        "required": ["assignment", "student", "score", "max_score", "parts"],
        "properties": {
            "assignment": {"type": "string"},
            "student": {"type": "string"},
            "score": number,
            "max_score": number,
            "pending": number,
            "parts": {"type": "array", "items": part},
            "warnings": {"type": "array", "items": {"type": "string"}},
            "error": {"type": "string"},
            "variant": {"type": "string"},
        },
    }


def dump(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"
