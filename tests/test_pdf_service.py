"""PDF hand-ins over the service's API, over real HTTP (issue 62): ``grader submit --pages``
hands in a scan with its tags; the grading leaves every part to a TA with its tagged pages;
its pages are rendered for its author and staff only."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image
from service_server import Server, make_course, wait_graded

from grader.cli import main

ASSIGNMENT = "a1-activations-conv"


def _scan(pages: int) -> bytes:
    """A PDF of photos of handwriting: pages with no text layer."""
    images = [Image.new("RGB", (600, 800), (250, 250, 245)) for _ in range(pages)]
    out = io.BytesIO()
    images[0].save(out, format="PDF", save_all=True, append_images=images[1:])
    return out.getvalue()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    course = make_course(tmp_path_factory.mktemp("pdf-course"), None)
    with Server(course) as running:
        yield running


def test_grader_submit_pages_hands_in_a_tagged_scan(server: Server, tmp_path: Path) -> None:
    folder = tmp_path / "hw"
    folder.mkdir()
    (folder / "scan.pdf").write_bytes(_scan(3))
    token = server.course.tokens["alice"]
    remote = ["submit", str(folder), "--server", server.url, "--token", token, "--assignment", ASSIGNMENT]
    run = CliRunner().invoke(main, [*remote, "--pages", "q1=1-2,q2=3", "--wait", "120"])
    assert run.exit_code == 0, run.output
    with server.client("alice") as alice:
        listed = alice.get("/api/v1/me/submissions").json()["submissions"]
        submission = listed[-1]["id"]
        report = wait_graded(alice, submission)["report"]
        page = alice.get(f"/api/v1/submissions/{submission}/pages/2.png?width=700")
        assert page.status_code == 200 and page.headers["content-type"] == "image/png"
        assert Image.open(io.BytesIO(page.content)).width == 700
        assert alice.get(f"/api/v1/submissions/{submission}/pages/9.png").status_code == 404
    feedback = {part["id"]: part["feedback"] for part in report["parts"]}
    assert "pages 1-2 of scan.pdf" in feedback["q1.derivative"] or "pages 1-2" in feedback["q1.derivative"]
    assert "page 3" in feedback["q2.derivative"]
    assert "not found" in feedback["q3.translation"]
    with server.client("bob") as bob:
        assert bob.get(f"/api/v1/submissions/{submission}/pages/1.png").status_code == 403
    with server.client("ta") as ta:
        assert ta.get(f"/api/v1/submissions/{submission}/pages/1.png").status_code == 200


def test_a_hostile_pdf_is_refused_at_hand_in(server: Server) -> None:
    with server.client("bob") as bob:
        response = bob.post(
            f"/api/v1/assignments/{ASSIGNMENT}/pdf",
            files={"file": ("x.pdf", b"%PDF-1.4\n garbage", "application/pdf")},
        )
        assert response.status_code == 422, response.text
        assert "print it to a new PDF" in response.text or "cannot be read" in response.text
        bad_tags = bob.post(
            f"/api/v1/assignments/{ASSIGNMENT}/pdf",
            files={"file": ("x.pdf", _scan(1), "application/pdf")},
            data={"pages": "q1=0"},
        )
        assert bad_tags.status_code == 422 and "count from 1" in bad_tags.text


def _photo_scan(pages: int) -> bytes:
    """A phone scan: photos that do not compress (a few megabytes)."""
    rng = np.random.default_rng(7)
    images = [
        Image.fromarray(rng.integers(0, 256, (1600, 1200, 3), dtype=np.uint8), "RGB") for _ in range(pages)
    ]
    out = io.BytesIO()
    images[0].save(out, format="PDF", save_all=True, append_images=images[1:], quality=95)
    return out.getvalue()


def test_a_scan_of_a_few_megabytes_is_handed_in_where_an_answers_file_that_size_is_not(
    server: Server,
) -> None:
    """The service's body limit is the upload limit's (2 MiB by default) except on the PDF
    route, which takes what a PDF may be (docs/pdf.md): a phone scan is megabytes."""
    scan = _photo_scan(2)
    assert len(scan) > 3 << 20
    with server.client("bob") as carol:
        handed = carol.post(
            f"/api/v1/assignments/{ASSIGNMENT}/pdf",
            files={"file": ("scan.pdf", scan, "application/pdf")},
            data={"pages": "q1=1,q2=2"},
        )
        assert handed.status_code == 202, handed.text
        too_big = carol.post(
            f"/api/v1/assignments/{ASSIGNMENT}/submissions",
            files={"file": ("answers.yaml", b"answers: {}\n" + b"#" * (3 << 20), "text/yaml")},
        )
        assert too_big.status_code == 413, too_big.text
