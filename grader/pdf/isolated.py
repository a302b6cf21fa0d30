"""Running :mod:`grader.pdf.child` on one PDF: a separate process, killed at the wall-clock limit."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import grader
from grader.pdf.limits import PdfLimits, PdfRefused

__all__ = ["run_child"]

_PACKAGE_ROOT = str(Path(grader.__file__).resolve().parent.parent)


def run_child(request: dict[str, Any], limits: PdfLimits) -> dict[str, Any]:
    """The child's JSON answer; :class:`PdfRefused` for a refusal, a limit reached or a crash."""
    request = {**request, "limits": limits.as_dict()}
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (_PACKAGE_ROOT, env.get("PYTHONPATH", "")) if p)
    try:
        done = subprocess.run(
            [sys.executable, "-s", "-m", "grader.pdf.child"],
            input=json.dumps(request).encode(),
            capture_output=True,
            timeout=limits.wall_seconds,
            env=env,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise PdfRefused(
            f"reading the PDF took more than {limits.wall_seconds:g} s and was stopped: print it to a new "
            "PDF and hand that in"
        ) from None
    if done.returncode != 0:
        raise PdfRefused(_crash_reason(done.returncode, limits))
    try:
        answer: dict[str, Any] = json.loads(done.stdout or b"{}")
    except json.JSONDecodeError:
        raise PdfRefused("the PDF could not be read (its reader stopped): print it to a new PDF") from None
    if answer.get("refused"):
        raise PdfRefused(str(answer["refused"]))
    return answer


def _crash_reason(code: int, limits: PdfLimits) -> str:
    if code in (-9, -24, 152):  # SIGKILL / SIGXCPU: the CPU-time limit
        return (
            f"reading the PDF took more than {limits.seconds:g} s of CPU time and was stopped: print it "
            "to a new PDF and hand that in"
        )
    return (
        f"the PDF could not be read within {limits.mebibytes} MiB of memory and {limits.seconds:g} s "
        "(its reader stopped): print it to a new PDF and hand that in"
    )
