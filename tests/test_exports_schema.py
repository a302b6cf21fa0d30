"""JSON Schemas for editors: generated from the problem-set models, shipped in schemas/,
named on the first line of every shipped problem file and of the answers template."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from grader.cli import main
from grader.core.yamlio import load_with_positions
from grader.loading import load_problem_set, parse_problem_set
from grader.reporting.schema import answers_schema, dump, problem_set_schema, report_schema

ROOT = Path(__file__).parent.parent
SCHEMAS = ROOT / "schemas"
PROBLEM_FILES = sorted((ROOT / "problems").glob("*.yaml"))
Validator = jsonschema.Draft202012Validator


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def read_yaml(path: Path) -> object:
    data, _ = load_with_positions(path.read_text(encoding="utf-8"))
    return data


def test_shipped_schemas_are_up_to_date() -> None:
    """Regenerate with ``grader schema --write schemas/`` after changing a part model."""
    assert (SCHEMAS / "problem-set.json").read_text() == dump(problem_set_schema())
    assert (SCHEMAS / "answers.json").read_text() == dump(answers_schema())
    assert (SCHEMAS / "report.json").read_text() == dump(report_schema())


def test_every_golden_report_fits_the_report_schema() -> None:
    """The JSON report with its certificates (docs/formats.md, section 7)."""
    validator = jsonschema.Draft202012Validator(report_schema())
    goldens = sorted((ROOT / "tests" / "golden").glob("*/*.json"))
    checked = 0
    for path in goldens:
        data = json.loads(path.read_text(encoding="utf-8"))
        for report in data if isinstance(data, list) else [data]:
            if isinstance(report, dict) and "parts" in report:
                validator.validate(report)
                checked += 1
    assert checked >= 6
    kinds = {
        part["certificate"]["kind"]
        for path in goldens
        for report in [json.loads(path.read_text(encoding="utf-8"))]
        if isinstance(report, dict) and "parts" in report
        for part in report["parts"]
        if "certificate" in part
    }
    assert {"exact", "probes", "interval bound"} <= kinds


def test_the_schema_command_prints_the_shipped_schemas() -> None:
    code, out, _ = run("schema")
    assert code == 0 and json.loads(out) == json.loads((SCHEMAS / "problem-set.json").read_text())
    code, out, _ = run("schema", "--answers")
    assert code == 0 and json.loads(out) == json.loads((SCHEMAS / "answers.json").read_text())


@pytest.mark.parametrize("path", PROBLEM_FILES, ids=lambda p: p.stem)
def test_every_shipped_problem_file_validates_against_the_schema(path: Path) -> None:
    schema = json.loads((SCHEMAS / "problem-set.json").read_text())  # as an editor reads it
    Validator.check_schema(schema)
    assert [e.message for e in Validator(schema).iter_errors(read_yaml(path))] == []


@pytest.mark.parametrize("path", PROBLEM_FILES, ids=lambda p: p.stem)
def test_every_shipped_problem_file_names_the_schema_on_its_first_line(path: Path) -> None:
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first == "# yaml-language-server: $schema=../schemas/problem-set.json"
    assert (path.parent / "../schemas/problem-set.json").resolve().is_file()


@pytest.mark.parametrize(
    ("mistake", "where"),
    [
        ("    answr: 3\n", "answr"),  # a typo in a key
        ("    points: many\n", "points"),  # a number that is not one
        ("    type: numbr\n", "numbr"),  # an unknown answer type
    ],
)
def test_the_schema_catches_what_validate_catches(mistake: str, where: str, tmp_path: Path) -> None:
    rest = {
        "answr": "    type: number\n",
        "points": "    type: number\n    answer: 3\n",
        "numbr": "    answer: 3\n",
    }
    text = "assignment: a1\nquestions:\n  - id: q1\n" + rest[where] + mistake
    errors = list(Validator(problem_set_schema()).iter_errors(load_with_positions(text)[0]))
    assert errors, f"the schema accepted {mistake.strip()!r}"
    problem_file = tmp_path / "a1.yaml"
    problem_file.write_text(text)
    code, _, err = run("validate", str(problem_file))
    assert code == 2 and where in err


def test_symbol_domains_may_be_written_as_words_or_lists() -> None:
    text = (
        "assignment: a1\nquestions:\n  - id: q1\n    type: expression\n"
        "    symbols: {x: real, n: {integer: true, min: 1}}\n    answer: n*x\n"
        "  - id: q2\n    type: expression\n    symbols: [x, y]\n    answer: x + y\n"
        "  - id: q3\n    type: expression\n    symbols: {x: reel}\n    answer: x\n"
    )
    errors = list(Validator(problem_set_schema()).iter_errors(load_with_positions(text)[0]))
    assert [list(e.absolute_path)[:2] for e in errors] == [["questions", 2]]


def test_an_answers_schema_lists_the_parts_of_its_problem_set() -> None:
    spec = load_problem_set(ROOT / "tests" / "fixtures" / "basics.yaml")
    schema = answers_schema(spec)
    parts = schema["properties"]["answers"]["properties"]
    assert list(parts) == ["conv.full", "conv.shape", "params", "kind", "proof"]
    assert parts["conv.full"]["description"].startswith("array, 2 points: Full convolution")
    validator = Validator(schema)
    assert not list(validator.iter_errors({"answers": {"params": 131072, "kind": "B", "proof": None}}))
    (error,) = validator.iter_errors({"answers": {"parms": 131072}})
    assert "parms" in error.message


@pytest.mark.parametrize("path", PROBLEM_FILES, ids=lambda p: p.stem)
def test_shipped_submissions_validate_against_their_answers_schema(path: Path) -> None:
    validator = Validator(answers_schema(load_problem_set(path)))
    for answers in sorted((ROOT / "submissions" / path.stem).glob("*/answers.yaml")):
        assert [e.message for e in validator.iter_errors(read_yaml(answers))] == [], answers


def test_the_template_names_its_schema_and_writes_it_beside(tmp_path: Path) -> None:
    basics = str(ROOT / "tests" / "fixtures" / "basics.yaml")
    code, out, _ = run("template", "-p", basics)
    assert code == 0
    assert out.splitlines()[0] == "# yaml-language-server: $schema=answers.schema.json"
    code, _, _ = run("template", "-p", basics, "-o", str(tmp_path / "answers.yaml"))
    schema = json.loads((tmp_path / "answers.schema.json").read_text())
    assert "conv.full" in schema["properties"]["answers"]["properties"]
    assert not list(Validator(schema).iter_errors(read_yaml(tmp_path / "answers.yaml")))


@pytest.mark.parametrize("doc", ["authoring.md", "formats.md", "ci.md"])
def test_every_yaml_example_in_the_docs_is_valid_yaml(doc: str) -> None:
    """Strings that need quotes (``: ``, a leading ``{``, LaTeX) are quoted in the examples."""
    text = (ROOT / "docs" / doc).read_text(encoding="utf-8")
    blocks = re.findall(r"```yaml\n(.*?)```", text, re.S)
    assert blocks
    for block in blocks:
        load_with_positions(block)  # raises YamlError with the line on a bad example


def test_the_problem_set_in_the_formats_reference_is_a_valid_one() -> None:
    text = (ROOT / "docs" / "formats.md").read_text(encoding="utf-8")
    example = re.findall(r"```yaml\n(.*?)```", text, re.S)[0]
    assert not list(Validator(problem_set_schema()).iter_errors(load_with_positions(example)[0]))
    spec = parse_problem_set(example)
    assert [part_id for part_id, _, _ in spec.iter_parts()] == ["q6.full", "q7"]


def test_the_formats_reference_says_moodle_grades_count_hand_points() -> None:
    """Issue 49 item 12: the Moodle export counts hand-graded points (tests/test_hand.py's
    test_every_export_counts_hand_grades, and the service's export), as the reference now says."""
    text = " ".join((ROOT / "docs" / "formats.md").read_text(encoding="utf-8").split())
    assert "hand-graded points are entered in the LMS" not in text
    assert "The grade is the report's points, hand-graded ones included" in text
    ci = " ".join((ROOT / "docs" / "ci.md").read_text(encoding="utf-8").split())
    assert "The exported grade is the auto-graded points" not in ci
    assert "exported grade is the report's points, hand-graded ones included" in ci


def test_a_questions_own_parameters_validate_against_the_schema(tmp_path: Path) -> None:
    """grader reads ``parameters:`` and ``where:`` on a question (with parts, or a question
    that is itself one part): the schema an editor reads accepts them too."""
    text = (
        "assignment: t\n"
        "parameters: {a: {integer: [1, 3]}}\n"
        "questions:\n"
        "  - {id: q1, type: number, parameters: {b: {integer: [1, 3]}}, where: ['b != a'], answer: 'a + b'}\n"
        "  - id: q2\n"
        "    parameters: {c: {choice: [2, 3]}}\n"
        "    parts:\n"
        "      - {id: a, type: number, answer: 'a*c'}\n"
    )
    path = tmp_path / "set.yaml"
    path.write_text(text, encoding="utf-8")
    load_problem_set(path)  # grader reads it
    schema = json.loads((SCHEMAS / "problem-set.json").read_text())
    assert [e.message for e in Validator(schema).iter_errors(read_yaml(path))] == []
