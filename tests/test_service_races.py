"""Hand grades, hand-ins and verdicts under races, over real HTTP on SQLite and PostgreSQL, with
the service's default grading workers: many rounds of each race, at a size that runs in CI in
about a minute (``benchmarks/race_service.py`` runs the same races longer).

- a regrade racing a TA's grade never leaves the grade out of the newest verdict;
- a group grade refused with 409 stores nothing (and every grade has its audit row);
- simultaneous hand-ins of one student are all kept, with contiguous versions;
- two TAs grading one group in opposite orders get one 200 and one 409, never a 500;
- a student whose newest version is still queued can be graded, and the verdict carries it;
- lateness and the counted version follow the due in force, not the one at hand-in.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest
from service_server import Server, add_account, grading_paused, make_course, seed_file, wait_graded

ASSIGNMENT = "a1-activations-conv"
SEEDS = "activations-softmax-conv"
PARTS = ("q1.derivative", "q1.via_h_1")  # graded by hand, and overridden with a reason
SEED = seed_file(SEEDS, "seed-001").decode()
STUDENTS = ("s1", "s2", "s3", "s4")
UNLIMITED = ("--rate-limit", "100000", "--student-hand-ins", "100000")
SCALE = int(os.environ.get("GRADER_RACE_SCALE", "1"))  # benchmarks/race_service.py: longer runs


def _hand_in(client: httpx.Client, text: str = SEED) -> dict[str, Any]:
    response = client.post(
        f"/api/v1/assignments/{ASSIGNMENT}/submissions", files={"file": ("answers.yaml", text.encode())}
    )
    assert response.status_code == 202, response.text
    body: dict[str, Any] = response.json()
    return body


def _report(client: httpx.Client, submission_id: int) -> dict[str, Any]:
    return wait_graded(client, submission_id)["report"]  # type: ignore[no-any-return]


def _queue_empty(server: Server, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    with server.client("ta") as ta:
        while True:
            jobs = ta.get("/api/v1/queue").json()["jobs"]
            if jobs["queued"] == 0 and jobs["grading"] == 0:
                return
            assert time.monotonic() < deadline, f"the queue never emptied: {jobs}"
            time.sleep(0.2)


def _hand_points(report: dict[str, Any], part: str) -> float | None:
    result = next(p for p in report["parts"] if p["id"] == part)
    return None if result.get("hand") is None else result["hand"]["points"]


@pytest.fixture
def course(tmp_path: Path, db_url: str | None):  # type: ignore[no-untyped-def]
    made = make_course(tmp_path / "course", db_url, students=STUDENTS)
    add_account(made, "ta2", "ta", "a second ta's password")
    return made


def test_a_regrade_racing_ta_grades_never_drops_a_grade(course) -> None:  # type: ignore[no-untyped-def]
    """Regrades of every student race TA writes to the same students; once the queue is
    empty, the newest verdict of each carries every grade the TA committed (item 1)."""
    rounds = 12 * SCALE
    with Server(course, 2, *UNLIMITED) as server, server.client("ta") as ta:
        ids = {}
        for name in STUDENTS:
            with server.client(name) as student:
                ids[name] = _hand_in(student)["id"]
                wait_graded(student, ids[name])
        versions = {(name, part): 0 for name in STUDENTS for part in PARTS}

        def grade(points: float, name: str) -> None:
            for part in PARTS:
                grade_part(name, part, points)

        def grade_part(name: str, part: str, points: float) -> None:
            body = {"points": points, "version": versions[name, part], "reason": "race test"}
            response = ta.put(f"/api/v1/assignments/{ASSIGNMENT}/hand/{name}/{part}", json=body)
            assert response.status_code == 200, response.text
            versions[name, part] = response.json()["version"]

        with ThreadPoolExecutor(4) as pool:
            for round_number in range(rounds):
                for name in STUDENTS:
                    assert ta.post(f"/api/v1/submissions/{ids[name]}/regrade").status_code == 202
                points = 0.5 * (round_number % 4)  # every write a change
                list(pool.map(partial(grade, points), STUDENTS))
        _queue_empty(server)
        given = {
            (g["student"], g["part"]): g["points"]
            for g in ta.get(f"/api/v1/assignments/{ASSIGNMENT}/hand").json()["grades"]
        }
        missing = []
        for name in STUDENTS:
            report = ta.get(f"/api/v1/submissions/{ids[name]}").json()["report"]
            missing += [
                (name, part, given[name, part], _hand_points(report, part))
                for part in PARTS
                if _hand_points(report, part) != given[name, part]
            ]
        assert not missing, f"grades committed but not in the newest verdict: {missing}"


def test_a_refused_group_grade_stores_nothing(course) -> None:  # type: ignore[no-untyped-def]
    """All or none: the second student's grade changed since the TA looked, so the group's
    write is refused (409) and the first student gets no grade and no audit row (item 2)."""
    with Server(course, 2) as server, server.client("ta") as ta:
        for name in ("s1", "s2"):
            with server.client(name) as student:
                wait_graded(student, _hand_in(student)["id"])
        part = PARTS[0]
        groups = ta.get(f"/api/v1/assignments/{ASSIGNMENT}/parts/{part}/groups").json()["groups"]
        group = next(g for g in groups if sorted(g["students"])[:2] == ["s1", "s2"])
        changed = ta.put(f"/api/v1/assignments/{ASSIGNMENT}/hand/s2/{part}", json={"points": 1, "version": 0})
        assert changed.status_code == 200
        refused = ta.post(
            f"/api/v1/assignments/{ASSIGNMENT}/parts/{part}/groups/{group['id']}",
            json={"points": 4, "versions": {"s1": 0, "s2": 0}},
        )
        assert refused.status_code == 409, refused.text
        grades = ta.get(f"/api/v1/assignments/{ASSIGNMENT}/hand").json()["grades"]
        assert [(g["student"], g["points"]) for g in grades] == [("s2", 1.0)]
        audit = ta.get(f"/api/v1/assignments/{ASSIGNMENT}/hand/audit").json()["changes"]
        assert [(c["student"], c["new"]["points"]) for c in audit] == [("s2", 1.0)]


def test_simultaneous_hand_ins_of_one_student_are_all_kept(course) -> None:  # type: ignore[no-untyped-def]
    """20 hand-ins of one student at one instant, three times: every one is answered 202 and
    stored, the versions 1..60 without a gap (item 3)."""
    at_once, rounds = 20, 3 * SCALE
    with Server(course, 2, *UNLIMITED) as server:
        clients = [server.client("s1") for _ in range(at_once)]
        answers: list[int] = []
        for _ in range(rounds):
            barrier = threading.Barrier(at_once)

            def hand_in(barrier: threading.Barrier, client: httpx.Client) -> int:
                barrier.wait()
                response = client.post(
                    f"/api/v1/assignments/{ASSIGNMENT}/submissions",
                    files={"file": ("answers.yaml", SEED.encode())},
                )
                return response.status_code if response.status_code != 202 else response.json()["version"]

            with ThreadPoolExecutor(at_once) as pool:
                answers += list(pool.map(partial(hand_in, barrier), clients))
        for client in clients:
            client.close()
        assert sorted(answers) == list(range(1, at_once * rounds + 1)), answers
        with server.client("s1") as student:
            kept = student.get("/api/v1/me/submissions").json()["submissions"]
        assert sorted(s["version"] for s in kept) == list(range(1, at_once * rounds + 1))


def test_two_tas_grading_a_group_in_opposite_orders_get_one_200_and_one_409(course) -> None:  # type: ignore[no-untyped-def]
    """The same group posted by two TAs at one instant, its students listed in opposite
    orders: one write wins and the other is refused, never a deadlock's 500 (item 4)."""
    rounds = 15 * SCALE
    with Server(course, 2, *UNLIMITED) as server, server.client("ta") as ta, server.client("ta2") as ta2:
        for name in STUDENTS:
            with server.client(name) as student:
                wait_graded(student, _hand_in(student)["id"])
        part = PARTS[0]
        groups = ta.get(f"/api/v1/assignments/{ASSIGNMENT}/parts/{part}/groups").json()["groups"]
        group = max(groups, key=lambda g: len(g["students"]))
        names = sorted(group["students"])
        assert len(names) >= 2
        url = f"/api/v1/assignments/{ASSIGNMENT}/parts/{part}/groups/{group['id']}"
        versions = dict.fromkeys(names, 0)
        for round_number in range(rounds):
            barrier = threading.Barrier(2)

            def post(
                barrier: threading.Barrier, client: httpx.Client, order: list[str], points: float
            ) -> httpx.Response:
                body = {"points": points, "versions": {name: versions[name] for name in order}}
                barrier.wait()
                return client.post(url, json=body)

            with ThreadPoolExecutor(2) as pool:
                first = pool.submit(post, barrier, ta, names, 1.0 + round_number % 3)
                second = pool.submit(post, barrier, ta2, names[::-1], 2.0)
                statuses = sorted([first.result().status_code, second.result().status_code])
            assert statuses == [200, 409], (round_number, first.result().text, second.result().text)
            winner = first.result() if first.result().status_code == 200 else second.result()
            versions.update(winner.json()["versions"])


def test_a_student_whose_newest_version_is_queued_can_be_graded(course) -> None:  # type: ignore[no-untyped-def]
    """Rush hour: the TA grades a student whose newest version waits in the queue; the grade
    is kept, and the verdict of that version, when it comes, carries it (item 5)."""
    part = PARTS[0]
    with Server(course, 2) as server, server.client("ta") as ta, server.client("s1") as student:
        wait_graded(student, _hand_in(student)["id"])
        with grading_paused(server):
            newest = _hand_in(student)["id"]
            assert student.get(f"/api/v1/submissions/{newest}").json()["status"] != "graded"
            response = ta.put(
                f"/api/v1/assignments/{ASSIGNMENT}/hand/s1/{part}", json={"points": 3, "version": 0}
            )
            assert response.status_code == 200, response.text
        assert _hand_points(_report(student, newest), part) == 3


def _set_due(folder: Path, due: dt.datetime | None, extensions: dict[str, dt.datetime] | None = None) -> None:
    text = f"assignments:\n  {ASSIGNMENT}:\n    due: {due.isoformat()}\n" if due else "assignments: {}\n"
    if extensions:
        text += "    extensions:\n" + "".join(
            f"      {s}: {at.isoformat()}\n" for s, at in extensions.items()
        )
    path = folder / "course.yaml"
    path.write_text(text)
    stamp = time.time() + 1  # a new modification time even within the file system's resolution
    os.utime(path, (stamp, stamp))


def _wait_for(check: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "the server never took the new course.yaml"
        time.sleep(0.2)


def test_lateness_and_the_counted_version_follow_the_due_in_force(course) -> None:  # type: ignore[no-untyped-def]
    """Two versions; a due set between them makes the second late and the first count; the
    due moved past both makes the second on time and counted again, in the API and the
    gradebook export; an extension for one student makes theirs on time and no one else's
    (item 8)."""
    other = SEED.replace("Hence g'(x) = H(x)", "So g'(x) = H(x), I think,")
    with Server(course, 2, *UNLIMITED) as server, server.client("ta") as ta, server.client("s1") as student:
        first = wait_graded(student, _hand_in(student)["id"])
        time.sleep(1.1)
        second = wait_graded(student, _hand_in(student, other)["id"])
        handed_in = dt.datetime.fromisoformat(second["submitted_at"])

        def state() -> tuple[list[bool], str]:
            mine = student.get("/api/v1/me/submissions").json()["submissions"]
            export = ta.get(f"/api/v1/assignments/{ASSIGNMENT}/export", params={"format": "json"}).text
            return [s["late"] for s in sorted(mine, key=lambda s: s["version"])], export

        assert state()[0] == [False, False]
        _set_due(course.folder, handed_in - dt.timedelta(seconds=0.5))
        _wait_for(lambda: state()[0] == [False, True])
        assert "I think" not in state()[1]  # the first version counts
        _set_due(course.folder, handed_in + dt.timedelta(days=1))
        _wait_for(lambda: state()[0] == [False, False])
        assert "I think" in state()[1]
        assert first["version"] == 1
        # The class's due before both versions, s1's extension after them: s1 is on time.
        past = handed_in - dt.timedelta(days=1)
        _set_due(course.folder, past, {"s1": handed_in + dt.timedelta(hours=1)})

        def due_in_force() -> dt.datetime | None:
            listed = ta.get("/api/v1/assignments").json()["assignments"][0]["due"]
            return dt.datetime.fromisoformat(listed) if listed else None

        _wait_for(lambda: due_in_force() == past)
        assert state()[0] == [False, False]
        with server.client("s2") as other_student:
            late = wait_graded(other_student, _hand_in(other_student)["id"])["late"]
        assert late is True  # the class's due is past for everyone else
        _set_due(course.folder, past)  # the extension withdrawn
        _wait_for(lambda: state()[0] == [True, True])
