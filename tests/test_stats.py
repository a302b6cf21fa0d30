"""Class statistics: shares of verdicts, mean scores, review flags, and wrong answers grouped
by what they mean; ``grader stats`` prints them from a folder of reports."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from grader.cli import main
from grader.core.report import PartResult, Report
from grader.core.verdict import Status
from grader.reporting import stats as stats_module
from grader.reporting.stats import batch_stats, report_from_dict
from grader.types.choice import ChoicePart
from grader.types.expression.part import ExpressionPart


def result(part_id: str, status: str, score: float = 0.0, **extra: Any) -> PartResult:
    extra.setdefault("max_score", 2.0)
    return PartResult(id=part_id, status=Status(status), score=score, **extra)


def class_of(*answers: tuple[str, str | None, str], part_id: str = "d", kind: str = "") -> list[Report]:
    """One report per (status, received, feedback), all answering one part."""
    return [
        Report(
            "a1",
            f"s{i}",
            [
                result(
                    part_id,
                    status,
                    2.0 if status == "correct" else 0.0,
                    received=received,
                    feedback=fb,
                    type=kind,
                )
            ],
        )
        for i, (status, received, fb) in enumerate(answers)
    ]


def groups(reports: list[Report], part: Any = None) -> list[tuple[int, str, tuple[str, ...]]]:
    parts = {"d": part} if part is not None else None
    part_stats = batch_stats(reports, parts).parts[0]
    return [(g.count, g.answer, g.spellings) for g in part_stats.wrong_answers]


def test_shares_and_mean_score_per_part() -> None:
    reports = class_of(
        ("correct", "1", ""),
        ("correct", "1", ""),
        ("incorrect", "2", "no"),
        ("missing", None, "no answer given"),
    )
    part = batch_stats(reports).parts[0]
    assert part.submissions == 4 and part.mean_score == 1.0 and part.mean_fraction == 0.5
    assert part.share(Status.CORRECT) == 0.5
    assert part.share(Status.MISSING) == 0.25
    assert part.share(Status.INVALID) == 0.0
    assert part.counts["incorrect"] == 1


def test_batch_scores_mean_and_median() -> None:
    reports = [Report("a1", name, [result("p", "correct", s)]) for name, s in (("a", 2), ("b", 0), ("c", 1))]
    numbers = batch_stats(reports)
    assert numbers.students == 3 and numbers.scores == (2, 0, 1)
    assert numbers.mean_score == 1.0 and numbers.median_score == 1
    assert numbers.max_score == 2


def test_a_parts_points_possible_are_the_largest_any_sheet_gives_however_its_parts_are_listed() -> None:
    """Rows with the same parts are read a group at a time, their maxima from the distinct tuples
    (a chunk's rows share one): every row still counts."""
    sheets = [
        [result("p", "correct", 2.0), result("q", "incorrect", max_score=3.0)],
        [result("q", "correct", 5.0, max_score=5.0)],
        [result("p", "partial", 1.0, max_score=4.0), result("q", "missing", max_score=3.0)],
        [result("p", "correct", 2.0), result("q", "incorrect", max_score=3.0)],
    ]
    numbers = batch_stats([Report("a1", f"s{i}", parts) for i, parts in enumerate(sheets)])
    by_id = {part.id: part for part in numbers.parts}
    assert by_id["p"].max_score == 4.0 and by_id["q"].max_score == 5.0
    assert by_id["p"].submissions == 3 and by_id["q"].submissions == 4
    assert by_id["q"].mean_score == 5.0 / 4


def test_equal_formulas_are_one_wrong_answer() -> None:
    reports = class_of(
        ("incorrect", r"\sigma(x)(1-\sigma(x))", "at x = 3 your formula gives 0.045"),
        ("incorrect", "sigmoid(x)*(1 - sigmoid(x))", "at x = 3 your formula gives 0.045"),
        ("incorrect", "sigma(x) - sigma(x)^2", "at x = 1 your formula gives 0.19"),
        ("incorrect", r"\sigma(x)(1+\sigma(x))", "at x = 3 your formula gives 1.0"),
        ("correct", "sigma(x)", ""),
    )
    found = groups(reports)
    assert [count for count, _, _ in found] == [3, 1]
    assert found[0][1] == r"\sigma(x)(1-\sigma(x))"  # the most common spelling (first seen on a tie)
    assert set(found[0][2]) == {
        r"\sigma(x)(1-\sigma(x))",
        "sigmoid(x)*(1 - sigmoid(x))",
        "sigma(x) - sigma(x)^2",
    }


def test_meanings_read_by_the_workers_give_the_same_groups_and_no_reading_after(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A class run's workers read each wrong answer's meaning (in parallel) and the rows carry
    it: the groups are those the dashboard makes reading the answers itself, and it reads none."""
    from grader.core.summary import RowMaker
    from grader.reporting.stats import ClassTally, meaning_of

    reports = class_of(
        ("incorrect", r"\sigma(x)(1-\sigma(x))", "at x = 3 your formula gives 0.045"),
        ("incorrect", "sigmoid(x)*(1 - sigmoid(x))", "at x = 3 your formula gives 0.045"),
        ("incorrect", "sigma(x) - sigma(x)^2", "at x = 1 your formula gives 0.19"),
        ("incorrect", r"\sigma(x)(1+\sigma(x))", "at x = 3 your formula gives 1.0"),
        ("partial", "[0, 1/2)", ""),
        ("invalid", "sigma(x", "unreadable"),
        ("correct", "sigma(x)", ""),
    )

    def tally(maker: RowMaker) -> Any:
        classwide = ClassTally()
        for index, report in enumerate(reports):
            classwide.add(index, maker.row(report))
        return classwide

    read_alone = tally(RowMaker()).stats()
    with_meanings = tally(RowMaker(lambda part_id, kind, text: meaning_of(text, None, kind)))

    def no_reading(*args: Any) -> Any:
        raise AssertionError("the dashboard read an answer the workers had read")

    monkeypatch.setattr(stats_module, "read_received", no_reading)
    assert with_meanings.stats() == read_alone
    assert [group.count for group in read_alone.parts[0].wrong_answers] == [1, 3, 1, 1]


def test_groups_keep_the_feedback_and_the_students() -> None:
    reports = class_of(
        ("incorrect", "x^2", "at x = -1 it gives 1"),
        ("partial", "x*x", "close"),
        ("incorrect", "x^3", "at x = 2 it gives 8"),
    )
    numbers = batch_stats(reports)
    first = numbers.parts[0].wrong_answers[0]
    assert first.count == 2 and first.members == (0, 1)
    assert set(first.feedback) == {"at x = -1 it gives 1", "close"}
    assert set(first.statuses) == {"incorrect", "partial"}
    assert first.to_dict(reports)["students"] == ["s0", "s1"]


@pytest.mark.parametrize(
    ("one", "other"),
    [("x^2", "x^3"), ("sqrt(x^2)", "x"), ("1/2x", r"\frac{1}{2}x"), ("log(x)", "log(-x)")],
)
def test_different_formulas_stay_apart(one: str, other: str) -> None:
    reports = class_of(("incorrect", one, ""), ("incorrect", other, ""))
    assert [count for count, _, _ in groups(reports)] == [1, 1]


def test_numbers_are_grouped_by_value() -> None:
    reports = class_of(("incorrect", "131072", ""), ("incorrect", "2^17", ""), ("incorrect", "1.31072e5", ""))
    assert [count for count, _, _ in groups(reports)] == [3]


def test_a_parts_declared_names_are_used_to_read_answers() -> None:
    part = ExpressionPart(type="expression", id="d", answer="n d^2", symbols={"n": {}, "d": {}})
    reports = class_of(("incorrect", "nd", ""), ("incorrect", "n d", ""), ("incorrect", "d*n", ""))
    assert [count for count, _, _ in groups(reports, part)] == [3]


def test_matrix_answers_are_compared_at_the_checkers_points() -> None:
    part = ExpressionPart(
        type="expression",
        id="d",
        answer="diag(S(x)) - S(x) S(x)^T",
        symbols={"n": {"integer": True, "min": 2, "max": 5}},
        arrays={"x": ("n",)},
        functions={"S": "softmax"},
    )
    reports = class_of(
        ("incorrect", r"S(x) S(x)^\top - \text{diag}(S(x))", ""),
        ("incorrect", "-(diag(S(x)) - S(x) S(x)^T)", ""),
        ("incorrect", "diag(S(x))", ""),
    )
    assert [count for count, _, _ in groups(reports, part)] == [2, 1]


def test_text_answers_are_grouped_by_normalised_text() -> None:
    part = ChoicePart(type="choice", id="d", options={"A": "linear", "B": "smooth"}, answer="A")
    reports = class_of(("incorrect", "B", ""), ("incorrect", " b.", ""), ("incorrect", "smooth", ""))
    assert [count for count, _, _ in groups(reports, part)] == [2, 1]


def test_only_the_most_common_answers_are_read_as_formulas(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stats_module, "MAX_READ_ANSWERS", 1)
    reports = class_of(("incorrect", "2^17", ""), ("incorrect", "2^17", ""), ("incorrect", "131072", ""))
    assert [count for count, _, _ in groups(reports)] == [2, 1]  # 131072 was not read: text only


def test_at_most_five_groups_largest_first() -> None:
    reports = class_of(*[("incorrect", f"x^{k}", "") for k in range(2, 10)], ("incorrect", "x^9", ""))
    found = groups(reports)
    assert len(found) == stats_module.MAX_GROUPS and found[0][:2] == (2, "x^9")


def test_many_errors_flag_a_part_for_review() -> None:
    reports = class_of(*[("correct", "1", "")] * 9, ("error", "1", "time limit"))
    assert batch_stats(reports).parts[0].needs_review
    assert not batch_stats(class_of(*[("correct", "1", "")] * 10)).parts[0].needs_review


def test_unreadable_submissions_are_counted() -> None:
    reports = class_of(("missing", None, ""), ("correct", "1", ""))
    reports[0].error = "answers.yaml is not valid YAML"
    assert batch_stats(reports).unreadable == (0,)


def test_a_report_reads_back_from_its_json() -> None:
    report = Report(
        "a1", "alice", [result("d", "partial", 1.0, received="x", feedback="close", type="expression")]
    )
    back = report_from_dict(json.loads(json.dumps(report.to_dict(show_expected=True))))
    assert back.student == "alice" and back.parts[0].status is Status.PARTIAL
    assert back.parts[0].received == "x" and back.score == 1.0
    with pytest.raises(ValueError, match="not a grader report"):
        report_from_dict({"student": "x"})


def test_stats_to_json_has_the_dashboards_numbers() -> None:
    reports = class_of(("incorrect", "x^2", "no"), ("correct", "x", ""))
    data = json.loads(json.dumps(batch_stats(reports).to_dict(reports)))
    part = data["parts"][0]
    assert part["id"] == "d" and part["correct"] == 0.5 and part["mean_score"] == 1.0
    assert part["wrong_answers"][0] == {
        "answer": "x^2",
        "count": 1,
        "students": ["s0"],
        "spellings": ["x^2"],
        "feedback": ["no"],
        "statuses": ["incorrect"],
    }


# ---- grader stats ---------------------------------------------------------------------------


def write_reports(folder: Path, reports: list[Report]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for report in reports:
        (folder / f"{report.student}.json").write_text(json.dumps(report.to_dict()))


def test_grader_stats_prints_a_table_per_assignment(tmp_path: Path) -> None:
    reports = class_of(
        ("incorrect", "sigmoid(x)^2", "at x = 0 it gives 0.25"), ("incorrect", "sigma(x)^2", "")
    )
    write_reports(tmp_path / "a1", reports)
    (tmp_path / "a1" / "notes.json").write_text("[1, 2]")
    run = CliRunner().invoke(main, ["stats", str(tmp_path), "--no-color"])
    assert run.exit_code == 0, run.output
    assert "a1: 2 students" in run.output
    assert "100%" in run.output and "sigmoid(x)^2" in run.output and "at x = 0 it gives 0.25" in run.output


def test_grader_stats_json_for_scripts(tmp_path: Path) -> None:
    write_reports(tmp_path, class_of(("incorrect", "x^2", ""), ("correct", "x", "")))
    run = CliRunner().invoke(main, ["stats", str(tmp_path), "--json"])
    assert run.exit_code == 0, run.output
    data = json.loads(run.stdout)
    assert data[0]["assignment"] == "a1" and data[0]["students"] == 2
    assert data[0]["parts"][0]["wrong_answers"][0]["count"] == 1


def test_grader_stats_on_a_folder_without_reports(tmp_path: Path) -> None:
    run = CliRunner().invoke(main, ["stats", str(tmp_path)])
    assert run.exit_code == 2 and "no grader reports" in run.output


def test_a_formulas_name_does_not_split_a_group() -> None:
    part = ExpressionPart(
        type="expression",
        id="d",
        answer="x*H(x)",
        symbols={"x": "real"},
        functions={"H": "heaviside(x, 1/2)"},
    )
    reports = class_of(("incorrect", "g(x) = x * H(-x)", ""), ("incorrect", "x H(-x)", ""))
    assert [count for count, _, _ in groups(reports, part)] == [2]


def test_intervals_are_grouped_by_their_ends() -> None:
    reports = class_of(
        ("incorrect", "[0, 1/2)", ""), ("incorrect", "[0, 0.5)", ""), ("incorrect", "(0, 0.5]", "")
    )
    assert [count for count, _, _ in groups(reports)] == [2, 1]


@pytest.mark.parametrize("seed", range(40))
def test_the_tally_by_text_gives_the_groups_of_every_answer(seed: int) -> None:
    """The dashboard groups the wrong answers a class run tallied by their text as rows came
    (stats_module.tallied_groups): exactly the groups wrong_answer_groups makes of every
    answer in sheet order, ties, unreadable answers, feedback and merged spellings included."""
    import random

    from grader.reporting.stats import WrongAnswer, tallied_groups, wrong_answer_groups

    rng = random.Random(seed)
    spellings = [f"answer {n}" for n in range(rng.randint(1, 30))]
    feedbacks = ["", "close", "off by one", "a sign", "x"]
    sheets = rng.sample(range(400), rng.randint(1, 200))  # distinct indices, in arrival order
    answers = [
        (
            index,
            WrongAnswer(
                rng.choice([Status.INCORRECT, Status.PARTIAL, Status.INVALID, Status.INCORRECT]),
                rng.choice(spellings[: rng.randint(1, len(spellings))]),
                rng.choice(feedbacks),
            ),
        )
        for index in sheets
    ]
    merge = rng.randint(1, 7)

    def keys(texts: Any, part: Any, type_name: str) -> list[str]:  # spellings merged by meaning
        return [f"k{int(text.split()[1]) % merge}" for text in texts]

    by_text: dict[str, list[tuple[int, WrongAnswer]]] = {}
    invalid = set()
    for index, answer in answers:  # as rows come, in any order
        assert answer.received is not None
        by_text.setdefault(answer.received, []).append((index, answer))
        if answer.status is Status.INVALID:
            invalid.add(answer.received)
    in_order = sorted(answers, key=lambda item: item[0])
    expected = _groups_as_first_written(in_order, keys)
    assert wrong_answer_groups(in_order, None, "expression", keys) == expected
    assert tallied_groups(by_text, invalid, None, "expression", keys) == expected


def _groups_as_first_written(wrong: list[tuple[int, Any]], keys: Any) -> tuple[Any, ...]:
    """The wrong-answer groups as grader made them before the class tally (an oracle)."""
    from collections import Counter

    from grader.reporting.stats import MAX_FEEDBACK, MAX_GROUPS, AnswerGroup

    distinct = [text for text, _ in Counter(r.received for _, r in wrong).most_common()]
    key_of_text = dict(zip(distinct, keys(distinct, None, "expression"), strict=True))
    grouped: dict[str, list[tuple[int, Any]]] = {}
    for index, result in wrong:
        grouped.setdefault(key_of_text[result.received], []).append((index, result))
    ordered = sorted(grouped.values(), key=lambda members: (-len(members), members[0][0]))
    unreadable = [m for m in ordered if any(r.status is Status.INVALID for _, r in m)]
    readable = [m for m in ordered if not any(r.status is Status.INVALID for _, r in m)]
    groups = []
    for members in unreadable[:MAX_GROUPS] + readable[:MAX_GROUPS]:
        spellings = Counter(r.received or "" for _, r in members).most_common()
        feedback = Counter(r.feedback for _, r in members if r.feedback).most_common(MAX_FEEDBACK)
        statuses = Counter(r.status.value for _, r in members).most_common()
        groups.append(
            AnswerGroup(
                answer=spellings[0][0],
                count=len(members),
                members=tuple(i for i, _ in members),
                spellings=tuple(text for text, _ in spellings),
                feedback=tuple(text for text, _ in feedback),
                statuses=tuple(status for status, _ in statuses),
            )
        )
    return tuple(groups)


def _random_class(rng: Any) -> list[Report]:
    """A random class: parts listed in varying orders and sets, hand grades and overrides,
    missing, unreadable and error answers, whole-sheet errors, students of the same name."""
    from grader.core.report import HandMark

    statuses = ["correct", "partial", "incorrect", "missing", "invalid", "error", "manual"]
    layouts = [["p", "q", "r"], ["q", "p"], ["r", "p", "q", "s"], []]
    reports = []
    for number in range(rng.randint(1, 120)):
        parts = []
        for part_id in rng.choice(layouts):
            status = rng.choice(statuses)
            top = rng.choice([2.0, 3.0, 2.5, 1e-3])
            hand = None
            if rng.random() < 0.15:
                auto = rng.choice([None, Status.INVALID, Status.INCORRECT])
                hand = HandMark("ta", 1.0, auto_status=auto, stale=rng.random() < 0.5)
            score = rng.choice([0.0, 0.1, 1 / 3, top])
            wrong = f"x + {rng.randint(0, 4)}" if status in ("incorrect", "invalid", "partial") else None
            feedback = rng.choice(["", "close", "a sign", "close"])
            parts.append(
                result(part_id, status, score, max_score=top, received=wrong, hand=hand, feedback=feedback)
            )
        error = "could not read answers.yaml" if not parts and rng.random() < 0.5 else None
        reports.append(Report("a1", f"s{rng.randint(0, number)}", parts, error=error))
    return reports


def _columns_of_every_row(reports: list[Report]) -> list[tuple[str, float, int, float, dict[str, int]]]:
    """Each part's points possible, answers, mean and counts, read from every report in order (an
    oracle of the columns the class tally keeps as rows come)."""
    import math

    seen: dict[str, list[PartResult]] = {}
    for report in reports:
        for part in report.parts:
            seen.setdefault(part.id, []).append(part)
    return [
        (
            part_id,
            max(p.max_score for p in parts),
            len(parts),
            math.fsum(p.score for p in parts) / len(parts),
            {status.value: sum(p.status is status for p in parts) for status in Status},
        )
        for part_id, parts in seen.items()
    ]


@pytest.mark.parametrize("seed", range(30))
def test_the_class_tally_taken_a_chunk_at_a_time_in_any_order_equals_the_batch(seed: int) -> None:
    """A class run tallies rows a chunk at a time (the chunk's rows share their parts), chunks in
    the order workers finish: the statistics equal, repr for repr, those of every row in order."""
    import random

    from grader.core.summary import RowMaker
    from grader.reporting.stats import ClassTally, WrongAnswer, key_by_meaning, wrong_answer_groups

    rng = random.Random(seed)
    reports = _random_class(rng)
    order = list(range(len(reports)))
    chunks = []
    while order:
        size = rng.randint(1, 20)
        chunks.append(order[:size])
        order = order[size:]
    rng.shuffle(chunks)
    tally = ClassTally()
    for chunk in chunks:
        maker = RowMaker()  # a worker's: the chunk's rows share their tuples of ids and maxima
        rng.shuffle(chunk)
        for index in chunk:
            tally.add(index, maker.row(reports[index]))
    incremental = tally.stats()
    assert repr(incremental) == repr(batch_stats(reports))
    assert repr(tally.stats()) == repr(incremental), (
        "asked again, the same (the tally's columns kept as they were)"
    )
    assert [
        (p.id, p.max_score, p.submissions, p.mean_score, dict(p.counts)) for p in incremental.parts
    ] == _columns_of_every_row(reports)
    for part in incremental.parts:  # the groups of every wrong answer, read in sheet order
        answers = [
            (index, WrongAnswer(r.status, r.received, r.feedback))
            for index, report in enumerate(reports)
            for r in report.parts
            if r.id == part.id
        ]
        assert part.wrong_answers == wrong_answer_groups(answers, None, part.type, key_by_meaning)
