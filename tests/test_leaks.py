"""The key never leaks: no view a student receives of a wrong answer's verdict holds the
reference answer, in any spelling (issue 45, "Done when").

Walks every answer type's feedback for a wrong answer of each shipped part (its listed
mistakes, the shipped submissions' answers and a plain wrong answer of its type) and of
every test table (tests/cases/*.yaml), through every view: the API's JSON, the student's
page and ``/check``, before and after the release. Over real HTTP: tests/test_leaks_http.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from code_support import skip_unless_code_runs
from leaks_support import STUDENT_FORMATS, graded, leaks, one_part_set, own_texts, spellings, student_views

from grader.core.report import PartResult
from grader.core.verdict import Status
from grader.core.yamlio import load_with_positions
from grader.loading import load_problem_set, load_submission
from grader.spec import ProblemSet

ROOT = Path(__file__).parent.parent
CASES = Path(__file__).parent / "cases"
NOT_WRONG = {"correct", "missing", "manual"}


def _table_cases() -> list[Any]:
    params = []
    for path in sorted(CASES.glob("*.yaml")):
        groups, _ = load_with_positions(path.read_text(encoding="utf-8"))
        for group in groups:
            for test in group["tests"]:
                if test["status"] not in NOT_WRONG:
                    test_id = f"{path.stem}: {group['description']}: {test['description']}"
                    params.append(pytest.param(group["spec"], test["answer"], id=test_id))
    return params


def _assert_no_leak(
    spec: ProblemSet, part_id: str, answer: Any, formats: tuple[str, ...] = ()
) -> PartResult | None:
    report, submission = graded(spec, {part_id: answer})
    result = next(r for r in report.parts if r.id == part_id)
    report.parts = [result]  # the views of this part alone (another part's id or prompt is no leak)
    if result.status.value in NOT_WRONG:
        return None
    question, part = next((q, p) for address, q, p in spec.iter_parts() if address == part_id)
    views = student_views(spec, report, submission, formats)
    public = own_texts(part, result, answer) + f"\n{question.prompt or ''}"
    found = leaks(views, spellings(part, result), public)
    assert not found, f"{result.status}: {result.feedback!r} leaks the reference:\n" + "\n".join(found)
    return result


@pytest.mark.parametrize(("part_spec", "answer"), _table_cases())
def test_table_answer_leaks_nothing(part_spec: dict[str, Any], answer: Any) -> None:
    skip_unless_code_runs(part_spec)
    _assert_no_leak(one_part_set(part_spec), "q.p", answer)


def _shipped_parts() -> list[Any]:
    params = []
    for path in sorted((ROOT / "problems").glob("*.yaml")):
        spec = load_problem_set(path)
        for address, _, part in spec.iter_parts():
            if part.type != "text":
                params.append(pytest.param(path, address, id=f"{path.stem}: {address}"))
    return params


def _wrong_answers(path: Path, spec: ProblemSet, address: str) -> list[Any]:
    """The part's listed mistakes, the shipped submissions' answers, and plain wrong answers."""
    part = next(p for a, _, p in spec.iter_parts() if a == address)
    answers = [mistake.answer for mistake in part.mistakes]
    for folder in sorted((ROOT / "submissions" / path.stem).iterdir()):
        if folder.is_dir():
            given = load_submission(folder).matched_to([address]).answers.get(address)
            if given is not None:
                answers.append(given)
    return answers + _plain_wrong(part)


def _plain_wrong(part: Any) -> list[Any]:
    """Answers of the part's type that no reference of the library takes as right."""
    symbol = next(iter(getattr(part, "symbols", None) or ("n",)))
    fields = part.answer if isinstance(part.answer, dict) else {}
    chosen = part.answer if isinstance(part.answer, list | tuple) else [part.answer]
    formulas = [{f: "0" for f in fields}, {f: "1" for f in fields}] if fields else ["0", "1", "x + 1"]
    plain: dict[str, Any] = {
        "complexity": lambda: ["Theta(1)", f"Theta({symbol}^9)", f"O({symbol})", f"Omega(2^{symbol})"],
        "number": lambda: formulas,
        "expression": lambda: formulas,
        "array": lambda: [[0 for _ in part.answer]] if isinstance(part.answer, list) else [],
        "shape": lambda: ["1 x 1", "2 x 3 x 4"],
        "interval": lambda: ["[0, 1]", "(-1, 5)"],
        "choice": lambda: [key for key in part.options if key not in set(chosen)][:2],
        "constraint": lambda: [{f: 1 for f in fields}, {f: 2 for f in fields}],
        "network": lambda: [
            "impossible" if part.answer != "impossible" else {n: _ones(s) for n, s in part.params.items()}
        ],
        "code": lambda: [f"{part.signature.strip()}\n    return None\n"] if part.signature else [],
    }
    return plain[part.type]() if part.type in plain else []


def _ones(shape: Any) -> Any:
    """Weights of ones in the part's shape (a size's name taken as 2)."""
    dims = [shape] if isinstance(shape, int | str) else list(shape)
    if not dims:
        return 1
    size = dims[0] if isinstance(dims[0], int) else 2
    return [_ones(dims[1:]) if dims[1:] else 1 for _ in range(size)]


@pytest.mark.parametrize(("path", "address"), _shipped_parts())
def test_shipped_part_leaks_nothing(path: Path, address: str) -> None:
    spec = load_problem_set(path)
    part = next(p for a, _, p in spec.iter_parts() if a == address)
    skip_unless_code_runs({"type": part.type, "framework": getattr(part, "framework", None)})
    checked = [_assert_no_leak(spec, address, answer) for answer in _wrong_answers(path, spec, address)]
    wrong = [r for r in checked if r is not None and r.status is not Status.INVALID]
    assert wrong, f"no wrong answer of {address} was graded: add one to _plain_wrong"


# ---- a constraint's conditions in every format (issue 60 item 3) ------------------------------


def _constraint_cases() -> list[Any]:
    table = [case for case in _table_cases() if case.values[0]["type"] == "constraint"]
    shipped = [
        pytest.param(load_problem_set(path).model_dump(), address, id=f"{path.stem}: {address}")
        for path in sorted((ROOT / "problems").glob("*.yaml"))
        for address, _, part in load_problem_set(path).iter_parts()
        if part.type == "constraint"
    ]
    assert table and shipped
    return table + [pytest.param({"shipped": case.values}, None, id=case.id) for case in shipped]


@pytest.mark.parametrize(("part_spec", "answer"), _constraint_cases())
def test_a_constraint_never_shows_its_condition_in_any_format(part_spec: dict[str, Any], answer: Any) -> None:
    """GitHub annotations, JUnit, Gradescope, JSON, Markdown, HTML and the table, besides the
    API, the page and /check: what is wrong with the answer, never the TA's condition."""
    if "shipped" not in part_spec:
        _assert_no_leak(one_part_set(part_spec), "q.p", answer, STUDENT_FORMATS)
        return
    data, address = part_spec["shipped"]
    spec = ProblemSet.model_validate(data)
    part = next(p for a, _, p in spec.iter_parts() if a == address)
    for wrong in [*(m.answer for m in part.mistakes), *_plain_wrong(part)]:
        _assert_no_leak(spec, address, wrong, STUDENT_FORMATS)
