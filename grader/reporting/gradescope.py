"""Gradescope: the autograder's ``results.json``, and the zip a TA uploads.

``--format gradescope`` writes the results file Gradescope's autograder harness
reads (its "Autograder Specifications"): a top-level ``score``, and one test per
part with ``name``, ``score``, ``max_score``, ``status``, Markdown ``output`` and
``visibility``. Parts a TA marked ``visible: true`` are shown at once; the others
after the grades are published. Hand-graded parts are not tests (Gradescope would
show a 0/0 test as passed before anyone graded it): the overview names them, and
Gradescope grades them as manual questions, so the autograder score is the
auto-graded points.

:func:`build_bundle` writes ``autograder.zip``: ``setup.sh`` installs grader from
the source bundled with it (PyPI is the only network access it needs, for
grader's dependencies), ``run_autograder`` grades ``/autograder/submission``
into ``/autograder/results/results.json``.
"""

from __future__ import annotations

import json
import re
import shutil
import stat
import sys
import tempfile
import tomllib
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import grader
from grader.core.report import PartResult, Report, points_value
from grader.core.verdict import Status
from grader.loading import is_submission_folder
from grader.mathlang.wording import counted
from grader.reporting.escape import json_text, markdown_text
from grader.reporting.exports import auto_graded_max, fenced, hand_graded
from grader.reporting.handmarks import hand_markdown
from grader.reporting.withhold import shown_report

if TYPE_CHECKING:
    from grader.spec import ProblemSet

VISIBLE_NOW = "visible"  # parts marked ``visible: true``
VISIBLE_LATER = "after_published"
ROOT_VARIABLE = "GRADER_AUTOGRADER_ROOT"  # the test points this at a fake /autograder tree
MAX_UPLOAD_DEPTH = 3  # how deep in an upload the answers are looked for
VARIANT_KEY_FILE = "variant.key"  # in the bundle: the course's key of a set with parameters
# A student's id from Gradescope's submission_metadata.json names the folder graded, whose
# name draws their variant: the roster's student id (sid), else their e-mail address.
STUDENT_ID_FIELDS = ("sid", "email")
SAFE_ID = re.compile(r"^[A-Za-z0-9@+_-][A-Za-z0-9@+._-]{0,199}$")


class GradescopeReporter:
    """Gradescope's ``results.json``; a batch is a list of them."""

    def render(self, report: Report, *, show_expected: bool = False, color: bool = False) -> str:
        return json_text(json.dumps(results(report, show_expected), indent=2, ensure_ascii=False)) + "\n"

    def render_batch(
        self, reports: Sequence[Report], *, show_expected: bool = False, color: bool = False
    ) -> str:
        data = [results(report, show_expected) for report in reports]
        return json_text(json.dumps(data, indent=2, ensure_ascii=False)) + "\n"


def results(report: Report, show_expected: bool = False) -> dict[str, Any]:
    """The ``results.json`` of one report (Gradescope shows it to the student)."""
    report = shown_report(report, show_expected)
    data: dict[str, Any] = {
        "score": points_value(report.score),
        "tests": [_test(part, show_expected) for part in report.parts if not hand_graded(part)],
        "extra_data": {
            "assignment": report.assignment,
            "student": report.student,
            "max_score": points_value(auto_graded_max(report)),
            "pending": points_value(report.pending),
            **({"variant": report.variant} if report.variant is not None else {}),
        },
    }
    overview = _overview(report)
    if overview:
        data["output"] = overview
        data["output_format"] = "md"
    return data


def _test(part: PartResult, show_expected: bool) -> dict[str, Any]:
    return {
        "name": part.id,
        "score": points_value(part.score),
        "max_score": points_value(part.max_score),
        "status": "passed" if part.status is Status.CORRECT else "failed",
        "output": part_output(part, show_expected),
        "output_format": "md",
        "visibility": VISIBLE_NOW if part.visible else VISIBLE_LATER,
    }


def part_output(part: PartResult, show_expected: bool = False) -> str:
    """What a student reads under one test: the verdict, their answer, the feedback."""
    lines = [f"**{part.status.value}** ({points_value(part.score)}/{points_value(part.max_score)})", ""]
    if part.received:
        lines += ["Your answer:", "", fenced(part.received), ""]
    if part.hand is not None:
        lines += hand_markdown(part.hand, markdown_text)
    elif part.feedback:
        lines += [fenced(part.feedback) if "\n" in part.feedback else markdown_text(part.feedback), ""]
    if show_expected and part.expected:
        lines += ["Expected:", "", fenced(part.expected), ""]
    if part.note:
        lines += [f"Note: {part.note}", ""]
    return "\n".join(lines).strip()


def _overview(report: Report) -> str:
    lines = []
    if report.error:
        lines.append(f"**Your answers file could not be read:** {markdown_text(report.error)}")
    lines += [f"Warning: {markdown_text(warning)}" for warning in report.warnings]
    lines += [markdown_text(note) for note in report.notes]
    by_hand = [part for part in report.parts if hand_graded(part)]
    if by_hand:
        listed = ", ".join(
            f"{markdown_text(part.id)} ({counted(part.max_score, 'point')})" for part in by_hand
        )
        lines.append(f"Graded by hand by a TA, not in the autograder score: {listed}.")
    return "\n\n".join(lines)


# ---------------------------------------------------------------------------
# The autograder zip

# Placeholders: @PROBLEMS@ (the problem file's name in the bundle), @SYSTEM@ and @TORCH@
# (what code parts need of the image: empty for a set without them), @SANDBOX@.
SETUP_SH = r"""#!/usr/bin/env bash
# Gradescope runs this once, when it builds the autograder image: grader and its
# dependencies (from PyPI) go into their own virtual environment.
set -euo pipefail
cd "$(dirname "$0")"
PYTHON=""
for candidate in python3.13 python3.12 python3.11 python3; do
    if command -v "$candidate" >/dev/null \
        && "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
        PYTHON="$candidate"; break
    fi
done
if [ -z "$PYTHON" ]; then
    apt-get update -qq && apt-get install -y -qq python3.11 python3.11-venv
    PYTHON=python3.11
fi
@SYSTEM@"$PYTHON" -m venv /autograder/grader-venv
/autograder/grader-venv/bin/python -m pip install --quiet --upgrade pip
/autograder/grader-venv/bin/python -m pip install --quiet ./grader-src
@TORCH@/autograder/grader-venv/bin/grader validate "problems/@PROBLEMS@"
@SANDBOX@"""

# Code parts run in bubblewrap's sandbox, never unsandboxed: run_autograder runs as root,
# and student code beside it could write its own results.json.
SETUP_BUBBLEWRAP = """# Code parts run student code in bubblewrap's sandbox.
if ! command -v bwrap >/dev/null; then
    apt-get update -qq && apt-get install -y -qq bubblewrap
fi
"""
# PyTorch's CPU build (the CUDA build from PyPI is gigabytes Gradescope's machines never use).
TORCH_INDEX = "https://download.pytorch.org/whl/cpu"
SETUP_TORCH = """# Code parts with framework: torch: PyTorch's CPU build.
/autograder/grader-venv/bin/python -m pip install --quiet "@REQUIREMENT@" --index-url @INDEX@
"""
# Whether bubblewrap starts in the image just built: said in Gradescope's build log.
SETUP_SANDBOX = """/autograder/grader-venv/bin/python -m grader.reporting.gradescope --sandbox
"""

RUN_AUTOGRADER = r"""#!/usr/bin/env bash
# Gradescope runs this for every submission: grade it, write results/results.json.
set -uo pipefail
ROOT="${@ROOT_VARIABLE@:-/autograder}"
BIN="$ROOT/grader-venv/bin"
GRADER="$BIN/grader"; PYTHON="$BIN/python"
[ -x "$GRADER" ] || GRADER=grader
[ -x "$PYTHON" ] || PYTHON=python3
mkdir -p "$ROOT/results"
RESULTS="$ROOT/results/results.json"
STDERR="$ROOT/results/grader-stderr.txt"
# A set with parameters: the course's key from the bundle, and the student's id from
# Gradescope's metadata (the folder graded is named after it, which draws their variant).
METADATA=""
if [ -f "$ROOT/source/variant.key" ]; then
    GRADER_VARIANT_KEY="$(cat "$ROOT/source/variant.key")"
    export GRADER_VARIANT_KEY
    METADATA="$ROOT/submission_metadata.json"
fi
# The folder that holds the answers: the upload itself, or the one folder in it that does
# (a student who zipped hw2/answers.yaml).
if SUBMISSION=$("$PYTHON" -m grader.reporting.gradescope "$ROOT/submission" "$METADATA" 2> "$STDERR"); then
    "$GRADER" grade "$SUBMISSION" -p "$ROOT/source/problems/@PROBLEMS@" \
        --format gradescope > "$RESULTS.tmp" 2> "$STDERR"
    CODE=$?
else
    CODE=2
fi
if [ "$CODE" -le 1 ] && [ -s "$RESULTS.tmp" ]; then
    mv "$RESULTS.tmp" "$RESULTS"
else
    # grader could not grade at all (no answers file found, ...): tell the student why.
    "$PYTHON" - "$STDERR" "$RESULTS" <<'PYTHON'
import json, sys
reason = open(sys.argv[1], encoding="utf-8", errors="replace").read().strip() or "grader failed"
results = {"score": 0, "output": "Your submission could not be graded:\n\n" + reason, "tests": []}
json.dump(results, open(sys.argv[2], "w", encoding="utf-8"), indent=2)
PYTHON
    rm -f "$RESULTS.tmp"
fi
cat "$STDERR" >&2
exit 0
"""


PYPROJECT = """[build-system]
requires = ["setuptools>=68", "wheel"]
build-backend = "setuptools.build_meta"

[project]
name = "@DISTRIBUTION@"
version = "@VERSION@"
requires-python = ">=3.11"
dependencies = @DEPENDENCIES@

[project.scripts]
grader = "grader.cli:main"

[tool.setuptools.packages.find]
include = ["grader*"]

[tool.setuptools.package-data]
"*" = ["*"]
"""
EXECUTABLE = ("setup.sh", "run_autograder")


@dataclass(frozen=True)
class CodePartNeeds:
    """A code part of the set: what it needs of Gradescope's image."""

    address: str
    framework: str  # numpy or torch

    def line(self) -> str:
        """What the build says of it."""
        needs = "bubblewrap and PyTorch" if self.framework == "torch" else "bubblewrap"
        them = "them" if self.framework == "torch" else "it"
        return (
            f"part {self.address} (code, framework {self.framework}): needs {needs}; setup.sh installs {them}"
        )


def code_parts(spec: ProblemSet) -> list[CodePartNeeds]:
    """The set's code parts, in file order."""
    return [
        CodePartNeeds(address, str(getattr(part, "framework", "numpy")))
        for address, _, part in spec.iter_parts()
        if part.type == "code"
    ]


def image_notes(parts: Sequence[CodePartNeeds]) -> list[str]:
    """What the build says of the image the set's code parts need (nothing without them)."""
    if not parts:
        return []
    lines = [part.line() for part in parts]
    if any(part.framework == "torch" for part in parts):
        lines.append(f"setup.sh installs {torch_requirement()} (the CPU build, from {TORCH_INDEX})")
    lines.append(
        "bubblewrap must be able to create namespaces in Gradescope's container: Docker's default "
        "settings refuse them, and Gradescope does not document its own. setup.sh says in the "
        "autograder's build log whether bubblewrap starts; where it cannot, code parts are never "
        "run unsandboxed: each is graded error (no sandbox on this machine), for you to grade by hand"
    )
    return lines


def setup_script(name: str, parts: Sequence[CodePartNeeds] = ()) -> str:
    """``setup.sh`` for the problem file ``name`` with these code parts."""
    torch = any(part.framework == "torch" for part in parts)
    install_torch = SETUP_TORCH.replace("@REQUIREMENT@", torch_requirement()).replace("@INDEX@", TORCH_INDEX)
    return (
        SETUP_SH.replace("@PROBLEMS@", name)
        .replace("@SYSTEM@", SETUP_BUBBLEWRAP if parts else "")
        .replace("@TORCH@", install_torch if torch else "")
        .replace("@SANDBOX@", SETUP_SANDBOX if parts else "")
    )


def build_bundle(
    problem_file: Path, output: Path, variant_key: str = "", parts: Sequence[CodePartNeeds] = ()
) -> list[str]:
    """Write the autograder zip for one problem set; returns the names it holds, in order.
    ``variant_key``: the course's key of a set with parameters, carried in the bundle (the
    TA's upload, which students never see) so that each student is graded in their variant.
    ``parts``: the set's code parts, whose needs ``setup.sh`` installs."""
    name = bundle_problem_name(problem_file)
    files: dict[str, str | bytes] = {
        "setup.sh": setup_script(name, parts),
        "run_autograder": RUN_AUTOGRADER.replace("@PROBLEMS@", name).replace(
            "@ROOT_VARIABLE@", ROOT_VARIABLE
        ),
        f"problems/{name}": problem_file.read_bytes(),
        "grader-src/pyproject.toml": PYPROJECT.replace("@VERSION@", grader.__version__)
        .replace("@DISTRIBUTION@", grader.DISTRIBUTION)
        .replace("@DEPENDENCIES@", json.dumps(pinned(dependencies()))),
        **_package_files(),
        **({VARIANT_KEY_FILE: variant_key} if variant_key else {}),
    }
    output.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(output, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        for member, content in files.items():
            info = zipfile.ZipInfo(member, date_time=(2024, 1, 1, 0, 0, 0))
            mode = 0o755 if member in EXECUTABLE else 0o600 if member == VARIANT_KEY_FILE else 0o644
            info.external_attr = (stat.S_IFREG | mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            bundle.writestr(info, content)
    return list(files)


def _package_files() -> dict[str, bytes]:
    """grader's own source, as installed here, under ``grader-src/grader/``."""
    package = Path(grader.__file__).parent
    return {
        f"grader-src/grader/{path.relative_to(package).as_posix()}": path.read_bytes()
        for path in sorted(package.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts and path.suffix not in (".pyc", ".pyo")
    }


def dependencies() -> list[str]:
    """grader's requirements: from this checkout's pyproject.toml, else the installed metadata."""
    pyproject = Path(grader.__file__).parent.parent / "pyproject.toml"
    if pyproject.is_file():
        project = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("project", {})
        if project.get("name") == grader.DISTRIBUTION:
            return list(project.get("dependencies", []))
    return [r for r in metadata.requires(grader.DISTRIBUTION) or [] if "extra ==" not in r]


def torch_requirement() -> str:
    """PyTorch as the ``torch`` extra allows it, pinned to the version installed here (its
    public part: ``2.13.0+cpu`` is ``torch==2.13.0``) when the extra allows that one."""
    allowed = _extra_requirement("torch") or "torch"
    try:
        installed = metadata.version("torch").split("+")[0]
    except metadata.PackageNotFoundError:
        return allowed
    try:
        from packaging.requirements import InvalidRequirement, Requirement
    except ImportError:  # packaging comes with pip and setuptools, but is no dependency
        return allowed
    try:
        allows = Requirement(allowed).specifier.contains(installed, prereleases=True)
    except InvalidRequirement:
        return allowed
    return f"torch=={installed}" if allows else allowed


def _extra_requirement(extra: str) -> str | None:
    """The requirement an extra of grader adds (``torch>=2.0``): from this checkout's
    pyproject.toml, else the installed metadata."""
    pyproject = Path(grader.__file__).parent.parent / "pyproject.toml"
    if pyproject.is_file():
        project = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("project", {})
        if project.get("name") == grader.DISTRIBUTION:
            found = project.get("optional-dependencies", {}).get(extra, [])
            return str(found[0]) if found else None
    for requirement in metadata.requires(grader.DISTRIBUTION) or []:
        if re.search(rf"extra\s*==\s*['\"]{extra}['\"]", requirement):
            return requirement.split(";")[0].strip()
    return None


def pinned(requirements: list[str]) -> list[str]:
    """Each requirement at the version installed here, the one the TA's runs were checked
    with (``numpy>=1.26`` -> ``numpy==2.1.3``), so a Gradescope image built later grades alike."""
    out = []
    for requirement in requirements:
        name = re.match(r"[A-Za-z0-9._-]+", requirement)
        try:
            out.append(f"{name.group()}=={metadata.version(name.group())}" if name else requirement)
        except metadata.PackageNotFoundError:
            out.append(requirement)
    return out


def find_submission(upload: Path) -> Path:
    """The folder of an upload that holds the answers: the upload itself, else the one
    folder nearest to its top that does (hidden folders and ``__MACOSX`` skipped).
    ValueError when several do at the same depth."""
    level = [upload]
    for _ in range(MAX_UPLOAD_DEPTH + 1):
        found = [folder for folder in level if is_submission_folder(folder)]
        if len(found) == 1:
            return found[0]
        if found:
            names = ", ".join(folder.relative_to(upload).as_posix() for folder in found)
            raise ValueError(f"several folders of your upload hold answers ({names}): upload one")
        level = [child for folder in level for child in _subfolders(folder)]
    return upload


def _subfolders(folder: Path) -> list[Path]:
    return sorted(
        child
        for child in folder.iterdir()
        if child.is_dir() and not child.is_symlink() and not child.name.startswith((".", "_"))
    )


def bundle_problem_name(problem_file: Path) -> str:
    """The problem file's name as the bundle stores it (letters, digits, ., -, _: safe in a script)."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", problem_file.name)


def student_id(metadata_file: Path) -> str:
    """The submitting student's id in Gradescope's ``submission_metadata.json`` (the first
    user of a group); ValueError when it names none usable as a folder's name."""
    try:
        users = json.loads(metadata_file.read_text(encoding="utf-8")).get("users") or []
    except (OSError, ValueError, AttributeError) as exc:
        raise ValueError(f"no student id: {metadata_file.name} cannot be read ({exc})") from None
    first = users[0] if users and isinstance(users[0], dict) else {}
    found = next((str(first[f]) for f in STUDENT_ID_FIELDS if first.get(f)), "")
    if not SAFE_ID.match(found) or found in (".", ".."):
        raise ValueError(
            f"{metadata_file.name} gives no student id (sid or email) this problem set's variants "
            "can be drawn from: ask a TA"
        )
    return found


def student_folder(submission: Path, metadata_file: Path) -> Path:
    """A copy of the submission folder named after the student's id (symbolic links kept as
    links, which the reader refuses), so that the folder's name draws their variant."""
    named = Path(tempfile.mkdtemp(prefix="grader-student-")) / student_id(metadata_file)
    shutil.copytree(submission, named, symlinks=True)
    return named


def _print_submission_folder(arguments: list[str]) -> int:
    """``python -m grader.reporting.gradescope UPLOAD [METADATA]``: run_autograder's way to find
    the answers; with Gradescope's metadata file, a copy named after the student's id."""
    try:
        folder = find_submission(Path(arguments[0]))
        if len(arguments) > 1 and arguments[1]:
            folder = student_folder(folder, Path(arguments[1]))
        print(folder)
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 2
    return 0


def sandbox_status() -> str:
    """Whether code parts can run where this is called (setup.sh: in Gradescope's image)."""
    from grader.types.code.sandbox import sandbox_problem

    problem = sandbox_problem()
    if problem is None:
        return "grader: bubblewrap starts in this image: code parts run in its sandbox"
    return (
        f"grader: WARNING: {problem}. Code parts cannot run in this image: each is graded error "
        "(no sandbox on this machine), for a TA to grade by hand; they are never run unsandboxed"
    )


if __name__ == "__main__":
    if sys.argv[1:] == ["--sandbox"]:
        print(sandbox_status())
        sys.exit(0)
    sys.exit(_print_submission_folder(sys.argv[1:]))
