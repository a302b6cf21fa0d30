"""A direct channel between a Dask run's driver and its workers: chunks out, results back.

Sent as a Dask task each, a chunk's results come back through the scheduler and the client's
event loop, which costs the driver about 3 ms of CPU a chunk (and the scheduler as much again):
at 20 machines that, not grading, bounds a run. On a large run the driver instead listens on a
port of its own, and each Dask worker thread runs one long-lived task
(grader.batch.cluster_worker.serve_chunks) that connects to it, takes a chunk, grades it and
sends the results back on that connection. Dask then only places those tasks and watches the
workers come and go.

Only a holder of the run's secret (32 random bytes, sent to the tasks with their arguments, as
the problem set travels) gets past the handshake (``multiprocessing.connection``'s HMAC
challenge, both ways); nothing is unpickled before it. A connection that breaks, or a result
that does not come back in time, fails its chunk as a dead Dask worker would
(:class:`WorkerGone`), and the window sends it again or alone.
"""

from __future__ import annotations

import contextlib
import queue
import secrets
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection, answer_challenge, deliver_challenge
from multiprocessing.reduction import ForkingPickler
from typing import Any

PROBE = "probe"  # the hello of a worker that only checks it can reach the driver
HANDSHAKE_SECONDS = 10.0  # a peer must have proved it holds the secret within this
CONNECT_SECONDS = 5.0
SERVE_SECONDS = 30.0  # a serving task hands its thread back this often (Dask sees it finish)

Address = tuple[str, int]


class WorkerGone(ConnectionError):
    """The connection to the worker grading a chunk broke, or its result did not come in time."""


class Unreachable(ConnectionError):
    """A worker cannot connect to the driver's channel (another network, a firewall)."""


class Handed:
    """A chunk handed to the channel: its outcome once a worker sends it back."""

    __slots__ = ("_failure", "_outcome", "chunk")

    def __init__(self, chunk: Any):
        self.chunk = chunk
        self._outcome: Any = None
        self._failure: BaseException | None = None

    def result(self) -> Any:
        """What the worker sent back (unpickled here, in the caller's thread: the channel's
        threads only move bytes), or the failure it sent or the channel saw."""
        if self._failure is not None:
            raise self._failure
        outcome = ForkingPickler.loads(self._outcome)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome


@dataclass(eq=False)
class _Serving:
    """A long-lived task's connection, once it connected."""

    connection: Connection | None = None
    shutter: socket.socket | None = None  # shuts the connection down from another thread
    ended: bool = False


class ResultChannel:
    """The driver's end: a listening socket, and a thread a connected task that hands out the
    chunks put in :attr:`to_send` and puts each handed chunk in ``finished`` once it is back."""

    def __init__(self, host: str, port: int, finished: Any, seconds_for: Callable[[Any], float]):
        self.secret = secrets.token_bytes(32)
        self.finished = finished  # a queue: each Handed as its outcome is known
        self.seconds_for = seconds_for  # how long a chunk's results may take, at most
        self.to_send: queue.SimpleQueue[Handed | None] = queue.SimpleQueue()
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._listening = socket.create_server((host, port), family=family, backlog=1024)
        self.address: Address = self._listening.getsockname()[:2]
        self._serving: dict[str, _Serving] = {}
        self._handlers = 0
        self._closed = False
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, name="grader-channel", daemon=True).start()

    def hand(self, chunk: Any) -> Handed:
        handed = Handed(chunk)
        self.to_send.put(handed)
        return handed

    def expect(self, token: str) -> None:
        """A task with this token may connect (tokens are made by the driver, one a task)."""
        with self._lock:
            self._serving[token] = _Serving()

    def ended(self, token: str) -> None:
        """The task's Dask future finished, failed or was cancelled: if it is still connected,
        the connection is shut (its worker is gone; the chunk it held fails)."""
        with self._lock:
            serving = self._serving.get(token)
            if serving is None:
                return
            serving.ended = True
            shutter = serving.shutter
        _shut(shutter)

    def drain(self) -> list[Handed]:
        """The chunks no task has taken yet (they are sent another way)."""
        drained = []
        with contextlib.suppress(queue.Empty):
            while True:
                handed = self.to_send.get_nowait()
                if handed is not None:
                    drained.append(handed)
        return drained

    def stop(self) -> None:
        """Hand out no more chunks: every connected task stops after its chunk, and a task that
        connects from now on is let go at once (its thread free for other work)."""
        with self._lock:
            self._closed = True
            handlers = self._handlers
        for _ in range(handlers):
            self.to_send.put(None)

    def close(self) -> None:
        """Stop, and listen no more."""
        self.stop()
        _shut(self._listening)
        self._listening.close()

    def abort(self) -> None:
        """Shut every connection now (the run stopped early): the tasks see the driver gone."""
        self.close()
        with self._lock:
            shutters = [s.shutter for s in self._serving.values()]
        for shutter in shutters:
            _shut(shutter)

    def _accept(self) -> None:
        while True:
            try:
                sock, _ = self._listening.accept()
            except OSError:  # closed
                return
            serve = threading.Thread(
                target=self._serve, args=(sock,), name="grader-channel-task", daemon=True
            )
            serve.start()

    def _serve(self, sock: socket.socket) -> None:
        sock.setblocking(True)  # whatever default timeout a library set: Connection reads the fd
        shutter = sock.dup()
        connection = Connection(sock.detach())
        try:
            with _bounded(HANDSHAKE_SECONDS, shutter):
                deliver_challenge(connection, self.secret)
                answer_challenge(connection, self.secret)
                token = connection.recv() if connection.poll(HANDSHAKE_SECONDS) else None
        except Exception:  # not a holder of the secret, or gone
            _shut(shutter)
            shutter.close()
            connection.close()
            return
        if token == PROBE:
            with contextlib.suppress(OSError):
                connection.send(PROBE)
            connection.close()
            shutter.close()
            return
        with self._lock:
            serving = self._serving.get(token) if isinstance(token, str) else None
            if serving is None or serving.ended or self._closed:
                serving = None
            else:  # a task Dask started again elsewhere: its old connection is dead
                _shut(serving.shutter)
                serving.connection, serving.shutter = connection, shutter
                self._handlers += 1
        if serving is None:
            connection.close()
            shutter.close()
            return
        try:
            self._hand_out(serving, connection, shutter)
        finally:
            with self._lock:
                self._handlers -= 1
                if serving.connection is connection:
                    serving.connection = serving.shutter = None
            connection.close()
            shutter.close()

    def _hand_out(self, serving: _Serving, connection: Connection, shutter: socket.socket) -> None:
        began = time.monotonic()
        waits = 0.0  # how long a read waits for the worker (the socket's timeout, set as it changes)
        while time.monotonic() - began < SERVE_SECONDS:
            handed = self.to_send.get()
            if handed is None:
                break
            if serving.ended or serving.connection is not connection:  # gone while this waited
                self.to_send.put(handed)
                return
            seconds = self.seconds_for(handed.chunk)
            try:
                if seconds != waits:  # a read past it fails (no select a chunk: the kernel times it)
                    _kernel_timeout(shutter, socket.SO_RCVTIMEO, seconds)
                    waits = seconds
                connection.send(handed.chunk)
                handed._outcome = _received(shutter)
            except (OSError, EOFError) as exc:
                _shut(shutter)
                late = f"no results from its Dask worker within {seconds:g} s"
                handed._failure = WorkerGone(late if isinstance(exc, BlockingIOError) else _gone(exc))
                self.finished.put(handed)
                return
            self.finished.put(handed)
        with contextlib.suppress(OSError):
            connection.send(None)


def connect(address: Address, secret: bytes, hello: str) -> Connection:
    """A worker's end: connected to the driver, both proved to hold the secret, ``hello`` sent.
    Unreachable if the driver cannot be reached or does not answer as the driver would."""
    try:
        sock = socket.create_connection(address, timeout=CONNECT_SECONDS)
    except OSError as exc:
        raise Unreachable(f"cannot connect to the driver at {_named(address)}: {exc}") from None
    sock.settimeout(None)
    shutter = sock.dup()
    connection = Connection(sock.detach())
    try:
        with _bounded(HANDSHAKE_SECONDS, shutter):
            answer_challenge(connection, secret)
            deliver_challenge(connection, secret)
        connection.send(hello)
    except Exception as exc:
        connection.close()
        why = f"{type(exc).__name__}: {exc}"
        raise Unreachable(f"the driver at {_named(address)} did not answer ({why})") from None
    finally:
        shutter.close()
    return connection


def reaches(address: Address, secret: bytes) -> bool:
    """Whether this machine reaches the driver's channel (raises Unreachable saying why not)."""
    with connect(address, secret, PROBE) as connection:
        if not connection.poll(HANDSHAKE_SECONDS) or connection.recv() != PROBE:
            raise Unreachable(f"the driver at {_named(address)} did not answer")
    return True


def _received(sock: socket.socket) -> bytearray:
    """The next message, framed as ``Connection.send_bytes`` frames it, read whole: each piece
    ``Connection.recv_bytes`` reads as it arrives wakes its thread (and takes the GIL) once, and
    a chunk's results are hundreds of kilobytes."""
    (size,) = struct.unpack("!i", _exactly(sock, 4))
    if size == -1:  # a message of 2 GiB or more
        (size,) = struct.unpack("!Q", _exactly(sock, 8))
    return _exactly(sock, size)


def _exactly(sock: socket.socket, size: int) -> bytearray:
    buffer = bytearray(size)
    view = memoryview(buffer)
    got = 0
    while got < size:
        count = sock.recv_into(view[got:], size - got, socket.MSG_WAITALL)
        if count == 0:
            raise EOFError("the worker closed the connection")
        got += count
    return buffer


@contextlib.contextmanager
def _bounded(seconds: float, sock: socket.socket) -> Any:
    """Fail each read or write of the block on ``sock`` that waits longer than ``seconds`` (the
    kernel's timeouts: a read of the raw descriptor, as Connection's, then fails). No thread is
    started: on a Dask worker, starting threads while its profiler samples every thread's frame
    (``sys._current_frames``) can deadlock CPython 3.11 when a garbage collection runs a callback
    in between; a Timer a handshake, 400 at a run's start, stalled a worker for ten minutes."""
    _kernel_timeout(sock, socket.SO_RCVTIMEO, seconds)
    _kernel_timeout(sock, socket.SO_SNDTIMEO, seconds)
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            _kernel_timeout(sock, socket.SO_RCVTIMEO, 0)
            _kernel_timeout(sock, socket.SO_SNDTIMEO, 0)


def _kernel_timeout(sock: socket.socket, option: int, seconds: float) -> None:
    """Set the socket's receive or send timeout (0: none) as the kernel keeps it."""
    whole = int(seconds)
    sock.setsockopt(socket.SOL_SOCKET, option, struct.pack("ll", whole, int((seconds - whole) * 1e6)))


def _shut(sock: socket.socket | None) -> None:
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


def _gone(exc: BaseException) -> str:
    return f"the connection to its Dask worker broke ({type(exc).__name__}: {exc})"


def _named(address: Address) -> str:
    return f"{address[0]}:{address[1]}"
