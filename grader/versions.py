"""Which grader decides, and under which limits: grader's code version (of the code that
decides verdicts, and of all of it) and the ``GRADER_MAX_*`` limits a TA sets, which key every
stored verdict and which a worker must share with the driver."""

from __future__ import annotations

import functools
import os
from pathlib import Path

import grader

Limits = tuple[tuple[str, int], ...]  # (variable, value) in name order


def limits_in_force() -> Limits:
    """Every ``GRADER_MAX_*`` limit as this process reads it (set when grader was imported)."""
    import grader.core.yamlio
    import grader.loading  # noqa: F401
    from grader.mathlang.limits import LIMITS_IN_FORCE

    return tuple(sorted(LIMITS_IN_FORCE.items()))


def limits_text(limits: Limits) -> str:
    return ", ".join(f"{name}={value}" for name, value in limits) or "none"


def verdict_version(code: str, limits: Limits) -> str:
    """What a stored verdict is keyed by besides the part and the answer: the deciding code and
    the limits it ran under (a larger GRADER_MAX_NUMBER_DIGITS may decide what a smaller refused)."""
    import hashlib  # here: `grader check` never keys a verdict (OpenSSL is slow to load)

    digest = hashlib.sha256(limits_text(limits).encode()).hexdigest()[:12]
    return f"{code}+limits-{digest}"


SAME_GRADER = "install the same grader there"


def refusal(version: str, rendering: str, limits: Limits, where: str) -> str | None:
    """Why the process ``where`` must not grade for a driver that keys verdicts by ``version``
    and renders with ``rendering`` under ``limits`` (it runs another grader), or None."""
    deciding = verdict_version(code_version(deciding_only=True), limits)
    mine = code_version()
    if deciding != version:
        return f"{where} runs grader {deciding}, not {version} as this command does: {SAME_GRADER}"
    if mine != rendering:
        return (
            f"{where} renders reports with grader {mine}, not {rendering} as this command does: {SAME_GRADER}"
        )
    return None


def limits_refusal(limits: Limits, where: str) -> str | None:
    """Why the process ``where`` must not grade under ``limits`` (it reads other GRADER_MAX_* limits)."""
    here = limits_in_force()
    if not limits or here == limits:
        return None
    return f"{where} grades under {limits_text(here)}, not {limits_text(limits)} as this command does"


def export_limits(limits: Limits) -> None:
    """Set the limits in this process's environment, for the processes it starts from now on."""
    for name, value in limits:
        os.environ[name] = str(value)


# Packages whose code writes files but never decides a verdict.
NOT_DECIDING = ("batch", "cli.py", "reporting")


def code_version(deciding_only: bool = False) -> str:
    """grader's version and a digest of its source and of the libraries its checks use:
    all of it (what a report is made from), or only the code that decides verdicts."""
    every, deciding = _code_versions()
    return deciding if deciding_only else every


@functools.cache
def _code_versions() -> tuple[str, str]:
    """:func:`code_version` of all the code and of the deciding code, from one read of each
    source file (a run asks for both: reading and hashing grader's source once, not twice)."""
    import hashlib  # here: `grader check` imports this module, never the digest
    import importlib.metadata
    import platform

    every = hashlib.sha256(f"{grader.__version__} {platform.python_version()}".encode())
    for name in ("numpy", "sympy", "mpmath", "pydantic", "pyyaml"):
        try:
            every.update(f" {name} {importlib.metadata.version(name)}".encode())
        except importlib.metadata.PackageNotFoundError:
            every.update(f" {name} -".encode())
    deciding = every.copy()
    root = Path(grader.__file__).parent
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root)
        content = relative.as_posix().encode() + path.read_bytes()
        every.update(content)
        if relative.parts[0] not in NOT_DECIDING:
            deciding.update(content)
    return (
        f"{grader.__version__}+{every.hexdigest()[:16]}",
        f"{grader.__version__}+{deciding.hexdigest()[:16]}",
    )
