"""The class dashboard's tally, kept by a process of its own in a large run.

A run tallies every summary row it takes in for the dashboard (each wrong answer and TA's
grade by part, each row of the students' table): in a class of 50,000 that took a sixth of
the driver's time while results came in, the note sharing another tenth, and making
``index.html`` at the end 1.5 s more. A run that grades at least
:data:`grader.batch.runner.TALLY_PROCESS_FROM` sheets into ``--out`` hands the rows to a
:class:`Tallier` instead: ``python -m grader.batch.tallier`` keeps the tally
(:class:`ClassDashboard`, the same code the driver runs otherwise) and writes the dashboard
when told, while the driver writes ``grades.csv``. A chunk's results that came back over the
direct channel of a Dask run (grader.batch.channel) are passed on as the bytes the worker sent
(:meth:`Tallier.forward`: the driver pickles nothing); other rows are pickled by the driver a
frame at a time (:meth:`Tallier.add`: a chunk's rows share their parts' ids and types, each
pickled once). The process reads both with the store's unpickler (grader's data classes and
plain values only).

Nothing is lost if the process fails: the driver keeps every row anyway (``grades.csv`` and
the run's result read them), so a process that cannot start, stops, or fails to write has the
driver make the dashboard itself, as a smaller run does (:meth:`Tallier.finish` says False).
"""

from __future__ import annotations

import contextlib
import gc
import json
import struct
import subprocess
import sys
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import IO

from grader.batch.blobs import dumps, read_back
from grader.batch.classrows import ClassDashboard
from grader.batch.output import write_class_dashboard
from grader.core.summary import SheetRow
from grader.spec import ProblemSet

_HEADER = struct.Struct(">Q")
ROWS_A_FRAME = 64  # rows sent together (a chunk's, about)
ROWS, RECEIVED = b"r", b"g"  # a frame's first byte: rows the driver pickled, or a chunk's results
WRITTEN = b"written\n"  # what the process says once the dashboard is on disk
# (index in the class, the row, its row of the students' table or None)
TalliedRow = tuple[int, SheetRow, str | None]


class Tallier:
    """The driver's end of the process: :meth:`add` rows as they come (or :meth:`forward` them),
    :meth:`end` to have the dashboard written while the driver writes ``grades.csv``, then
    :meth:`written` to wait for it; :meth:`close` to end the process without one. Every failure
    turns :attr:`working` False; nothing is sent after it."""

    def __init__(self, spec: ProblemSet, out: Path, keys: Sequence[str], stems: Sequence[str]):
        self.working = True
        self.ending = False  # told to write the dashboard
        self.sent: set[int] = set()  # the rows' indices sent
        self._rows: list[TalliedRow] = []
        try:
            self.process: subprocess.Popen[bytes] | None = subprocess.Popen(
                [sys.executable, "-m", "grader.batch.tallier"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
        except OSError:
            self.process, self.working = None, False
            return
        with contextlib.suppress(AttributeError, OSError):  # a larger pipe: frames of rows fit
            import fcntl

            assert self.process.stdin is not None
            fcntl.fcntl(self.process.stdin.fileno(), fcntl.F_SETPIPE_SZ, 1 << 20)
        setup = {"spec": spec.model_dump_json(), "out": str(out), "keys": list(keys), "stems": list(stems)}
        # Compressed, a class's names fit in the pipe: the driver goes on while the process starts.
        self._send(zlib.compress(json.dumps(setup).encode(), 1))

    def add(self, index: int, row: SheetRow, student: str | None) -> None:
        """Tally the ``index``-th sheet's row (``student``: its row of the students' table, if
        its worker made it)."""
        if not self.working or index in self.sent:
            return
        self.sent.add(index)
        self._rows.append((index, row, student))
        if len(self._rows) >= ROWS_A_FRAME:
            self._flush()

    def forward(self, payload: bytes | bytearray, indices: Sequence[int]) -> None:
        """Tally a chunk's results from the bytes a worker sent them as (a pickled list of
        grader.batch.worker.Graded), the sheets of ``indices``."""
        if self.working:
            self.sent.update(indices)
            self._send(RECEIVED, payload)

    def end(self, rest: Sequence[tuple[int, SheetRow]]) -> None:
        """Tally ``rest`` (the rows not sent) and write the dashboard; this process goes on."""
        for index, row in rest:
            self.add(index, row, None)
        self._flush()
        self._send(b"")  # the end: write it
        self.ending = self.working

    def written(self) -> bool:
        """Wait for the process to end; whether it wrote the dashboard (False: the driver makes it,
        the process having failed, stopped, or not been told to)."""
        told = self._ended()
        return self.ending and told == WRITTEN

    def close(self) -> None:
        """End the process without a dashboard (the one on disk is current, or the run stopped)."""
        self.working = False
        self._ended()

    def _flush(self) -> None:
        if self._rows and self.working:
            rows, self._rows = self._rows, []
            self._send(ROWS, dumps(rows))

    def _send(self, *pieces: bytes | bytearray) -> None:
        """One frame of ``pieces`` (written as they are: a chunk's results are not copied)."""
        if not self.working:
            return
        assert self.process is not None and self.process.stdin is not None
        try:
            self.process.stdin.write(_HEADER.pack(sum(map(len, pieces))))
            for piece in pieces:
                self.process.stdin.write(piece)
            self.process.stdin.flush()
        except (OSError, ValueError):  # it ended: the driver makes the dashboard
            self.working = False

    def _ended(self) -> bytes:
        """Close the process's input, wait for it to end; what it said (its stderr, dropped:
        a process that failed leaves the dashboard to the driver, whose own error, if the
        same, is the one a TA sees)."""
        if self.process is None:
            return b""
        try:
            told, _ = self.process.communicate()
        except (OSError, ValueError):
            self.process.wait()
            told = b""
        self.working = False
        return told if self.process.returncode == 0 else b""


def _read_frame(stream: IO[bytes]) -> bytes | None:
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        return None
    size = _HEADER.unpack(header)[0]
    data = stream.read(size)
    return data if len(data) == size else None


def main() -> int:
    """The process: rows until an empty frame (then write the dashboard and say so) or the end
    of its input (the driver needs no dashboard, or stopped: nothing written)."""
    # What it reads is kept to its end, and holds no cycle: the collector would only walk it
    # (a sixth of the time unpickling takes).
    gc.disable()
    stream = sys.stdin.buffer
    first = _read_frame(stream)
    if first is None:
        return 0
    setup = json.loads(zlib.decompress(first))
    spec = ProblemSet.model_validate_json(setup["spec"])
    stems: list[str] = setup["stems"]
    index = {key: number for number, key in enumerate(setup["keys"])}
    dashboard = ClassDashboard(stems)
    while (frame := _read_frame(stream)) is not None:
        if not frame:
            tally, students = dashboard.made()
            write_class_dashboard(Path(setup["out"]), tally, spec, stems, students)
            sys.stdout.buffer.write(WRITTEN)
            return 0
        if frame[:1] == RECEIVED:
            for graded in read_back(memoryview(frame)[1:]):  # as the driver reads them (runner)
                student = graded.lines[1] if graded.lines else None
                _tallied(dashboard, index[graded.task.key], graded.summary(), student)
        else:
            for number, row, student in read_back(memoryview(frame)[1:]):
                _tallied(dashboard, number, row, student)
    return 0


def _tallied(dashboard: ClassDashboard, index: int, row: SheetRow, student: str | None) -> None:
    """Tally the row, then drop its notes: this process's rows are its own, and once tallied
    only their columns are read (sharing equal notes, as the driver does for the rows it keeps,
    cost this process more than keeping none)."""
    dashboard.add(index, row, student, share=False)
    row.notes.clear()


if __name__ == "__main__":
    sys.exit(main())
