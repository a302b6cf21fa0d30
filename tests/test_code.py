"""Code answers end to end: the seed homework's PyTorch parts with wrong variants and their
feedback, answers from a .py file and from a notebook cell, one sandbox per submission,
no sandbox without --unsafe-run-code, and the sandbox's walls."""

from __future__ import annotations

import importlib.util
import json
import os
from collections import OrderedDict
from pathlib import Path
from typing import Any

import nbformat
import pytest
from click.testing import CliRunner
from code_support import needs_sandbox, needs_torch

from grader.cli import main
from grader.core.verdict import Status
from grader.engine import grade
from grader.loading import ProblemFileError, load_problem_set, load_submission, parse_problem_set
from grader.reporting.html import render_student_page
from grader.types.code import runs, sandbox

ROOT = Path(__file__).parent.parent
SEED_PROBLEMS = ROOT / "problems" / "approximation-backprop-cifar.yaml"
SEED_FOLDER = ROOT / "submissions" / "approximation-backprop-cifar" / "seed-002"
CODE_PARTS = (
    "q10.linear_forward",
    "q10.linear_backward",
    "q10.relu_backward",
    "q10.cross_entropy_backward",
    "q11.sgd_step",
    "q11.evaluate",
)

NUMPY_SET = """
assignment: code-numpy
questions:
  - id: relu
    type: code
    entry: relu_backward
    sizes: {b: [1, 3], n: [2, 4]}
    inputs:
      x: {shape: [b, n], choices: [-1, 0, 1]}
      dout: {shape: [b, n]}
    answer: |
      def relu_backward(x, dout):
          return dout * (x > 0)
  - id: square
    type: code
    entry: square
    inputs: {x: {shape: [3]}}
    answer: |
      def square(x):
          return x * x
  - id: total
    type: code
    entry: total
    inputs: {x: {shape: [4]}}
    answer: |
      def total(x):
          return x.sum()
"""


def _grade_folder(folder: Path, problems: Path | str) -> dict[str, Any]:
    result = CliRunner().invoke(main, ["grade", str(folder), "-p", str(problems), "-f", "json"])
    assert result.exit_code == 0, result.output
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def _by_id(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {part["id"]: part for part in report["parts"]}


def _numpy_set(tmp_path: Path) -> Path:
    path = tmp_path / "code.yaml"
    path.write_text(NUMPY_SET, encoding="utf-8")
    return path


def _submission(tmp_path: Path, name: str, answers: dict[str, Any]) -> Path:
    folder = tmp_path / "class" / name
    folder.mkdir(parents=True)
    # JSON: an answers.yaml keeps a double-quoted string's backslashes as typed (for LaTeX)
    (folder / "answers.json").write_text(json.dumps({"answers": answers}), encoding="utf-8")
    return folder


# ---------------------------------------------------------------------------
# The seed homework


@needs_torch
def test_the_seed_code_grades_correct_and_the_listed_mistakes_grade_as_listed() -> None:
    parts = _by_id(_grade_folder(SEED_FOLDER, SEED_PROBLEMS))
    assert {part_id: parts[part_id]["status"] for part_id in CODE_PARTS} == dict.fromkeys(
        CODE_PARTS, "correct"
    )
    result = CliRunner().invoke(main, ["validate", str(SEED_PROBLEMS)])
    assert result.exit_code == 0, result.output


# (part, answer, status, feedback substrings): wrong variants of the seed's code
WRONG_VARIANTS = [
    (
        "q10.linear_forward",
        "return torch.matmul(x, self.weight) + self.bias",
        "incorrect",
        [
            "with x of shape 1 x 3 = [[",  # drawn from the run's secret and the answer's text
            "your code raised RuntimeError",
            "mat1 and mat2 shapes cannot be multiplied",
            "(line 1 of your answer)",
        ],
    ),
    (
        "q10.linear_forward",
        "return torch.matmul(x, self.weight.T)",
        "incorrect",
        ["The bias is not added.", "your `out[0, 0]` is "],
    ),
    (
        "q10.linear_backward",
        "self.weight.grad = torch.matmul(self.inputs[0].T, dLdout)\n"
        "self.bias.grad = dLdout.sum(0)\nreturn dLdout @ self.weight",
        "incorrect",
        ["The weight gradient is dL/dout^T x", "attempting to assign a gradient of size '[3, 2]'"],
    ),
    (
        "q10.linear_backward",
        "self.weight.grad = dLdout.T @ self.inputs[0]\nself.bias.grad = dLdout\nreturn dLdout @ self.weight",
        "incorrect",
        ["its gradient sums dL/dout over the batch"],
    ),
    (
        "q10.linear_backward",
        "self.weight.grad = dLdout.T @ self.inputs[0]\nreturn dLdout @ self.weight",
        "incorrect",
        ["your `bias.grad` is None (never set); expected an array of shape 2 (a vector)"],
    ),
    (
        "q10.linear_backward",
        "self.weight.grad = dLdout.T @ self.inputs[0]\nself.bias.grad = dLdout.sum(0)\n"
        "return (dLdout @ self.weight).T",
        "incorrect",
        ["your `dL/dx` has shape 3 x 1, the expected shape is 1 x 3"],
    ),
    (
        "q10.relu_backward",
        "return (self.inputs[0] >= 0).float() * dLdout",
        "partial",
        ["ReLU's derivative at 0 is taken as 0", "your `dL/dx[0, 1]` is ", "which is not the expected value"],
    ),
    (
        "q10.cross_entropy_backward",
        "p = logits.softmax(dim=-1)\np[torch.arange(len(target)), target] -= 1\nreturn p",
        "incorrect",
        ["divided by the batch size", "with logits of shape 2 x 3 = [[1, 1, 1], [0, 2, 2]], target"],
    ),
    (
        "q10.cross_entropy_backward",
        "return (logits.softmax(dim=0) - torch.eye(logits.shape[1])[target]) / len(target)",
        "incorrect",
        ["your `dL/dlogits[0, 0]` is"],
    ),
    (
        "q11.sgd_step",
        "for p in model.parameters():\n    p.data -= lr * p.grad",
        "incorrect",
        ["your code raised TypeError", "(line 2 of your answer)"],
    ),
    (
        "q11.sgd_step",
        "for p in model.parameters():\n    if p.grad is not None:\n        p.data += lr * p.grad",
        "incorrect",
        ["your `0.weight[0, 0]` is"],
    ),
    (
        "q11.evaluate",
        "import torch\n\ndef evaluate(model, loader):\n    correct = 0\n    for data, target in loader:\n"
        "        correct += (model(data).argmax(dim=1) == target).sum().item()\n"
        "    return correct / len(loader)",
        "incorrect",
        ["len(loader) counts batches", "your `accuracy` is "],
    ),
    (
        "q11.evaluate",
        "def evaluate(model, loader):\n    return 1.0",
        "incorrect",
        ["your `accuracy` is 1, which is not the expected value"],
    ),
    ("q11.evaluate", "def accuracy(model, loader):\n    return 1.0", "invalid", ["does not define evaluate"]),
]


@needs_torch
def test_wrong_variants_of_the_seed_code_get_their_feedback(tmp_path: Path) -> None:
    """Each variant is a student of one class, graded as one batch."""
    folders = {}
    for number, (part_id, answer, _, _) in enumerate(WRONG_VARIANTS):
        folders[number] = _submission(tmp_path, f"variant-{number:02d}", {part_id: answer})
    out = tmp_path / "out"
    result = CliRunner().invoke(
        main, ["grade", str(tmp_path / "class"), "-p", str(SEED_PROBLEMS), "-o", str(out), "-j", "2", "-q"]
    )
    assert result.exit_code == 0, result.output
    for number, (part_id, _, status, feedback) in enumerate(WRONG_VARIANTS):
        report = json.loads((out / f"variant-{number:02d}.json").read_text(encoding="utf-8"))
        part = _by_id(report)[part_id]
        assert part["status"] == status, (number, part["feedback"])
        for text in feedback:
            assert text in part["feedback"], (number, part["feedback"])


# ---------------------------------------------------------------------------
# Where answers come from


@needs_sandbox
def test_a_sets_default_tolerance_does_not_tighten_a_code_part(tmp_path: Path) -> None:
    """Issue 49 item 12: ``defaults: {rtol: 1e-9}`` (for answers written by hand) leaves a code
    part its own tolerance (rtol 1e-6, atol 1e-8): a sum taken in another order, off by 1e-8
    relatively, is correct; a part that sets its own rtol keeps it."""
    problems = tmp_path / "code.yaml"
    part = "    type: code\n    entry: total\n    inputs: {x: {shape: [4], range: [1, 2]}}\n"
    part += "    answer: |\n      def total(x):\n          return x.sum()\n"
    problems.write_text(
        "assignment: code-tolerance\ndefaults: {rtol: 1.0e-9}\nquestions:\n"
        f"  - id: own\n{part}  - id: strict\n    rtol: 1.0e-9\n{part}"
    )
    spec = load_problem_set(problems)
    assert [(p.rtol, p.atol) for _, _, p in spec.iter_parts()] == [(1e-6, 1e-8), (1e-9, 1e-8)]
    near = "def total(x):\n    return x.sum() * (1 + 1e-8)\n"
    report = _grade_folder(_submission(tmp_path, "ann", {"own": near, "strict": near}), problems)
    assert _by_id(report)["own"]["status"] == "correct"
    assert _by_id(report)["strict"]["status"] == "incorrect"


@needs_sandbox
def test_answers_from_a_python_file_of_the_submission(tmp_path: Path) -> None:
    problems = _numpy_set(tmp_path)
    folder = _submission(
        tmp_path,
        "alice",
        {
            "relu": {"file": "layers.py"},
            "square": {"file": "../bob/answers.yaml"},
            "total": {"file": "nope.py"},
        },
    )
    (folder / "layers.py").write_text("def relu_backward(x, dout):\n    return dout * (x > 0)\n")
    parts = _by_id(_grade_folder(folder, problems))
    assert parts["relu"]["status"] == "correct"
    assert parts["square"]["status"] == "invalid"
    assert "a .py file inside the submission folder" in parts["square"]["feedback"]
    assert parts["total"] == parts["total"] | {"status": "invalid"}
    assert "there is no nope.py in the submission folder" in parts["total"]["feedback"]
    submission = load_submission(folder)
    assert submission.positions["relu"].file.endswith("layers.py")


def test_a_code_file_linked_from_outside_the_folder_is_not_read(tmp_path: Path) -> None:
    secret = tmp_path / "other.py"
    secret.write_text("def relu_backward(x, dout):\n    return dout\n")
    folder = _submission(tmp_path, "alice", {"relu": {"file": "layers.py"}})
    (folder / "layers.py").symlink_to(secret)
    answer = load_submission(folder).answers["relu"]
    assert answer["file"] == "layers.py" and "outside this submission folder" in answer["error"]


@needs_sandbox
def test_answers_from_tagged_notebook_cells(tmp_path: Path) -> None:
    problems = _numpy_set(tmp_path)
    folder = tmp_path / "class" / "carol"
    folder.mkdir(parents=True)
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_markdown_cell("# Homework"),
        nbformat.v4.new_code_cell(
            "%matplotlib inline\ndef relu_backward(x, dout):\n    return dout * (x > 0)",
            metadata={"tags": ["answer:relu"]},
        ),
        nbformat.v4.new_code_cell("def square(x):\n    return x + x", metadata={"tags": ["answer:square"]}),
    ]
    nbformat.write(notebook, folder / "homework.ipynb")
    parts = _by_id(_grade_folder(folder, problems))
    assert parts["relu"]["status"] == "correct"
    assert parts["square"]["status"] == "incorrect" and "your output[0] is" in parts["square"]["feedback"]
    assert parts["total"]["status"] == "missing"


# ---------------------------------------------------------------------------
# How code runs


@needs_sandbox
def test_one_sandbox_runs_all_code_parts_of_a_submission(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = parse_problem_set(NUMPY_SET)
    started: list[int] = []
    real = runs.run_runner

    def counting(request: dict[str, Any], wall: float) -> Any:
        started.append(len(request["jobs"]))
        return real(request, wall)

    monkeypatch.setattr(runs, "run_runner", counting)
    monkeypatch.setattr(runs, "_CACHE", OrderedDict())  # as in a fresh worker
    for name, offset in (("dora", 0), ("eve", 1)):
        answers = {
            "relu": f"def relu_backward(x, dout):\n    return dout * (x > {offset})",
            "square": f"def square(x):\n    return x * x + {offset}",
            "total": f"def total(x):\n    return x.sum() + {offset}",
        }
        answers = {key: f"# {name}\n{text}" for key, text in answers.items()}  # not the reference's text
        report = grade(spec, load_submission(_submission(tmp_path, name, answers)))
        expected = Status.CORRECT if offset == 0 else Status.INCORRECT
        assert [part.status for part in report.parts] == [expected] * 3
    # dora: the three references in one sandbox (each on the base trials and on the structured
    # ones), her three answers in another; eve: hers only
    assert started == [6, 3, 3]


def test_without_a_sandbox_code_is_not_run_unless_the_ta_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    problems = _numpy_set(tmp_path)
    folder = _submission(tmp_path, "frank", {"square": "def square(x):\n    return x * x"})
    monkeypatch.setattr(sandbox, "sandbox_problem", lambda: "bubblewrap (bwrap) is not installed")
    monkeypatch.setenv(sandbox.UNSAFE_ENVIRONMENT, "0")
    part = _by_id(_grade_folder(folder, problems))["square"]
    assert part["status"] == "error"
    assert "no sandbox on this machine: bubblewrap (bwrap) is not installed" in part["feedback"]
    assert "--unsafe-run-code" in part["feedback"]
    result = CliRunner().invoke(
        main, ["grade", str(folder), "-p", str(problems), "-f", "json", "--unsafe-run-code"]
    )
    assert result.exit_code == 0, result.output
    assert _by_id(json.loads(result.stdout))["square"]["status"] == "correct"


def test_validate_says_when_pytorch_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *rest: None if name == "torch" else real(name, *rest)
    )
    result = CliRunner().invoke(main, ["validate", str(SEED_PROBLEMS)])
    # Not the file's fault: its PyTorch parts are named once as not self-tested here, every other
    # part is self-tested, and nothing claims their references or listed mistakes fail.
    assert result.exit_code == 0, result.output
    torch_parts = "q10.linear_forward, q10.linear_backward, q10.relu_backward, q10.cross_entropy_backward"
    expected = (
        f"warning: 6 parts not self-tested on this machine ({torch_parts}, q11.sgd_step, q11.evaluate): "
        'this part needs PyTorch, which is not installed (pip install "dl-theory-grader[torch]")'
    )
    assert expected in result.output
    assert "grades error" not in result.output and "not recognised" not in result.output
    assert "but those of the 6 parts not self-tested here" in result.output


# A question whose listed mistake is the reference itself: a fault of the file on any machine.
_MISTAKE_EQUAL_TO_REFERENCE = """\
  - id: wrong
    parts:
      - id: half
        type: number
        answer: 0.5
        points: 1
        mistakes:
          - {answer: "1/2", score: 0, feedback: the same number}
"""


def test_validate_still_fails_a_faulty_part_beside_parts_it_cannot_self_test(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *rest: None if name == "torch" else real(name, *rest)
    )
    broken = tmp_path / "broken.yaml"
    text = SEED_PROBLEMS.read_text(encoding="utf-8")
    broken.write_text(text + _MISTAKE_EQUAL_TO_REFERENCE, encoding="utf-8")
    result = CliRunner().invoke(main, ["validate", str(broken)])
    assert result.exit_code == 2, result.output
    assert "wrong.half: mistake 1 grades correct: it is equivalent to the reference answer" in result.output
    assert "warning: 6 parts not self-tested on this machine" in result.output


def test_the_sandbox_sees_no_course_files() -> None:
    arguments = sandbox._bwrap_arguments()
    bound = [arguments[i + 1] for i, flag in enumerate(arguments) if flag in ("--ro-bind", "--bind")]
    for path in bound:
        assert not str(ROOT).startswith(path + "/") and path != str(ROOT), path
        if path.startswith(str(ROOT) + "/"):  # only the runner script and this checkout's venv
            assert path == str(sandbox.RUNNER) or path.startswith(str(ROOT / ".venv") + "/"), path
    assert "--bind" not in arguments  # nothing of the host is writable
    for flag in ("--unshare-net", "--unshare-pid", "--die-with-parent", "--cap-drop"):
        assert flag in arguments


@needs_sandbox
def test_a_code_answer_is_escaped_on_the_student_page(tmp_path: Path) -> None:
    problems = _numpy_set(tmp_path)
    answer = "def square(x):\n    return '<script>alert(1)</script>'"
    folder = _submission(tmp_path, "gina", {"square": answer})
    spec = load_problem_set(problems)
    report = grade(spec, load_submission(folder))
    page = render_student_page(report, False, spec=spec)
    assert "<script>alert" not in page and "&lt;script&gt;" in page


@needs_sandbox
def test_an_error_for_want_of_a_sandbox_is_not_stored_for_the_next_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The verdict store keys verdicts by part and answer, not by machine: a code part's
    error (no sandbox here, PyTorch missing, a run stopped at its time limit) is never stored."""
    problems = _numpy_set(tmp_path)
    _submission(tmp_path, "hana", {"square": "def square(x):\n    return x * x"})
    command = ["grade", str(tmp_path / "class"), "-p", str(problems), "-o", str(tmp_path / "out"), "-q"]
    monkeypatch.setenv(sandbox.UNSAFE_ENVIRONMENT, "0")
    with monkeypatch.context() as patched:
        patched.setattr(sandbox, "sandbox_problem", lambda: "bubblewrap (bwrap) is not installed")
        assert CliRunner().invoke(main, command).exit_code == 0
    first = _by_id(json.loads((tmp_path / "out" / "hana.json").read_text(encoding="utf-8")))
    assert first["square"]["status"] == "error"
    assert CliRunner().invoke(main, command).exit_code == 0
    second = _by_id(json.loads((tmp_path / "out" / "hana.json").read_text(encoding="utf-8")))
    assert second["square"]["status"] == "correct"


def test_a_reference_in_a_file_beside_the_problem_file(tmp_path: Path) -> None:
    (tmp_path / "ref.py").write_text("def square(x):\n    return x * x\n", encoding="utf-8")
    text = (
        "assignment: files\nquestions:\n  - id: square\n    type: code\n    entry: square\n"
        "    inputs: {x: {shape: [3]}}\n    answer: {file: ref.py}\n"
        "    mistakes:\n      - {answer: {file: missing.py}, feedback: no}\n"
    )
    (tmp_path / "set.yaml").write_text(text.replace("missing.py", "ref.py"), encoding="utf-8")
    part = load_problem_set(tmp_path / "set.yaml").questions[0].parts[0]
    assert part.answer == "def square(x):\n    return x * x\n" == part.mistakes[0].answer
    (tmp_path / "set.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(ProblemFileError) as raised:
        load_problem_set(tmp_path / "set.yaml")
    assert raised.value.render().startswith(f"{tmp_path / 'set.yaml'}:9:")
    assert "questions[0].mistakes[0].answer: missing.py cannot be read: No such file or directory" in (
        raised.value.render()
    )


def test_a_code_part_that_would_run_nothing_is_refused() -> None:
    """No case and no trial: every answer would be 'correct' without having run."""
    text = (
        "assignment: empty\nquestions:\n  - id: square\n    type: code\n    entry: square\n"
        '    inputs: {x: {shape: [3]}}\n    trials: 0\n    answer: "def square(x):\\n    return x * x\\n"\n'
    )
    with pytest.raises(ProblemFileError) as raised:
        parse_problem_set(text)
    assert "give at least one case or trial" in raised.value.render()


@needs_sandbox
def test_code_is_graded_in_a_process_that_holds_over_a_thousand_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A long-running grader (the service's grading process, a test run) may hold descriptors
    numbered past 1024, where select() refuses to wait on the sandbox's output."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 1200:
        pytest.skip(f"this machine allows {hard} open files; the test needs 1,200")
    resource.setrlimit(
        resource.RLIMIT_NOFILE, (max(soft, 1200) if soft != resource.RLIM_INFINITY else soft, hard)
    )
    held = [os.open(os.devnull, os.O_RDONLY) for _ in range(1100)]
    try:
        monkeypatch.setattr(runs, "_CACHE", OrderedDict())  # the references run now, past fd 1024
        answers = {"total": "def total(x):\n    return x.sum()  # mine"}
        report = grade(parse_problem_set(NUMPY_SET), load_submission(_submission(tmp_path, "fay", answers)))
    finally:
        for fd in held:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    total = next(part for part in report.parts if part.id == "total")
    assert total.status is Status.CORRECT, total.feedback
