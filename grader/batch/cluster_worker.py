"""What a Dask worker runs for grader (imported only where Dask's distributed is installed).

The problem set reaches each worker once, through a worker plugin registered on
the scheduler: a worker that joins later, or that the nanny restarts after a
crash, gets it too (scattered data would be lost with the worker that held it).
"""

from __future__ import annotations

from distributed import Worker, WorkerPlugin

from grader.batch.worker import WorkerSetup, forget, install_as


class ProblemSetPlugin(WorkerPlugin):
    """Installs one run's worker setup under ``key`` in every worker process."""

    def __init__(self, key: str, setup: WorkerSetup):
        self.key = key
        self.setup_to_install = setup

    def setup(self, worker: Worker) -> None:
        install_as(self.key, self.setup_to_install)

    def teardown(self, worker: Worker) -> None:
        forget(self.key)
