"""A bad problem file fails with the file, the line and what is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.loading import ProblemFileError, load_problem_set, parse_problem_set
from grader.selftest import validate_problem_set

GOOD_PART = "    type: number\n    answer: 3\n"


def _error(text: str) -> ProblemFileError:
    with pytest.raises(ProblemFileError) as caught:
        parse_problem_set(text, "a1.yaml")
    return caught.value


def test_yaml_that_is_not_a_mapping() -> None:
    error = _error("- just\n- a list\n")
    assert "a1.yaml:1:1" in error.render()
    assert "mapping" in error.render()


def test_empty_file() -> None:
    assert "empty" in _error("").render()


def test_syntax_error_names_the_line() -> None:
    error = _error("assignment: a1\nquestions: [\n  {id: q1\n")
    assert error.problems[0].line is not None
    assert "not valid YAML" in error.render()


def test_typo_in_a_key_names_its_line() -> None:
    text = "assignment: a1\nquestions:\n  - id: q1\n    type: number\n    answr: 3\n"
    rendered = _error(text).render()
    assert "a1.yaml:5:" in rendered
    assert "answr" in rendered and "unknown key" in rendered


def test_part_without_answer() -> None:
    text = "assignment: a1\nquestions:\n  - id: q1\n    parts:\n      - id: a\n        type: number\n"
    rendered = _error(text).render()
    assert "answer" in rendered and "required" in rendered
    assert "a1.yaml:5:" in rendered


def test_duplicate_part_ids() -> None:
    text = (
        "assignment: a1\nquestions:\n  - id: q1\n    parts:\n"
        "      - {id: a, type: number, answer: 1}\n      - {id: a, type: number, answer: 2}\n"
    )
    assert "duplicate part id 'a'" in _error(text).render()


def test_duplicate_yaml_keys() -> None:
    text = "assignment: a1\nquestions:\n  - id: q1\n    type: number\n    answer: 3\n    answer: 4\n"
    rendered = _error(text).render()
    assert "duplicate key 'answer'" in rendered and "a1.yaml:6:" in rendered


def test_negative_points() -> None:
    text = "assignment: a1\nquestions:\n  - id: q1\n    points: -2\n" + GOOD_PART
    rendered = _error(text).render()
    assert "points" in rendered and "a1.yaml:4:" in rendered


def test_unknown_type() -> None:
    text = "assignment: a1\nquestions:\n  - id: q1\n    type: matrix\n    answer: 3\n"
    assert "unknown type 'matrix'" in _error(text).render()


def test_bad_assignment_id() -> None:
    assert "assignment" in _error("assignment: A 1\nquestions: []\n").render()


def test_choice_answer_not_among_options() -> None:
    text = "assignment: a1\nquestions:\n  - id: q1\n    type: choice\n    options: {A: x}\n    answer: B\n"
    assert "not among the options" in _error(text).render()


def test_yaml_11_surprises_read_as_the_ta_meant() -> None:
    text = (
        "assignment: a1\ndefaults: {rtol: 1e-3}\nquestions:\n"
        "  - id: 2a\n    type: choice\n    options: {yes: 'yes', no: 'no'}\n    answer: no\n"
        "  - id: 1\n    type: number\n    answer: 3\n"
    )
    spec = parse_problem_set(text)
    (_, q2a, choice), (_, q1, number) = spec.iter_parts()
    assert choice.answer == "no" and set(choice.options) == {"yes", "no"}
    assert choice.rtol == pytest.approx(1e-3) and number.rtol == pytest.approx(1e-3)
    assert (q2a.id, q1.id) == ("2a", "1")


def test_defaults_are_inherited_unless_overridden() -> None:
    text = (
        "assignment: a1\ndefaults: {atol: 0.5, points: 3}\nquestions:\n"
        "  - id: q1\n    parts:\n      - {id: a, type: number, answer: 1}\n"
        "      - {id: b, type: number, answer: 1, atol: 0.1, points: 1}\n"
    )
    (_, _, a), (_, _, b) = parse_problem_set(text).iter_parts()
    assert (a.atol, a.points, b.atol, b.points) == (0.5, 3, 0.1, 1)


def test_binary_file(tmp_path: Path) -> None:
    path = tmp_path / "a1.yaml"
    path.write_bytes(b"assignment: a1\x00\x01\x02")
    with pytest.raises(ProblemFileError, match="binary"):
        load_problem_set(path)


def test_non_utf8_file(tmp_path: Path) -> None:
    path = tmp_path / "a1.yaml"
    path.write_bytes("assignment: a1\ntitle: caf\u00e9\n".encode("latin-1"))
    with pytest.raises(ProblemFileError, match=r"UTF-8.*line 2"):
        load_problem_set(path)


@pytest.mark.parametrize("path", sorted(Path("problems").glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_problem_sets_load(path: Path) -> None:
    assert load_problem_set(path).questions


# ---- every numeric setting has a sane range, and a file that validates can be graded ----

# (the part as written in a one-part question, line and column of the mistake, what is said)
REFUSED_PARTS = [
    (
        "type: number\ntime_limit: 1e300\nanswer: 3",
        (5, 17),
        "time_limit: Input should be less than or equal to 600",
    ),
    ("type: number\ntime_limit: .nan\nanswer: 3", (5, 17), "time_limit: Input should be a finite number"),
    ("type: number\nrtol: 2\nanswer: 3", (5, 11), "rtol: Input should be less than or equal to 1"),
    ("type: number\natol: .inf\nanswer: 3", (5, 11), "atol: Input should be a finite number"),
    (
        "type: number\npoints: 1e300\nanswer: 3",
        (5, 13),
        "points: Input should be less than or equal to 10000",
    ),
    (
        "type: number\nanswer: 3\nmistakes: [{answer: 4, feedback: x, score: 2}]",
        (6, 48),
        "mistakes[0].score: Input should be less than or equal to 1",
    ),
    ("type: expression\narrays: {W: [m, m]}\nanswer: W", (5, 13), "array W: dimension m is not declared"),
    ("type: expression\narrays: {W: [0, 2]}\nanswer: W", (5, 17), "a dimension is from 1 to 64, not 0"),
    ("type: expression\nsymbols: {x: {interval: [1, 0]}}\nanswer: x", (5, 18), "interval [1, 0] is empty"),
    (
        "type: expression\nsymbols: {n: {integer: true, min: 5, max: 1}}\nanswer: n",
        (5, 18),
        "min 5 is above max 1",
    ),
    (
        "type: expression\nsymbols: {n: {integer: true, interval: [0, 1]}}\nanswer: n",
        (5, 18),
        "holds no integer",
    ),
    ("type: expression\nsymbols: {x: {positive: true, max: -1}}\nanswer: x", (5, 18), "is empty"),
    ("type: expression\nsymbols: {x: {max: 1e300}}\nanswer: x", (5, 24), "past the limit of ±1e+12"),
    ("type: expression\nsymbols: {x: real}\nconstants: {c: .nan}\nanswer: x", (6, 20), "finite number"),
    (
        "type: network\nparams: {w0: [1000000000]}\nmodel: w0 . x\ntarget: x\nanswer: {w0: [1]}",
        (5, 18),
        "a dimension is from 1 to 100,000, not 1,000,000,000",
    ),
    (
        "type: network\nparams: {W: [10000, 10000]}\nmodel: sum(W x)\ntarget: x\nanswer: {W: [[1]]}",
        (5, 17),
        "100,000,000 entries is past the limit of 1,000,000",
    ),
    (
        "type: network\nparams: {w0: [1]}\nmodel: w0 . x\ntarget: x\ndomain: [1, 0]\nmode: approx\n"
        "epsilon: 0.1\nanswer: {w0: [1]}",
        (8, 13),
        "domain: [1, 0] is empty",
    ),
    (
        "type: network\nparams: {w0: [1]}\nmodel: w0 . x\ntarget: x\ndomain: [0, 1]\nmode: approx\n"
        "epsilon: 1e300\nanswer: {w0: [1]}",
        (10, 14),
        "epsilon: Input should be less than or equal to 1000000000000",
    ),
]


@pytest.mark.parametrize(("part", "where", "says"), REFUSED_PARTS, ids=[p[2][:40] for p in REFUSED_PARTS])
def test_a_setting_out_of_range_is_refused_where_it_is_written(
    part: str, where: tuple[int, int], says: str
) -> None:
    text = "assignment: a1\nquestions:\n  - id: q1\n" + "".join(f"    {line}\n" for line in part.splitlines())
    error = _error(text)
    assert any((p.line, p.column) == where and says in p.message for p in error.problems), error.render()
    assert "internal error" not in error.render()


def test_defaults_are_range_checked_too() -> None:
    text = (
        "assignment: a1\ndefaults: {time_limit: 1e300}\nquestions:\n  - {id: q1, type: number, answer: 3}\n"
    )
    assert "a1.yaml:2:24: defaults.time_limit" in _error(text).render()


def test_a_declared_dimension_and_an_open_interval_are_fine() -> None:
    text = (
        "assignment: a1\nquestions:\n  - id: q1\n    type: expression\n"
        "    symbols: {n: {integer: true, min: 2, max: 5}, t: {interval: [0, .inf]}}\n"
        "    arrays: {W: [n, n], x: [n]}\n    answer: t W x\n"
    )
    (_, _, part) = parse_problem_set(text).iter_parts()[0]
    assert part.arrays == {"W": ("n", "n"), "x": ("n",)}


@pytest.mark.parametrize(
    ("text", "says"),
    [
        (
            "assignment: a1\nquestions: " + "[" * 5000 + "]" * 5000 + "\n",
            "a1.yaml:2:75: nested deeper than 64 levels",
        ),
        ("assignment: &a [*a]\nquestions: []\n", "a1.yaml:1:17: alias *a is inside the value it names"),
        (
            "assignment: a1\nquestions:\n  - {id: q, type: number, answer: "
            "!!python/object/apply:os.system []}\n",
            "a1.yaml:3:35: the YAML tag !!python/object/apply:os.system is not accepted",
        ),
        (
            "assignment: a1\nquestions:\n  - {id: q1, type: number, points: " + "9" * 5000 + ", answer: 3}\n",
            "points",
        ),
    ],
    ids=["deep", "self-alias", "python-tag", "huge-integer"],
)
def test_hostile_yaml_in_a_problem_file(text: str, says: str) -> None:
    assert says in _error(text).render()


def test_utf16_problem_file(tmp_path: Path) -> None:
    path = tmp_path / "a1.yaml"
    path.write_bytes("assignment: a1\n".encode("utf-16"))
    with pytest.raises(ProblemFileError, match="UTF-16"):
        load_problem_set(path)


@pytest.mark.parametrize(
    ("part", "says"),
    [
        (
            "type: constraint\n    fields: [k]\n    require: ['k >= ']\n    answer: {k: 1}",
            "q1: this part cannot be graded: require 'k >= ' cannot be read",
        ),
        (
            "type: complexity\n    symbols: [n]\n    answer: Theta(m^2)",
            "q1: this part cannot be graded: reference answer 'Theta(m^2)': unknown symbol 'm'",
        ),
        (
            "type: constraint\n    fields: [k, s]\n    given: {s: 'abs(2^{999})^{20}'}\n"
            "    require: ['k*s >= 1']\n    answer: {k: 1}",
            "this number is too large to grade: about 10^6015",
        ),
    ],
    ids=["require", "complexity-symbol", "given-too-large"],
)
def test_a_definition_only_grading_can_find_wrong_is_named_not_an_internal_error(
    part: str, says: str
) -> None:
    spec = parse_problem_set(f"assignment: a1\nquestions:\n  - id: q1\n    {part}\n")
    problems = validate_problem_set(spec)
    assert any(says in problem for problem in problems), problems
    assert not any("internal error" in problem for problem in problems)


@pytest.mark.parametrize(
    ("part", "expected"),
    [
        ("      - {id: a, answer: 3}\n", "a1.yaml:5:9: questions[0].parts[0]: every part needs a 'type'"),
        ("      - {id: a, type: [number], answer: 3}\n", "unknown type ['number']; use one of"),
        ("      - just a string\n", "questions[0].parts[0]: Input should be a valid dictionary or object"),
        (
            "      - {id: a, type: number, answr: 3}\n",
            "a1.yaml:5:38: questions[0].parts[0].answr: unknown key",
        ),
    ],
)
def test_a_part_is_read_as_the_type_it_names(part: str, expected: str) -> None:
    """Each part is read by the model of its own type only (grader.spec), with the errors of a
    union tagged by ``type``: a missing, unknown or unreadable type, a key of no type."""
    text = "assignment: a1\nquestions:\n  - id: q1\n    parts:\n" + part
    assert expected in _error(text).render()


def test_reading_a_problem_set_builds_only_the_part_models_of_its_types() -> None:
    """Start-up (issue 27): the part models build their validators on first use, so a problem
    set of number parts builds the number part's, and no other type's."""
    import subprocess
    import sys

    probe = (
        "from grader.loading import parse_problem_set\nfrom grader.types import ANSWER_TYPES\n"
        "parse_problem_set('assignment: a1\\nquestions:\\n  - {id: q1, type: number, answer: 3}\\n')\n"
        "print(sorted(n for n, t in ANSWER_TYPES.items() if t.part.__pydantic_complete__))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "['number']"
