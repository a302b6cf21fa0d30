"""``grader serve``: uvicorn over :func:`grader.service.app.create_app`."""

from __future__ import annotations

import asyncio
import signal
import socket
import threading
from collections.abc import Callable
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from grader.core import allocator, memtrace
from grader.service.app import create_app
from grader.service.settings import Settings
from grader.service.worker import configure_logging


class SlowClientProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a deadline on each request's head. uvicorn's keep-alive
    timer is cancelled at the first byte of a request, so a client that sends half a header holds
    its connection for ever (slowloris): here it also runs from the connection's start, and only
    a complete head stops it; past it, the connection is closed."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.timeout_keep_alive_task = self.loop.call_later(
            self.timeout_keep_alive, self.timeout_keep_alive_handler
        )

    def data_received(self, data: bytes) -> None:
        # uvicorn's cancels the timer at the first byte: here only a head completed cancels it
        timer, self.timeout_keep_alive_task = self.timeout_keep_alive_task, None
        self.head_done = False
        super().data_received(data)
        if timer is None:
            return
        if self.head_done or self.timeout_keep_alive_task is not None or self.transport.is_closing():
            timer.cancel()
        else:
            self.timeout_keep_alive_task = timer

    def on_headers_complete(self) -> None:
        self.head_done = True
        super().on_headers_complete()


class _Server(uvicorn.Server):
    """uvicorn's server, which first answers the long polls when it shuts down (it waits for the
    requests in flight, which a long poll would hold up to its timeout)."""

    def __init__(self, config: uvicorn.Config, on_shutdown: Callable[[], None]):
        super().__init__(config)
        self.on_shutdown = on_shutdown

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        self.on_shutdown()
        await super().shutdown(sockets)


def serve(settings: Settings, host: str, port: int, on_ready: Any = None) -> None:
    configure_logging()
    memtrace.start_if_asked("server")
    app = create_app(settings, freeze_start_up=True)
    # What the server's threads free, glibc keeps in their arenas: given back every minute
    # (its live heap is flat; its RSS grew 20% in 10 minutes without this: docs/service.md).
    allocator.start_trimming(threading.Event())
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="info",
        access_log=False,  # the app logs every request as JSON
        proxy_headers=True,
        http=SlowClientProtocol,
        timeout_keep_alive=max(1, round(settings.header_timeout)),
        timeout_graceful_shutdown=30,
    )
    server = _Server(config, on_shutdown=app.state.service.verdicts.close)
    if on_ready is not None:
        on_ready()
    # uvicorn shuts down gracefully on SIGTERM and Ctrl-C, then raises the signal again: exit
    # normally instead, so that callers' clean-up (the demo's course) runs; 0 after SIGTERM (a
    # service manager's stop: systemd counts 143 as a failure), 130 after Ctrl-C.
    signal.signal(signal.SIGTERM, _exit_on_signal)
    signal.signal(signal.SIGINT, _exit_on_signal)
    server.run()


def _exit_on_signal(signum: int, frame: object) -> None:
    raise SystemExit(0 if signum == signal.SIGTERM else 128 + signum)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])
