"""How far a batch is: a progress bar on a terminal, a plain line every few seconds in a
log (CI), nothing when asked to be quiet."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from rich.console import Console

OnProgress = Callable[[int, int], None]  # (submissions done, submissions in the class)
LOG_EVERY_SECONDS = 5.0
clock = time.monotonic


class _Rate:
    """Sheets per second graded in this run (stored ones, counted at once, are left out)."""

    def __init__(self) -> None:
        self.started = clock()
        self.first: int | None = None

    def per_second(self, done: int) -> float:
        if self.first is None:
            self.first = done
            self.started = clock()
        elapsed = clock() - self.started
        return (done - self.first) / elapsed if elapsed > 0 else 0.0


@contextlib.contextmanager
def batch_progress(quiet: bool, stream: TextIO | None = None) -> Iterator[OnProgress | None]:
    """A progress callback for :func:`grader.batch.run_batch` (None when quiet)."""
    if quiet:
        yield None
        return
    from rich.console import Console  # rich: imported when there is progress to show
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    console = Console(file=stream, stderr=stream is None)
    if not console.is_terminal:
        yield _log_lines(console)
        return
    columns = (
        TextColumn("grading"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task("grading", total=None, rate="")
        rate = _Rate()

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total, rate=f"{rate.per_second(done):.1f} sheets/s")

        yield update


def _log_lines(console: Console) -> OnProgress:
    rate = _Rate()
    last = [clock()]

    def update(done: int, total: int) -> None:
        per_second = rate.per_second(done)
        now = clock()
        if now - last[0] < LOG_EVERY_SECONDS or done in (0, total):
            return
        last[0] = now
        left = f", about {(total - done) / per_second:.0f} s left" if per_second > 0 else ""
        console.print(f"grading: {done}/{total} ({per_second:.1f} sheets/s{left})", highlight=False)

    return update
