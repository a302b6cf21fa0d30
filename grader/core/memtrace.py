"""What grows in a long-running process: with ``GRADER_MEMORY_TRACE=<folder>`` set, the web
server and the grading process trace their allocations (tracemalloc) and, every
``GRADER_MEMORY_TRACE_SECONDS`` (default 60), write to ``<folder>/<role>-<pid>.txt`` the
lines whose memory grew most since the first minute, and the object types whose count grew
most (gc). Slows the process down: a diagnosis for a soak (benchmarks/soak_service.py), not
for a course's server."""

from __future__ import annotations

import collections
import gc
import linecache
import os
import threading
import time
import tracemalloc
from pathlib import Path

TRACE_FOLDER = "GRADER_MEMORY_TRACE"
TRACE_SECONDS = "GRADER_MEMORY_TRACE_SECONDS"
FRAMES = 8
SHOWN = 25


def type_counts() -> collections.Counter[str]:
    return collections.Counter(type(found).__qualname__ for found in gc.get_objects())


def own_left_out(snapshot: tracemalloc.Snapshot) -> tracemalloc.Snapshot:
    """The snapshot without what the tracing itself allocates."""
    ignored = (__file__, tracemalloc.__file__, linecache.__file__)
    return snapshot.filter_traces([tracemalloc.Filter(False, name) for name in ignored])


def growth_text(
    first: tracemalloc.Snapshot, now: tracemalloc.Snapshot, first_types: collections.Counter[str]
) -> str:
    lines = []
    for stat in now.compare_to(first, "traceback")[:SHOWN]:
        lines.append(f"{stat.size_diff / 1024:+10.1f} KiB {stat.count_diff:+8d} blocks")
        lines += [f"      {frame}" for frame in stat.traceback.format()]
    grown = type_counts()
    grown.subtract(first_types)
    lines.append("object counts grown:")
    lines += [f"  {count:+8d} {name}" for name, count in grown.most_common(SHOWN)]
    return "\n".join(lines) + "\n"


def start_if_asked(role: str) -> None:
    """Trace this process's memory when ``GRADER_MEMORY_TRACE`` names a folder."""
    folder = os.environ.get(TRACE_FOLDER)
    if not folder or tracemalloc.is_tracing():
        return
    seconds = float(os.environ.get(TRACE_SECONDS, "60"))
    target = Path(folder) / f"{role}-{os.getpid()}.txt"
    tracemalloc.start(FRAMES)

    def watch() -> None:
        time.sleep(seconds)
        first, first_types = own_left_out(tracemalloc.take_snapshot()), type_counts()
        for minute in range(2, 10**6):
            time.sleep(seconds)
            text = growth_text(first, own_left_out(tracemalloc.take_snapshot()), first_types)
            target.write_text(f"after {minute} periods of {seconds:g} s, grown since the first:\n{text}")

    threading.Thread(target=watch, name="grader-memory-trace", daemon=True).start()
