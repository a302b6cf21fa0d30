"""The service's Canvas and Moodle exports as a TA meets them (issue 60 item 8): the roster
``grader users import`` takes (Moodle's own grades export) drives both files, imported once
or as ``roster.csv``; each file is read back by the rules its LMS's importer applies (Canvas's
gradebook importer: the student columns, then a row matched by ID, SIS User ID, SIS Login ID
or the exact name; Moodle's CSV grade import: one identifier column mapped to a user field,
where a row it cannot match stops the whole import); who was left out is on the exports page
(a real browser, from /ta) and in each file's companion."""

from __future__ import annotations

import csv
import io
import textwrap
from pathlib import Path

import httpx
import pytest
from chromium import Chromium, chromium_path
from click.testing import CliRunner
from service_server import Server, make_course, wait_graded
from test_service_browser import log_in

from grader.cli import main

PROBLEMS = textwrap.dedent(
    """\
    assignment: hw2
    title: Homework 2
    questions:
      - id: q1
        type: number
        points: 10
        answer: 4
      - id: q2
        type: number
        points: 10
        answer: 7.25
    """
)
ANSWERS = {
    "s1000001": b"answers:\n  q1: 4\n  q2: 7.25\n",
    "alan@uni.example": b"answers:\n  q1: 4\n  q2: 1\n",
    "s1000003": b"answers:\n  q1: 3\n  q2: 7.25\n",
    "emmy": b"answers:\n  q1: 0\n  q2: 0\n",
}
# Moodle's grades export (Grades, Export, Plain text file), as `grader users import` reads it:
# a student is named by their ID number, else their e-mail; emmy is not in it
MOODLE_ROSTER = (
    "First name,Last name,ID number,Institution,Department,Email address\n"
    "Ada,Lovelace,s1000001,Uni,CS,ada@uni.example\n"
    "Alan,Turing,,Uni,CS,alan@uni.example\n"
    "Kurt,Gödel,s1000003,Uni,CS,\n"
)
# the users of Moodle's site the file is imported into: (e-mail, ID number, username)
MOODLE_USERS = [
    ("ada@uni.example", "s1000001", "ada"),
    ("alan@uni.example", "", "alan"),
    ("kurt@uni.example", "s1000003", "kurt"),
    ("emmy@uni.example", "s1000004", "emmy"),
]
# the students of the Canvas course: (id, name, sortable name, SIS user id, login id)
CANVAS_STUDENTS = [
    ("101", "Ada Lovelace", "Lovelace, Ada", "s1000001", "ada"),
    ("102", "Alan Turing", "Turing, Alan", "", "alan"),
    ("103", "Kurt Gödel", "Gödel, Kurt", "s1000003", "kurt"),
    ("104", "Emmy Noether", "Noether, Emmy", "s1000004", "emmy"),
]


def canvas_import(text: str) -> dict[str, str]:
    """What Canvas's gradebook importer makes of the file: the header must be Student, ID,
    SIS User ID, SIS Login ID, Section then the assignment; a "Points Possible" row is skipped;
    each row's student is found by ID, then SIS User ID, then SIS Login ID, then the exact name
    (or sortable name). Canvas course user id -> grade; a row it finds no student for fails."""
    rows = list(csv.reader(io.StringIO(text)))
    header = rows[0]
    assert header[:5] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"], header
    grades = {}
    for row in rows[1:]:
        if "Points Possible" in row[0]:
            continue
        found = [
            s
            for s in CANVAS_STUDENTS
            if (row[1] and row[1] == s[0])
            or (row[2] and row[2] == s[3])
            or (row[3] and row[3] == s[4])
            or (not (row[1] or row[2] or row[3]) and row[0] in (s[1], s[2]))
        ]
        assert len(found) == 1, f"Canvas finds no student for {row}"
        grades[found[0][0]] = row[5]
    return grades


def moodle_import(text: str, field: str) -> dict[str, str]:
    """What Moodle's CSV grade import does with the file when "Identify user by" maps the first
    column to ``field`` (its load_data.php): each row's value must name exactly one user
    (e-mail and username without case), else the whole import stops. e-mail -> grade."""
    rows = list(csv.reader(io.StringIO(text)))
    index = {"email": 0, "idnumber": 1, "username": 2}[field]
    grades = {}
    for row in rows[1:]:
        value = row[0].strip()
        found = [u for u in MOODLE_USERS if u[index] and u[index].lower() == value.lower()]
        assert len(found) == 1, f"Moodle stops the import: no single user with {field} {value!r}"
        grades[found[0][0]] = row[2]
    return grades


def _exports(server: Server) -> dict[str, httpx.Response]:
    with server.client("ta") as ta:
        return {
            fmt: ta.get("/api/v1/assignments/hw2/export", params={"format": fmt})
            for fmt in ("canvas", "moodle")
        } | {
            f"{fmt}-notes": ta.get("/api/v1/assignments/hw2/export/notes", params={"format": fmt})
            for fmt in ("canvas", "moodle")
        }


def _check_files(exports: dict[str, httpx.Response]) -> None:
    for name, response in exports.items():
        assert response.status_code == 200, (name, response.text)
    assert canvas_import(exports["canvas"].text) == {"101": "20", "102": "10", "103": "10"}
    assert exports["moodle"].text.splitlines()[0].startswith("Email address,")  # e-mail first
    assert moodle_import(exports["moodle"].text, "email") == {
        "ada@uni.example": "20",
        "alan@uni.example": "10",
    }
    assert exports["canvas"].headers["x-grader-left-out"] == "emmy"
    assert set(exports["moodle"].headers["x-grader-left-out"].split(", ")) == {"s1000003", "emmy"}
    canvas_notes, moodle_notes = exports["canvas-notes"].text, exports["moodle-notes"].text
    assert "hw2-canvas.csv" in canvas_notes and "- emmy: not in the roster" in canvas_notes
    assert "- s1000003: no Email address in the roster" in moodle_notes
    assert "- emmy: not in the roster" in moodle_notes
    assert "map from 'Email address' to 'Email address'" in moodle_notes
    assert exports["moodle-notes"].headers["content-disposition"].endswith('hw2-moodle-notes.txt"')


def test_one_roster_imported_once_drives_the_canvas_and_moodle_files(
    tmp_path: Path, db_url: str | None
) -> None:
    course = make_course(tmp_path / "course", db_url, students=tuple(ANSWERS), problems=())
    (course.folder / "problems" / "hw2.yaml").write_text(PROBLEMS)
    roster = tmp_path / "moodle-grades.csv"
    roster.write_text(MOODLE_ROSTER, encoding="utf-8")
    with Server(course) as server:
        for name, answers in ANSWERS.items():
            with server.client(name) as student:
                sent = student.post(
                    "/api/v1/assignments/hw2/submissions", files={"file": ("answers.yaml", answers)}
                )
                assert sent.status_code == 202, sent.text
                wait_graded(student, sent.json()["id"])
        with server.client("ta") as ta:  # no roster yet: no file an LMS could import
            refused = ta.get("/api/v1/assignments/hw2/export", params={"format": "canvas"})
        assert refused.status_code == 422 and "grader users import" in refused.text

        # the same file as roster.csv: read as `grader users import` reads it (no folder column)
        (course.folder / "roster.csv").write_text(MOODLE_ROSTER, encoding="utf-8")
        _check_files(_exports(server))
        (course.folder / "roster.csv").unlink()

        command = ["users", "import", str(course.folder), str(roster), "--links", str(tmp_path / "links.csv")]
        imported = CliRunner().invoke(main, [*command, *(["--db", db_url] if db_url else [])])
        assert imported.exit_code == 0, imported.output
        assert "0 students added, 3 already there" in imported.output
        _check_files(_exports(server))  # imported once: the database's roster


@pytest.mark.skipif(chromium_path() is None, reason="chromium is not installed: apt-get install chromium")
def test_the_ta_finds_every_export_and_who_is_left_out_from_ta(tmp_path: Path) -> None:
    course = make_course(tmp_path / "course", None, students=tuple(ANSWERS), problems=())
    (course.folder / "problems" / "hw2.yaml").write_text(PROBLEMS)
    (course.folder / "roster.csv").write_text(MOODLE_ROSTER, encoding="utf-8")
    with Server(course) as server:
        for name, answers in ANSWERS.items():
            with server.client(name) as student:
                sent = student.post(
                    "/api/v1/assignments/hw2/submissions", files={"file": ("answers.yaml", answers)}
                )
                wait_graded(student, sent.json()["id"])
        with Chromium() as browser:
            page = log_in(browser, server, "ta", course.passwords["ta"])
            page.go(f"{server.url}/ta")
            links = page.evaluate("[...document.querySelectorAll('a')].map(a => a.getAttribute('href'))")
            for fmt in ("csv", "canvas", "moodle", "json"):
                assert f"/api/v1/assignments/hw2/export?format={fmt}" in links
            page.evaluate(
                "[...document.querySelectorAll('a')].find(a => a.textContent.includes('left out')).click()"
            )
            page.wait_for("location.pathname === '/ta/assignments/hw2/exports'")
            canvas = page.evaluate("document.querySelector('#export-canvas .left-out').innerText")
            moodle = page.evaluate("document.querySelector('#export-moodle .left-out').innerText")
            hrefs = page.evaluate("[...document.querySelectorAll('a')].map(a => a.getAttribute('href'))")
            page.screenshot(tmp_path / "exports.png")
    assert canvas.strip() == "emmy: not in the roster"
    assert "s1000003: no Email address in the roster" in moodle and "emmy: not in the roster" in moodle
    for fmt in ("canvas", "moodle"):
        assert f"/api/v1/assignments/hw2/export/notes?format={fmt}" in hrefs
    for fmt in ("csv", "json", "junit", "markdown"):
        assert f"/api/v1/assignments/hw2/export?format={fmt}" in hrefs
