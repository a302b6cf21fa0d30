"""The student's side of a grading service, so a student repository needs no problem file
(the key stays on the server): ``grader check FOLDER --server URL --token TOKEN`` sends the
folder's answers file (or write-up) to ``/api/v1/.../check``; ``grader submit`` hands it in
and waits for its verdict."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from grader.loading import find_answers_file
from grader.reporting.escape import terminal_text
from grader.writeups import writeup_files

TIMEOUT = 120.0


class RemoteCheckError(Exception):
    """The server refused or could not be reached; the message says what to do."""


@dataclass(frozen=True)
class RemoteCheck:
    text: str
    unreadable: bool


def handed_in_file(folder: Path) -> Path:
    found = find_answers_file(folder)
    if found is not None:
        return folder / found
    writeups = writeup_files(folder)
    if writeups:
        return folder / writeups[0]
    pdfs = sorted(folder.glob("*.pdf"))
    if pdfs:  # a PDF hand-in (docs/pdf.md)
        return pdfs[0]
    raise RemoteCheckError(f"no answers in {folder} (expected answers.yaml, answers.json or a write-up)")


Say = Callable[[str], None]

# While the service answers 503 (its database down or not answering, its disk full: nothing
# was kept), a request is sent again after the Retry-After it asks for, or a back-off from 2 s
# doubling to a minute if longer, for RETRY_SECONDS at most.
RETRY_SECONDS = 300.0
FIRST_PAUSE_SECONDS = 2.0
LONGEST_PAUSE_SECONDS = 60.0


def _sent(client: httpx.Client, say: Say, method: str, url: str, **options: Any) -> httpx.Response:
    """The service's answer to the request, sent again with a back-off while it is 503, saying
    so each time; the last 503 once RETRY_SECONDS would be over."""
    deadline = time.monotonic() + RETRY_SECONDS
    pause = FIRST_PAUSE_SECONDS
    while True:
        response = client.request(method, url, **options)
        if response.status_code != 503:
            return response
        wait = max(_retry_after(response), pause)
        if time.monotonic() + wait > deadline:
            return response
        again = "sending it again" if method != "GET" else "asking again"
        say(f"the server answered 503: {_message(response)}\n{again} in {wait:.0f} s")
        time.sleep(wait)
        pause = min(pause * 2, LONGEST_PAUSE_SECONDS)


def _retry_after(response: httpx.Response) -> float:
    try:
        return max(float(response.headers.get("retry-after", "")), 0.0)
    except ValueError:  # absent, or an HTTP date: the back-off decides
        return 0.0


def _message(response: httpx.Response) -> str:
    try:
        return str(response.json()["error"]["message"])
    except (ValueError, KeyError, TypeError):
        return terminal_text(response.text[:200], keep_newlines=False) or response.reason_phrase


def _quiet(_line: str) -> None:
    """Say nothing."""


def _assignment(client: httpx.Client, wanted: str | None, say: Say = _quiet) -> str:
    if wanted:
        return wanted
    names = [a["name"] for a in _json(_sent(client, say, "GET", "/api/v1/assignments"))["assignments"]]
    if len(names) == 1:
        return str(names[0])
    raise RemoteCheckError(f"say which assignment with --assignment (the server has: {', '.join(names)})")


def _json(response: httpx.Response) -> dict[str, Any]:
    if response.status_code >= 400:
        try:
            message = response.json()["error"]["message"]
            detail = response.json()["error"].get("detail")
        except (ValueError, KeyError, TypeError):
            message, detail = response.text[:300], None
        if detail:
            message = f"{message}\n{detail}"
        raise RemoteCheckError(f"the server answered {response.status_code}: {message}")
    body: dict[str, Any] = response.json()
    return body


@contextmanager
def _service(server: str, token: str) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {token}"}
    try:
        with httpx.Client(base_url=server.rstrip("/"), headers=headers, timeout=TIMEOUT) as client:
            yield client
    except httpx.HTTPError as exc:
        raise RemoteCheckError(f"cannot reach {server}: {exc}") from None


def _send_answers(
    client: httpx.Client, path: Path, assignment: str | None, route: str, say: Say = _quiet
) -> tuple[dict[str, Any], str | None]:
    """POST the answers file to the assignment's ``route``: the answer's JSON, or (when the
    server cannot read the file, 422) its line and caret."""
    name = _assignment(client, assignment, say)
    files = {"file": (path.name, path.read_bytes())}
    response = _sent(client, say, "POST", f"/api/v1/assignments/{name}/{route}", files=files)
    if response.status_code == 422:
        error = response.json().get("error", {})
        return {}, error.get("detail") or error.get("message", "")
    return _json(response), None


def _send_pdf(
    client: httpx.Client, path: Path, assignment: str | None, pages: str, say: Say = _quiet
) -> tuple[dict[str, Any], str | None]:
    """POST a PDF and its page tags (grader.service.routes.pdf_pages)."""
    name = _assignment(client, assignment, say)
    files = {"file": (path.name, path.read_bytes(), "application/pdf")}
    url = f"/api/v1/assignments/{name}/pdf"
    response = _sent(client, say, "POST", url, files=files, data={"pages": pages})
    if response.status_code == 422:
        error = response.json().get("error", {})
        return {}, error.get("detail") or error.get("message", "")
    return _json(response), None


def check_remote(
    folder: Path, server: str, token: str, assignment: str | None, say: Say = _quiet
) -> RemoteCheck:
    path = handed_in_file(folder)
    with _service(server, token) as client:
        body, unreadable = _send_answers(client, path, assignment, "check", say)
    if unreadable is not None:  # the file cannot be read: the server's caret
        return RemoteCheck(unreadable, True)
    return RemoteCheck(str(body["text"]), bool(body["unreadable"]))


# ---- grader submit: hand in to the service and wait for the verdict ----------------------------

# The longest wait the service grants one request (GET /submissions/{id}?wait=); longer waits
# ask again.
LONGEST_POLL = 30.0


@dataclass(frozen=True)
class RemoteSubmission:
    """A hand-in as the service shows it to its student (``data``: GET /submissions/{id}), or
    the service's refusal of an unreadable file (``unreadable``: its line and caret)."""

    data: dict[str, Any]
    unreadable: str | None = None

    @property
    def graded(self) -> bool:
        return self.data.get("status") == "graded"


def submit_remote(
    folder: Path,
    server: str,
    token: str,
    assignment: str | None,
    wait_seconds: float,
    say: Say = _quiet,
    pages: str | None = None,
) -> RemoteSubmission:
    """Hand in the folder's answers file (or write-up, or PDF with its ``pages`` tagged:
    ``q1=1-2,q3=4``) and wait up to ``wait_seconds`` for its verdict, by the service's long
    poll (no request a second). A 503 (nothing kept) is sent again with a back-off, each one
    told to ``say``."""
    path = handed_in_file(folder)
    if pages and path.suffix.lower() != ".pdf":
        raise RemoteCheckError(f"--pages tags the pages of a PDF; {path.name} is handed in as it is")
    with _service(server, token) as client:
        if path.suffix.lower() == ".pdf":
            handed_in, unreadable = _send_pdf(client, path, assignment, pages or "", say)
        else:
            handed_in, unreadable = _send_answers(client, path, assignment, "submissions", say)
        if unreadable is not None:  # nothing was handed in
            return RemoteSubmission({}, unreadable)
        return RemoteSubmission(_awaited(client, int(handed_in["id"]), wait_seconds, say))


def _awaited(client: httpx.Client, submission: int, wait_seconds: float, say: Say) -> dict[str, Any]:
    deadline = time.monotonic() + max(wait_seconds, 0.0)
    while True:
        left = deadline - time.monotonic()
        params = {"wait": f"{min(left, LONGEST_POLL):.1f}"} if left >= 0.1 else {}
        data = _json(_sent(client, say, "GET", f"/api/v1/submissions/{submission}", params=params))
        if data.get("status") == "graded" or not params:
            return data


def render_submission(submitted: RemoteSubmission, server: str) -> str:
    """What ``grader submit`` prints: the hand-in, then each part's verdict as the student may
    see it. Every text from the service is shown as plain text (no escape sequence acts)."""
    data = submitted.data
    head = " · ".join(
        terminal_text(str(data.get(key)), keep_newlines=False) for key in ("assignment", "student")
    )
    lines = [f"{head} · version {data.get('version')}" + (" · late" if data.get("late") else "")]
    if not submitted.graded:
        page = f"{server.rstrip('/')}/submissions/{data.get('id')}"
        lines.append(
            f"handed in as submission {data.get('id')}, {data.get('status')}: its verdict will be at {page}"
        )
        return "\n".join(lines) + "\n"
    report = data.get("report") or {}
    if report.get("error"):
        lines.append("error: " + terminal_text(str(report["error"])))
    parts = report.get("parts", [])
    width = max((len(str(part.get("id", ""))) for part in parts), default=0)
    for part in parts:
        name = terminal_text(str(part.get("id", "")), keep_newlines=False)
        points = f"{_points(part.get('score'))}/{_points(part.get('max_score'))}"
        lines.append(f"  {name:<{width}}  {part.get('status', ''):<9}  {points}")
        feedback = terminal_text(str(part.get("feedback") or "")).strip()
        lines += [f"      {line}" for line in feedback.splitlines()]
    if report.get("note"):
        lines.append(terminal_text(str(report["note"]), keep_newlines=False))
    lines.append(f"score {_points(report.get('score'))}/{_points(report.get('max_score'))}")
    return "\n".join(lines) + "\n"


def _points(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
