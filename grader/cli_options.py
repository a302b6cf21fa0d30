"""What the ``grader`` commands share: their exit codes, the options several of them take
and reading the problem set they name.

Exit codes: 0 graded, 1 graded but below ``--fail-under``, 2 bad usage or a
bad problem file (with file and line), 3 the reports or the verdict store cannot be
written or read, 4 the Dask cluster could not grade (no worker, a worker running
another grader, the scheduler lost; resumable), 128 + N stopped by signal N.
"""

from __future__ import annotations

import errno
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import click

from grader.loading import ProblemFileError, load_problem_set

if TYPE_CHECKING:
    import sqlite3

    from grader.spec import ProblemSet

EXIT_BELOW_THRESHOLD = 1
EXIT_USAGE = 2
EXIT_STORAGE = 3  # --out or the verdict store cannot be written or read (disk full, read-only, damaged)
EXIT_EXECUTOR = 4  # the cluster failed: no worker, a refused worker, the scheduler lost
EXIT_INTERRUPTED = 128  # + the signal's number, as a shell reports a command a signal ended


# -p as the commands that read one problem file take it
_PROBLEM_FILE = click.option(
    "-p",
    "--problems",
    "problem_file",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
)


def _allow_unsafe(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value:
        from grader.types.code.sandbox import allow_unsafe_run_code

        allow_unsafe_run_code()


# Code parts run only in the sandbox; where there is none, this lets a TA run them anyway.
_UNSAFE_RUN_CODE = click.option(
    "--unsafe-run-code",
    is_flag=True,
    expose_value=False,
    callback=_allow_unsafe,
    help="Run code answers without a sandbox where bubblewrap is missing (trusted code only).",
)


# The key each student's variant of a parameterised set is drawn with (grader.variants).
_VARIANT_KEY = click.option(
    "--variant-key",
    envvar="GRADER_VARIANT_KEY",
    help="The course's secret each student's variant of a problem set with parameters is "
    "drawn with (keep it from students). Env: GRADER_VARIANT_KEY.",
)


def _variant_key(spec: ProblemSet, key: str | None, students: Sequence[str] = ()) -> bytes:
    """The variant key as bytes; a set with parameters and no key is a usage error, unless
    every one of ``students`` has a variant pinned in the file (the shipped example's)."""
    if spec.parameters and not key and not (students and all(s in spec.pinned for s in students)):
        click.echo(
            f"error: {spec.assignment} gives each student a variant: give the course's key "
            "(--variant-key or GRADER_VARIANT_KEY)",
            err=True,
        )
        sys.exit(EXIT_USAGE)
    return (key or "").encode("utf-8")


def _student_spec(spec: ProblemSet, student: str, key: str | None) -> ProblemSet:
    """The student's variant of the set (the set itself without parameters)."""
    if not spec.parameters:
        return spec
    from grader.variants import VariantError

    try:
        return spec.for_student(student, _variant_key(spec, key, [student]))
    except VariantError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_USAGE)


def _load_spec(path: Path) -> ProblemSet:
    try:
        return load_problem_set(path)
    except ProblemFileError as exc:
        click.echo(exc.render(), err=True)
        sys.exit(EXIT_USAGE)


# What a TA is told when --out or the verdict store fails: one line, never a traceback. Every
# report is written atomically and every finished student is in the store before the next is
# written, so a run stopped by a full disk, a read-only folder or a damaged store has lost
# nothing it finished: the message says so, and what to do.
_FULL = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)
_READ_ONLY = (errno.EROFS, errno.EACCES, errno.EPERM)
KEPT = "every report finished before it is kept"


def storage_failure(exc: OSError | sqlite3.Error, out: Path | None, store: Path | None) -> str:
    """The one-line message for a failure to write ``out`` or to read or write ``store``."""
    import sqlite3  # here: the commands that never store (grader check) start without it

    where = str(out) if out is not None else "the output folder"
    if isinstance(exc, sqlite3.Error):
        text = str(exc)
        if "full" in text:
            return f"error: no space left on the disk of {store}; {KEPT}; free space and run again"
        if "readonly" in text or "unable to open" in text:
            return (
                f"error: cannot write the verdict store {store} ({text}); {KEPT}; "
                "use --cache PATH or --no-cache"
            )
        return (
            f"error: the verdict store {store} is damaged ({text}); nothing in it was trusted; "
            f"remove it (grader cache clear {out or store}) or run with --no-cache; {KEPT}"
        )
    name = exc.filename or where
    if exc.errno in _FULL:
        return f"error: no space left to write {name}; {KEPT}; free space and run again to go on from there"
    if exc.errno in _READ_ONLY:
        return f"error: cannot write to {where} ({exc.strerror}: {name}); {KEPT}; choose another --out"
    return f"error: cannot write or read {name} ({exc.strerror or exc}); {KEPT}"
