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

import collections
import contextlib
import secrets
import selectors
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
IDLE_WAIT_SECONDS = 1.0  # the pump's longest wait with no chunk out
LATE_SCAN_SECONDS = 0.1  # how often the pump looks for late results while chunks are out

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

    @property
    def payload(self) -> bytes | bytearray:
        """The result's bytes as the worker sent them (once it came back)."""
        return self._outcome


@dataclass(eq=False)
class _Serving:
    """A long-lived task's connection, once it connected."""

    link: _Link | None = None
    ended: bool = False


@dataclass(eq=False)
class _Link:
    """A connected task's connection, as the pump serves it: the chunk it grades, if any, and
    its result as it arrives."""

    serving: _Serving
    connection: Connection  # owns the descriptor: closed with the link
    sock: socket.socket  # the same socket, read and written by the pump (shut from any thread)
    began: float
    handed: Handed | None = None
    deadline: float = 0.0  # when its result is late
    header: bytes = b""  # the result's length as it arrives
    body: bytearray | None = None
    got: int = 0


class ResultChannel:
    """The driver's end: a listening socket, a thread that takes each connecting task through
    the handshake, and one thread, the pump, that hands the chunks put in by :meth:`hand` to
    the connected tasks and puts each handed chunk in ``finished`` once it is back. One thread
    waits on every connection at once (epoll): a thread a connection (until 2026-11-25) passed
    the interpreter lock between threads four times or more a chunk, and cost the driver twice
    the CPU while its main thread was busy (benchmarks/bench_channel.py)."""

    def __init__(self, host: str, port: int, finished: Any, seconds_for: Callable[[Any], float]):
        self.secret = secrets.token_bytes(32)
        self.finished = finished  # a queue: each Handed as its outcome is known
        self.seconds_for = seconds_for  # how long a chunk's results may take, at most
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._listening = socket.create_server((host, port), family=family, backlog=1024)
        self.address: Address = self._listening.getsockname()[:2]
        self._serving: dict[str, _Serving] = {}
        self._lock = threading.Lock()  # guards what the handshakes, the pump and the caller share
        self._queued: collections.deque[Handed] = collections.deque()  # chunks no task has taken
        self._arrived: list[_Link] = []  # connected, for the pump to take
        self._idle = 0  # links waiting for a chunk (the pump's count)
        self._sleeping = False  # the pump waits in select: wake it for work it can do
        self._closed = False
        self._listening_closed = False
        self._waker, self._wake_here = socket.socketpair()
        self._wake_here.setblocking(False)
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._waker, selectors.EVENT_READ, None)
        self._links: set[_Link] = set()  # the pump's: every connected task's link
        self._idle_links: collections.deque[_Link] = collections.deque()  # the pump's: holding no chunk
        threading.Thread(target=self._accept, name="grader-channel", daemon=True).start()
        threading.Thread(target=self._pump, name="grader-channel-pump", daemon=True).start()

    def hand(self, chunk: Any) -> Handed:
        handed = Handed(chunk)
        with self._lock:
            self._queued.append(handed)
            wake = self._sleeping and self._idle > 0
            self._sleeping = self._sleeping and not wake
        if wake:
            self._wake()
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
            link = serving.link
        if link is not None:
            _shut(link.sock)

    def drain(self) -> list[Handed]:
        """The chunks no task has taken yet (they are sent another way)."""
        with self._lock:
            drained = list(self._queued)
            self._queued.clear()
        return drained

    def stop(self) -> None:
        """Hand out no more chunks: every connected task stops after its chunk, and a task that
        connects from now on is let go at once (its thread free for other work)."""
        with self._lock:
            self._closed = True
        self._wake()

    def close(self) -> None:
        """Stop, and listen no more."""
        self.stop()
        _shut(self._listening)
        self._listening.close()
        with self._lock:
            self._listening_closed = True
        self._wake()

    def abort(self) -> None:
        """Shut every connection now (the run stopped early): the tasks see the driver gone."""
        self.close()
        with self._lock:
            links = [s.link for s in self._serving.values() if s.link is not None]
        for link in links:
            _shut(link.sock)

    def _wake(self) -> None:
        with contextlib.suppress(OSError):
            self._wake_here.send(b"\0")

    def _accept(self) -> None:
        while True:
            try:
                sock, _ = self._listening.accept()
            except OSError:  # closed
                return
            handshake = threading.Thread(
                target=self._handshake, args=(sock,), name="grader-channel-handshake", daemon=True
            )
            handshake.start()

    def _handshake(self, sock: socket.socket) -> None:
        """Take a connecting peer through the handshake; a task's connection goes to the pump."""
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
        shutter.settimeout(None)
        _kernel_timeout(shutter, socket.SO_SNDTIMEO, HANDSHAKE_SECONDS)  # a chunk is sent at once
        with self._lock:
            serving = self._serving.get(token) if isinstance(token, str) else None
            if serving is None or serving.ended or self._closed:
                serving = None
            else:  # a task Dask started again elsewhere: its old connection is dead
                if serving.link is not None:
                    _shut(serving.link.sock)
                serving.link = _Link(serving, connection, shutter, time.monotonic())
                self._arrived.append(serving.link)
        if serving is None:
            connection.close()
            shutter.close()
            return
        self._wake()

    def _pump(self) -> None:
        """The pump's loop; the links and their queue of idle ones are its own (no lock)."""
        scan_at = 0.0  # when to look for late results next
        while True:
            now = time.monotonic()
            with self._lock:
                arrived, self._arrived = self._arrived, []
                done = self._listening_closed and self._closed and not self._links and not arrived
                self._idle = len(self._idle_links) + len(arrived)
                busy = len(self._links) > len(self._idle_links)
                can_hand = bool(self._queued) and self._idle > 0
                self._sleeping = not (arrived or can_hand)
            if done:
                break
            for link in arrived:
                self._links.add(link)
                self._selector.register(link.sock, selectors.EVENT_READ, link)
                self._ready(link, now)
            self._hand_out()
            timeout = max(0.0, scan_at - now) if busy else IDLE_WAIT_SECONDS
            for key, _ in self._selector.select(timeout if self._sleeping else 0):
                if key.data is None:
                    with contextlib.suppress(OSError):
                        while self._waker.recv(4096, socket.MSG_DONTWAIT):
                            pass
                else:
                    self._read(key.data)
            if busy and time.monotonic() >= scan_at:
                scan_at = time.monotonic() + LATE_SCAN_SECONDS
                self._expire()
        self._selector.close()
        self._waker.close()
        self._wake_here.close()

    def _current(self, link: _Link) -> bool:
        """Whether the link is still its task's connection (not replaced, its task not ended);
        the caller holds the lock."""
        return link.serving.link is link and not link.serving.ended

    def _ready(self, link: _Link, now: float) -> None:
        """A link that holds no chunk: waiting for one, or ended (its time served, the run over,
        its task gone)."""
        with self._lock:
            current, stopping = self._current(link), self._closed
        if current and not stopping and now - link.began < SERVE_SECONDS:
            self._idle_links.append(link)
            return
        if current:
            with contextlib.suppress(OSError):
                _send_frame(link.sock, ForkingPickler.dumps(None))  # the task ends, its thread free
        self._drop(link)

    def _hand_out(self) -> None:
        """Each idle link that is still its task's current one gets a queued chunk."""
        idle = self._idle_links
        while idle:
            link = idle.popleft()
            with self._lock:
                current, stopping = self._current(link), self._closed
                handed = self._queued.popleft() if current and not stopping and self._queued else None
            if handed is None:
                if current and not stopping:
                    idle.appendleft(link)  # nothing queued: it waits on
                    return
                self._ready(link, time.monotonic())  # the run is over, or its task gone: it ends
                continue
            seconds = self.seconds_for(handed.chunk)
            link.handed, link.deadline = handed, time.monotonic() + seconds
            try:
                _send_frame(link.sock, ForkingPickler.dumps(handed.chunk))
            except OSError as exc:
                self._fail(link, _gone(exc))

    def _read(self, link: _Link) -> None:
        """Read what the link has for us; a whole result finishes its chunk."""
        try:
            if not self._received(link):
                return
        except (OSError, EOFError) as exc:
            self._fail(link, _gone(exc))
            return
        handed, link.handed = link.handed, None
        if handed is None:  # a task says nothing unless asked: not one of ours
            self._drop(link)
            return
        handed._outcome = link.body
        link.header, link.body, link.got = b"", None, 0
        self.finished.put(handed)
        self._ready(link, time.monotonic())

    @staticmethod
    def _received(link: _Link) -> bool:
        """Whether the result, framed as ``Connection.send_bytes`` frames it, is now whole; reads
        only what has arrived (the result of a chunk is tens to hundreds of kilobytes)."""
        sock = link.sock
        while link.body is None:
            wanted = 4 if len(link.header) < 4 else 12
            try:
                piece = sock.recv(wanted - len(link.header), socket.MSG_DONTWAIT)
            except BlockingIOError:
                return False
            if not piece:
                raise EOFError("the worker closed the connection")
            link.header += piece
            if len(link.header) == 4 and link.header != b"\xff\xff\xff\xff":
                link.body = bytearray(struct.unpack("!i", link.header)[0])
            elif len(link.header) == 12:  # a message of 2 GiB or more
                link.body = bytearray(struct.unpack("!Q", link.header[4:])[0])
        view = memoryview(link.body)
        while link.got < len(link.body):
            try:
                count = sock.recv_into(view[link.got :], len(link.body) - link.got, socket.MSG_DONTWAIT)
            except BlockingIOError:
                return False
            if count == 0:
                raise EOFError("the worker closed the connection")
            link.got += count
        return True

    def _expire(self) -> None:
        """Fail the chunks whose results are late (the worker is stuck or its machine gone)."""
        now = time.monotonic()
        for link in [link for link in self._links if link.handed is not None and now > link.deadline]:
            assert link.handed is not None
            late = self.seconds_for(link.handed.chunk)
            self._fail(link, f"no results from its Dask worker within {late:g} s")

    def _fail(self, link: _Link, why: str) -> None:
        handed, link.handed = link.handed, None
        if handed is not None:
            handed._failure = WorkerGone(why)
            self.finished.put(handed)
        self._drop(link)

    def _drop(self, link: _Link) -> None:
        if link not in self._links:
            return
        self._links.discard(link)
        _shut(link.sock)
        with contextlib.suppress(KeyError, ValueError):
            self._selector.unregister(link.sock)
        with self._lock:
            if link.serving.link is link:
                link.serving.link = None
        link.sock.close()
        link.connection.close()


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


def _send_frame(sock: socket.socket, payload: bytes | memoryview) -> None:
    """Send ``payload`` framed as ``Connection.send_bytes`` frames it (the worker reads it so)."""
    size = len(payload)
    header = struct.pack("!i", size) if size <= 0x7FFFFFFF else struct.pack("!iQ", -1, size)
    sock.sendall(header + payload if size < 1 << 16 else header)
    if size >= 1 << 16:
        sock.sendall(payload)


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
