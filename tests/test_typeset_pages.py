"""Issue 60 items 6 and 7, without a browser: code is read as typed and shown as code; a
variant's model answer is typeset, never a Python dict; the read-back table and a code answer's
run feedback; each part's progress, where automatic parts never count as "graded by hand"; the
KaTeX files the service serves and the batch copies."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from grader.core.report import HandMark, PartResult, Report
from grader.core.verdict import Status
from grader.hand.progress import assignment_progress
from grader.hand.variant_groups import own_part
from grader.loading import load_problem_set
from grader.reporting.readback import read_back
from grader.reporting.typeset import STATIC, copy_assets
from grader.service.grading_view import model_answer_html, run_feedback_html
from grader.service.routes.pages import read_back_html

ROOT = Path(__file__).resolve().parent.parent
CODE = "return torch.relu(x)"


def _part(spec_name: str, address: str) -> tuple[Any, Any]:
    spec = load_problem_set(ROOT / "problems" / f"{spec_name}.yaml")
    return spec, next(part for a, _, part in spec.iter_parts() if a == address)


def test_a_code_answer_is_read_as_typed_never_as_a_formula() -> None:
    _, part = _part("approximation-backprop-cifar", "q10.linear_forward")
    assert read_back(part, CODE) == []  # grader check prints it "read as typed"


def test_the_read_back_shows_code_as_code_and_formulas_for_katex() -> None:
    check = {
        "parts": [
            {"id": "q1", "type": "code", "state": "read", "read_as": [], "typed": CODE},
            {"id": "q2", "type": "expression", "state": "read", "read_as": [
                {"text": "1/(2 x)", "latex": r"\frac{1}{2 x}", "label": ""}]},
            {"id": "q3", "type": "number", "state": "unreadable", "message": "3 +* 1\n   ^"},
            {"id": "q4", "type": "text", "state": "unanswered"},
        ],
        "warnings": ["<b>careful</b>"],
        "text": "as grader check prints it",
    }  # fmt: skip
    shown = read_back_html(check)
    q1 = shown[shown.index("id='read-q1'") : shown.index("id='read-q2'")]
    assert '<span class="k">return</span>' in q1 and "mathit" not in q1 and "class='math'" not in q1
    assert r"<span class='math'>\frac{1}{2 x}</span>" in shown
    assert "<pre class='unreadable'>3 +* 1\n   ^</pre>" in shown and "unanswered" in shown
    assert "&lt;b&gt;careful&lt;/b&gt;" in shown and "<b>" not in shown


@pytest.mark.parametrize(
    ("spec_name", "address", "variant", "shown", "not_shown"),
    [
        # a network's weights in a student's variant (a = 4): typeset, never {'W1': ...}
        ("variants-relu-conv-softmax", "q1", "a=4,k=3,p=2,u=2,v=3", r"b1 = \left[4, -4\right]", "{'W1'"),
        ("variants-relu-conv-softmax", "q3", "a=2,k=5,p=1,u=1,v=2", r"\frac{1}{3}", "u/(u + v)"),
        ("approximation-backprop-cifar", "q10.linear_forward", None, '<span class="k">def</span>', "mathit"),
    ],
)
def test_the_model_answer_of_the_grading_view(
    spec_name: str, address: str, variant: str | None, shown: str, not_shown: str
) -> None:
    spec, part = _part(spec_name, address)
    if variant is not None:
        part = own_part(spec, address, variant)
        assert part is not None
    html = model_answer_html(part, lambda text: f"<p>{text}</p>")
    assert shown in html and not_shown not in html


def test_a_code_answers_run_feedback_is_shown_as_the_student_reads_it() -> None:
    result = PartResult(
        id="q", status=Status.INCORRECT, score=0, max_score=2, feedback="case 3: <wrong>\n  got 1"
    )
    shown = run_feedback_html(result)
    assert "incorrect (0/2)" in shown and "<pre>case 3: &lt;wrong&gt;\n  got 1</pre>" in shown


def test_progress_counts_what_waits_for_a_ta_and_never_calls_an_automatic_part_hand_graded() -> None:
    spec = load_problem_set(ROOT / "problems" / "activations-softmax-conv.yaml")
    hand = HandMark(by="ta", points=1.0)
    overridden = HandMark(by="ta", points=2.0, auto_status=Status.INCORRECT)

    def report(derivative: HandMark | None, via: HandMark | None, status: Status) -> Report:
        return Report("a1", "s", [
            PartResult(id="q1.derivative", status=Status.MANUAL, score=0, max_score=4, hand=derivative),
            PartResult(id="q1.via_h_1", status=status, score=0, max_score=2, hand=via),
        ])  # fmt: skip

    progress = assignment_progress(
        spec,
        [
            report(hand, None, Status.CORRECT),
            report(None, overridden, Status.CORRECT),
            report(None, None, Status.ERROR),  # undecided: waits for a TA
        ],
    )
    derivative, via = progress.part("q1.derivative"), progress.part("q1.via_h_1")
    assert derivative is not None and via is not None
    assert (derivative.automatic, derivative.to_grade, derivative.graded) == (False, 3, 1)
    assert (via.automatic, via.to_grade, via.graded, via.overridden) == (True, 2, 1, 1)
    assert (progress.to_grade, progress.graded) == (5, 2)


def test_the_vendored_katex_is_complete_and_the_batch_copies_it(tmp_path: Path) -> None:
    assert (STATIC / "katex" / "LICENSE").read_text().startswith("The MIT License")
    css = (STATIC / "katex" / "katex.min.css").read_text()
    fonts = {name.split("/")[-1] for name in re.findall(r"url\((fonts/[^)]+\.woff2)\)", css)}
    assert fonts and fonts <= {p.name for p in (STATIC / "katex" / "fonts").iterdir()}
    copied = copy_assets(tmp_path)
    assert (copied / "katex" / "katex.min.js").read_bytes() == (
        STATIC / "katex" / "katex.min.js"
    ).read_bytes()
    assert (copied / "grader-math.js").is_file()
