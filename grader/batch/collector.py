"""The garbage collector paused where a batch makes many objects it keeps (a chunk's results
unpickled, the end's pages): a collection would only walk them."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """No garbage collection while the block runs (the collector runs again after it, if it was on)."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()
