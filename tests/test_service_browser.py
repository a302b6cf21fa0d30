"""The service's pages in headless Chromium: a student logs in, uploads an answers file
through the form and reads the feedback page; a TA logs in and sees the class dashboard.
No page needs JavaScript (the forms are submitted as a browser submits them), and the
console stays clean under the pages' Content-Security-Policy.

Chromium is Debian's ``chromium`` package; without it these tests are skipped, saying so.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from chromium import Chromium, Page, chromium_path
from service_server import SEEDS, Server, make_course, wait_graded

pytestmark = pytest.mark.skipif(
    chromium_path() is None,
    reason="chromium is not installed: apt-get install chromium (.ci/run installs it)",
)
ANSWERS = SEEDS / "activations-softmax-conv" / "seed-001" / "answers.yaml"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    course = make_course(tmp_path / "course", None, students=("seed-001",))
    with Server(course) as running:
        yield running


def submit_form(page: Page, selector: str) -> None:
    """Submit a form as a click on its button does, and wait for the next page."""
    page.evaluate("window.__old = true")
    page.evaluate(f"document.querySelector({selector!r}).requestSubmit()")
    page.wait_for("window.__old === undefined && document.readyState === 'complete'", timeout=120)


def log_in(browser: Chromium, server: Server, user: str, password: str) -> Page:
    page = browser.open(f"{server.url}/login")
    page.evaluate(
        f"document.querySelector('#user').value = {user!r};"
        f"document.querySelector('#password').value = {password!r}"
    )
    submit_form(page, "form.stack")
    return page


def set_file(page: Page, selector: str, path: Path) -> None:
    root = page.send("DOM.getDocument")["root"]["nodeId"]
    node = page.send("DOM.querySelector", nodeId=root, selector=selector)["nodeId"]
    page.send("DOM.setFileInputFiles", files=[str(path)], nodeId=node)


# The navigation bar is one row over every page: the name and "Log out" beside the links.
NAV_IN_ONE_ROW = (
    "(() => { const nav = document.querySelector('nav.top'); const first = nav.firstElementChild;"
    " const last = nav.lastElementChild; return getComputedStyle(nav).display === 'flex'"
    " && Math.abs(first.getBoundingClientRect().top - last.getBoundingClientRect().top) < 12; })()"
)

# How the bar's "Log out" button is drawn: the same on every page, the report pages included.
LOG_OUT_LOOK = (
    "(() => { const style = getComputedStyle(document.querySelector('nav.top button'));"
    " return [style.fontSize, style.padding, style.borderRadius, style.cursor].join(' '); })()"
)


def test_a_student_hands_in_through_the_form_and_reads_the_feedback(server: Server, tmp_path: Path) -> None:
    with Chromium(width=1200, height=900) as browser:
        page = log_in(browser, server, "seed-001", "seed-001-password")
        assert page.evaluate("location.pathname") == "/"
        log_out_look = page.evaluate(LOG_OUT_LOOK)
        assert "pointer" in log_out_look
        assert "Assignments" in page.evaluate("document.querySelector('h1').textContent")
        assert page.evaluate("document.cookie") == ""  # the session cookie is HttpOnly
        set_file(page, "#file-a1-activations-conv", ANSWERS)
        submit_form(page, "form[action='/assignments/a1-activations-conv/submit']")
        assert page.evaluate("location.pathname").startswith("/submissions/")
        page.wait_for(
            "document.querySelectorAll('article.part').length > 0", timeout=120
        )  # reloads until graded
        text = page.evaluate("document.body.innerText")
        assert "q6.full" in text and "correct" in text and "seed-001" in text
        assert page.evaluate("document.querySelectorAll('math').length") > 0  # formulas as MathML
        assert page.evaluate(NAV_IN_ONE_ROW)  # the report page's own stylesheet lays it out too
        assert page.evaluate(LOG_OUT_LOOK) == log_out_look
        page.screenshot(tmp_path / "student-feedback.png")
        assert page.errors == [], page.errors  # no script error, no CSP report
        page = browser.open(f"{server.url}/")
        assert page.evaluate("document.querySelectorAll('table.summary tbody tr').length") == 1


def test_a_ta_sees_the_class_dashboard(server: Server, tmp_path: Path) -> None:
    with server.client("seed-001") as student:
        submitted = student.post(
            "/api/v1/assignments/a1-activations-conv/submissions",
            files={"file": ("answers.yaml", ANSWERS.read_bytes())},
        ).json()["id"]
    with Chromium(width=1200, height=900) as browser:
        page = log_in(browser, server, "ta", server.course.passwords["ta"])
        assert page.evaluate("location.pathname") == "/ta"
        log_out_look = page.evaluate(LOG_OUT_LOOK)
        assert "Queue:" in page.evaluate("document.querySelector('#queue').textContent")
        page = browser.open(f"{server.url}/ta/assignments/a1-activations-conv")
        page.wait_for(
            "document.querySelector('#students-table') !== null", timeout=120
        )  # reloads until graded
        assert page.evaluate("document.querySelector('#histogram').complete")
        link = page.evaluate("document.querySelector('#students-table a').getAttribute('href')")
        assert link == f"/submissions/{submitted}"
        assert page.evaluate(NAV_IN_ONE_ROW)
        assert page.evaluate(LOG_OUT_LOOK) == log_out_look
        page.screenshot(tmp_path / "ta-dashboard.png")
        assert page.errors == [], page.errors
        # hand grading is reached from the dashboard, not only by typing its address
        parts = page.evaluate("document.querySelector(\"a[href$='/parts']\").getAttribute('href')")
        assert parts == "/ta/assignments/a1-activations-conv/parts"
        page = browser.open(server.url + parts)
        assert "q6.full" in page.evaluate("document.body.innerText")
        assert page.errors == [], page.errors


def test_a_wrong_network_is_drawn_in_the_page_without_the_key(tmp_path: Path) -> None:
    """Issue 49 item 11: the plot of a wrong ``network`` answer is an SVG inside the service's
    page (the batch's side file is never served): no broken image, and no reference weights."""
    course = make_course(
        tmp_path / "course", None, students=("seed-000",), problems=("attention-approximation",)
    )
    answers = SEEDS / "attention-approximation" / "seed-000" / "answers.yaml"  # approx.linear is wrong
    with Server(course) as server, Chromium(width=1200, height=900) as browser:
        with server.client("seed-000") as student:
            sent = student.post(
                "/api/v1/assignments/a0-attention-approximation/submissions",
                files={"file": ("answers.yaml", answers.read_bytes())},
            ).json()["id"]
            wait_graded(student, sent)
        log_in(browser, server, "seed-000", "seed-000-password")
        page = browser.open(f"{server.url}/submissions/{sent}")
        part = (
            "[...document.querySelectorAll('article.part')].find(a => a.innerText.includes('approx.linear'))"
        )
        assert page.evaluate(f"{part}.querySelector('figure svg') !== null")
        assert page.evaluate(f"{part}.querySelector('figure svg').getBoundingClientRect().width") > 200
        assert page.evaluate("document.querySelectorAll('img').length") == 0  # no side file linked
        drawn = page.evaluate(f"{part}.querySelector('figure').outerHTML")
        assert "-m" not in drawn and "w0" not in drawn  # the reference [m, -m] is not in the picture
        assert page.errors == [], page.errors
