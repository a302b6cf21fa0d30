"""Issue 60 items 6 and 7, in headless Chromium, as a student and a TA meet them: every formula
is typeset by the KaTeX grader serves itself (``.katex`` elements, no raw ``\\frac`` left on the
page, no error in the console and no Content-Security-Policy report); student LaTeX stays
hostile input (no link, no markup, no endless macro); code is code; the grading form stays in
view while a long answer scrolls; the students page finds one of 300 by name; a batch's pages
typeset their formulas offline, from the copy of KaTeX beside them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from chromium import Chromium, Page, chromium_path
from service_server import TA_PASSWORD, Server, make_course, seed_file, wait_graded
from test_service_browser import log_in

from grader.service.crud.accounts import add_user
from grader.service.service import Service
from grader.service.settings import Settings

pytestmark = pytest.mark.skipif(chromium_path() is None, reason="chromium is not installed")

ROOT = Path(__file__).resolve().parent.parent
ASSIGNMENT = "a1-activations-conv"
VIEW = f"/ta/assignments/{ASSIGNMENT}/parts/q1.derivative"
TYPESET = "document.documentElement.dataset.math === 'typeset'"
# The issue's literal: a formula grader's own parser cannot read (\to), in a proof a TA grades.
LIMIT = r"\frac{g(x+h)-g(x)}{h} \to 1"
HOSTILE = (
    r"See $\href{javascript:alert(1)}{here}$ and $\htmlClass{x}{y}$ and $\def\a{\a\a}\a$ and "
    r"$</span><img src=x onerror=alert(1)>$ and $\url{https://example.com}$."
)


def _answers(derivative: str) -> bytes:
    data = yaml.safe_load(seed_file("activations-softmax-conv", "seed-001"))
    data["answers"]["q1.derivative"] = derivative
    return yaml.safe_dump(data, allow_unicode=True).encode()


def _hand_in(server: Server, student: str, content: bytes) -> int:
    with server.client(student) as client:
        response = client.post(
            f"/api/v1/assignments/{ASSIGNMENT}/submissions", files={"file": ("answers.yaml", content)}
        )
        assert response.status_code == 202, response.text
        submission = int(response.json()["id"])
        wait_graded(client, submission)
    return submission


def _raw_latex_shown(page: Page, selector: str) -> list[str]:
    """LaTeX commands a reader sees as text in ``selector`` (KaTeX's hidden MathML copy aside)."""
    return list(
        page.evaluate(
            "(() => { const found = [];"
            f" for (const el of document.querySelectorAll({selector!r})) {{"
            "   const copy = el.cloneNode(true);"
            "   const asTyped = '.katex-mathml, .as-text, pre, .code, code';"
            "   copy.querySelectorAll(asTyped).forEach((n) => n.remove());"
            "   found.push(...(copy.textContent.match(/\\\\[A-Za-z]+/g) || [])); }"
            " return found; })()"
        )
    )


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    folder = tmp_path_factory.mktemp("math") / "course"
    course = make_course(folder, None, students=("alice", "bob", "carol"))
    long_answer = (
        HOSTILE + "\n\n" + "\n\n".join(f"Step {i}: $x_{{{i}}} \\leq x_{{{i + 1}}}$." for i in range(80))
    )
    with Server(course) as server:
        ids = {
            "alice": _hand_in(server, "alice", _answers(f"For x > 0, ${LIMIT}$ as h goes to 0.")),
            "bob": _hand_in(server, "bob", _answers(long_answer)),
            "carol": _hand_in(server, "carol", seed_file("activations-softmax-conv", "seed-001")),
        }
        yield server, ids


def test_the_feedback_page_and_how_the_answers_were_read_are_typeset(served) -> None:  # type: ignore[no-untyped-def]
    server, ids = served
    with Chromium(width=1200, height=900) as browser:
        page = log_in(browser, server, "carol", "carol-password")
        page.go(f"{server.url}/submissions/{ids['carol']}")
        page.wait_for(TYPESET)
        read_back = page.evaluate("document.querySelectorAll('#read-back table .katex').length")
        grader_read = page.evaluate("document.querySelectorAll('div.answer .katex').length")
        assert read_back >= 5 and grader_read >= 5  # \text{diag}(S(\mathbf{x})) ... among them
        assert page.evaluate("document.querySelectorAll('.katex-error, .math-error').length") == 0
        assert _raw_latex_shown(page, "#read-back table") == []
        assert _raw_latex_shown(page, "div.answer") == []  # "grader read", beside "you wrote"
        fonts = page.evaluate("document.fonts.check('16px KaTeX_Main')")
        assert fonts and not page.errors, page.errors  # the fonts came from /static/, nothing was refused


def test_the_grading_view_typesets_a_proof_and_keeps_hostile_latex_inert(served) -> None:  # type: ignore[no-untyped-def]
    server, _ = served
    with Chromium(width=1280, height=800) as browser:
        page = log_in(browser, server, "ta", TA_PASSWORD)
        alice_group = _group_of(page, server, "alice")
        page.go(alice_group)
        page.wait_for(TYPESET)
        assert page.evaluate("document.querySelectorAll('.answer-shown .katex').length") == 1
        assert _raw_latex_shown(page, ".answer-shown") == []  # the issue's \frac ... \to 1, typeset
        page.go(_group_of(page, server, "bob"))
        page.wait_for(TYPESET)
        shown = ".answer-shown"
        assert (
            page.evaluate(f"document.querySelectorAll('{shown} a, {shown} img, {shown} script').length") == 0
        )
        assert page.evaluate(f"document.querySelectorAll('{shown} [onerror], {shown} [href]').length") == 0
        assert page.evaluate(f"document.querySelectorAll('{shown} .x').length") == 0  # no \htmlClass
        assert (
            page.evaluate(f"document.querySelectorAll('{shown} .math-error').length") >= 1
        )  # \def\a{\a\a}\a
        assert "<img src=x onerror=alert(1)>" in page.evaluate(
            f"document.querySelector('{shown}').textContent"
        )
        assert not page.errors, page.errors


def test_the_grading_form_stays_in_view_while_a_long_answer_scrolls(served) -> None:  # type: ignore[no-untyped-def]
    server, _ = served
    with Chromium(width=1280, height=800) as browser:
        page = log_in(browser, server, "ta", TA_PASSWORD)
        page.go(_group_of(page, server, "bob"))
        page.wait_for(TYPESET)
        page.evaluate("window.scrollTo(0, 2500)")
        page.wait_for("window.scrollY > 2000")
        answer = page.evaluate("document.querySelector('.answer-shown').getBoundingClientRect().top")
        form = page.evaluate("JSON.stringify(document.getElementById('grade').getBoundingClientRect())")
        box = yaml.safe_load(form)
        assert answer < -1000  # the answer has scrolled far up ...
        assert 0 <= box["top"] < 100 and box["bottom"] <= 800  # ... the form is still all there
        assert page.evaluate("document.elementFromPoint(1100, 200).closest('#grade') !== null")
        progress = page.evaluate("document.getElementById('assignment-progress').innerText")
        assert "answers that wait for a TA are graded, over every part" in progress


def _group_of(page: Page, server: Server, student: str) -> str:
    """The grading view's link to the group of ``student``'s answer, followed as a TA would."""
    url = f"{server.url}{VIEW}"
    for _ in range(10):
        page.go(url)
        page.wait_for("document.getElementById('position') !== null")
        students = page.evaluate(
            "Array.from(document.querySelectorAll('input[name=student]')).map(i => i.value)"
        )
        if student in students:
            return url
        url = str(page.evaluate("document.getElementById('next-group').href"))
    raise AssertionError(f"no group of {student}")


def test_the_students_page_finds_one_of_300_by_name_in_the_course_zone(tmp_path: Path) -> None:
    course = make_course(tmp_path / "course", None, students=(), course_yaml="timezone: Europe/Berlin\n")
    service = Service(Settings(course_dir=course.folder), start_workers=False)
    lines = ["folder,First name,Last name,Email address"]
    with service.db.session() as db:
        for number in range(300):
            name = f"s{2600000 + number}"
            add_user(db, name, "student")
            first, last = ("Zoë", "Quist") if number == 217 else (f"First{number}", f"Last{number}")
            lines.append(f"{name},{first},{last},{name}@uni.example")
    service.db.dispose()
    (course.folder / "roster.csv").write_text("\n".join(lines) + "\n")
    with Server(course) as server, Chromium(width=1280, height=800) as browser:
        page = log_in(browser, server, "ta", TA_PASSWORD)
        page.go(f"{server.url}/ta/students")
        page.wait_for("document.querySelectorAll('#students tbody tr').length === 300")
        assert "Zoë Quist" in page.evaluate("document.getElementById('students').innerText")
        added = page.evaluate("document.querySelector('#students time').innerText")
        assert added.endswith(("CET", "CEST")), added  # the course's zone, UTC on hover
        page.evaluate(
            "(() => { const box = document.getElementById('search'); box.value = 'zoë';"
            " box.dispatchEvent(new Event('input')); })()"
        )
        visible = "Array.from(document.querySelectorAll('#students tbody tr')).filter(r => !r.hidden)"
        page.wait_for(f"{visible}.length === 1")
        assert page.evaluate(f"{visible}[0].innerText").startswith("s2600217")
        assert page.evaluate("document.getElementById('shown-count').innerText") == "1"
        page.go(f"{server.url}/ta/students?q=quist")  # without JavaScript: the form's search
        page.wait_for("document.querySelectorAll('#students tbody tr').length === 1")
        assert not page.errors, page.errors


def test_a_batchs_pages_typeset_their_formulas_offline(tmp_path: Path) -> None:
    out = tmp_path / "reports"
    command = [
        sys.executable,
        "-m",
        "grader.cli",
        "grade",
        str(ROOT / "submissions" / "activations-softmax-conv"),
    ]
    command += [
        "-p",
        str(ROOT / "problems" / "activations-softmax-conv.yaml"),
        "--out",
        str(out),
        "--jobs",
        "1",
    ]
    done = subprocess.run(command, capture_output=True, text=True, env=os.environ, timeout=600)
    assert done.returncode in (0, 1), done.stderr
    assert (out / "grader-assets" / "katex" / "katex.min.js").is_file()
    with Chromium(width=1200, height=900) as browser:
        for name in ("seed-001.html", "index.html"):
            page = browser.open(out / name)
            page.wait_for(TYPESET)
            assert page.evaluate("document.querySelectorAll('.katex').length") > 0, name
            assert page.evaluate("document.querySelectorAll('.katex-error, .math-error').length") == 0
            assert page.evaluate("document.fonts.check('16px KaTeX_Main')")
            assert not page.errors, (name, page.errors)
