"""Hostile input, third round (issue 28): one student's folder never ends a batch, never
injects into the tools a TA uses, never hides a change from the verdict store."""

from __future__ import annotations

import csv
import io
import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from grader.cli import main
from grader.reporting.escape import (
    csv_cell,
    html_text,
    json_text,
    markdown_text,
    terminal_text,
    workflow_text,
    xml_text,
)

sys.path.insert(0, str(Path(__file__).parent / "hostile"))
from make_corpus import GOOD_ANSWERS, PROBLEM_SET

# A control character anywhere, or an escape sequence: nothing of it may reach an output.
CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def problems(tmp_path: Path) -> Path:
    path = tmp_path / "hostile.yaml"
    path.write_text(PROBLEM_SET, encoding="utf-8")
    return path


def student(klass: Path, folder: str, name: Any = None, answers: dict[str, Any] | None = None) -> Path:
    """A submission folder with an answers.json (JSON carries any character as written)."""
    path = klass / folder
    path.mkdir(parents=True, exist_ok=True)
    document: dict[str, Any] = {"answers": GOOD_ANSWERS if answers is None else answers}
    if name is not None:
        document["student"] = name
    (path / "answers.json").write_text(json.dumps(document), encoding="utf-8")
    return path


def gradebook(out: Path) -> list[dict[str, str]]:
    rows = csv.DictReader(io.StringIO((out / "grades.csv").read_text(encoding="utf-8")))
    return [row for row in rows if row["student"] != "points possible"]


# ---- one student ends or spoils the batch ---------------------------------------------


def test_a_carriage_return_in_a_name_keeps_the_gradebook(tmp_path: Path, problems: Path) -> None:
    klass = tmp_path / "class"
    student(klass, "good")
    student(klass, "cr", name="bob\rx\x1b[2J")
    code, _, stderr = run("grade", str(klass), "-p", str(problems), "--out", str(tmp_path / "out"))
    assert code == 0, stderr
    rows = {row["folder"]: row for row in gradebook(tmp_path / "out")}
    assert rows["cr"]["student"] == "bob x␛[2J"
    assert rows["cr"]["total"] == rows["good"]["total"]


def test_a_thousand_nested_folders_cost_nothing(tmp_path: Path, problems: Path) -> None:
    klass = tmp_path / "class"
    student(klass, "good")
    deep = top = student(klass, "deep") / "d"
    for _ in range(1000):
        deep.mkdir()
        deep = deep / "d"
    try:
        code, _, stderr = run("grade", str(klass), "-p", str(problems), "--out", str(tmp_path / "out"))
        assert code == 0, stderr
        rows = {row["folder"]: row for row in gradebook(tmp_path / "out")}
        assert rows["deep"]["total"] == rows["good"]["total"]
    finally:  # shutil.rmtree recurses (Python 3.11): remove the levels one by one
        while deep != top:
            deep = deep.parent
            deep.rmdir()


def test_verb_at_the_end_of_main_tex_is_a_warning(tmp_path: Path, problems: Path) -> None:
    folder = tmp_path / "verb"
    folder.mkdir()
    (folder / "main.tex").write_text("\\answer{q1}{$2^{17}$}\n\\verb", encoding="utf-8")
    for command in ("grade", "check"):
        result = CliRunner().invoke(main, [command, str(folder), "-p", str(problems)])
        assert result.exception is None or isinstance(result.exception, SystemExit), result.output
        assert "the LaTeX cannot be parsed" in " ".join(result.output.split())


def test_a_lone_surrogate_is_an_invalid_answer(tmp_path: Path, problems: Path) -> None:
    folder = student(tmp_path, "surrogate", answers={**GOOD_ANSWERS, "q1": "1\ud800"})
    _code, stdout, _ = run("grade", str(folder), "-p", str(problems), "--format", "json")
    parts = {part["id"]: part for part in json.loads(stdout)["parts"]}
    assert parts["q1"]["status"] == "invalid"
    assert parts["q2"]["status"] == "correct"
    result = CliRunner().invoke(main, ["check", str(folder), "-p", str(problems)])
    assert result.exit_code == 1 and "cannot be read" in result.output


@pytest.mark.parametrize("name", ["index", "grades", "changes", "Index"])
def test_a_folder_named_like_a_batch_file_does_not_replace_it(
    tmp_path: Path, problems: Path, name: str
) -> None:
    klass = tmp_path / "class"
    student(klass, "good")
    student(klass, name)
    out = tmp_path / "out"
    for _ in range(2):  # the dashboard must survive a re-run too
        code, _, stderr = run("grade", str(klass), "-p", str(problems), "--out", str(out))
        assert code == 0, stderr
        assert "class dashboard" in (out / "index.html").read_text(encoding="utf-8").lower()
        assert {row["folder"] for row in gradebook(out)} == {"good", name}
        assert (out / "changes.csv").read_text(encoding="utf-8").startswith("student,")
    own = [p.name for p in out.glob(f"{name}-*.json")]
    assert len(own) == 1


def test_warnings_are_bounded(tmp_path: Path, problems: Path) -> None:
    unknown = {f"u{i}": i for i in range(60_000)}
    folder = student(tmp_path, "many", answers={**GOOD_ANSWERS, **unknown})
    assert (folder / "answers.json").stat().st_size < 1_000_000
    _code, stdout, _ = run("grade", str(folder), "-p", str(problems), "--format", "json")
    warnings = json.loads(stdout)["warnings"]
    assert len(warnings) <= 101
    assert warnings[-1] == f"... and {60_000 - 100:,} more warnings not shown"


def test_a_tag_repeated_in_a_notebook_is_one_bounded_warning_list(tmp_path: Path, problems: Path) -> None:
    folder = tmp_path / "nb"
    folder.mkdir()
    cells = [{"cell_type": "markdown", "metadata": {"tags": ["answer:q6"]}, "source": ["B"]}] * 20_000
    notebook = {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    (folder / "homework.ipynb").write_text(json.dumps(notebook), encoding="utf-8")
    _code, stdout, _ = run("grade", str(folder), "-p", str(problems), "--format", "json")
    report = json.loads(stdout)
    assert len(report["warnings"]) <= 102
    assert any(w.endswith("more warnings not shown") for w in report["warnings"])
    assert {p["id"]: p for p in report["parts"]}["q6"]["status"] == "correct"


# ---- injection ------------------------------------------------------------------------

HOSTILE_NAMES = {
    "workflow": "bob\n::stop-commands::pause\nPoints 102/102",
    "formula": '=HYPERLINK("https://evil.example","grade")',
    "osc": "\x1b]52;c;aGVsbG8=\x07\x1b]0;owned\x07\x9b2Jeve\u202e",
    "markdown": "| a | b |\n|---|---|\n[click](javascript:alert(1)) <img src=x onerror=alert(1)>",
}


def test_the_escaping_rules() -> None:
    assert csv_cell('=HYPERLINK("x")') == '\'=HYPERLINK("x")'
    assert csv_cell("-1.5") == "-1.5" and csv_cell(csv_cell("@x")) == "'@x"
    assert terminal_text("\x1b]0;t\x07") == "␛]0;t␇"
    assert "\n" not in workflow_text("a\n::x::y") and "::" not in workflow_text("a\n::x::y")
    assert not re.search(r"Points \d", workflow_text("Points 102/102"))
    assert xml_text("a\x00]]>\ufffe") == "a␀]]>\ufffd"
    assert json_text('"\x9b2J\ud800"') == '"\\u009b2J\\ud800"'
    assert markdown_text("[a](b) <i> |") == "\\[a\\](b) &lt;i&gt; |"
    assert html_text("<a href='x'>&\u202e\x00") == "&lt;a href=&#x27;x&#x27;&gt;&amp;\ufffd\u2400"


def test_html_text_shows_text_as_it_is_only_where_escaping_would_not_change_it() -> None:
    """Its shortcut for plain text gives what the whole rule gives, for every character
    up to U+0800 and beyond the BMP, alone and among plain ones."""
    import html as html_module

    from grader.core.textfiles import plain_text

    samples = [chr(code) for code in [*range(0x800), 0x202E, 0x2066, 0xD800, 0xFFFD, 0x1F600]]
    samples += [f"Ada Lovelace-{c}_1.html" for c in samples] + ["", "student-000123.html", "a\\b|c$"]
    for text in samples:
        for quote in (True, False):
            whole = html_module.escape(plain_text(text, keep_newlines=True), quote=quote)
            assert html_text(text, quote=quote) == whole, repr(text)


def _batch_with_hostile_names(tmp_path: Path) -> tuple[Path, Path]:
    klass = tmp_path / "class"
    student(klass, "good")
    for folder, name in HOSTILE_NAMES.items():
        student(klass, folder, name=name, answers={**GOOD_ANSWERS, "q1": name, "q9": name})
    return klass, tmp_path / "out"


def test_no_output_of_a_batch_holds_a_control_character_or_a_formula(tmp_path: Path, problems: Path) -> None:
    klass, out = _batch_with_hostile_names(tmp_path)
    code, stdout, stderr = run("grade", str(klass), "-p", str(problems), "--out", str(out))
    assert code == 0, stderr
    assert not CONTROL.search(stdout + stderr)
    for path in out.iterdir():
        if path.suffix in (".csv", ".md", ".html", ".json"):
            assert not CONTROL.search(path.read_text(encoding="utf-8")), path.name
    for row in gradebook(out):
        assert not any(cell.startswith(FORMULA_START) for cell in row.values()), row
    for fmt in ("canvas", "moodle"):
        code, stdout, _ = run("grade", str(klass), "-p", str(problems), "--format", fmt, "-q")
        cells = [cell for row in csv.reader(io.StringIO(stdout)) for cell in row]
        assert not any(cell.startswith(FORMULA_START) for cell in cells), fmt
        assert "'=HYPERLINK" in stdout


def test_no_workflow_command_or_points_line_comes_from_a_student(tmp_path: Path, problems: Path) -> None:
    klass, _ = _batch_with_hostile_names(tmp_path)
    folder = klass / "workflow"
    args = ["grade", str(folder), "-p", str(problems), "--format", "github", "--fail-under", "100%"]
    code, stdout, stderr = run(*args)
    assert code == 1
    for line in (stdout + stderr).splitlines():
        assert not line.startswith("::stop-commands"), line
        assert not CONTROL.search(line)
    points = [line for line in (stdout + stderr).splitlines() if re.search(r"Points \d", line)]
    assert len(points) == 1, points  # grader's own line, as GitHub Classroom's reporter reads it
    assert re.fullmatch(r"::notice title=Autograding complete::Points \d+/\d+", points[0]), points
    code, stdout, stderr = run("grade", str(klass), "-p", str(problems), "--format", "github", "-q")
    assert not any(line.startswith("::stop") or "Points 102" in line for line in stdout.splitlines())


def test_junit_markdown_and_gradescope_hold_student_text_safely(tmp_path: Path, problems: Path) -> None:
    import xml.etree.ElementTree as ET

    klass, _ = _batch_with_hostile_names(tmp_path)
    (klass / "xml").mkdir()
    (klass / "xml" / "answers.json").write_text(
        json.dumps({"student": "a\x00b]]><x>", "answers": {"q1": "]]>\x01"}}), encoding="utf-8"
    )
    _, stdout, _ = run("grade", str(klass), "-p", str(problems), "--format", "junit", "-q")
    root = ET.fromstring(stdout)  # well-formed, whatever the students wrote
    assert root.tag == "testsuites"
    for fmt in ("markdown", "gradescope"):
        for folder in ("markdown", "xml"):
            _code, stdout, _ = run("grade", str(klass / folder), "-p", str(problems), "--format", fmt)
            text = stdout
            if fmt == "gradescope":
                data = json.loads(stdout)
                text = data.get("output", "") + "".join(test["output"] for test in data["tests"])
            text = re.sub(r"```.*?```", "", text, flags=re.S)  # code blocks show markup as text
            assert "<img" not in text and "<x>" not in text, fmt
            assert not re.search(r"(?<!\\)\]\(javascript", text), fmt
            assert not CONTROL.search(text.replace("\\u0000", "")), fmt


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")  # a stop dropped in gc
def test_reading_a_submission_is_bounded_by_a_cpu_time_limit(
    tmp_path: Path, problems: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The least reading time lowered from 5 s to 1 s, so the parts' own 2 s limit applies:
    # the write-up below (seconds of CPU in the LaTeX parser, fewer on a fast idle machine)
    # is stopped whatever the machine's speed.
    monkeypatch.setattr("grader.reading.READING_SECONDS", 1.0)
    slow = tmp_path / "slow"
    slow.mkdir()
    (slow / "main.tex").write_text("\\answer{q1}{$2^{17}$}\n" + "{a}" * 300_000, encoding="utf-8")
    _code, stdout, _ = run("grade", str(slow), "-p", str(problems), "--format", "json")
    report = json.loads(stdout)
    assert "reading the submission took more than 2 s of CPU time" in report["error"]
    assert {part["status"] for part in report["parts"]} == {"invalid"}
    checked = CliRunner().invoke(main, ["check", str(slow), "-p", str(problems)])
    assert checked.exit_code == 1 and "took more than 2 s of CPU time" in " ".join(checked.output.split())


def test_a_notebook_literal_is_bounded_by_its_elements(tmp_path: Path, problems: Path) -> None:
    folder = tmp_path / "nb"
    folder.mkdir()
    big = "answer_q2 = [" + ",".join(["1"] * 150_000) + "]"
    cells = [
        {"cell_type": "code", "metadata": {}, "source": [big], "outputs": [], "execution_count": None},
        {"cell_type": "code", "metadata": {}, "source": ["answer_q1 = 131072"], "outputs": []},
    ]
    notebook = {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    (folder / "homework.ipynb").write_text(json.dumps(notebook), encoding="utf-8")
    _, stdout, _ = run("grade", str(folder), "-p", str(problems), "--format", "json")
    report = json.loads(stdout)
    assert any("the code cell is too large to read (about 149,999 values" in w for w in report["warnings"])
    parts = {part["id"]: part for part in report["parts"]}
    assert parts["q1"]["status"] == "correct" and parts["q2"]["status"] == "missing"


# ---- a damaged store, a full disk, a folder that cannot be written, two runs at once -----


def test_a_damaged_verdict_store_is_one_line_and_an_exit_code(tmp_path: Path, problems: Path) -> None:
    klass, out = tmp_path / "class", tmp_path / "out"
    student(klass, "good")
    assert run("grade", str(klass), "-p", str(problems), "--out", str(out))[0] == 0
    store = out / ".grader-store.sqlite3"
    for companion in out.glob(".grader-store.sqlite3-*"):
        companion.unlink()
    store.write_bytes(b"this is not a database" * 100)
    result = CliRunner().invoke(main, ["grade", str(klass), "-p", str(problems), "--out", str(out)])
    assert result.exit_code == 3 and result.exception is not None and result.exc_info[2] is not None
    assert "the verdict store" in result.stderr and "is damaged" in result.stderr
    assert "Traceback" not in result.output
    assert (out / "good.json").is_file() and (out / "grades.csv").is_file()  # nothing finished is lost


def test_an_output_folder_that_cannot_be_made_is_one_line(tmp_path: Path, problems: Path) -> None:
    klass = tmp_path / "class"
    student(klass, "good")
    (tmp_path / "file").write_text("x")
    for target in (klass, klass / "good"):
        result = CliRunner().invoke(
            main, ["grade", str(target), "-p", str(problems), "--out", str(tmp_path / "file" / "out")]
        )
        assert result.exit_code == 3, result.output
        assert result.stderr.startswith("error: cannot write") and result.stderr.count("\n") == 1


def test_a_full_disk_is_one_line_and_keeps_what_was_written(
    tmp_path: Path, problems: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno
    import tempfile

    import grader.core.files

    klass, out = tmp_path / "class", tmp_path / "out"
    student(klass, "good")
    assert run("grade", str(klass), "-p", str(problems), "--out", str(out))[0] == 0
    before = (out / "grades.csv").read_bytes()
    student(klass, "late")

    class FullDisk:
        def mkstemp(self, *args: Any, **kwargs: Any) -> Any:
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(grader.core.files, "tempfile", FullDisk())
    result = CliRunner().invoke(main, ["grade", str(klass), "-p", str(problems), "--out", str(out)])
    monkeypatch.setattr(grader.core.files, "tempfile", tempfile)
    assert result.exit_code == 3, result.output
    assert result.stderr.startswith("error: no space left") and "Traceback" not in result.output
    assert (out / "grades.csv").read_bytes() == before


def test_a_second_run_on_the_same_out_waits_and_keeps_every_row(tmp_path: Path, problems: Path) -> None:
    import subprocess

    klass, out = tmp_path / "class", tmp_path / "out"
    student(klass, "good")
    student(klass, "late")
    assert run("grade", str(klass / "good"), "-p", str(problems), "--out", str(out))[0] == 0
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import filelock, sys, time; lock = filelock.FileLock(sys.argv[1]); "
            "lock.acquire(); print('held', flush=True); time.sleep(3)",
            str(out / ".grader.lock"),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        code, _, stderr = run("grade", str(klass / "late"), "-p", str(problems), "--out", str(out))
    finally:
        holder.wait(timeout=30)
    assert code == 0
    assert "waiting for another grader run that is writing to" in stderr
    assert {row["folder"] for row in gradebook(out)} == {"good", "late"}


def test_skipped_folders_are_listed(tmp_path: Path, problems: Path) -> None:
    klass = tmp_path / "class"
    student(klass, "good")
    student(klass, ".hidden")
    student(klass, "_old")
    code, _, stderr = run("grade", str(klass), "-p", str(problems))
    assert code == 0
    assert "note: skipped 2 folders whose names start with '.' or '_': .hidden, _old" in stderr


# ---- the store sees every file a verdict depends on ------------------------------------


def test_main_tex_that_only_inputs_its_answers_is_a_submission(tmp_path: Path, problems: Path) -> None:
    folder = tmp_path / "alice"
    (folder / "answers").mkdir(parents=True)
    (folder / "main.tex").write_text("\\documentclass{article}\n\\input{answers/q1}\n", encoding="utf-8")
    (folder / "answers" / "q1.tex").write_text("\\answer{q1}{$2^{17}$}\n", encoding="utf-8")
    code, stdout, stderr = run("grade", str(folder), "-p", str(problems), "--format", "json")
    assert code == 0, stderr
    assert {p["id"]: p for p in json.loads(stdout)["parts"]}["q1"]["status"] == "correct"


def test_a_file_input_from_a_hidden_folder_is_in_the_store_key(tmp_path: Path, problems: Path) -> None:
    klass, out = tmp_path / "class", tmp_path / "out"
    student(klass, "good")
    folder = klass / "alice"
    (folder / ".s").mkdir(parents=True)
    (folder / "main.tex").write_text("\\answer{q6}{B}\n\\input{.s/a}\n", encoding="utf-8")
    hidden = folder / ".s" / "a.tex"
    hidden.write_text("\\answer{q1}{$2^{17}$}\n", encoding="utf-8")

    def q1() -> str:
        code, _, stderr = run("grade", str(klass), "-p", str(problems), "--out", str(out), "-q")
        assert code == 0, stderr
        return {row["folder"]: row for row in gradebook(out)}["alice"]["q1"]

    assert q1() == "1"
    hidden.write_text("\\answer{q1}{$2^{16}$}\n", encoding="utf-8")
    assert q1() == "0"


def test_a_tampered_verdict_store_is_regraded_and_reported(tmp_path: Path, problems: Path) -> None:
    import dataclasses
    import sqlite3

    from grader.core.plainjson import packed, unpacked
    from grader.core.verdict import Status

    klass, out = tmp_path / "class", tmp_path / "out"
    wrong = {**GOOD_ANSWERS, "q1": "2^{16}", "q2": [1, 2, 3], "q3": "1 x 1"}
    student(klass, "alice", answers=wrong)
    assert run("grade", str(klass), "-p", str(problems), "--out", str(out), "-q")[0] == 0
    honest = {row["folder"]: row for row in gradebook(out)}["alice"]["total"]
    (out / "grades.csv").unlink()  # and the gradebook rebuilt from the store alone

    with sqlite3.connect(out / ".grader-store.sqlite3") as db:  # edit every entry to say correct
        for part, answer, blob in db.execute("SELECT part, answer, verdict FROM verdicts").fetchall():
            verdict = dataclasses.replace(unpacked(blob), status=Status.CORRECT, score=1.0)
            db.execute(
                "UPDATE verdicts SET verdict = ? WHERE part = ? AND answer = ?",
                (packed(verdict), part, answer),
            )
        for folder, blob, row in db.execute("SELECT folder, report, row FROM submissions").fetchall():
            report = unpacked(blob)
            for part in report.parts:
                part.status, part.score = Status.CORRECT, part.max_score
            summary = unpacked(row)  # what a run reads of it
            summary = dataclasses.replace(summary, score=10.0, scores=tuple(summary.max_scores))
            db.execute(
                "UPDATE submissions SET report = ?, row = ? WHERE folder = ?",
                (packed(report), packed(summary), folder),
            )

    code, _, stderr = run("grade", str(klass), "-p", str(problems), "--out", str(out), "-q")
    assert code == 0
    assert "entries of the verdict store failed their integrity check" in stderr
    assert {row["folder"]: row for row in gradebook(out)}["alice"]["total"] == honest != "10"
    assert json.loads((out / "alice.json").read_text(encoding="utf-8"))["score"] == float(honest)


# ---- identity ---------------------------------------------------------------------------


def test_a_submission_folder_that_is_a_link_is_refused(tmp_path: Path, problems: Path) -> None:
    klass, out = tmp_path / "class", tmp_path / "out"
    student(klass, "alice", name="Alice")
    (klass / "bob").symlink_to("alice")
    outside = student(tmp_path, "elsewhere", name="Eve")
    (klass / "eve").symlink_to(outside)
    code, _, stderr = run("grade", str(klass), "-p", str(problems), "--out", str(out), "-q")
    assert code == 0, stderr
    rows = {row["folder"]: row for row in gradebook(out)}
    assert set(rows) == {"alice", "bob", "eve"}
    assert rows["alice"]["total"] == "9" and not rows["alice"]["error"]
    for link in ("bob", "eve"):
        assert rows[link]["total"] == "0"
        assert "this submission folder is a link" in rows[link]["error"]
    for fmt in ("canvas", "moodle"):
        _, stdout, _ = run("grade", str(klass), "-p", str(problems), "--format", fmt, "-q")
        lines = stdout.splitlines()
        assert len(lines) == len(set(lines)), fmt  # no row twice


def test_a_complexity_exponent_too_large_is_invalid(tmp_path: Path, problems: Path) -> None:
    folder = student(tmp_path, "huge", answers={"q5": "O(n^{abs(2^{999})^{20}})"})
    _, stdout, _ = run("grade", str(folder), "-p", str(problems), "--format", "json")
    q5 = {part["id"]: part for part in json.loads(stdout)["parts"]}["q5"]
    assert q5["status"] == "invalid"
    assert "too large to grade: about 10^6015" in q5["feedback"]
