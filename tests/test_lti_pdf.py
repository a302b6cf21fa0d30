"""A student launched from the LMS (LTI 1.3, tests/lti_platform.py) hands in a PDF the same way
as one who logged in (issue 62): the launch lands on the hand-in page, whose PDF form posts with
the launch's session and its CSRF token; the scan's tagging page takes the same session."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from grader.service.server import free_port
from tests.lti_platform import LEARNER, PageForms, Platform
from tests.service_server import Server, make_course, wait_graded
from tests.test_lti import Lms, browser, launch

ASSIGNMENT = "a1-activations-conv"


def scan(pages: int) -> bytes:
    images = [Image.new("RGB", (600, 800), (250, 250, 240)) for _ in range(pages)]
    out = io.BytesIO()
    images[0].save(out, format="PDF", save_all=True, append_images=images[1:])
    return out.getvalue()


@pytest.fixture(scope="module")
def lms(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lms]:
    platform = Platform()
    platform.add_user("carol", [LEARNER])
    platform.start()
    course = make_course(tmp_path_factory.mktemp("lti-pdf") / "course", None)
    port = free_port()
    (course.folder / "lti.yaml").write_text(platform.lti_yaml(f"http://127.0.0.1:{port}"))
    lms = Lms(platform, Server(course, port=port))
    try:
        platform.tool_jwks_url = f"{lms.server.url}/lti/jwks.json"
        yield lms
    finally:
        lms.server.stop()
        platform.stop()


def test_a_student_launched_from_the_lms_hands_in_a_scan_and_tags_it(lms: Lms, tmp_path: Path) -> None:
    lms.platform.custom["assignment"] = ASSIGNMENT
    with browser(lms) as client:
        landed = launch(lms, "carol", client)
        assert landed.status_code == 303 and landed.headers["location"] == f"/#assignment-{ASSIGNMENT}"
        home = client.get("/")
        action, fields = next(
            f for f in PageForms(home.text).forms if f[0] == f"/assignments/{ASSIGNMENT}/pdf"
        )
        handed = client.post(
            action,
            data={"csrf": fields["csrf"], "pages": ""},
            files={"file": ("scan.pdf", scan(2), "application/pdf")},
        )
        assert handed.status_code == 303, handed.text
        tags_url = handed.headers["location"]
        assert re.fullmatch(r"/submissions/\d+/tags", tags_url)
        page = client.get(tags_url)
        assert page.status_code == 200 and page.text.count("class='tag-page'") == 2
        token = re.search(r"name='csrf' value='([^']+)'", page.text).group(1)  # type: ignore[union-attr]
        saved = client.post(tags_url, data={"csrf": token, "tag": ["q1@1", "q2@2"]})
        assert saved.status_code == 303, saved.text
        submission = int(tags_url.split("/")[2])
        mine = client.get(f"/submissions/{submission}")
        assert mine.status_code == 200 and "id='pdf-hand-in'" in mine.text
    with lms.server.client("ta") as ta:
        listed = ta.get(f"/api/v1/submissions/{submission}").json()
        assert listed["id"] == submission
        wait_graded(ta, submission)
