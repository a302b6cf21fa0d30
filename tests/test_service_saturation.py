"""One student cannot stall the service (issue 45, item 7), over real HTTP: checks of code that
sleeps to its time limit hold no request thread, a student has a bounded number of checks and
hand-ins in flight (429 past them), and /healthz says "saturated" while the checks are full."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import anyio
import anyio.to_thread
import httpx
from service_server import Course, Server, make_course, wait_graded

from grader.service.app import saturated
from grader.service.service import Service
from grader.service.settings import Settings

TIME_LIMIT = 4  # seconds a check of the sleeping code runs before it is stopped
PROBLEMS = f"""
assignment: slow
questions:
  - id: code
    type: code
    visible: true
    entry: f
    time_limit: {TIME_LIMIT}
    inputs: {{x: {{shape: [3]}}}}
    answer: |
      def f(x):
          return 2 * x
"""
SLEEPER = {"answers": {"code": "import time\ndef f(x):\n    time.sleep(10**6)\n"}}
CHECK = "/api/v1/assignments/slow/check"
ANOTHERS_BOUND = 2.5  # seconds another student's request may take while the checks run


def slow_course(tmp_path: Path) -> Course:
    course = make_course(tmp_path / "course", None, students=("alice", "bob"), problems=())
    (course.folder / "problems" / "slow.yaml").write_text(PROBLEMS)
    return course


def test_nine_sleeping_checks_of_one_student_stall_nobody(tmp_path: Path) -> None:
    course = slow_course(tmp_path)
    with (
        Server(course, 1, "--max-checks", "2") as server,
        server.client("alice") as alice,
        server.client("bob") as bob,
        ThreadPoolExecutor(9) as pool,
    ):
        checks = [pool.submit(alice.post, CHECK, json=SLEEPER, timeout=120) for _ in range(9)]
        time.sleep(1.5)  # all nine sent; the two taken are grading
        health = httpx.get(f"{server.url}/healthz", timeout=10)
        started = time.monotonic()
        listed = bob.get("/api/v1/assignments")
        took = time.monotonic() - started
        bobs_check = bob.post(CHECK, json=SLEEPER)
        answers = [check.result() for check in checks]
        after = httpx.get(f"{server.url}/healthz", timeout=10)

    assert listed.status_code == 200 and took < ANOTHERS_BOUND, (listed.status_code, took)
    assert health.status_code == 503, health.text
    assert health.json()["status"] == "saturated" and health.json()["saturated"] == {
        "checks": "2 of 2 in flight"
    }, health.text
    assert bobs_check.status_code == 503 and "all it takes at once" in bobs_check.json()["error"]["message"]
    assert sorted(answer.status_code for answer in answers) == [200] * 2 + [429] * 7
    for answer in answers:
        if answer.status_code == 429:
            assert "checks running, the most a student may have" in answer.json()["error"]["message"]
            assert int(answer.headers["retry-after"]) >= 1
        else:
            (part,) = answer.json()["parts"]
            # stopped at its time limit: the student's code's doing, not the grader's (issue 49 item 12)
            assert part["verdict"]["status"] == "incorrect", part
            assert f"did not finish within {TIME_LIMIT} s" in part["verdict"]["feedback"], part
    assert after.status_code == 200 and after.json()["status"] == "ok" and after.json()["saturated"] == {}


def test_a_handed_in_infinite_loop_is_incorrect_for_the_student_and_the_ta(tmp_path: Path) -> None:
    """Issue 49 item 12: code that never ends is the student's fault: ``incorrect``, "did not
    finish within 4 s" (the part's time limit), for the student and in the TA's gradebook."""
    course = slow_course(tmp_path)
    looping = {"answers": {"code": "def f(x):\n    while True:\n        pass\n"}}
    with Server(course, 1) as server, server.client("alice") as alice, server.client("ta") as ta:
        sent = alice.post("/api/v1/assignments/slow/submissions", json=looping)
        assert sent.status_code == 202, sent.text
        graded = wait_graded(alice, sent.json()["id"])
        book = ta.get("/api/v1/assignments/slow/export", params={"format": "json"})
    (part,) = graded["report"]["parts"]
    assert part["status"] == "incorrect", part
    assert f"did not finish within {TIME_LIMIT} s (the part's time limit)" in part["feedback"], part
    assert book.status_code == 200, book.text
    assert "error" not in book.text and "a TA should look" not in book.text, book.text


def test_a_student_has_a_bounded_number_of_hand_ins_in_flight(tmp_path: Path) -> None:
    course = slow_course(tmp_path)
    with (
        Server(course, 1, "--student-hand-ins", "2") as server,
        server.client("alice") as alice,
        server.client("bob") as bob,
    ):
        hand_in = "/api/v1/assignments/slow/submissions"
        codes = [alice.post(hand_in, json=SLEEPER).status_code for _ in range(3)]
        refused = alice.post(hand_in, json=SLEEPER)
        bobs = bob.post(hand_in, json=SLEEPER)
        mine = alice.get("/api/v1/me/submissions").json()["submissions"]
    assert codes == [202, 202, 429], codes
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
    assert "2 hand-ins waiting to be graded" in refused.json()["error"]["message"]
    assert bobs.status_code == 202  # per student: bob is not held back by alice
    assert len(mine) == 2  # nothing refused was stored


def test_health_names_the_request_threads_when_they_are_all_busy(tmp_path: Path) -> None:
    """The request threads' side of "saturated", read off the server's thread limiter."""
    course = slow_course(tmp_path)
    service = Service(Settings(course_dir=course.folder, request_threads=1), start_workers=False)

    async def look() -> tuple[dict[str, str], dict[str, str]]:
        limiter = anyio.to_thread.current_default_thread_limiter()
        limiter.total_tokens = 1
        idle = saturated(service)
        holder = object()
        await limiter.acquire_on_behalf_of(holder)
        try:
            return idle, saturated(service)
        finally:
            limiter.release_on_behalf_of(holder)

    try:
        idle, busy = anyio.run(look)
    finally:
        service.db.dispose()
    assert idle == {}
    assert busy == {"request_threads": "1 of 1 busy, 0 requests waiting"}
