"""Each student's own variant in the service (issue 51), over real HTTP on SQLite and
PostgreSQL: their own prompt (API and page), graded and checked against their own numbers,
exports that carry the variant, and no page showing another variant's numbers or a reference."""

from __future__ import annotations

import csv
import io
from fractions import Fraction
from pathlib import Path

import httpx
import pytest
from service_server import ROOT, TA_PASSWORD, Server, log_in, make_course, wait_graded

SET = ROOT / "problems" / "variants-relu-conv-softmax.yaml"
ASSIGNMENT = "variants-relu-conv-softmax"
STUDENTS = ("alice", "bob", "carol", "dave", "erin", "frank")


def values(variant: str) -> dict[str, int]:
    return {name: int(value) for name, value in (pair.split("=") for pair in variant.split(","))}


def answers(v: dict[str, int], softmax: Fraction | None = None) -> bytes:
    """The right answers of variant ``v``; q3 is ``softmax`` when given (a wrong one)."""
    side = 32 - v["k"] + 2 * v["p"] + 1
    q3 = softmax if softmax is not None else Fraction(v["u"], v["u"] + v["v"])
    return (
        "answers:\n"
        f"  q1: {{W1: [1, 1], b1: [{v['a']}, {-v['a']}], w2: [1, -1]}}\n"
        f"  q2: '(N, 16, {side}, {side})'\n"
        f"  q3: '{q3}'\n"
    ).encode()


def softmax_prompt(v: dict[str, int]) -> str:
    return f"x = [ln {v['u']}, ln {v['v']}]"


@pytest.fixture
def server(tmp_path: Path, db_url: str | None):  # type: ignore[no-untyped-def]
    course = make_course(tmp_path / "course", db_url, students=STUDENTS, problems=())
    # q3's verdict is visible before the release, so that a check shows it
    text = SET.read_text().replace('    answer: "u/(u + v)"', '    visible: true\n    answer: "u/(u + v)"')
    assert "visible: true" in text
    (course.folder / "problems" / SET.name).write_text(text)
    with Server(course) as running:
        yield running


def two_variants(server: Server) -> dict[str, dict[str, int]]:
    """Two students whose softmax inputs differ (so do their right q3 answers), by their sheets."""
    chosen: dict[str, dict[str, int]] = {}
    for name in STUDENTS:
        with server.client(name) as client:
            sheet = client.get(f"/api/v1/assignments/{ASSIGNMENT}/sheet").json()
        v = values(sheet["variant"])
        assert softmax_prompt(v) in sheet["text"]  # the prompt with the student's own numbers
        assert "{u}" not in sheet["text"] and "u/(u + v)" not in sheet["text"]
        if all(
            Fraction(v["u"], v["u"] + v["v"]) != Fraction(w["u"], w["u"] + w["v"]) for w in chosen.values()
        ):
            chosen[name] = v
        if len(chosen) == 2:
            return chosen
    raise AssertionError(f"the six students share one softmax: {chosen}")


def test_each_student_is_shown_and_graded_against_their_own_variant(server: Server) -> None:
    (first, mine), (second, theirs) = two_variants(server).items()
    assert softmax_prompt(mine) != softmax_prompt(theirs)
    with server.client(first) as student, server.client("ta") as ta:
        right = student.post(
            f"/api/v1/assignments/{ASSIGNMENT}/submissions", files={"file": ("answers.yaml", answers(mine))}
        ).json()["id"]
        report = wait_graded(student, right)["report"]
        assert {p["id"]: p["status"] for p in report["parts"]} == {
            "q1": "correct",
            "q2": "correct",
            "q3": "correct",
        }
        # The other student's right answers are wrong for this student, even under the other's name.
        copied = student.post(
            f"/api/v1/assignments/{ASSIGNMENT}/submissions",
            files={"file": ("answers.yaml", f"student: {second}\n".encode() + answers(theirs))},
        ).json()["id"]
        statuses = {p["id"]: p["status"] for p in wait_graded(student, copied)["report"]["parts"]}
        assert statuses["q3"] == "incorrect"
        checked = student.post(
            f"/api/v1/assignments/{ASSIGNMENT}/check", files={"file": ("answers.yaml", answers(mine))}
        )
        assert checked.status_code == 200, checked.text
        assert {p["id"]: p.get("verdict", {}).get("status") for p in checked.json()["parts"]}[
            "q3"
        ] == "correct"
        copied_check = student.post(
            f"/api/v1/assignments/{ASSIGNMENT}/check", files={"file": ("answers.yaml", answers(theirs))}
        ).json()
        assert {p["id"]: p.get("verdict", {}).get("status") for p in copied_check["parts"]}[
            "q3"
        ] == "incorrect"
        # A TA sees a student's sheet; a student never another's.
        assert (
            ta.get(f"/api/v1/assignments/{ASSIGNMENT}/sheet", params={"student": second})
            .json()["text"]
            .count(softmax_prompt(theirs))
        )
        refused = student.get(f"/api/v1/assignments/{ASSIGNMENT}/sheet", params={"student": second})
        assert refused.status_code == 403
        exported = ta.get(f"/api/v1/assignments/{ASSIGNMENT}/export", params={"format": "csv"}).text
        json_export = ta.get(f"/api/v1/assignments/{ASSIGNMENT}/export", params={"format": "json"}).text
    rows = list(csv.DictReader(io.StringIO(exported)))
    variant_id = ",".join(f"{name}={value}" for name, value in mine.items())
    assert [row["variant"] for row in rows if row["student"] == first] == [variant_id]
    assert variant_id in json_export
    # The student's pages: their own numbers, never the other variant's nor a reference.
    wrong = Fraction(mine["v"], mine["u"] + mine["v"])  # the listed mistake: the second entry
    with server.client(first) as student:
        graded_wrong = student.post(
            f"/api/v1/assignments/{ASSIGNMENT}/submissions",
            files={"file": ("answers.yaml", answers(mine, softmax=wrong))},
        ).json()["id"]
        wait_graded(student, graded_wrong)
    with httpx.Client(base_url=server.url) as browser:
        log_in(browser, first, f"{first}-password")
        sheet_page = browser.get(f"/assignments/{ASSIGNMENT}/sheet").text
        result_page = browser.get(f"/submissions/{graded_wrong}").text
        listing = browser.get("/").text
    assert f"/assignments/{ASSIGNMENT}/sheet" in listing
    reference = str(Fraction(mine["u"], mine["u"] + mine["v"]))
    for page in (sheet_page, result_page):
        assert softmax_prompt(mine) in page
        assert softmax_prompt(theirs) not in page
    assert reference not in result_page.replace(f"ln {mine['u']}", "")
    # The TA's dashboard: each part's mean score per parameter value (the counted, wrong, version).
    with httpx.Client(base_url=server.url) as browser:
        log_in(browser, "ta", TA_PASSWORD)
        dashboard = browser.get(f"/ta/assignments/{ASSIGNMENT}").text
    assert "Per parameter value" in dashboard
    row = f"<td>q3</td><td>u</td><td>{mine['u']}</td><td class='num'>1</td><td class='num'>0%</td>"
    assert row in dashboard


def test_a_listed_mistake_is_one_answer_group_across_variants(server: Server) -> None:
    """Two students of different variants give the listed mistake (the second entry) in their
    own numbers: one group for the TA, shown as the mistake in the parameters."""
    chosen = two_variants(server)
    for name, v in chosen.items():
        with server.client(name) as student:
            wrong = Fraction(v["v"], v["u"] + v["v"])
            sent = student.post(
                f"/api/v1/assignments/{ASSIGNMENT}/submissions",
                files={"file": ("answers.yaml", answers(v, softmax=wrong))},
            ).json()["id"]
            wait_graded(student, sent)
    with server.client("ta") as ta:
        groups = ta.get(f"/api/v1/assignments/{ASSIGNMENT}/parts/q3/groups").json()["groups"]
    wrong_groups = [g for g in groups if g["kind"] == "wrong"]
    assert [(g["answer"], sorted(g["students"])) for g in wrong_groups] == [("v/(u + v)", sorted(chosen))]
    assert "variant" not in wrong_groups[0]
