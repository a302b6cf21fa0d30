"""The screenshots of docs/service.md, made in headless Chromium from a real server:

    PYTHONPATH=. python tests/make_docs_screenshots.py [--code]

writes docs/grading-view.png (a proof whose formulas grader's parser cannot read, typeset),
docs/grading-view-scrolled.png (the grade form in view beside a long answer),
docs/feedback-math.png (how the answers were read, typeset) and, with ``--code`` (two
minutes: the code parts run in the sandbox), docs/grading-view-code.png and
docs/read-back-code.png."""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from chromium import Chromium, Page
from service_server import TA_PASSWORD, Server, make_course, seed_file
from test_math_browser import LIMIT, TYPESET, _answers, _group_of, _hand_in
from test_service_browser import log_in

DOCS = Path(__file__).resolve().parent.parent / "docs"
TO_GROUPS = "document.querySelector('nav.groups:not(#filters)').scrollIntoView()"


def shot(page: Page, name: str, scroll: str = "") -> None:
    page.wait_for(f"{TYPESET} || document.querySelector('.math') === null")
    if scroll:
        page.evaluate(scroll)
        time.sleep(0.5)
    page.screenshot(DOCS / name, full_page=False)
    print("wrote", DOCS / name)


def main(code: bool) -> None:
    folder = Path(tempfile.mkdtemp()) / "course"
    course = make_course(folder, None, students=("alice", "bob", "carol"))
    proof = (
        f"For x > 0 the difference quotient is $\\frac{{(x+h) - x}}{{h}} = 1$, so ${LIMIT}$ as $h \\to 0$; "
        "for x < 0 it is 0. At 0 the one-sided limits are $0$ and $1$:\n\n"
        "$$\\lim_{h \\to 0^-} \\frac{g(h)-g(0)}{h} = 0 \\neq 1 = \\lim_{h \\to 0^+} \\frac{g(h)-g(0)}{h}$$"
    )
    steps = "\n\n".join(f"Step {i}: $x_{{{i}}} \\leq x_{{{i + 1}}}$, since $g' \\geq 0$." for i in range(60))
    with Server(course) as server:
        ids = {
            "alice": _hand_in(server, "alice", _answers(proof)),
            "bob": _hand_in(server, "bob", _answers(steps)),
            "carol": _hand_in(server, "carol", seed_file("activations-softmax-conv", "seed-001")),
        }
        with Chromium(width=1280, height=800) as browser:
            page = log_in(browser, server, "ta", TA_PASSWORD)
            page.go(_group_of(page, server, "alice"))
            shot(
                page,
                "grading-view.png",
                "document.querySelector('nav.groups:not(#filters)').scrollIntoView()",
            )
            page.go(_group_of(page, server, "bob"))
            shot(page, "grading-view-scrolled.png", "window.scrollTo(0, 1600)")
            page.go(f"{server.url}/submissions/{ids['carol']}")
            shot(page, "feedback-math.png", "document.getElementById('read-back').scrollIntoView()")
    if code:
        code_shots()


def code_shots() -> None:
    folder = Path(tempfile.mkdtemp()) / "course"
    course = make_course(folder, None, students=("seed-002",), problems=("approximation-backprop-cifar",))
    with Server(course) as server:
        with server.client("seed-002") as client:
            sent = client.post(
                "/api/v1/assignments/a2-approximation-backprop/submissions",
                files={"file": ("answers.yaml", seed_file("approximation-backprop-cifar", "seed-002"))},
            )
            submission = sent.json()["id"]
        from service_server import wait_graded

        with server.client("seed-002") as client:
            wait_graded(client, submission, timeout=900)
        with Chromium(width=1280, height=800) as browser:
            page = log_in(browser, server, "ta", TA_PASSWORD)
            page.go(f"{server.url}/ta/assignments/a2-approximation-backprop/parts/q10.linear_backward")
            shot(
                page,
                "grading-view-code.png",
                "document.querySelector('nav.groups:not(#filters)').scrollIntoView()",
            )
            page.go(f"{server.url}/submissions/{submission}")
            shot(
                page,
                "read-back-code.png",
                "document.getElementById('read-q10.linear_forward').scrollIntoView()",
            )


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    if "--only-code" in sys.argv:
        code_shots()
    else:
        main("--code" in sys.argv)
