"""The service's templates escape what a student or TA wrote, wherever it is shown: the
navigation bar, a regrade request's reason (its lines kept), an assignment's names in the
LMS's picker, a form's hidden values."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

from grader.service.templating import csrf_input, fragment, render

HOSTILE = "<script>alert('x')</script>&\"'"
ESCAPED = "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&#34;&#39;"


def test_the_navigation_bar_escapes_the_user_name() -> None:
    user = SimpleNamespace(name=HOSTILE, role="student")
    bar = fragment("nav.html", user=user, staff=False, csrf=csrf_input(HOSTILE))
    assert "<script>" not in bar and ESCAPED in bar
    assert f"value='{ESCAPED}'" in bar  # the CSRF token too: an attribute in quotes


def test_a_reason_keeps_its_lines_and_nothing_else() -> None:
    moment = dt.datetime(2026, 12, 1, 16, 0, tzinfo=dt.UTC)
    row = SimpleNamespace(
        id=7,
        part="q1",
        reason=f"first line\n{HOSTILE}",
        reply="",
        created_at=moment,
        answered_at=None,
        answered_by=None,
        status="open",
        points=None,
        points_then=2.0,
    )
    queue = render(
        "hand/regrade_queue.html",
        count=1,
        waiting=[{"row": row, "assignment": HOSTILE, "zone": None, "student": HOSTILE, "url": "/x?a=1&b=2"}],
        answered=[],
        outcomes={"open": "open"},
    )
    assert "<script>" not in queue
    assert f"first line<br>{ESCAPED}" in queue
    assert "href='/x?a=1&amp;b=2'" in queue
    assert "<time datetime='2026-12-01T16:00:00+00:00' title='2026-12-01 16:00 UTC'>" in queue


def test_the_lms_picker_escapes_assignment_names() -> None:
    spec = SimpleNamespace(title=HOSTILE, max_score=10)
    assignment = SimpleNamespace(name=HOSTILE, spec=spec, due=None, zone=None)
    picker = render("lti/picker.html", state=HOSTILE, assignments=[assignment])
    assert "<script>" not in picker and picker.count(ESCAPED) >= 4


def test_an_assignments_section_has_one_submit_button_the_hand_in() -> None:
    """A script or an LMS harness that presses the section's submit button hands in the answers
    form: Check and the PDF's hand-in are inputs of their own, never a second button."""
    assignment = SimpleNamespace(
        name="a1",
        title="A1",
        due=None,
        close=None,
        penalty=None,
        release=None,
        zone=dt.UTC,
        closed=False,
        late=False,
        versions=[],
        hand_in=True,
        extension=False,
        extended=False,
    )
    section = fragment("assignment.html", a=assignment, csrf=csrf_input("token"))
    assert section.count("<button type='submit'>") == 1 and ">Hand in</button>" in section
    assert "value='Check'" in section and "value='Hand in the PDF'" in section
    assert "action='/assignments/a1/pdf'" in section
