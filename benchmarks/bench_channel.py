"""What a Dask run's direct channel (grader.batch.channel) costs the driver, alone.

    python benchmarks/bench_channel.py [--chunks 3000] [--tasks 320] [--busy-us 0]

The driver's ResultChannel hands out ``--chunks`` chunks of 26 tasks to ``--tasks`` serving
connections (threads of one child process, as the long-lived Dask tasks of 20 machines of 16
cores), each of which answers every chunk with a prepared 72 KB result (what a chunk of 26
sheets' rows weighs once the store's entries are spooled), and the driver's main thread keeps
three chunks in flight a task, takes each result back and unpickles it, as the Dask window does.
It prints the driver's CPU time a chunk: its main thread's, and the rest (the channel's own
threads and the kernel's work for them). ``--busy-us`` has the main thread also spend that much
CPU on each result, as the driver does taking a chunk in (about 1,500 us for 26 sheets): the
channel's threads then wait for the interpreter lock the main thread holds. The child's CPU is
not the driver's and is not counted; neither is the tasks' handshake (a run's start).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import pickle
import queue
import threading
import time

from grader.batch import channel
from grader.batch.channel import ResultChannel

RESULT = os.urandom(72_000)
CHUNK = [(f"student-{number:06d}", f"/class/student-{number:06d}") for number in range(26)]


def _serving(address: channel.Address, secret: bytes, tokens: list[str]) -> None:
    """The serving tasks: a thread each, a chunk answered at once with the prepared result."""

    def serve(token: str) -> None:
        with channel.connect(address, secret, token) as connection:
            while connection.recv() is not None:
                connection.send_bytes(pickle.dumps(RESULT))

    threads = [threading.Thread(target=serve, args=(token,)) for token in tokens]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def _busy(seconds: float) -> None:
    until = time.thread_time() + seconds
    while time.thread_time() < until:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--chunks", type=int, default=3000)
    parser.add_argument("--tasks", type=int, default=320)
    parser.add_argument("--busy-us", type=float, default=0.0)
    args = parser.parse_args()
    finished: queue.SimpleQueue[channel.Handed] = queue.SimpleQueue()
    driver = ResultChannel("127.0.0.1", 0, finished, lambda chunk: 60.0)
    tokens = [f"task-{number}" for number in range(args.tasks)]
    for token in tokens:
        driver.expect(token)
    tasks = multiprocessing.get_context("fork").Process(
        target=_serving, args=(driver.address, driver.secret, tokens)
    )
    tasks.start()
    time.sleep(3)  # every task connected (its handshake is the run's start, not counted)
    in_flight, sent, back = 3 * args.tasks, 0, 0
    started, started_cpu, started_main = time.perf_counter(), time.process_time(), time.thread_time()
    while back < args.chunks:
        while sent - back < in_flight and sent < args.chunks:
            driver.hand(CHUNK)
            sent += 1
        done = [finished.get()]
        while not finished.empty():
            done.append(finished.get())
        for handed in done:
            handed.result()
            _busy(args.busy_us / 1e6)
            back += 1
    wall = time.perf_counter() - started
    cpu, main_thread = time.process_time() - started_cpu, time.thread_time() - started_main
    driver.close()
    tasks.join(30)
    per_chunk = 1e6 / args.chunks
    print(
        f"{args.chunks} chunks to {args.tasks} tasks in {wall:.2f} s; the driver's CPU "
        f"{cpu * per_chunk:.0f} us a chunk: its main thread {main_thread * per_chunk:.0f} us "
        f"({args.busy_us:.0f} us of it busy on each result), the channel's threads and the kernel "
        f"{(cpu - main_thread) * per_chunk:.0f} us"
    )


if __name__ == "__main__":
    main()
