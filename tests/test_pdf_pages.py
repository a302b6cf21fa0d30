"""The pages of PDF hand-ins over real HTTP (issue 62): a student hands in a scan on the hand-in
page and tags its pages (a TA may too; no one else), the grading view shows a TA each answer's
pages, the graded PDF goes back to the student once released (staff: always), never with the
key; a refused PDF says what to fix. On SQLite and PostgreSQL. The browser's view of the same:
tests/test_pdf_browser.py."""

from __future__ import annotations

import contextlib
import hashlib
import io
import re
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pypdf
import pytest
from PIL import Image
from service_server import TA_PASSWORD, Server, log_in, make_course, wait_graded

sys.path.insert(0, str(Path(__file__).parent / "hostile"))
from pdfs import javascript, plain

ASSIGNMENT = "a1-activations-conv"
FUTURE = "2999-01-01T00:00:00Z"
PAST = "2000-01-01T00:00:00Z"


def scan(pages: int) -> bytes:
    """A PDF of photos of handwriting: pages with no text layer."""
    images = [Image.new("RGB", (600, 800), (250, 250, 245 - 10 * n)) for n in range(pages)]
    out = io.BytesIO()
    images[0].save(out, format="PDF", save_all=True, append_images=images[1:])
    return out.getvalue()


def photo(shade: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (300, 400), (shade, shade, shade)).save(out, format="PNG")
    return out.getvalue()


def course_of(tmp_path: Path, db_url: str | None, release: str):  # type: ignore[no-untyped-def]
    course_yaml = f"assignments:\n  {ASSIGNMENT}: {{due: '{FUTURE}', release: '{release}'}}\n"
    return make_course(tmp_path / "course", db_url, students=("alice", "bob"), course_yaml=course_yaml)


@contextlib.contextmanager
def browser_of(server: Server, user: str) -> Iterator[httpx.Client]:
    """A browser's session (cookie and CSRF token of the pages), logged in as ``user``."""
    with httpx.Client(base_url=server.url, timeout=60, headers={"accept": "text/html"}) as client:
        password = TA_PASSWORD if user == "ta" else f"{user}-password"
        assert log_in(client, user, password).status_code == 303
        yield client


def csrf(page: str) -> str:
    found = re.search(r"name='csrf' value='([^']+)'", page)
    assert found is not None, page
    return found.group(1)


def hand_in(client: httpx.Client, files: list[tuple[str, bytes]], pages: str = "") -> httpx.Response:
    home = client.get("/")
    assert f"action='/assignments/{ASSIGNMENT}/pdf'" in home.text  # the hand-in page's PDF form
    return client.post(
        f"/assignments/{ASSIGNMENT}/pdf",
        data={"csrf": csrf(home.text), "pages": pages},
        files=[("file", (name, content, "application/octet-stream")) for name, content in files],
    )


def test_a_scan_is_handed_in_tagged_graded_from_its_pages_and_given_back_after_release(
    tmp_path: Path, db_url: str | None
) -> None:
    course = course_of(tmp_path, db_url, FUTURE)
    with Server(course) as server, browser_of(server, "alice") as alice, browser_of(server, "ta") as ta:
        handed = hand_in(alice, [("my homework.pdf", scan(3))])
        assert handed.status_code == 303, handed.text
        tags_url = handed.headers["location"]  # a scan: its tagging page next
        submission = int(re.fullmatch(r"/submissions/(\d+)/tags", tags_url).group(1))  # type: ignore[union-attr]
        page = alice.get(tags_url)
        assert page.status_code == 200, page.text
        assert page.text.count("class='tag-page'") == 3
        assert f"/api/v1/submissions/{submission}/pages/3.png?width=400" in page.text
        thumbnail = alice.get(f"/api/v1/submissions/{submission}/pages/1.png?width=400")
        assert thumbnail.status_code == 200 and Image.open(io.BytesIO(thumbnail.content)).width == 400
        # q1 on pages 1-2, q2 on page 3: the boxes ticked under each page
        saved = alice.post(tags_url, data={"csrf": csrf(page.text), "tag": ["q1@1", "q1@2", "q2@3"]})
        assert saved.status_code == 303 and saved.headers["location"] == f"/submissions/{submission}"
        assert "value='q1@2' checked" in alice.get(tags_url).text
        with server.client("ta") as api:  # before the release, the TA's report has every part
            # the regrade after the tagging: each part names its pages
            regraded = _regraded(api, submission, "q2.derivative", "page 3")
        feedback = {part["id"]: part["feedback"] for part in regraded["parts"]}
        assert "pages 1-2" in feedback["q1.derivative"] and "not found" in feedback["q3.translation"]

        # bob may neither see nor tag alice's pages; a form without its token changes nothing
        with browser_of(server, "bob") as bob:
            assert bob.get(tags_url).status_code == 403
            assert (
                bob.post(tags_url, data={"csrf": csrf(bob.get("/").text), "tag": "q1@1"}).status_code == 403
            )
        assert alice.post(tags_url, data={"csrf": "forged", "tag": "q3@1"}).status_code == 403
        assert alice.post(tags_url, data={"csrf": csrf(page.text), "tag": "q99@1"}).status_code == 422

        # the TA grades q1.derivative of the scan from its pages: one group for alice's pages alone
        view = ta.get(f"/ta/assignments/{ASSIGNMENT}/parts/q1.derivative")
        assert view.status_code == 200
        assert f"/api/v1/submissions/{submission}/pages/1.png?width=1000" in view.text
        assert f"/api/v1/submissions/{submission}/pages/3.png" not in view.text  # q2's page
        assert "Pages 1-2 of the PDF (a scan)" in view.text
        group = re.search(r"action='[^']*/groups/([0-9a-f]+)'", view.text).group(1)  # type: ignore[union-attr]
        # whose pages a group's id is cannot be worked out from the roster: the name is sealed
        for name in ("alice", "bob"):
            unsealed = hashlib.sha256(f"page\n(on the pages of a PDF)\n{name}".encode()).hexdigest()[:12]
            assert group != unsealed
        graded = ta.post(
            f"/ta/assignments/{ASSIGNMENT}/parts/q1.derivative/groups/{group}",
            data={
                "csrf": csrf(view.text),
                "student": "alice",
                "version": "0",
                "points": "3",
                "comment": "Good, but say why x = 0 is excluded.",
            },
        )
        assert graded.status_code == 303, graded.text
        # a TA may tag too (the student left q3 untagged)
        ta_page = ta.get(tags_url)
        assert ta_page.status_code == 200 and "alice" in ta_page.text
        retag = ["q1@1", "q1@2", "q2@3", "q3@3"]
        assert ta.post(tags_url, data={"csrf": csrf(ta_page.text), "tag": retag}).status_code == 303

        # before the release: the graded PDF is the TA's to see, not yet the student's
        mine = alice.get(f"/submissions/{submission}")
        assert "given back once the grades are released" in mine.text
        assert alice.get(f"/submissions/{submission}/graded.pdf").status_code == 403
        with server.client("ta") as api:
            _regraded(api, submission, "q3.translation", "page 3")
        copy = ta.get(f"/submissions/{submission}/graded.pdf")
        assert copy.status_code == 200 and copy.headers["content-type"] == "application/pdf"
        text = "\n".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(copy.content)).pages)
        assert len(pypdf.PdfReader(io.BytesIO(copy.content)).pages) == 4  # the cover, then the 3 pages
        assert "q1: 3/" in text and "Good, but say why x = 0 is excluded." in text


def _regraded(api: httpx.Client, submission: int, part: str, says: str) -> dict:  # type: ignore[type-arg]
    """The report once ``part``'s feedback says ``says`` (the regrade a tagging queues)."""
    import time

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        report = wait_graded(api, submission)["report"]
        if any(p["id"] == part and says in p["feedback"] for p in report["parts"]):
            return report  # type: ignore[no-any-return]
        time.sleep(0.5)
    raise AssertionError(f"{part} never said {says!r}")


@pytest.fixture(scope="module")
def released(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    with Server(course_of(tmp_path_factory.mktemp("pdf-pages"), None, PAST)) as server:
        yield server


def test_a_typeset_pdfs_graded_copy_never_shows_the_key(released: Server) -> None:
    """Question 7 (a) is wrong (73728 expected): the student's graded PDF says wrong, never 73728,
    which the TA's report holds."""
    typeset = plain("Question 7\n(a) Answer: 5\n(b) Answer: 131072")
    with browser_of(released, "alice") as alice:
        handed = hand_in(alice, [("typeset.pdf", typeset)], pages="")
        assert handed.status_code == 303, handed.text
        submission = int(handed.headers["location"].split("/")[2])
        with released.client("alice") as api:
            report = wait_graded(api, submission)["report"]
        verdicts = {p["id"]: p["status"] for p in report["parts"]}
        assert verdicts["q7.output_size"] == "incorrect" and verdicts["q7.params"] == "correct"
        page = alice.get(f"/submissions/{submission}")
        assert "id='graded-pdf'" in page.text and "a typeset PDF" in page.text
        copy = alice.get(f"/submissions/{submission}/graded.pdf")
        assert copy.status_code == 200, copy.text
        text = "\n".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(copy.content)).pages)
        assert "q7: 4/" in text or "q7:" in text
        assert "73728" not in text and "73,728" not in text
    with released.client("ta") as ta:
        expected = [
            p.get("expected") for p in ta.get(f"/api/v1/submissions/{submission}").json()["report"]["parts"]
        ]
        assert any(e and "73728" in str(e) for e in expected)  # the key is there, for the TA only
    with browser_of(released, "ta") as ta_pages:
        assert "id='graded-pdfs'" in ta_pages.get(f"/ta/assignments/{ASSIGNMENT}").text
        zipped = ta_pages.get(f"/ta/assignments/{ASSIGNMENT}/graded-pdfs.zip")
        assert zipped.status_code == 200 and zipped.headers["content-type"] == "application/zip"
        with zipfile.ZipFile(io.BytesIO(zipped.content)) as archive:
            assert "alice.graded.pdf" in archive.namelist()
            inside = pypdf.PdfReader(io.BytesIO(archive.read("alice.graded.pdf")))
            assert "73728" not in "\n".join(page.extract_text() for page in inside.pages)
    with browser_of(released, "alice") as student:
        assert student.get(f"/ta/assignments/{ASSIGNMENT}/graded-pdfs.zip").status_code == 403


def test_photos_of_pages_are_handed_in_as_one_pdf(released: Server) -> None:
    with browser_of(released, "bob") as bob:
        handed = hand_in(bob, [("p1.png", photo(240)), ("p2.png", photo(200))], pages="q1=1,q2=2")
        assert handed.status_code == 303, handed.text
        assert not handed.headers["location"].endswith("/tags")  # tagged at hand-in
        submission = int(handed.headers["location"].split("/")[2])
        tags = bob.get(f"/submissions/{submission}/tags")
        assert tags.text.count("class='tag-page'") == 2
        assert "value='q1@1' checked" in tags.text and "value='q2@2' checked" in tags.text


@pytest.mark.parametrize(
    ("files", "says"),
    [
        ([("h.pdf", javascript())], "JavaScript"),
        ([("h.pdf", b"%PDF-1.4\n garbage")], "cannot be read"),
        ([("h.docx", b"PK\x03\x04")], "send one PDF, or photos of your pages"),
        ([("h.pdf", b"hello")], "is not a PDF"),
    ],
)
def test_a_refused_pdf_says_what_to_fix_and_nothing_is_kept(
    released: Server, files: list[tuple[str, bytes]], says: str
) -> None:
    with browser_of(released, "bob") as bob, released.client("bob") as api:
        before = len(api.get("/api/v1/me/submissions").json()["submissions"])
        refused = hand_in(bob, files)
        assert refused.status_code == 422, refused.text
        assert "Your PDF was not handed in" in refused.text and says in refused.text
        assert "id='what-to-fix'" in refused.text
        assert len(api.get("/api/v1/me/submissions").json()["submissions"]) == before


def test_bad_tags_at_hand_in_say_how_to_write_them(released: Server) -> None:
    with browser_of(released, "bob") as bob:
        refused = hand_in(bob, [("scan.pdf", scan(1))], pages="q1=0")
        assert refused.status_code == 422 and "count from 1" in refused.text
        assert "q1=1-2, q3=4" in refused.text


def test_every_pdf_page_route_declares_its_roles() -> None:
    from fastapi.routing import APIRoute

    from grader.service.routes import pdf_pages

    routes = [route for route in pdf_pages.router.routes if isinstance(route, APIRoute)]
    assert len(routes) == 5
    for route in routes:
        roles = [getattr(d.call, "roles", None) for d in route.dependant.dependencies]
        assert any(roles), f"{route.path} declares no roles"


def test_a_stranger_gets_nothing_of_a_pdf(released: Server) -> None:
    with browser_of(released, "alice") as alice:
        handed = hand_in(alice, [("scan.pdf", scan(1))], pages="q1=1")
        submission = int(handed.headers["location"].split("/")[2])
    with httpx.Client(base_url=released.url, timeout=30) as stranger:
        for path in ("tags", "graded.pdf"):
            assert stranger.get(f"/submissions/{submission}/{path}").status_code == 401
        assert stranger.post(f"/submissions/{submission}/tags", data={"tag": "q1@1"}).status_code == 401
        assert (
            stranger.post(f"/assignments/{ASSIGNMENT}/pdf", files={"file": ("s.pdf", scan(1))}).status_code
            == 401
        )


@pytest.mark.parametrize(
    "part_id", ["q1.derivative", "q1.via_h_1", "q7.output_size"]
)  # text, formula, number
def test_each_scans_answer_is_a_page_group_of_its_own(part_id: str) -> None:
    """Before: every scan's answer to a text part was one group (a grade for all), and an
    auto-graded part's had none (no way to grade it). Names stay out of what a group shows."""
    from grader.core.folder import Folder
    from grader.engine import grade
    from grader.loading import load_problem_set, load_submission
    from grader.pdf.tags import with_tags
    from grader.reporting.answer_groups import GivenAnswer, answer_groups

    spec = load_problem_set(Path(__file__).parent.parent / "problems" / "activations-softmax-conv.yaml")
    parts = {address: part for address, _, part in spec.iter_parts()}
    given = []
    for student in ("alice", "bob", "carol"):
        handed = with_tags(scan(2), {"q1": [1], "q7": [2]})
        report = grade(spec, load_submission(Folder.from_files({"homework.pdf": handed}, student)))
        result = next(r for r in report.parts if r.id == part_id)
        given.append(GivenAnswer(student, student, result, None))
    groups = answer_groups(parts[part_id], given)
    assert [g.kind for g in groups] == ["page"] * 3
    assert len({g.id for g in groups}) == 3 and all(len(g.members) == 1 for g in groups)
    assert not any(name in str(g.to_dict()["answer"]) for g in groups for name in ("alice", "bob", "carol"))
