"""When code answers can run here: bubblewrap for the sandbox, PyTorch for torch parts.

Tests that run student code skip with the reason when the machine lacks either; CI
installs both (Debian's ``bubblewrap``, ``pip install torch==2.13.0``).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest

from grader.loading import load_problem_set
from grader.types.code.sandbox import sandbox_problem


def sandbox_skip_reason() -> str | None:
    problem = sandbox_problem()
    return f"no sandbox: {problem} (apt-get install bubblewrap)" if problem else None


def torch_skip_reason() -> str | None:
    if importlib.util.find_spec("torch") is None:
        return "PyTorch is not installed (pip install torch==2.13.0)"
    return sandbox_skip_reason()


def skip_unless_code_runs(spec: dict[str, Any]) -> None:
    """Skip a test of a code part when this machine cannot run it."""
    if spec.get("type") != "code":
        return
    reason = torch_skip_reason() if spec.get("framework") == "torch" else sandbox_skip_reason()
    if reason:
        pytest.skip(reason)


needs_sandbox = pytest.mark.skipif(sandbox_skip_reason() is not None, reason=str(sandbox_skip_reason()))
needs_torch = pytest.mark.skipif(torch_skip_reason() is not None, reason=str(torch_skip_reason()))


def skip_unless_problem_set_runs(problem_file: str | Path) -> None:
    """Skip a test that grades a whole problem set whose code parts cannot run here
    (its golden reports hold their real verdicts)."""
    spec = load_problem_set(problem_file)
    for _, _, part in spec.iter_parts():
        skip_unless_code_runs({"type": part.type, "framework": getattr(part, "framework", None)})
