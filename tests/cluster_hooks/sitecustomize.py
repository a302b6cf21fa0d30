"""Test hooks for the processes of a real Dask cluster started by tests/test_dask.py.

Its folder is put on PYTHONPATH only for the ``dask worker`` processes those tests start
(and so for the check processes each worker spawns). ``GRADER_TEST_WORKER_HOOKS`` says
what to change:

* ``checks``: the ``number`` type's check misbehaves for three answers, as a slow, a
  memory-hungry and a crashing check would (777 spins for 3 s of CPU time, 888 takes 256 MiB, 666 kills
  its own process); every other answer is checked as usual.
* ``other-version``: this process reports another grader version.
* ``no-fork-server``: multiprocessing cannot start a fork server in this process (as where the
  temporary folder is read-only: no socket for it).
* ``kills-workers``: grading a chunk that holds a folder named ``kills-its-worker`` kills the
  Dask worker process itself (its nanny starts another).

Several hooks are separated by commas.
"""

from __future__ import annotations

import os

_HOOKS = set(os.environ.get("GRADER_TEST_WORKER_HOOKS", "").split(","))


def _misbehaving_check(part: object, answer: object) -> object:
    import signal
    import time

    from grader.core.verdict import Verdict

    if str(answer) == "777":  # 3 s of CPU time, however loaded the machine is
        until = time.process_time() + 3
        while time.process_time() < until:
            pass
    if str(answer) == "888":
        hoard = bytearray(256 << 20)
        return Verdict.correct(f"held {len(hoard)} bytes")
    if str(answer) == "666":
        os.kill(os.getpid(), signal.SIGKILL)
    if str(answer) == "777":
        return Verdict.correct()
    from grader.types import number

    return number.check(part, answer)  # type: ignore[arg-type]


if "checks" in _HOOKS:
    import dataclasses

    from grader.types import ANSWER_TYPES

    ANSWER_TYPES["number"] = dataclasses.replace(ANSWER_TYPES["number"], check=_misbehaving_check)
if "other-version" in _HOOKS:
    import grader.versions

    grader.versions.code_version = lambda deciding_only=False: "0.0.1+other"  # type: ignore[assignment]
if "no-fork-server" in _HOOKS:
    import multiprocessing.forkserver

    def _no_socket(self: object) -> None:
        raise OSError(30, "Read-only file system: no socket for the fork server")

    multiprocessing.forkserver.ForkServer.ensure_running = _no_socket  # type: ignore[method-assign]
if "kills-workers" in _HOOKS:
    import grader.batch.cluster_worker

    _grade_chunk = grader.batch.cluster_worker.grade_chunk_on_worker

    def _killing(key: str, tasks: list) -> object:  # type: ignore[type-arg]
        import signal

        if any(os.path.basename(task.folder) == "kills-its-worker" for task in tasks):
            os.kill(os.getpid(), signal.SIGKILL)
        return _grade_chunk(key, tasks)

    grader.batch.cluster_worker.grade_chunk_on_worker = _killing  # type: ignore[assignment]
