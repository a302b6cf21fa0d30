"""In a real browser (headless Chromium): a student hands in a scan of handwriting on the hand-in
page, tags its pages with the keyboard and the mouse, a TA grades a scanned proof from its page
with the keyboard, and the student downloads the graded PDF from their submission page.

With ``GRADER_DOCS_SCREENSHOTS=1`` the screenshots go to docs/ (docs/pdf.md shows them)."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import time
from pathlib import Path

import httpx
import pytest
from chromium import Chromium, Page, chromium_path
from PIL import Image, ImageDraw, ImageFont
from service_server import TA_PASSWORD, Server, make_course
from test_service_browser import log_in, set_file, submit_form

ASSIGNMENT = "a1-activations-conv"
PAST = "2000-01-01T00:00:00Z"
FUTURE = "2999-01-01T00:00:00Z"
DOCS = Path(__file__).resolve().parent.parent / "docs"

pytestmark = pytest.mark.skipif(
    chromium_path() is None,
    reason="chromium is not installed (apt-get install chromium; .ci/run installs it)",
)

HANDWRITING = [
    [
        "Question 1",
        "(a) f(x) = max(0, x), for x > 0:",
        "f'(x) = lim (f(x+h) - f(x)) / h = 1",
        "for x < 0: f'(x) = 0",
    ],
    ["(b) sigma(x) -> 1 as x -> inf", "since e^-x -> 0", "", "(c) ..."],
    ["Question 2", "d softmax_i / d z_j =", "s_i (delta_ij - s_j)", "Question 3", "shift by c: unchanged"],
]


def scan_of_handwriting(path: Path) -> Path:
    """A PDF of photos of handwritten pages (no text layer: the words are pixels)."""
    font = ImageFont.load_default(size=34)
    pages = []
    for lines in HANDWRITING:
        image = Image.new("RGB", (850, 1100), (252, 250, 240))
        draw = ImageDraw.Draw(image)
        for row in range(28):
            draw.line([(40, 90 + 36 * row), (810, 90 + 36 * row)], fill=(200, 215, 235), width=1)
        for number, line in enumerate(lines):
            draw.text((70, 120 + 72 * number), line, fill=(20, 30, 110), font=font)
        pages.append(image)
    out = io.BytesIO()
    pages[0].save(out, format="PDF", save_all=True, append_images=pages[1:], resolution=100)
    path.write_bytes(out.getvalue())
    return path


def key(page: Page, name: str, code: str = "") -> None:
    """A key pressed and released, as the keyboard sends it."""
    text = name if len(name) == 1 else ""
    for kind in ("keyDown", "keyUp"):
        page.send(
            "Input.dispatchKeyEvent",
            type=kind,
            key=name,
            code=code or name,
            text=text if kind == "keyDown" else "",
        )


def shot(page: Page, tmp_path: Path, name: str) -> None:
    page.screenshot(tmp_path / name, full_page=False)
    if os.environ.get("GRADER_DOCS_SCREENSHOTS"):
        shutil.copyfile(tmp_path / name, DOCS / name)


def test_a_scan_handed_in_tagged_graded_from_its_page_and_given_back(tmp_path: Path) -> None:
    course_yaml = f"assignments:\n  {ASSIGNMENT}: {{due: '{FUTURE}', release: '{PAST}'}}\n"
    course = make_course(tmp_path / "course", None, students=("alice",), course_yaml=course_yaml)
    scan = scan_of_handwriting(tmp_path / "homework-scan.pdf")
    with Server(course) as server, Chromium(width=1280, height=900) as browser:
        student = log_in(browser, server, "alice", "alice-password")
        student.wait_for("location.pathname === '/'")
        student.evaluate(f"document.getElementById('pdf-{ASSIGNMENT}').scrollIntoView()")
        shot(student, tmp_path, "pdf-hand-in.png")
        set_file(student, f"#pdf-{ASSIGNMENT}", scan)
        submit_form(student, "form.pdf-hand-in")
        student.wait_for("location.pathname.endsWith('/tags')")  # a scan: its tagging page next
        submission = int(
            re.search(r"/submissions/(\d+)/tags", student.evaluate("location.pathname")).group(1)
        )  # type: ignore[union-attr]
        student.wait_for("[...document.images].every((i) => i.complete && i.naturalWidth > 0)")
        assert student.evaluate("document.querySelectorAll('.tag-page').length") == 3

        # q1 (the first question, selected): a click on pages 1 and 2
        student.evaluate(
            "document.querySelector('#page-1 img').click(); document.querySelector('#page-2 img').click()"
        )
        # q2 with the keyboard: its number, then Space on page 3; q3 likewise
        key(student, "2", "Digit2")
        student.evaluate("document.getElementById('page-3').focus()")
        key(student, " ", "Space")
        key(student, "3", "Digit3")
        key(student, " ", "Space")
        ticked = student.evaluate(
            "[...document.querySelectorAll('input[name=tag]:checked')].map((i) => i.value)"
        )
        assert sorted(ticked) == ["q1@1", "q1@2", "q2@3", "q3@3"]
        assert student.evaluate("document.getElementById('page-3').classList.contains('tagged-now')")
        shot(student, tmp_path, "pdf-tagging.png")
        submit_form(student, "#tags")
        student.wait_for(f"location.pathname === '/submissions/{submission}'")
        assert student.errors == [], student.errors

        # the TA grades q1.derivative (a proof) of the scan from its pages, with the keyboard
        ta = browser.open(f"{server.url}/login")
        ta.send("Network.enable")
        ta.send("Network.clearBrowserCookies")
        ta.go(f"{server.url}/login?ta")
        ta.evaluate(
            "document.getElementById('user').value = 'ta';"
            f"document.getElementById('password').value = {json.dumps(TA_PASSWORD)};"
            "document.getElementById('password').form.submit(); true"
        )
        ta.wait_for("location.pathname === '/ta'")
        part = f"{server.url}/ta/assignments/{ASSIGNMENT}/parts/q1.derivative"
        for _ in range(120):  # until the regrade the tagging queued is in: q1's two pages alone
            ta.go(part + "?names=shown")
            if ta.evaluate("document.querySelectorAll('#pdf-pages img').length") == 2:
                break
            time.sleep(1)
        ta.wait_for(
            "[...document.querySelectorAll('#pdf-pages img')].every((i) => i.complete && i.naturalWidth > 0)"
        )
        assert "Pages 1-2 of the PDF (a scan)" in ta.evaluate(
            "document.getElementById('pdf-pages').textContent"
        )
        ta.evaluate("document.querySelector('nav.groups:not(#filters)').scrollIntoView()")
        shot(ta, tmp_path, "pdf-grading-view.png")
        ta.evaluate("document.querySelector('#grade input[name=points]').value = '3'")
        ta.evaluate(
            "document.getElementById('comment').value = 'Right for x > 0; say why x = 0 is left out.'"
        )
        ta.evaluate("document.activeElement.blur()")
        key(ta, "Enter")
        ta.wait_for("document.getElementById('answers-progress').textContent.startsWith('1 of 1')")
        assert ta.errors == [], ta.errors

        # the student's page links the graded PDF (released); the browser downloads it. The tabs
        # share one cookie jar: the student logs in again, as themselves
        student.send("Network.enable")
        student.send("Network.clearBrowserCookies")
        student.go(f"{server.url}/login?again")
        student.evaluate(
            "document.getElementById('user').value = 'alice';"
            "document.getElementById('password').value = 'alice-password';"
            "document.getElementById('password').form.submit(); true"
        )
        student.wait_for("location.pathname === '/'")
        student.go(f"{server.url}/submissions/{submission}")
        assert "alice (student)" in student.evaluate("document.body.textContent")
        student.wait_for("document.getElementById('graded-pdf') !== null")
        href = student.evaluate("document.getElementById('graded-pdf').href")
        cookies = {c["name"]: c["value"] for c in student.send("Network.getCookies", urls=[href])["cookies"]}
        download = httpx.get(href, cookies=cookies, timeout=60)  # what the link gives this browser's session
        assert download.status_code == 200 and download.headers["content-type"] == "application/pdf"
        assert download.content.startswith(b"%PDF-")
        assert "attachment" in download.headers["content-disposition"]
        student.evaluate("document.getElementById('pdf-hand-in').scrollIntoView()")
        shot(student, tmp_path, "pdf-feedback.png")
        assert student.errors == [], student.errors
