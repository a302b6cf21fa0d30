"""Giving the C allocator's free memory back to the system, in a process that runs all term.

A soak of the service (benchmarks/soak_service.py, docs/service.md "Memory") showed the web
server's live heap flat (glibc's bytes in use 50 to 59 MiB, Python's objects back to the same
count at each turn of the parse memo) while its RSS grew: glibc keeps what the server's
threads free, each thread in an arena of its own (a request thread, the grading thread, the
long polls' look), and gives back only what lies at the top of an arena. In 9 minutes of
hand-ins and TAs its free memory grew from 12 to 48 MiB; ``malloc_trim(0)`` gave 28 MiB of
it back at once, to the same 224 to 226 MiB each time. :func:`start_trimming` does that every
:data:`TRIM_SECONDS` in a thread of its own (a few milliseconds of CPU each time: it walks the
arenas and returns their whole free pages). Nothing where the C library is not glibc.

The trim gives back whole free pages only. An hour's soak with it still grew the server 30%
from minute 10 to 60: glibc gives each thread that allocates an arena of its own, up to 8 a
core (16 on 2 cores), and what is freed in one arena is reused only by the threads that share
it; the free bytes left between live ones, spread over 16 arenas, kept growing (the arenas'
size 61 -> 140 MiB in 9 minutes, their free bytes 11 -> 76 MiB, the live bytes flat at 50 to
64 MiB; with 2 arenas 57 -> 78 MiB and 5 -> 14 MiB). :func:`limit_arenas` sets glibc's
``M_ARENA_MAX`` at start-up, before the server starts a thread: the threads then share 2
arenas. Their lock is taken only for a ``malloc`` or ``free``, and a Python server's threads
take turns at the interpreter's lock anyway. It also keeps glibc's threshold for mapping a block
on its own at 128 KiB: glibc's own rises to the largest mapped block freed, and blocks under it
are then carved from the arenas, where their holes stay (docs/service.md, "The hours").
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import logging
import os
import threading
from typing import Any

log = logging.getLogger("grader.service")
TRIM_SECONDS = 60.0
ARENAS = 2  # malloc arenas a server's threads share (glibc's own default: 8 a core)
M_ARENA_MAX = -8  # mallopt's parameter for the most arenas (malloc.h)
M_MMAP_THRESHOLD = -3  # mallopt's parameter: blocks this large or larger are mapped one by one
MAPPED_FROM = 128 * 1024  # glibc's own starting threshold, kept fixed


@functools.cache
def _glibc() -> Any:
    """glibc, or None elsewhere (musl, macOS): they have no ``malloc_trim``."""
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        libc = ctypes.CDLL(name)  # a CDLL call lets go of the GIL while it runs
        trim = libc.malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    libc.mallopt.restype = ctypes.c_int
    return libc


def limit_arenas(count: int = ARENAS) -> bool:
    """At most ``count`` malloc arenas for the process's threads; whether it was set. Call it
    before the process starts threads: glibc settles its limit when a thread first needs an
    arena past the 8th, and threads keep the arena they were given. A limit the environment
    sets (``MALLOC_ARENA_MAX``, or ``glibc.malloc.arena_max`` in ``GLIBC_TUNABLES``) is
    left as it is."""
    if "MALLOC_ARENA_MAX" in os.environ or "glibc.malloc.arena_max" in os.environ.get("GLIBC_TUNABLES", ""):
        return False
    libc = _glibc()
    if libc is None:
        return False
    # A fixed threshold: glibc's own rises to the largest mapped block freed (up to 32 MiB), and
    # from then on blocks that large are carved from the arenas and stay there as free holes.
    libc.mallopt(M_MMAP_THRESHOLD, MAPPED_FROM)
    return libc.mallopt(M_ARENA_MAX, count) == 1


def give_back() -> bool:
    """Return the allocator's whole free pages to the system now; whether it could."""
    libc = _glibc()
    if libc is None:
        return False
    libc.malloc_trim(0)
    return True


def start_trimming(stop: threading.Event, seconds: float = TRIM_SECONDS) -> threading.Thread | None:
    """Give free memory back every ``seconds`` until ``stop`` is set (a daemon thread); None
    where there is nothing to trim."""
    if _glibc() is None:
        return None

    def trim() -> None:
        while not stop.wait(seconds):
            try:
                give_back()
            except Exception as error:  # never worth stopping a server for
                log.debug("malloc_trim failed: %s", error)
                return

    thread = threading.Thread(target=trim, name="grader-memory-trim", daemon=True)
    thread.start()
    return thread
