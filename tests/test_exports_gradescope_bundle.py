"""``grader gradescope-bundle``: the zip a TA uploads, run as Gradescope runs it against a fake
``/autograder`` tree (its root comes from GRADER_AUTOGRADER_ROOT)."""

from __future__ import annotations

import csv
import json
import os
import shutil
import stat
import subprocess
import sys
import tomllib
import zipfile
from importlib import metadata
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner
from code_support import needs_sandbox, needs_torch

from grader.cli import main
from grader.reporting.gradescope import ROOT_VARIABLE

ROOT = Path(__file__).parent.parent
PROBLEMS = ROOT / "problems" / "attention-approximation.yaml"
STUDENT = ROOT / "submissions" / "attention-approximation" / "seed-000"
SCHEMA = json.loads((Path(__file__).parent / "schemas" / "gradescope-results.schema.json").read_text())

# Where pip put the grader command: beside this Python, else on PATH.
SEARCH_PATH = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
GRADER = shutil.which("grader", path=SEARCH_PATH)

pytestmark = [
    pytest.mark.skipif(shutil.which("bash") is None, reason="run_autograder is a bash script"),
    pytest.mark.skipif(GRADER is None, reason="the grader command is not installed"),
]


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    output = tmp_path_factory.mktemp("bundle") / "autograder.zip"
    result = CliRunner().invoke(main, ["gradescope-bundle", "-p", str(PROBLEMS), "-o", str(output)])
    assert result.exit_code == 0, result.output
    assert "worth 16 points" in result.stderr  # 29 points, 13 of them graded by hand
    return output


def autograder_tree(bundle: Path, root: Path, submission: Path | None) -> Path:
    """``/autograder`` as Gradescope lays it out: source/ is the unzipped bundle."""
    with zipfile.ZipFile(bundle) as archive:
        archive.extractall(root / "source")
        for info in archive.infolist():  # zipfile does not restore permissions
            mode = (info.external_attr >> 16) & 0o777
            if mode:
                (root / "source" / info.filename).chmod(mode)
    shutil.copy(root / "source" / "run_autograder", root / "run_autograder")
    (root / "submission").mkdir()
    if submission is not None:
        shutil.copytree(submission, root / "submission", dirs_exist_ok=True)
    return root


def run_autograder(root: Path) -> dict[str, object]:
    env = {**os.environ, ROOT_VARIABLE: str(root), "PATH": SEARCH_PATH}
    completed = subprocess.run([str(root / "run_autograder")], env=env, cwd=root, timeout=300, check=False)
    assert completed.returncode == 0
    results: dict[str, object] = json.loads((root / "results" / "results.json").read_text())
    jsonschema.validate(results, SCHEMA, cls=jsonschema.Draft202012Validator)
    return results


def test_the_bundle_holds_what_gradescope_needs(bundle: Path) -> None:
    with zipfile.ZipFile(bundle) as archive:
        names = archive.namelist()
        modes = {info.filename: (info.external_attr >> 16) for info in archive.infolist()}
        pyproject = archive.read("grader-src/pyproject.toml").decode()
    assert names[:3] == ["setup.sh", "run_autograder", f"problems/{PROBLEMS.name}"]
    assert modes["setup.sh"] & stat.S_IXUSR and modes["run_autograder"] & stat.S_IXUSR
    assert "grader-src/grader/cli.py" in names and not any("__pycache__" in n for n in names)
    assert 'name = "dl-theory-grader"' in pyproject  # "grader" on PyPI is another project
    pins = tomllib.loads(pyproject)["project"]["dependencies"]
    assert f"pydantic=={metadata.version('pydantic')}" in pins  # the versions the TA checked with
    assert all("==" in pin for pin in pins)


@pytest.mark.slow  # run_autograder grades in a subprocess: seconds
def test_an_upload_with_the_answers_in_a_subfolder_is_one_results_object(
    bundle: Path, tmp_path: Path
) -> None:
    upload = tmp_path / "upload"
    shutil.copytree(STUDENT, upload / "hw2")
    (upload / "__MACOSX" / "hw2").mkdir(parents=True)  # what a Mac's zip adds
    results = run_autograder(autograder_tree(bundle, tmp_path / "ag", upload))
    assert isinstance(results, dict) and results["score"] == 5
    assert {t["name"] for t in results["tests"]} >= {"approx.linear"}  # type: ignore[attr-defined]


def test_an_upload_with_two_answer_folders_is_told_to_upload_one(bundle: Path, tmp_path: Path) -> None:
    upload = tmp_path / "upload"
    shutil.copytree(STUDENT, upload / "hw1")
    shutil.copytree(STUDENT, upload / "hw2")
    results = run_autograder(autograder_tree(bundle, tmp_path / "ag", upload))
    assert results["score"] == 0 and "hw1, hw2" in str(results["output"])


@pytest.mark.slow  # run_autograder grades in a subprocess: seconds
def test_run_autograder_grades_the_submission_into_results_json(bundle: Path, tmp_path: Path) -> None:
    results = run_autograder(autograder_tree(bundle, tmp_path, STUDENT))
    direct = [str(GRADER), "grade", str(STUDENT), "-p", str(PROBLEMS)]
    expected = subprocess.run([*direct, "-f", "gradescope"], capture_output=True, text=True, check=False)
    assert results == json.loads(expected.stdout)
    tests = {t["name"]: t for t in results["tests"]}  # type: ignore[attr-defined]
    assert tests["approx.linear"]["status"] == "failed" and tests["approx.linear"]["max_score"] == 3
    assert results["score"] == 5


@pytest.mark.slow  # run_autograder grades in a subprocess: seconds
def test_run_autograder_explains_a_submission_it_cannot_grade(bundle: Path, tmp_path: Path) -> None:
    results = run_autograder(autograder_tree(bundle, tmp_path, None))
    assert results["score"] == 0 and results["tests"] == []
    assert "could not be graded" in str(results["output"]) and "holds no submissions" in str(
        results["output"]
    )


def test_a_bad_problem_set_is_refused_before_bundling(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("assignment: a1\nquestions:\n  - id: q1\n    type: number\n    answer: ten\n")
    result = CliRunner().invoke(main, ["gradescope-bundle", "-p", str(bad), "-o", str(tmp_path / "a.zip")])
    assert result.exit_code == 2 and "reference answer" in result.stderr
    assert not (tmp_path / "a.zip").exists()


VARIANTS = ROOT / "problems" / "variants-relu-conv-softmax.yaml"
VARIANT_SHEETS = ROOT / "submissions" / "variants-relu-conv-softmax"


@pytest.fixture(scope="module")
def variants_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    output = tmp_path_factory.mktemp("bundle") / "autograder.zip"
    command = ["gradescope-bundle", "-p", str(VARIANTS), "-o", str(output), "--variant-key", "example-key"]
    result = CliRunner().invoke(main, command)
    assert result.exit_code == 0, result.output
    return output


def test_a_set_with_parameters_is_bundled_with_its_key_only(tmp_path: Path) -> None:
    refused = CliRunner(env={"GRADER_VARIANT_KEY": None}).invoke(
        main, ["gradescope-bundle", "-p", str(VARIANTS), "-o", str(tmp_path / "a.zip")]
    )
    assert refused.exit_code == 2 and "GRADER_VARIANT_KEY" in refused.output
    assert not (tmp_path / "a.zip").exists()


@pytest.mark.slow  # run_autograder grades in a subprocess: seconds
@pytest.mark.parametrize(
    ("sid", "score"),
    [("s2600001", 10), ("s2600004", None)],  # s2600001's right answers, handed in by s2600004: not all right
)
def test_run_autograder_grades_each_student_in_their_own_variant(
    variants_bundle: Path, tmp_path: Path, sid: str, score: int | None
) -> None:
    with zipfile.ZipFile(variants_bundle) as archive:
        assert archive.read("variant.key") == b"example-key"
        assert (archive.getinfo("variant.key").external_attr >> 16) & 0o077 == 0
    root = autograder_tree(variants_bundle, tmp_path, VARIANT_SHEETS / "s2600001")
    metadata_file = {"users": [{"email": f"{sid}@example.edu", "id": 7, "name": "A", "sid": sid}]}
    (root / "submission_metadata.json").write_text(json.dumps(metadata_file))
    results = run_autograder(root)
    assert results["extra_data"]["student"] in (sid, "s2600001")  # type: ignore[index]
    listed = subprocess.run(
        [
            sys.executable,
            "-c",
            "from grader.cli import main; main()",
            "variants",
            "-p",
            str(VARIANTS),
            "--students",
            str(roster(tmp_path, sid)),
            "--variant-key",
            "example-key",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    variant = next(csv.DictReader(listed))["variant"]
    assert results["extra_data"]["variant"] == variant  # type: ignore[index]
    if score is not None:
        assert results["score"] == score
    else:
        assert results["score"] < 10  # type: ignore[operator]


def roster(folder: Path, sid: str) -> Path:
    path = folder / "roster.csv"
    path.write_text(f"student\n{sid}\n")
    return path


def test_a_metadata_file_without_a_usable_student_id_is_explained(
    variants_bundle: Path, tmp_path: Path
) -> None:
    root = autograder_tree(variants_bundle, tmp_path, VARIANT_SHEETS / "s2600001")
    (root / "submission_metadata.json").write_text(
        json.dumps({"users": [{"sid": "../s2600004", "email": ""}]})
    )
    results = run_autograder(root)
    assert results["score"] == 0 and "no student id" in str(results["output"])


# ---------------------------------------------------------------------------
# Code parts: what they need of Gradescope's image, and the key they never see

CODE_SET = """assignment: code-hw
questions:
  - id: q1
    type: code
    entry: double
    inputs: {x: {shape: [3]}}
    answer: |
      def double(x):
          return 2 * x
"""
TORCH_PART = """  - id: q2
    type: code
    framework: torch
    entry: triple
    inputs: {x: {shape: [3]}}
    answer: |
      def triple(x):
          return 3 * x
"""


def _build(problems: Path, output: Path) -> str:
    result = CliRunner().invoke(main, ["gradescope-bundle", "-p", str(problems), "-o", str(output)])
    assert result.exit_code == 0, result.output
    return result.stderr


def _setup_sh(bundle: Path) -> str:
    with zipfile.ZipFile(bundle) as archive:
        return archive.read("setup.sh").decode()


def test_a_set_without_code_parts_installs_no_sandbox(bundle: Path) -> None:
    setup = _setup_sh(bundle)
    assert "bubblewrap" not in setup and "torch" not in setup and "--sandbox" not in setup


@needs_torch
def test_the_bundle_installs_what_its_code_parts_need_and_the_build_says_so(tmp_path: Path) -> None:
    problems = tmp_path / "code-hw.yaml"
    problems.write_text(CODE_SET + TORCH_PART)
    said = _build(problems, tmp_path / "autograder.zip")
    assert "part q1 (code, framework numpy): needs bubblewrap; setup.sh installs it" in said
    assert "part q2 (code, framework torch): needs bubblewrap and PyTorch; setup.sh installs them" in said
    assert "Gradescope does not document its own" in said and "never run unsandboxed" in said
    setup = _setup_sh(tmp_path / "autograder.zip")
    lines = setup.splitlines()
    torch_version = metadata.version("torch").split("+")[0]
    install_torch = next(line for line in lines if "torch==" in line)
    assert f'"torch=={torch_version}" --index-url https://download.pytorch.org/whl/cpu' in install_torch
    assert f"torch=={torch_version}" in said  # the pin, within the torch extra's torch>=2.0
    order = [
        next(i for i, line in enumerate(lines) if "apt-get install -y -qq bubblewrap" in line),
        next(i for i, line in enumerate(lines) if "-m venv" in line),
        next(i for i, line in enumerate(lines) if "pip install --quiet ./grader-src" in line),
        lines.index(install_torch),
        next(i for i, line in enumerate(lines) if "grader validate" in line),
        next(i for i, line in enumerate(lines) if "grader.reporting.gradescope --sandbox" in line),
    ]
    assert order == sorted(order)
    checked = subprocess.run(["bash", "-n", "-c", setup], capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stderr


@needs_sandbox
def test_the_sandbox_check_setup_sh_runs_says_whether_code_parts_can_run(tmp_path: Path) -> None:
    said = subprocess.run(
        [sys.executable, "-m", "grader.reporting.gradescope", "--sandbox"],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    ).stdout
    assert "bubblewrap starts in this image" in said
    blocked = subprocess.run(  # an image without bwrap: said, and nothing run unsandboxed
        [sys.executable, "-m", "grader.reporting.gradescope", "--sandbox"],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
        env={**os.environ, "PATH": "/nonexistent"},
    ).stdout
    assert "WARNING: bubblewrap (bwrap) is not installed" in blocked and "never run unsandboxed" in blocked


@needs_sandbox
@pytest.mark.slow  # run_autograder grades in a subprocess: seconds
def test_student_code_in_the_bundle_cannot_read_the_variant_key(tmp_path: Path) -> None:
    problems = tmp_path / "code-hw.yaml"
    problems.write_text(CODE_SET)
    _build(problems, tmp_path / "autograder.zip")
    root = autograder_tree(tmp_path / "autograder.zip", tmp_path / "ag", None)
    key_file = root / "source" / "variant.key"  # where a set with parameters carries the key
    key_file.write_text("course-secret")
    key_file.chmod(0o600)
    (root / "submission" / "answers.yaml").write_text(
        "student: s1\nanswers:\n  q1: |\n"
        "    def double(x):\n"
        "        import os\n"
        f"        for path in ({str(key_file)!r}, '/autograder/source/variant.key'):\n"
        "            try:\n"
        "                open(path).read()\n"
        "                return 3 * x  # read it: wrong on purpose\n"
        "            except OSError:\n"
        "                pass\n"
        "        if 'GRADER_VARIANT_KEY' in os.environ:\n"
        "            return 4 * x\n"
        "        return 2 * x\n"
    )
    (root / "submission_metadata.json").write_text(json.dumps({"users": [{"sid": "s1"}]}))
    results = run_autograder(root)
    tests = {t["name"]: t for t in results["tests"]}  # type: ignore[attr-defined]
    assert tests["q1"]["status"] == "passed", tests["q1"]["output"]
