"""End-to-end runs of the grader command (click's CliRunner)."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import click
import pytest
import yaml
from click.testing import CliRunner

from grader import cli
from grader.cli import main

# A file left open is a test bug: CPython says so (ResourceWarning) when it is collected.
pytestmark = pytest.mark.filterwarnings(
    "error::ResourceWarning", "error::pytest.PytestUnraisableExceptionWarning"
)

FIXTURES = Path(__file__).parent / "fixtures"
BASICS = str(FIXTURES / "basics.yaml")
CLASS = FIXTURES / "class"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_grade_one_submission_as_a_table() -> None:
    code, out, _ = run("grade", str(CLASS / "alice"), "-p", BASICS)
    assert code == 0
    assert "basics · alice: 6/9" in out
    assert "3 points await grading by a TA" in out
    assert "correct" in out and "manual" in out


def test_json_report_follows_the_contract() -> None:
    code, out, _ = run("grade", str(CLASS / "bob"), "-p", BASICS, "--format", "json")
    assert code == 0
    report = json.loads(out)
    assert set(report) >= {"assignment", "student", "score", "max_score", "parts"}
    assert (report["assignment"], report["student"], report["max_score"]) == ("basics", "bob", 9)
    parts = {p["id"]: p for p in report["parts"]}
    assert set(parts["conv.full"]) >= {"id", "status", "score", "max_score", "feedback"}
    assert parts["conv.full"]["status"] == "incorrect"
    assert "correlation" in parts["conv.full"]["feedback"]
    assert parts["conv.shape"]["status"] == "missing"
    assert parts["params"] == {**parts["params"], "status": "correct", "score": 2}
    assert "expected" not in parts["params"]
    assert any("'extra'" in w for w in report["warnings"])


def test_show_expected_adds_the_reference() -> None:
    _, out, _ = run("grade", str(CLASS / "bob"), "-p", BASICS, "-f", "json", "--show-expected")
    parts = {p["id"]: p for p in json.loads(out)["parts"]}
    assert parts["params"]["expected"] == "131072"


def test_markdown_feedback_page() -> None:
    code, out, _ = run("grade", str(CLASS / "bob"), "-p", BASICS, "--format", "markdown")
    assert code == 0
    assert out.startswith("# basics: feedback for bob")
    assert "## conv.full — incorrect" in out and "correlation" in out


def test_batch_writes_reports_and_gradebook(tmp_path: Path) -> None:
    out_dir = tmp_path / "reports"
    code, out, err = run("grade", str(CLASS), "-p", BASICS, "--out", str(out_dir))
    assert code == 0, err
    assert {p.name for p in out_dir.iterdir()} == {
        "alice.json",
        "alice.md",
        "bob.json",
        "bob.md",
        "carol.json",
        "carol.md",
        "dave.json",
        "dave.md",
        "alice.html",
        "bob.html",
        "carol.html",
        "dave.html",
        "index.html",
        "grades.csv",
        "changes.csv",
        ".grader-store.sqlite3",
        ".grader.lock",  # held while a run writes here; a later run waits for it
        "grader-assets",  # KaTeX, for the pages' formulas offline
    }
    rows = list(csv.reader((out_dir / "grades.csv").read_text(encoding="utf-8").splitlines()))
    assert rows[0] == [
        "student",
        "folder",
        "conv.full",
        "conv.shape",
        "params",
        "kind",
        "proof",
        "total",
        "pending",
        "error",
        "flags",
    ]
    assert rows[1][:8] == ["points possible", "", "2", "1", "2", "1", "3", "9"]
    by_student = {row[0]: row for row in rows[2:]}
    assert by_student["alice"][1:9] == ["alice", "2", "1", "2", "1", "", "6", "3"]
    assert by_student["dave"][7] == "1"
    assert "not valid YAML" in by_student["carol"][9]
    assert json.loads((out_dir / "carol.json").read_text())["error"].startswith("answers.yaml")
    assert out == "" and "4 students" in err  # the files are the results: no table unless asked
    code, out, err = run("grade", str(CLASS), "-p", BASICS, "--out", str(out_dir), "--format", "table")
    assert "alice" in out and "carol" in out
    code, out, err = run("grade", str(CLASS), "-p", BASICS, "--format", "table", "-q")
    assert out == "" and err == ""  # never with -q


def test_batch_in_parallel_gives_the_same_gradebook(tmp_path: Path) -> None:
    run("grade", str(CLASS), "-p", BASICS, "--out", str(tmp_path / "serial"))
    code, _, _ = run("grade", str(CLASS), "-p", BASICS, "--out", str(tmp_path / "parallel"), "--jobs", "2")
    assert code == 0
    serial = (tmp_path / "serial" / "grades.csv").read_text()
    assert (tmp_path / "parallel" / "grades.csv").read_text() == serial


def test_fail_under() -> None:
    assert run("grade", str(CLASS / "alice"), "-p", BASICS, "--fail-under", "6")[0] == 0
    assert run("grade", str(CLASS / "alice"), "-p", BASICS, "--fail-under", "7")[0] == 1
    # alice's 3 points of proof await a TA: out of both sides, her 6 points are 100% of 6
    assert run("grade", str(CLASS / "alice"), "-p", BASICS, "--fail-under", "70%")[0] == 0
    assert run("grade", str(CLASS / "bob"), "-p", BASICS, "--fail-under", "70%")[0] == 1
    assert run("grade", str(CLASS), "-p", BASICS, "--fail-under", "50%")[0] == 1


def test_empty_folder_is_a_usage_error(tmp_path: Path) -> None:
    code, _, err = run("grade", str(tmp_path), "-p", BASICS)
    assert code == 2 and "holds no submissions" in err


def test_bad_problem_file_exits_2_with_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("assignment: a1\nquestions:\n  - id: q1\n    type: number\n    answr: 3\n")
    code, _, err = run("grade", str(CLASS / "alice"), "-p", str(bad))
    assert code == 2 and f"{bad}:5:" in err and "answr" in err
    code, _, err = run("validate", str(bad))
    assert code == 2 and f"{bad}:5:" in err


def test_validate_self_tests_reference_answers(tmp_path: Path) -> None:
    code, out, _ = run("validate", BASICS)
    assert code == 0 and "ok (5 parts, 9 points" in out
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        "assignment: a1\nquestions:\n"
        "  - id: q1\n    type: choice\n    options: {A: x, B: y}\n    answer: A\n"
        "    mistakes:\n      - {answer: A, feedback: same as the answer}\n"
        "  - id: q2\n    type: number\n    answer: ten\n"
    )
    code, _, err = run("validate", str(broken))
    assert code == 2
    assert "q1: mistake 1 grades correct" in err
    assert "q2: the reference answer grades error" in err and "not a number" in err


def test_template_lists_every_part_with_its_prompt() -> None:
    code, out, _ = run("template", "-p", BASICS)
    assert code == 0
    data = yaml.safe_load(out)
    assert list(data["answers"]) == ["conv.full", "conv.shape", "params", "kind", "proof"]
    assert all(value is None for value in data["answers"].values())
    assert "# conv.full (array, 2 points)" in out and "kernel flipped" in out
    assert "B = piecewise-linear" in out


def test_template_answers_grade_as_all_missing(tmp_path: Path) -> None:
    _, out, _ = run("template", "-p", BASICS)
    folder = tmp_path / "new"
    folder.mkdir()
    (folder / "answers.yaml").write_text(out)
    code, report, _ = run("grade", str(folder), "-p", BASICS, "-f", "json")
    assert code == 0
    assert {p["status"] for p in json.loads(report)["parts"]} == {"missing"}


def test_feedback_page_plots_a_wrong_network(tmp_path: Path) -> None:
    root = Path(__file__).parent.parent
    problems = root / "problems" / "attention-approximation.yaml"
    student = root / "submissions" / "attention-approximation" / "seed-000"
    code, _, _ = run("grade", str(student), "-p", str(problems), "--out", str(tmp_path))
    assert code == 0
    plot = tmp_path / "seed-000-approx.linear.svg"
    assert plot.read_text().startswith("<svg") and "<title" in plot.read_text()
    assert (
        "![your network against the target](seed-000-approx.linear.svg)"
        in (tmp_path / "seed-000.md").read_text()
    )


def test_grader_help_lists_every_command_with_its_own_help() -> None:
    from grader import cli_commands

    full = cli_commands.main
    context = click.Context(full)
    commands = {name: full.get_command(context, name) for name in full.list_commands(context)}
    assert {name: command.get_short_help_str(limit=1000) for name, command in commands.items()} == (
        cli.COMMANDS
    )
    listed = CliRunner().invoke(main, ["--help"]).output
    assert all(name in listed for name in commands)


def test_grader_help_uses_no_deprecated_click_api() -> None:
    """Click 8.4 deprecates helpers it will drop in Click 9: `grader --help` must not need one."""
    probe = "from grader.cli import main\nmain(['--help'])"
    shown = subprocess.run(
        [sys.executable, "-W", "error::DeprecationWarning", "-c", probe],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "50"},
    )
    assert shown.returncode == 0, shown.stderr
    listed = shown.stdout.split("Commands:")[1]
    assert "gradescope-bundle  Build the autograder zip..." in listed
    assert all(name in listed for name in cli.COMMANDS)


def test_grader_help_and_version_load_no_command() -> None:
    """`grader --help` answers at once: the commands (the engine, numpy, sympy) load only to run."""
    probe = (
        "import sys; from grader.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = ('grader.cli_commands', 'grader.cli_grading', 'grader.engine', 'numpy', 'sympy')\n"
        "print(sorted(m for m in heavy if m in sys.modules))"
    )
    shown = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert shown.strip().endswith("[]"), shown
    version = subprocess.run(
        [sys.executable, "-m", "grader.cli", "--version"], capture_output=True, text=True
    )
    assert version.returncode == 0 and "grader, version" in version.stdout


@pytest.mark.parametrize(
    "command",
    [
        ["users", "--help"],
        ["users", "add", "--help"],
        ["serve", "--help"],
        ["submit", "--help"],
        ["extend", "--help"],
    ],
)
def test_the_service_commands_help_loads_no_engine(command: list[str]) -> None:
    """Issue 60 item 13: the service's commands start without the engine (numpy, sympy, the
    grading commands): `grader users ...` is what a TA runs for a whole class."""
    probe = (
        "import sys; from grader.cli import main\n"
        f"try:\n    main({command!r})\nexcept SystemExit:\n    pass\n"
        "heavy = ('grader.cli_commands', 'grader.cli_grading', 'grader.engine', 'numpy', 'sympy',"
        " 'fastapi', 'sqlalchemy')\n"
        "print(sorted(m for m in heavy if m in sys.modules))"
    )
    shown = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert shown.strip().endswith("[]"), shown
    assert "Usage:" in shown


# What a command never needs to read a problem set, a submission or the verdict store: the
# checkers' libraries, the write-up parsers, the worker pool and the terminal tables.
LAZY_MODULES = (
    "sympy",
    "numpy",
    "mpmath",
    "flint",
    "scipy",
    "torch",
    "nbformat",
    "jsonschema",
    "pylatexenc",
    "markdown_it",
    "pebble",
    "rich",
)
ROOT = Path(__file__).resolve().parent.parent


def _loaded_by(script: str, *args: str) -> tuple[list[str], str]:
    """Which of LAZY_MODULES a fresh interpreter holds after ``script`` (given ``args``), and
    what it printed before."""
    probe = f"{script}\nimport sys\nprint(sorted(m for m in {LAZY_MODULES!r} if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", probe, *args], capture_output=True, text=True, check=True)
    *printed, loaded = done.stdout.rstrip("\n").split("\n")
    return json.loads(loaded.replace("'", '"')), "\n".join(printed)


_RUN_CLI = (
    "import sys\nfrom grader.cli import main\n"
    "try:\n    main(sys.argv[1:])\nexcept SystemExit as stop:\n    print('exit', stop.code)"
)


def test_reading_problem_sets_and_submissions_loads_no_checker() -> None:
    """Start-up: the commands, every shipped problem set and every shipped submission are read
    without numpy, sympy, the write-up parsers... (a checker imports them when it first checks)."""
    script = (
        "from pathlib import Path\nimport grader.cli_commands\n"
        "from grader.loading import load_problem_set, load_submission\n"
        f"root = Path({str(ROOT)!r})\n"
        "sets = [load_problem_set(p) for p in sorted((root / 'problems').glob('*.yaml'))]\n"
        "folders = [load_submission(f) for f in sorted((root / 'submissions').glob('*/*')) if f.is_dir()]\n"
        "print(len(sets), len(folders))"
    )
    loaded, printed = _loaded_by(script)
    sets, folders = map(int, printed.split())
    assert sets >= 5 and folders >= 5
    assert loaded == []


def test_check_of_plain_answers_loads_only_what_its_types_need() -> None:
    """`grader check` reads, grades and prints numbers, arrays, shapes, an option and text with
    the evaluator their types load (numpy, for an answer written as a formula), and nothing else:
    no sympy, no python-flint, no write-up parser, no worker pool, no terminal table."""
    loaded, printed = _loaded_by(_RUN_CLI, "check", str(CLASS / "alice"), "-p", BASICS)
    assert "conv.full" in printed and printed.endswith("exit 0")
    assert set(loaded) <= {"numpy", "mpmath"}


# What `grader check` has not imported when it starts checking: the batch's machinery (worker,
# verdict store, hand grades, summary rows, digests), the reporters and their renderers (its own
# page of answers read back too: it is printed once checked), the write-up formats (a folder
# with an answers file holds none), besides LAZY_MODULES.
NOT_FOR_CHECK = (
    "grader.batch.store",
    "grader.batch.worker",
    "grader.core.summary",
    "grader.hand",
    "grader.reporting.check",
    "grader.reporting.readback",
    "grader.reporting.reporters",
    "grader.reporting.html",
    "grader.reporting.plots",
    "grader.reporting.gradescope",
    "grader.writeups.markdown",
    "grader.writeups.notebook",
    "hashlib",
    "sqlite3",
    *LAZY_MODULES,
)
SEED = ROOT / "submissions" / "activations-softmax-conv" / "seed-001"
SEED_PROBLEMS = ROOT / "problems" / "activations-softmax-conv.yaml"


# Run first in a probe: records, for each module of NOT_FOR_CHECK imported, which module asked
# for it: the nearest caller on the stack that is neither the standard library nor the import
# system (so grader's `import secrets` is grader's import of hashlib, and a dependency's is its own).
_WHO_IMPORTS = f"""
import sys
WATCHED = {NOT_FOR_CHECK!r}
importer = {{}}

def _caller():
    frame = sys._getframe(2)
    while frame is not None:
        name = frame.f_globals.get("__name__") or ""
        top = name.split(".")[0]
        if name and top not in sys.stdlib_module_names and not top.startswith("_frozen_importlib"):
            return name
        frame = frame.f_back
    return "?"

class Spy:
    @staticmethod
    def find_spec(name, path=None, target=None):
        if name in WATCHED and name not in importer:
            importer[name] = _caller()
        return None

sys.meta_path.insert(0, Spy)
"""


def test_check_starts_checking_without_the_batch_or_the_reporters() -> None:
    """Start-up of `grader check` (issue 27): until the engine grades, it has read the problem set
    and the submission, and grader has imported none of NOT_FOR_CHECK (a dependency may: pydantic
    2.14's ``pydantic.types`` imports ``secrets``, so hashlib, wherever grader reads a model)."""
    probe = (
        _WHO_IMPORTS + "import grader.engine\n"
        "def stop(spec, submission, *args, **kwargs):\n"
        "    print(len(submission.answers), sorted(f'{m} (by {who})' for m, who in importer.items()\n"
        "        if m in sys.modules and (who.startswith('grader') or who == '__main__')))\n"
        "    raise SystemExit(0)\n"
        "grader.engine.grade = stop\n" + _RUN_CLI
    )
    args = ("check", str(SEED), "-p", str(SEED_PROBLEMS))
    done = subprocess.run([sys.executable, "-c", probe, *args], capture_output=True, text=True, check=True)
    answers, loaded = done.stdout.split(" ", 1)
    assert int(answers) > 20
    assert loaded.strip().split("\n")[0] == "[]"


def test_the_import_probe_names_grader_when_grader_imports_a_watched_module() -> None:
    """The probe of the test above can fail: a grader module that imports ``secrets`` (and so
    hashlib) is named as hashlib's importer, a dependency's import of it is not grader's."""
    probe = (
        _WHO_IMPORTS + "import types\n"
        "fake = types.ModuleType('grader.fake_module')\n"
        "exec('import secrets', fake.__dict__)\n"
        "print(importer.get('hashlib'))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "grader.fake_module"


def test_check_of_the_seeds_formulas_imports_no_sympy(tmp_path: Path) -> None:
    """Its formulas are decided by numbers, exactly or in ball arithmetic: no check reaches a
    symbolic step, so sympy (a third of a second) is never imported. (The derivations of its
    written parts may need it: a step with vectors and matrices is written out with sympy.)"""
    spec = yaml.safe_load(SEED_PROBLEMS.read_text(encoding="utf-8"))
    written = {
        f"{question['id']}.{part['id']}" if "parts" in question else question["id"]
        for question in spec["questions"]
        for part in question.get("parts", [question])
        if part.get("type") == "text"
    }
    sheet = yaml.safe_load((SEED / "answers.yaml").read_text(encoding="utf-8"))
    formulas = {key: value for key, value in sheet["answers"].items() if key not in written}
    assert written and formulas and len(formulas) < len(sheet["answers"])
    (tmp_path / "answers.yaml").write_text(yaml.safe_dump({"answers": formulas}), encoding="utf-8")
    loaded, printed = _loaded_by(_RUN_CLI, "check", str(tmp_path), "-p", str(SEED_PROBLEMS))
    assert "q2.softmax_jacobian" in printed and printed.endswith("exit 0")
    assert "sympy" not in loaded and "numpy" in loaded


def test_format_names_are_the_reporters() -> None:
    from grader.cli_grading import FORMATS
    from grader.reporting.reporters import REPORTERS

    assert tuple(sorted(REPORTERS)) == FORMATS


def test_a_new_format_is_one_line_of_one_list(monkeypatch: pytest.MonkeyPatch) -> None:
    """The reporters, the CLI's --format and the service's exports are all read from
    grader.reporting.formats: a format added there is offered everywhere it says."""
    from grader.cli_grading import FORMATS as CLI_FORMATS
    from grader.reporting import formats
    from grader.reporting.reporters import REPORTERS, CsvReporter
    from grader.service.routes import exports

    assert CLI_FORMATS is formats.FORMAT_NAMES and exports.EXPORT_FORMATS is formats.EXPORT_FORMATS
    assert set(REPORTERS) == set(formats.FORMATS)
    assert {"table", "github", "html"}.isdisjoint(formats.EXPORT_FORMATS), (
        "the terminal's and pages' are not exports"
    )
    monkeypatch.setitem(formats.FORMATS, "csv2", ("grader.reporting.reporters", "CsvReporter", True))
    assert isinstance(formats.reporter_of("csv2"), CsvReporter)


def test_an_unchanged_rerun_loads_no_checker_and_starts_no_worker(tmp_path: Path) -> None:
    """The second run of a class finds every submission in the verdict store: it plans, compares
    and stops, importing no checker's library and no worker pool."""
    out = tmp_path / "out"
    args = ("grade", str(CLASS), "-p", BASICS, "--out", str(out), "--jobs", "2", "-q")
    loaded, printed = _loaded_by(_RUN_CLI, *args)
    assert printed.endswith("exit 0") and "pebble" in loaded  # the first run grades, in worker processes
    written = {path: path.stat().st_mtime_ns for path in out.rglob("*") if path.is_file()}
    loaded, printed = _loaded_by(_RUN_CLI, *args)
    assert printed.endswith("exit 0")
    assert loaded == []
    assert {path: path.stat().st_mtime_ns for path in out.rglob("*") if path.is_file()} == written


def test_an_unknown_command_is_refused_as_before() -> None:
    result = CliRunner().invoke(main, ["grdae"])
    assert result.exit_code == 2 and "No such command 'grdae'" in result.output


def test_users_add_opens_the_database_alone(tmp_path: Path) -> None:
    """Issue 60 item 13: `grader users add` of one user opens the course's database, never a
    whole service: no web framework, no engine, no course sync, no Alembic (a new course's
    database is made once as the server makes it), nor what it does not use: the service's
    settings (pydantic), the LMS formats, argon2 (no password given). The database stays
    private (0600 in a 0700 folder)."""
    course = tmp_path / "course"
    (course / "problems").mkdir(parents=True)
    shutil.copy(ROOT / "problems" / "activations-softmax-conv.yaml", course / "problems")
    probe = (
        "import sys; from grader.cli import main\n"
        "try:\n    main(sys.argv[1:])\nexcept SystemExit as exc:\n    code = exc.code\n"
        "heavy = ('grader.engine', 'grader.service.service', 'grader.service.course', 'numpy', 'sympy',"
        " 'fastapi', 'alembic', 'pydantic', 'grader.reporting.lms', 'argon2')\n"
        "print('loaded', sorted(m for m in heavy if m in sys.modules), code)"
    )

    def add(name: str) -> str:
        run = subprocess.run(
            [sys.executable, "-c", probe, "users", "add", str(course), name], capture_output=True, text=True
        )
        assert run.returncode == 0, run.stderr
        return run.stdout

    first = add("ann")  # a new course: made once as the server makes it (schema, course read)
    assert first.strip().endswith(" 0"), first
    second = add("ben")
    assert second.strip().endswith("loaded [] 0"), second
    data = course / ".grader-service"
    assert (data.stat().st_mode & 0o777) == 0o700
    assert (data / "grader.sqlite3").stat().st_mode & 0o777 == 0o600
    listed = CliRunner().invoke(main, ["users", "list", str(course)])
    assert listed.exit_code == 0 and "ann" in listed.output and "ben" in listed.output
