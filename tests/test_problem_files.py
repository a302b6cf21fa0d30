"""A bad problem file fails with the file, the line and what is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.loading import ProblemFileError, load_problem_set, parse_problem_set

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
