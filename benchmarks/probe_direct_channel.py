"""What a bare direct channel from Dask workers costs the driver: a probe, not grader's code.

    python benchmarks/probe_direct_channel.py [--sheets 32000] [--threads 320]

``bench_driver.py --dask`` measures grader's Dask window: a Dask task a chunk of 16 sheets,
whose results come back through Dask's client, costs the driver about 3 ms of CPU a chunk on
the development machine (2026-11-25). This probe measures the design the README's Speed
section names as the next step: one long-lived Dask task per worker thread, connected to the
driver over ``multiprocessing.connection`` with a key of the run, taking chunks from the driver
and sending their results back on that connection. It prepares the results of ``--sheets``
sheets as ``bench_driver.py`` does (a template class graded for real, its results renamed and
pickled a chunk of 16 at a time), starts a ``dask scheduler`` and one ``dask worker`` of
``--threads`` threads on loopback, and times the driver's CPU (every thread of this process)
from the first task submitted to the last result unpickled: the tasks submitted, the
connections accepted (a thread each), each chunk's name sent and its result received and
unpickled (as the fake-fed figures count it). Nothing of grading, storing or the gradebook:
compare it with the window alone, not with a whole run.

Since 2026-11-25 grader's own Dask window works this way (grader.batch.channel; measured by
``bench_driver.py --dask``): this probe stays as the floor of the design, a channel that only
moves bytes (no fingerprints, no window, no retries).
"""

from __future__ import annotations

import argparse
import pickle
import queue
import secrets
import shutil
import sys
import tempfile
import threading
import time
from multiprocessing.connection import Connection, Listener
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_driver import CHUNK, FakeWorkers, dask_feed, template_run  # noqa: E402
from make_class import make_class  # noqa: E402

from grader.batch import submission_folders  # noqa: E402
from grader.batch.plan import plan  # noqa: E402
from grader.loading import load_problem_set  # noqa: E402


def serve(address: tuple[str, int], key: bytes, results: str) -> int:
    """The long-lived task: connect to the driver, then send back each chunk it names (its
    prepared results) until it names none. Pickled by value: nothing of this module is
    imported on the worker."""
    import os
    from multiprocessing.connection import Client

    served = 0
    with Client(address, authkey=key) as connection:
        while name := connection.recv_bytes():
            with open(os.path.join(results, name.decode()), "rb") as stream:
                connection.send_bytes(stream.read())
            served += 1
    return served


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sheets", type=int, default=32_000)
    parser.add_argument("--threads", type=int, default=320)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="grader-probe-channel-"))
    try:
        problem_file, template_root = make_class(work / "template", 64, seed=11, parts=45)
        spec = load_problem_set(problem_file)
        recording = template_run(spec, template_root, work / "template-out")
        root = work / "class"
        for number in range(args.sheets):
            folder = root / f"student-{number:06d}"
            folder.mkdir(parents=True)
            (folder / "answers.yaml").write_text(f"answers: {{}}\n# {number}\n")
        with dask_feed(work / "results", args.threads) as feed:
            fake = FakeWorkers(recording.chunks, CHUNK, feed)
            fake.prepare(plan(root, submission_folders(root)))
            seconds, cpu, sheets = _probe(feed.address, str(feed.results), fake.keys, args.threads)
        chunks = len(fake.keys)
        print(
            f"{sheets} sheets in {chunks} chunks over a direct channel from {args.threads} long-lived "
            f"tasks: {seconds:.2f} s, the driver's CPU {cpu:.3f} s = {cpu / chunks * 1e3:.2f} ms a chunk "
            f"= {cpu / sheets * 1e6:.1f} us a sheet (unpickling the results included)"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _probe(scheduler: str, results: str, names: list[str], threads: int) -> tuple[float, float, int]:
    from distributed import Client

    key = secrets.token_bytes(32)
    to_send: queue.SimpleQueue[bytes] = queue.SimpleQueue()
    received: queue.SimpleQueue[bytes] = queue.SimpleQueue()
    for name in [*(n.encode() for n in names), *([b""] * threads)]:
        to_send.put(name)

    def handle(connection: Connection) -> None:
        with connection:
            while name := to_send.get():
                connection.send_bytes(name)
                received.put(connection.recv_bytes())
            connection.send_bytes(b"")

    with Client(scheduler) as client, Listener(("127.0.0.1", 0), authkey=key, backlog=threads) as listener:
        client.wait_for_workers(1)

        def accept() -> None:
            for _ in range(threads):
                threading.Thread(target=handle, args=(listener.accept(),), daemon=True).start()

        started, started_cpu = time.perf_counter(), time.process_time()
        threading.Thread(target=accept, daemon=True).start()
        tasks = [client.submit(serve, listener.address, key, results, pure=False) for _ in range(threads)]
        sheets = sum(len(pickle.loads(received.get())) for _ in names)
        seconds, cpu = time.perf_counter() - started, time.process_time() - started_cpu
        assert sum(client.gather(tasks)) == len(names)
    return seconds, cpu, sheets


if __name__ == "__main__":
    main()
