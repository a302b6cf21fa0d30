"""``grader check FOLDER --server URL --token TOKEN``: the student-side check against a
grading service, so a student repository needs no problem file (the key stays on the
server). The folder's answers file (or write-up) is sent to ``/api/v1/.../check``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from grader.loading import find_answers_file
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
        return found
    writeups = writeup_files(folder)
    if writeups:
        return writeups[0]
    raise RemoteCheckError(f"no answers in {folder} (expected answers.yaml, answers.json or a write-up)")


def _assignment(client: httpx.Client, wanted: str | None) -> str:
    if wanted:
        return wanted
    names = [a["name"] for a in _json(client.get("/api/v1/assignments"))["assignments"]]
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


def check_remote(folder: Path, server: str, token: str, assignment: str | None) -> RemoteCheck:
    path = handed_in_file(folder)
    headers = {"Authorization": f"Bearer {token}"}
    try:
        with httpx.Client(base_url=server.rstrip("/"), headers=headers, timeout=TIMEOUT) as client:
            name = _assignment(client, assignment)
            response = client.post(
                f"/api/v1/assignments/{name}/check", files={"file": (path.name, path.read_bytes())}
            )
            if response.status_code == 422:  # the file cannot be read: the server's caret
                error = response.json().get("error", {})
                return RemoteCheck(error.get("detail") or error.get("message", ""), True)
            body = _json(response)
    except httpx.HTTPError as exc:
        raise RemoteCheckError(f"cannot reach {server}: {exc}") from None
    return RemoteCheck(str(body["text"]), bool(body["unreadable"]))
