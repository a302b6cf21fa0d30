"""Problem sets with parameters: reading, drawing a variant per student, grading each student
against their own variant (CLI, ``grader check``, the store), templates and ``grader validate``."""

from __future__ import annotations

import copy
import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from chromium import Chromium, chromium_path
from click.testing import CliRunner
from pydantic import TypeAdapter

from grader.cli import main
from grader.core.submission import Submission
from grader.engine import TEMPLATE_NOT_GRADED, grade
from grader.loading import ProblemFileError, parse_problem_set
from grader.spec import ProblemSet
from grader.variants import Domain, VariantError, _pick

CASES = Path(__file__).parent / "cases" / "variants"
KEY = "course-secret"


def _read(problem: dict[str, Any]) -> ProblemSet:
    return parse_problem_set(yaml.safe_dump(problem))


def _field(model: Any, path: str) -> Any:
    value = model.model_dump()
    for step in path.split("."):
        value = value[int(step)] if isinstance(value, (list, tuple)) else value[step]
    return value


def _reading_cases() -> list[Any]:
    cases = yaml.safe_load((CASES / "reading.yaml").read_text(encoding="utf-8"))
    return [pytest.param(case, id=case["description"]) for case in cases]


@pytest.mark.parametrize("case", _reading_cases())
def test_reading(case: dict[str, Any]) -> None:
    problem = copy.deepcopy(case["problem"])
    if "variant" not in case:
        with pytest.raises(ProblemFileError) as refused:
            _read(problem)
        assert case["error"] in str(refused.value)
        return
    spec = _read(problem)
    assert spec.is_template()
    block = spec.parameter_block()
    if "error" in case:
        with pytest.raises((VariantError, ValueError)) as refused:
            spec.for_variant(block.variant_of(case["variant"]))
        assert case["error"] in str(refused.value)
        return
    own = spec.for_variant(block.variant_of(case["variant"]))
    assert not own.is_template()
    parts = {address: part for address, _, part in own.iter_parts()}
    for address, fields in case["parts"].items():
        for path, expected in fields.items():
            got = _field(parts[address], path)
            expected = tuple(expected) if isinstance(got, tuple) and isinstance(expected, list) else expected
            assert got == expected or str(got) == str(expected), (address, path, got)


SET = {
    "assignment": "hw-var",
    "parameters": {"a": {"integer": [2, 9]}, "b": {"choice": ["1/2", "1/3", "2/3"]}},
    "where": ["a != 5"],
    "questions": [
        {
            "id": "q1",
            "type": "expression",
            "prompt": "Write {a} x + {b}.",
            "symbols": {"x": "real"},
            "answer": "a*x + b",
        },
        {"id": "q2", "type": "number", "prompt": "What is {a} squared?", "answer": "a^2"},
    ],
}


def test_a_student_draws_the_same_variant_every_time_and_keys_draw_apart() -> None:
    block = _read(SET).parameter_block()
    students = [f"s{n:07d}" for n in range(200)]
    drawn = [block.draw(KEY.encode(), "hw-var", s).id for s in students]
    assert drawn == [block.draw(KEY.encode(), "hw-var", s).id for s in students]
    assert len(set(drawn)) > 10  # 21 variants: students spread over them
    other_key = [block.draw(b"another", "hw-var", s).id for s in students]
    other_set = [block.draw(KEY.encode(), "hw-other", s).id for s in students]
    assert sum(a != b for a, b in zip(drawn, other_key, strict=True)) > 100
    assert sum(a != b for a, b in zip(drawn, other_set, strict=True)) > 100
    assert all("a=5," not in v for v in drawn)  # the where holds


def test_a_drawn_variant_of_a_large_domain_meets_its_constraints() -> None:
    problem = {**SET, "parameters": {"a": {"integer": [1, 100000]}, "b": {"integer": [1, 100000]}}}
    block = _read({**problem, "where": ["a < b"]}).parameter_block()
    assert not block.enumerable()
    for n in range(50):
        values = block.draw(b"k", "hw", f"s{n}").values
        assert values["a"] < values["b"]


@pytest.mark.parametrize(
    "domain",
    [
        {"integer": [-3, 4]},
        {"integer": [1, 100000]},
        {"choice": ["1/2", "1/3", "2/3"]},
        {"rational": {"numerator": [1, 5], "denominator": [2, 6]}},
        {"symbol": ["n", "m", "k"]},
    ],
)
def test_a_draw_picks_the_value_the_domains_list_has_at_its_index(domain: dict[str, Any]) -> None:
    """A draw reads an integer range without building it: the same value, and the same rest
    of the stream, as indexing the domain's whole list of values (students keep their variants)."""
    parsed = TypeAdapter(Domain).validate_python(domain)
    listed = parsed.values()
    for stream in [-1, 0, 1, 7, len(listed) - 1, len(listed), 10**12 + 3, 2**255 - 19]:
        assert _pick(parsed, stream) == (listed[stream % len(listed)], stream // len(listed))


def test_a_ta_pins_a_students_variant() -> None:
    spec = _read({**SET, "pinned": {"s1234567": {"a": 9, "b": "2/3"}}})
    assert spec.for_student("s1234567", b"any key").variant.id == "a=9,b=2/3"  # type: ignore[union-attr]


def test_the_set_as_written_is_never_graded() -> None:
    spec = _read(SET)
    submission = Submission(student="s1", folder="s1", answers={"q1": "2*x + 1/2", "q2": "4"})
    report = grade(spec, submission)
    assert [p.status.value for p in report.parts] == ["error", "error"]
    assert report.parts[0].feedback == TEMPLATE_NOT_GRADED


def _invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def _own_answers(spec: ProblemSet, student: str) -> dict[str, str]:
    own = spec.for_student(student, KEY.encode())
    parts = {address: part for address, _, part in own.iter_parts()}
    return {"q1": str(parts["q1"].answer), "q2": str(parts["q2"].answer)}


@pytest.fixture
def course(tmp_path: Path) -> Path:
    (tmp_path / "set.yaml").write_text(yaml.safe_dump(SET), encoding="utf-8")
    spec = _read(SET)
    students = ["s1234567", "s7654321", "s1111111"]
    (tmp_path / "roster.csv").write_text("student,name\n" + "".join(f"{s},N\n" for s in students))
    for student in students:
        (tmp_path / "class" / student).mkdir(parents=True)
    variants = {s: spec.for_student(s, KEY.encode()).variant.id for s in students}  # type: ignore[union-attr]
    assert len(set(variants.values())) == 3, variants
    # s1234567 and s7654321 answer their own variant; s1111111 copies s1234567's answers.
    for student, source in (("s1234567", "s1234567"), ("s7654321", "s7654321"), ("s1111111", "s1234567")):
        answers = {"answers": _own_answers(spec, source)}
        (tmp_path / "class" / student / "answers.yaml").write_text(yaml.safe_dump(answers))
    return tmp_path


def test_grade_grades_each_student_against_their_own_variant(course: Path) -> None:
    out = course / "out"
    code, _, err = _invoke(
        "grade", str(course / "class"), "-p", str(course / "set.yaml"), "--variant-key", KEY, "-o", str(out)
    )
    assert code == 0, err
    rows = {row["student"]: row for row in csv.DictReader(io.StringIO((out / "grades.csv").read_text()))}
    assert rows["s1234567"]["total"] == "2"
    assert rows["s7654321"]["total"] == "2"
    assert rows["s1111111"]["total"] == "0"  # a peer's numbers are wrong for this student
    report = json.loads((out / "s1234567.json").read_text())
    spec = _read(SET)
    assert report["variant"] == spec.for_student("s1234567", KEY.encode()).variant.id  # type: ignore[union-attr]
    # An unchanged re-run takes every sheet from the store.
    code, _, err = _invoke(
        "grade", str(course / "class"), "-p", str(course / "set.yaml"), "--variant-key", KEY, "-o", str(out)
    )
    assert code == 0 and "0 graded, 3 unchanged from the store" in err, err
    # Another key draws other variants: nothing is taken from the store.
    code, _, err = _invoke(
        "grade",
        str(course / "class"),
        "-p",
        str(course / "set.yaml"),
        "--variant-key",
        "other",
        "-o",
        str(out),
    )
    assert "3 graded, 0 unchanged" in err, err


def test_grade_without_the_key_is_refused(course: Path) -> None:
    code, _, err = _invoke("grade", str(course / "class"), "-p", str(course / "set.yaml"))
    assert code == 2 and "--variant-key or GRADER_VARIANT_KEY" in err


def test_check_reads_against_the_students_variant(course: Path) -> None:
    visible = {**SET, "questions": [{**q, "visible": True} for q in SET["questions"]]}
    (course / "visible.yaml").write_text(yaml.safe_dump(visible))
    own = course / "class" / "s1234567"
    code, out, err = _invoke("check", str(own), "-p", str(course / "visible.yaml"), "--variant-key", KEY)
    assert code == 0, err
    assert out.count("correct") >= 2 and "incorrect" not in out, out
    copied = course / "class" / "s1111111"
    code, out, _ = _invoke("check", str(copied), "-p", str(course / "visible.yaml"), "--variant-key", KEY)
    assert "incorrect" in out, out


def test_the_store_keeps_each_variants_verdicts_apart() -> None:
    from grader.batch.worker import part_digest

    spec = _read(SET)
    block = spec.parameter_block()
    one = spec.for_variant(block.variant_of({"a": 2, "b": "1/2"})).iter_parts()[1][2]
    other = spec.for_variant(block.variant_of({"a": 3, "b": "1/2"})).iter_parts()[1][2]
    again = spec.for_variant(block.variant_of({"a": 2, "b": "1/3"})).iter_parts()[1][2]
    assert part_digest(one, "v") != part_digest(other, "v")
    assert part_digest(one, "v") == part_digest(again, "v")  # q2 does not use b: one verdict serves both


def test_variants_lists_each_students_variant(course: Path) -> None:
    code, out, err = _invoke(
        "variants",
        "-p",
        str(course / "set.yaml"),
        "--students",
        str(course / "roster.csv"),
        "--variant-key",
        KEY,
    )
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    spec = _read(SET)
    assert [r["student"] for r in rows] == ["s1234567", "s7654321", "s1111111"]
    for row in rows:
        assert row["variant"] == spec.for_student(row["student"], KEY.encode()).variant.id  # type: ignore[union-attr]
        assert row["variant"] == f"a={row['a']},b={row['b']}"


@pytest.mark.parametrize("fmt", ["yaml", "latex", "markdown", "ipynb"])
def test_a_template_per_student_in_every_format(course: Path, fmt: str) -> None:
    spec = _read(SET)
    own = spec.for_student("s1234567", KEY.encode())
    a = own.variant.values["a"]  # type: ignore[union-attr]
    code, out, err = _invoke(
        "template", "-p", str(course / "set.yaml"), "-f", fmt, "--student", "s1234567", "--variant-key", KEY
    )
    assert code == 0, err
    assert f"What is {a} squared?" in out
    assert "{a}" not in out and "{b}" not in out
    assert str(a * a) not in out.replace(f"{a} squared", "")  # the reference is not in it
    code, generic, _ = _invoke("template", "-p", str(course / "set.yaml"), "-f", fmt)
    assert "What is {a} squared?" in generic or r"What is \{a\} squared?" in generic  # as written


def test_a_student_template_needs_the_key(course: Path) -> None:
    code, _, err = _invoke("template", "-p", str(course / "set.yaml"), "--student", "s1")
    assert code == 2 and "--variant-key" in err


def _validate_cases() -> list[Any]:
    cases = yaml.safe_load((CASES / "validate.yaml").read_text(encoding="utf-8"))
    return [pytest.param(case, id=case["description"]) for case in cases]


@pytest.mark.parametrize("case", _validate_cases())
def test_validate(case: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "set.yaml"
    path.write_text(yaml.safe_dump(case["problem"]), encoding="utf-8")
    code, out, err = _invoke("validate", str(path))
    assert code == case.get("exit", 2 if case.get("failing") else 0), out + err
    for variant_id, reasons in (case.get("failing") or {}).items():
        for reason in reasons:
            assert f"variant {variant_id}: " in err and reason in err, err
    for passing in case.get("passing", []):
        assert f"variant {passing}:" not in err, err
    for text in case.get("output", []):
        assert text in out + err, out + err


def test_stats_per_parameter_value(course: Path) -> None:
    out = course / "out"
    _invoke(
        "grade", str(course / "class"), "-p", str(course / "set.yaml"), "--variant-key", KEY, "-o", str(out)
    )
    code, text, err = _invoke("stats", str(out), "--json")
    assert code == 0, err
    rows = json.loads(text)[0]["by_parameter"]
    spec = _read(SET)
    a_of = {s: spec.for_student(s, KEY.encode()).variant.values["a"] for s in ("s1234567", "s1111111")}  # type: ignore[union-attr]
    row = next(
        r for r in rows if r["part"] == "q2" and r["parameter"] == "a" and r["value"] == str(a_of["s1111111"])
    )
    assert row["mean_fraction"] < 1  # the student who copied a peer's numbers
    code, table, _ = _invoke("stats", str(out))
    assert "per parameter value" in table


@pytest.mark.skipif(chromium_path() is None, reason="chromium is not installed")
def test_the_class_dashboard_shows_each_part_per_parameter_value(course: Path) -> None:
    out = course / "out"
    args = [
        "grade",
        str(course / "class"),
        "-p",
        str(course / "set.yaml"),
        "--variant-key",
        KEY,
        "-o",
        str(out),
    ]
    for _ in range(2):  # graded, then every row from the store: the same table
        code, _, err = _invoke(*args)
        assert code == 0, err
        with Chromium() as browser:
            page = browser.open(out / "index.html")
            rows = page.evaluate(
                "Array.from(document.querySelectorAll('#parameter-stats tbody tr'))"
                ".map((r) => Array.from(r.cells).map((c) => c.innerText))"
            )
            assert page.errors == []
        spec = _read(SET)
        a_of = {s: spec.for_student(s, KEY.encode()).variant.values["a"] for s in ("s1234567", "s1111111")}  # type: ignore[union-attr]
        assert ["q2", "a", str(a_of["s1234567"]), "1", "100%"] in rows, rows
        assert ["q2", "a", str(a_of["s1111111"]), "1", "0%"] in rows, rows  # a peer's numbers copied


SHIPPED = Path(__file__).parent.parent / "problems" / "variants-relu-conv-softmax.yaml"
SHIPPED_SUBMISSIONS = SHIPPED.parent.parent / "submissions" / "variants-relu-conv-softmax"


def test_the_shipped_set_validates_in_under_ten_seconds() -> None:
    import time

    started = time.process_time()  # CPU time: the suite shares its cores with other work
    code, out, err = _invoke("validate", str(SHIPPED))
    assert code == 0, err
    assert "96 variants certified (every variant)" in out
    assert time.process_time() - started < 10


@pytest.mark.parametrize(
    "key", [["--variant-key", "example-key"], []], ids=["the key", "their pinned variants"]
)
def test_the_shipped_submissions_grade_against_their_own_variants(tmp_path: Path, key: list[str]) -> None:
    # The shipped students' variants are pinned in the file as the key draws them, so the first
    # command of the README (grader grade submissions/ -p problems/) grades them without a key.
    result = CliRunner(env={"GRADER_VARIANT_KEY": None}).invoke(
        main, ["grade", str(SHIPPED_SUBMISSIONS), "-p", str(SHIPPED), *key, "-o", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    totals = {
        r["student"]: r["total"]
        for r in csv.DictReader(io.StringIO((tmp_path / "grades.csv").read_text()))
        if r["student"].startswith("s26")
    }
    assert totals == {
        "s2600001": "10",  # right
        "s2600002": "10",  # right
        "s2600003": "0",  # the listed mistakes
        "s2600004": "0",  # s2600001's right answers, for another variant
        "s2600005": "7",  # right but q2
        "s2600006": "0",
    }
    feedback = json.loads((tmp_path / "s2600003.json").read_text())["parts"][1]["feedback"]
    assert "padding" in feedback  # the listed mistake, recognised in this student's variant


def test_a_class_with_a_student_not_pinned_needs_the_key(tmp_path: Path) -> None:
    import shutil

    shutil.copytree(SHIPPED_SUBMISSIONS, tmp_path / "class")
    shutil.copytree(SHIPPED_SUBMISSIONS / "s2600001", tmp_path / "class" / "s2699999")
    result = CliRunner(env={"GRADER_VARIANT_KEY": None}).invoke(
        main, ["grade", str(tmp_path / "class"), "-p", str(SHIPPED)]
    )
    assert result.exit_code == 2 and "--variant-key or GRADER_VARIANT_KEY" in result.stderr
    pinned = CliRunner(env={"GRADER_VARIANT_KEY": None}).invoke(
        main, ["check", str(SHIPPED_SUBMISSIONS / "s2600003"), "-p", str(SHIPPED)]
    )
    assert pinned.exit_code == 0, pinned.output
    unpinned = CliRunner(env={"GRADER_VARIANT_KEY": None}).invoke(
        main, ["check", str(tmp_path / "class" / "s2699999"), "-p", str(SHIPPED)]
    )
    assert unpinned.exit_code == 2 and "GRADER_VARIANT_KEY" in unpinned.stderr
