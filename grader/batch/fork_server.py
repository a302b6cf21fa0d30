"""The fork server a Dask worker starts its check processes from (see grader.batch.cluster_worker):
what it preloads, and the worker's main module, which it loads once for every check process.

multiprocessing has each process it starts load the main module of the process that starts it
(``dask worker``'s imports Dask's distributed: about a second of CPU time); a process forked
from a server that loaded it already skips that."""

from __future__ import annotations

import contextlib
import json
import multiprocessing.spawn
import os

PRELOAD = "grader.batch.check_processes"  # what the server imports before its first fork
MAIN_VARIABLE = "GRADER_FORK_SERVER_MAIN"  # the worker's main module, as multiprocessing names it


def pass_main_module() -> None:
    """Name this process's main module to the fork server it starts next (in its environment)."""
    data = multiprocessing.spawn.get_preparation_data("grader-fork-server")
    main = {key: data[key] for key in ("init_main_from_name", "init_main_from_path") if key in data}
    os.environ[MAIN_VARIABLE] = json.dumps(main)


def load_main_module() -> None:
    """In the fork server: load the main module its starter named, as a started process would."""
    with contextlib.suppress(Exception):  # not loaded here: each check process loads it, as before
        main = json.loads(os.environ.get(MAIN_VARIABLE) or "{}")
        if main:
            multiprocessing.spawn.prepare(main)
