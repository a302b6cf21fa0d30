"""The service's log format, the same in the server and its grading process."""

from __future__ import annotations

import logging


def configure_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    # A record per request: leave out what the format never shows (the logging HOWTO's
    # "Optimization"): walking the stack for the caller, the thread's and process's names.
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
