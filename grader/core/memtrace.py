"""What grows in a long-running process: with ``GRADER_MEMORY_TRACE=<folder>`` set, the web
server and the grading process trace their allocations (tracemalloc) and, every
``GRADER_MEMORY_TRACE_SECONDS`` (default 60), write to ``<folder>/<role>-<pid>.txt`` the
lines whose memory grew most since the first minute, and the object types whose count grew
most (gc). Slows the process down: a diagnosis for a soak (benchmarks/soak_service.py), not
for a course's server."""

from __future__ import annotations

import collections
import ctypes
import gc
import linecache
import os
import sys
import threading
import time
import tracemalloc
from pathlib import Path

TRACE_FOLDER = "GRADER_MEMORY_TRACE"
TRACE_SECONDS = "GRADER_MEMORY_TRACE_SECONDS"
TOTALS_ONLY = "GRADER_MEMORY_TOTALS_ONLY"  # no tracemalloc: only where the resident memory lies
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
    threading.Thread(target=_log_totals, args=(target.with_suffix(".totals"), seconds), daemon=True).start()
    if os.environ.get(TOTALS_ONLY):
        return
    tracemalloc.start(FRAMES)

    def watch() -> None:
        time.sleep(seconds)
        first, first_types = own_left_out(tracemalloc.take_snapshot()), type_counts()
        for minute in range(2, 10**6):
            time.sleep(seconds)
            text = growth_text(first, own_left_out(tracemalloc.take_snapshot()), first_types)
            target.write_text(f"after {minute} periods of {seconds:g} s, grown since the first:\n{text}")

    threading.Thread(target=watch, name="grader-memory-trace", daemon=True).start()


def _log_totals(target: Path, seconds: float) -> None:
    """Every ``seconds``, one line of where the resident memory lies: Python's heap (blocks,
    objects), C's malloc (mallinfo2: held from the system and in use), SQLite's own, the RSS."""
    started = time.monotonic()
    with target.open("a") as out:
        # No count of the collector's objects: gc.get_objects() from this thread hands out tuples
        # other threads are still building (CPython 3.11's SystemError, docs/service.md "Memory").
        out.write("minute  rss_MiB  py_blocks  malloc_held_MiB  malloc_used_MiB  sqlite_MiB")
        out.write("  anon_MiB  file_MiB  malloc_free_MiB  malloc_mmap_MiB\n")
        while True:
            held, used = _malloc_totals()
            minutes, rss = (time.monotonic() - started) / 60, _rss() / 2**20
            line = f"{minutes:6.1f} {rss:8.1f} {sys.getallocatedblocks():10d}"
            line += f" {held / 2**20:16.1f} {used / 2**20:16.1f} {sqlite_used() / 2**20:11.2f}"
            anon, file = _rss_kinds()
            free, mapped = _malloc_free_and_mapped()
            line += f" {anon / 2**20:9.1f} {file / 2**20:9.1f} {free / 2**20:16.1f} {mapped / 2**20:16.1f}\n"
            out.write(line)
            out.flush()
            time.sleep(seconds)


def _rss() -> int:
    with open("/proc/self/statm") as stream:
        return int(stream.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _rss_kinds() -> tuple[int, int]:
    """The RSS's anonymous pages (heaps) and file pages (code, libraries, mapped files)."""
    kinds = {"RssAnon:": 0, "RssFile:": 0}
    with open("/proc/self/status") as stream:
        for line in stream:
            name, *value = line.split()
            if name in kinds:
                kinds[name] = int(value[0]) * 1024
    return kinds["RssAnon:"], kinds["RssFile:"]


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena",
            "ordblks",
            "smblks",
            "hblks",
            "hblkhd",
            "usmblks",
            "fsmblks",
            "uordblks",
            "fordblks",
            "keepcost",
        )
    ]


def _malloc_info() -> _MallInfo2:
    """glibc's mallinfo2 (all zero elsewhere)."""
    try:
        libc = ctypes.CDLL(None)
        libc.mallinfo2.restype = _MallInfo2
        return libc.mallinfo2()
    except (OSError, AttributeError):  # not glibc
        return _MallInfo2()


def _malloc_totals() -> tuple[int, int]:
    info = _malloc_info()
    return info.arena + info.hblkhd, info.uordblks + info.hblkhd


def _malloc_free_and_mapped() -> tuple[int, int]:
    """malloc's free bytes inside its heaps, and its bytes in chunks mapped one by one (a large
    block; glibc's threshold for one rises to the largest such block freed)."""
    info = _malloc_info()
    return info.fordblks, info.hblkhd


def sqlite_used() -> int:
    """Bytes SQLite holds in this process (its own allocator's count; 0 where unknown)."""
    try:
        import _sqlite3

        library = ctypes.CDLL(_sqlite3.__file__)
        library.sqlite3_memory_used.restype = ctypes.c_int64
        return int(library.sqlite3_memory_used())
    except (OSError, AttributeError, ImportError):
        return 0
