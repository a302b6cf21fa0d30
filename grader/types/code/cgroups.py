"""A memory cgroup for each sandbox, where the machine lets grader make one.

The kernel then bounds all a sandbox holds together: every process of every job, and
what they write to the sandbox's tmpfs mounts (their pages are charged to the cgroup).
Without one, each job's process is bounded on its own (``RLIMIT_AS``) and every
writable mount has a size, but a job's processes together are not.

Where a cgroup is made (the first that works):

- ``GRADER_SANDBOX_CGROUP``: a cgroup directory the deployment made writable for
  grader, with the memory controller on for its children (docs/service.md);
- cgroup v2, delegated (systemd's ``Delegate=yes`` with ``DelegateSubgroup=``): the
  parent of grader's own cgroup, when grader may write it and its children have
  the memory controller;
- as root: grader's own memory cgroup (v1), or its own cgroup (v2) once the memory
  controller is on for its children.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import os
import time
from collections.abc import Iterator
from pathlib import Path

ENVIRONMENT = "GRADER_SANDBOX_CGROUP"
CGROUP_FS = Path("/sys/fs/cgroup")
_NUMBERS = itertools.count()


@functools.cache
def cgroup_parent() -> Path | None:
    """The cgroup under which this process makes its sandboxes' cgroups (None: none here)."""
    named = os.environ.get(ENVIRONMENT)
    candidates = [Path(named)] if named else [*_delegated(), *_as_root()]
    for candidate in candidates:
        with contextlib.suppress(OSError):
            if _usable(candidate):
                return candidate
    return None


def _own(controller: str) -> str | None:
    """This process's cgroup path in the hierarchy of ``controller`` ("" for cgroup v2)."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            _, controllers, path = line.split(":", 2)
            if controller in controllers.split(","):
                return path
    return None


def _unified() -> bool:
    return (CGROUP_FS / "cgroup.controllers").exists()


def _delegated() -> list[Path]:
    own = _own("")
    if not _unified() or own is None or own == "/":
        return []
    return [(CGROUP_FS / own.lstrip("/")).parent]


def _as_root() -> list[Path]:
    if os.geteuid() != 0:
        return []
    if _unified():
        own = _own("")
        return [CGROUP_FS / (own or "/").lstrip("/")]
    own = _own("memory")
    return [CGROUP_FS / "memory" / (own or "/").lstrip("/"), CGROUP_FS / "memory"]


def _usable(directory: Path) -> bool:
    """Can sandboxes' cgroups with a memory limit be made in ``directory``? (As root on
    cgroup v2, the memory controller is turned on for its children.)"""
    if not os.access(directory, os.W_OK):
        return False
    if (directory / "memory.limit_in_bytes").exists():  # cgroup v1's memory hierarchy
        return True
    control = directory / "cgroup.subtree_control"
    if not control.exists():
        return False
    if "memory" not in control.read_text().split():
        if os.geteuid() != 0 or "memory" not in (directory / "cgroup.controllers").read_text().split():
            return False
        control.write_text("+memory")  # refused (EBUSY) when processes live in it
    return True


@contextlib.contextmanager
def memory_cgroup(limit_bytes: int) -> Iterator[Path | None]:
    """A fresh cgroup holding at most ``limit_bytes`` of memory (no swap), removed with
    every process in it afterwards; None when this machine offers none."""
    group = make_group(limit_bytes)
    if group is None:
        yield None
        return
    try:
        yield group
    finally:
        _remove(group)


def make_group(limit_bytes: int) -> Path | None:
    """A fresh cgroup holding at most ``limit_bytes`` (None: none here); the caller removes
    it (:func:`remove_group`)."""
    parent = cgroup_parent()
    if parent is None:
        return None
    group = parent / f"grader-sandbox-{os.getpid()}-{next(_NUMBERS)}"
    try:
        group.mkdir()
        _limit(group, limit_bytes)
    except OSError:
        with contextlib.suppress(OSError):
            group.rmdir()
        return None
    return group


def set_limit(group: Path, limit_bytes: int) -> None:
    """A new limit for a living cgroup (an OSError when it does not take: what it holds is
    over it). cgroup v1 keeps memory+swap's limit at least memory's: each is written in the
    order a raise or a cut allows, then again."""
    if (group / "memory.max").exists():
        _limit(group, limit_bytes)
        return
    names = ("memory.memsw.limit_in_bytes", "memory.limit_in_bytes")
    for name in (*names, *names):
        with contextlib.suppress(OSError):
            (group / name).write_text(str(limit_bytes))
    if int((group / "memory.limit_in_bytes").read_text()) > limit_bytes:
        raise OSError(f"the cgroup's limit stayed over {limit_bytes}")


def working_set(group: Path) -> int | None:
    """What the cgroup holds now but the file pages the kernel may drop (the page cache of
    the libraries its processes read): None when that cannot be read."""
    try:
        v2 = (group / "memory.current").exists()
        usage = int((group / ("memory.current" if v2 else "memory.usage_in_bytes")).read_text())
        stat = dict(line.split() for line in (group / "memory.stat").read_text().splitlines() if " " in line)
    except (OSError, ValueError):
        return None
    prefix = "" if v2 else "total_"
    files = sum(int(stat.get(f"{prefix}{name}", 0)) for name in ("inactive_file", "active_file"))
    return max(usage - files, 0)


def remove_group(group: Path) -> None:
    _remove(group)


def _limit(group: Path, limit_bytes: int) -> None:
    if (group / "memory.max").exists():
        (group / "memory.max").write_text(str(limit_bytes))
        with contextlib.suppress(OSError):
            (group / "memory.swap.max").write_text("0")
        return
    (group / "memory.limit_in_bytes").write_text(str(limit_bytes))
    with contextlib.suppress(OSError):  # only where swap is accounted
        (group / "memory.memsw.limit_in_bytes").write_text(str(limit_bytes))


def _remove(group: Path) -> None:
    """Kill what is left in the cgroup and remove it (a process dying takes a moment)."""
    with contextlib.suppress(OSError):
        (group / "cgroup.kill").write_text("1")
    for _ in range(200):
        try:
            group.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.01)


def join_command(group: Path | None, command: list[str]) -> list[str]:
    """``command``, started inside ``group``: a shell joins it, then becomes the command, so
    every process of the sandbox is in the cgroup from its start."""
    if group is None:
        return command
    return ["/bin/sh", "-c", 'echo 0 > "$0" && exec "$@"', str(group / "cgroup.procs"), *command]
