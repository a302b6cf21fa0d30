"""Slow clients hold nothing for long (issue 45, item 12), over real HTTP: a client that dribbles
a request's head a byte at a time (slowloris) is cut off once ``--header-timeout`` is past, and
one that stops sending a body is answered 408 once ``--body-timeout`` is past, while another
client is served at once."""

from __future__ import annotations

import select
import socket
import time
from pathlib import Path

from service_server import Server, make_course

HEADER_SECONDS = 2
BODY_SECONDS = 3
MARGIN = 3.0  # seconds past a timeout the server may take to act on it (a loaded machine)
SERVED_AT_ONCE = 2.0


def dribble(sock: socket.socket, seconds: float) -> float:
    """Send a header byte every 0.2 s until the server closes the connection (or ``seconds``
    pass); how long it took."""
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        try:
            sock.sendall(b"a")
        except OSError:  # reset: closed
            break
        readable, _, _ = select.select([sock], [], [], 0.2)
        if readable:
            try:
                if sock.recv(4096) == b"":
                    break
            except OSError:
                break
    return time.monotonic() - started


def test_slow_clients_are_cut_off_while_another_is_served(tmp_path: Path) -> None:
    course = make_course(tmp_path / "course", None)
    flags = ("--header-timeout", str(HEADER_SECONDS), "--body-timeout", str(BODY_SECONDS))
    with Server(course, 1, *flags) as server, server.client("bob") as bob:
        with socket.create_connection(("127.0.0.1", server.port)) as loris:
            loris.sendall(b"GET /api/v1/assignments HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            started = time.monotonic()
            listed = bob.get("/api/v1/assignments")
            served_in = time.monotonic() - started
            header_cut_after = dribble(loris, 30)

        with socket.create_connection(("127.0.0.1", server.port)) as slow_body:
            slow_body.settimeout(30)
            head = (
                "POST /api/v1/assignments/a1-activations-conv/check HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                f"Authorization: Bearer {course.tokens['alice']}\r\nContent-Type: application/json\r\n"
                "Content-Length: 1000\r\n\r\n"
            )
            slow_body.sendall(head.encode() + b'{"answers": ')
            started = time.monotonic()
            answer = slow_body.recv(65536)
            body_cut_after = time.monotonic() - started
            while b"did not arrive" not in answer and (more := slow_body.recv(65536)):
                answer += more  # the head and the body may come in segments of their own
        after = bob.get("/api/v1/assignments")

    assert listed.status_code == 200 and served_in < SERVED_AT_ONCE, served_in
    assert HEADER_SECONDS - 0.5 <= header_cut_after < HEADER_SECONDS + MARGIN, header_cut_after
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert f"the request body did not arrive within {BODY_SECONDS} s".encode() in answer
    assert BODY_SECONDS - 0.5 <= body_cut_after < BODY_SECONDS + MARGIN, body_cut_after
    assert after.status_code == 200
