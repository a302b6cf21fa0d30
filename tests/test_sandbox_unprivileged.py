"""The sandbox tests again, as an unprivileged user: the deployment docs/service.md documents
(``User=grader``), where bubblewrap works in a user namespace and a job runs as the runner's
own user. Run as root (CI's .ci/run), this module finds or makes the user ``grader-test``
(or ``GRADER_TEST_USER``) and runs the sandbox tests as that user with ``runuser``; run as
any other user, those tests already ran unprivileged. Where neither can be done it skips,
saying why.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
USER = os.environ.get("GRADER_TEST_USER", "grader-test")
SANDBOX_TESTS = (
    "tests/test_sandbox.py",
    "tests/test_sandbox_warm.py",
    "tests/test_code_hostile.py",
    "tests/test_answer_groups.py::test_code_answers_are_grouped_by_what_each_did_in_its_own_sandbox",
    "tests/test_answer_groups.py::test_grouping_code_answers_runs_no_code",
)


def _home() -> Path:
    """The unprivileged user's home (made with the user when missing): pytest and PyTorch
    write there."""
    try:
        return Path(pwd.getpwnam(USER).pw_dir)
    except KeyError:
        pass
    made = subprocess.run(
        ["useradd", "--create-home", "--shell", "/usr/sbin/nologin", USER],
        capture_output=True,
        text=True,
        check=False,
    )
    if made.returncode != 0:
        pytest.skip(f"cannot make the unprivileged user {USER}: {made.stderr.strip()[:200]}")
    return Path(pwd.getpwnam(USER).pw_dir)


def _as_user(home: Path, *command: str, timeout: float) -> subprocess.CompletedProcess[str]:
    environment = [f"PYTHONPATH={ROOT}", f"HOME={home}", f"PATH={os.environ.get('PATH', '/usr/bin:/bin')}"]
    return subprocess.run(
        ["runuser", "-u", USER, "--", "env", "-i", *environment, sys.executable, *command],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_the_sandbox_tests_pass_as_an_unprivileged_user() -> None:
    if os.geteuid() != 0:
        pytest.skip("pytest runs unprivileged already: the sandbox tests ran as this user")
    if shutil.which("runuser") is None:
        pytest.skip("runuser (util-linux) is not installed")
    home = _home()
    reachable = _as_user(home, "-c", "import grader, numpy, pytest", timeout=120)
    if reachable.returncode != 0:
        pytest.skip(
            f"{USER} cannot run {sys.executable} with this checkout ({reachable.stderr.strip()[-300:]}): "
            "every folder on the way to both must be open to it (.ci/run opens them)"
        )
    # In one process (-n 0): the outer suite's test processes already share the cores.
    ran = _as_user(
        home, "-m", "pytest", "-p", "no:cacheprovider", "-n", "0", "-rs", *SANDBOX_TESTS, timeout=900
    )
    summary = ran.stdout[-3000:] + ran.stderr[-2000:]
    assert ran.returncode == 0, summary
    assert " passed" in ran.stdout, summary
