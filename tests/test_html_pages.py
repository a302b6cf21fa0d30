"""The student's HTML page and the class dashboard, read as a user would: what is on them,
what is not, and that nothing a student writes becomes markup."""

from __future__ import annotations

import base64
import re
import xml.etree.ElementTree as ET
from html import unescape
from html.parser import HTMLParser
from pathlib import Path

import pytest

from grader.core.report import PartResult, Report
from grader.core.verdict import Status, Witness
from grader.engine import grade
from grader.loading import load_problem_set, load_submission
from grader.reporting.dashboard import render_dashboard
from grader.reporting.html import render_student_page
from grader.reporting.reporters import REPORTERS
from grader.spec import ProblemSet

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


class Elements(HTMLParser):
    """Start tags with their attributes, and the text, of an HTML page."""

    def __init__(self, page: str):
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def all(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for name, attrs in self.tags if name == tag]

    @property
    def words(self) -> str:
        return " ".join(" ".join(self.text).split())


def part(part_id: str, status: Status, score: float = 0.0, **extra: object) -> PartResult:
    extra.setdefault("max_score", 2.0)
    return PartResult(id=part_id, status=status, score=score, **extra)  # type: ignore[arg-type]


def sample_report(student: str = "alice") -> Report:
    return Report(
        "a1",
        student,
        [
            part("q1.jacobian", Status.CORRECT, 2, received="diag(S(x)) - S(x) S(x)^T", type="expression",
                 prompt="The Jacobian of softmax.", expected="diag(S(x)) - S(x) S(x)^T"),
            part("q1.slope", Status.INCORRECT, received="1/2x", type="expression",
                 feedback="at x = 3 your formula gives 0.1667, the expected 1.5", expected="x/2",
                 witness=Witness(point={"x": "3"}, received="0.1667", expected="1.5")),
            part("q2", Status.INVALID, received="\\frac{1}{2", type="expression",
                 feedback="'{' is never closed\n  \\frac{1}{2\n        ^"),
            part("q3.kind", Status.PARTIAL, 1, received="B", type="choice", feedback="one of two"),
            part("q3.proof", Status.MANUAL, received="By induction on n.", type="text"),
            part("q4", Status.MISSING, feedback="no answer given", type="number"),
            part("net", Status.INCORRECT, received='{"w0": "[1, 1]", "b0": "[0, 0]"}', type="network",
                 feedback="at x = -1 your network gives 0, the target -1", plot_file="alice-net.png"),
            part("net2", Status.INCORRECT, received="impossible", type="network", feedback="weights exist"),
        ],
    )  # fmt: skip


def test_each_question_is_a_heading_and_each_part_a_section() -> None:
    page = Elements(render_student_page(sample_report()))
    assert len(page.all("h1")) == 1
    headings = [t for t in page.text if t.startswith("Question ")]
    assert headings == [f"Question {q}" for q in ("q1", "q2", "q3", "q4", "net", "net2")]
    articles = [a["id"] for a in page.all("article")]
    assert articles == [
        "part-q1.jacobian", "part-q1.slope", "part-q2", "part-q3.kind", "part-q3.proof", "part-q4",
        "part-net", "part-net2",
    ]  # fmt: skip


def test_the_verdict_is_a_word_and_an_icon_not_only_a_colour() -> None:
    words = Elements(render_student_page(sample_report())).words
    for icon, status in (("✓", "correct"), ("✗", "incorrect"), ("?", "invalid"), ("◐", "partial"),
                         ("✎", "manual"), ("○", "missing")):  # fmt: skip
        assert f"{icon} {status}" in words
    assert "Score: 3/16" in words


def test_formulas_are_latex_of_what_grader_read_for_katex_beside_the_raw_text() -> None:
    html = render_student_page(sample_report())
    slope = html[html.index("id='part-q1.slope'") :]
    slope = slope[: slope.index("</article>")]
    assert "<span class='math'>\\frac{1}{2 x}</span>" in slope  # 1/2x is one over 2x, typeset by KaTeX
    assert "<code>1/2x</code>" in slope
    page = Elements(html)  # KaTeX, from the folder beside the page: no network
    assert [s["src"] for s in page.all("script")] == [
        "grader-assets/katex/katex.min.js",
        "grader-assets/grader-math.js",
    ]
    assert [k["href"] for k in page.all("link")] == ["grader-assets/katex/katex.min.css"]


def test_a_mapping_answer_is_a_table_of_formulas() -> None:
    html = render_student_page(sample_report())
    net = html[html.index("id='part-net'") : html.index("id='part-net2'")]
    assert net.count("<tr>") >= 2 and net.count("class='math'") == 4  # two names, two formulas


def test_unreadable_text_and_words_are_shown_as_text_only() -> None:
    html = render_student_page(sample_report())
    for part_id in ("part-q2", "part-q3.kind", "part-q3.proof", "part-net2"):
        section = html[html.index(f"id='{part_id}'") :]
        section = section[: section.index("</article>")]
        assert "class='math'" not in section, part_id


def test_caret_feedback_keeps_its_columns() -> None:
    html = render_student_page(sample_report())
    pre = re.search(r"<pre class='feedback'>(.*?)</pre>", html, re.S)
    assert pre is not None and unescape(pre.group(1)) == "'{' is never closed\n  \\frac{1}{2\n        ^"


def test_the_witness_is_shown() -> None:
    words = Elements(render_student_page(sample_report())).words
    assert "at x = 3" in words and "your answer gives 0.1667" in words
    assert "the expected answer gives" not in words  # the reference at the point: the TA's page only
    ta_words = Elements(render_student_page(sample_report(), show_expected=True)).words
    assert "the expected answer gives 1.5" in ta_words


def test_a_wrong_network_shows_its_plot_or_says_why_there_is_none() -> None:
    page = Elements(render_student_page(sample_report()))
    images = page.all("img")
    assert [i["src"] for i in images] == ["alice-net.png"]
    assert "your network" in (images[0]["alt"] or "").lower()
    assert "No plot of this network:" in page.words


def test_reference_answers_only_with_show_expected() -> None:
    hidden = render_student_page(sample_report())
    assert "x/2" not in hidden and "Expected" not in hidden
    shown = render_student_page(sample_report(), show_expected=True)
    assert "Expected:" in shown and "<code>x/2</code>" in shown


def hostile_report() -> Report:
    return Report(
        HOSTILE,
        HOSTILE,
        [
            part(HOSTILE, Status.INCORRECT, received=HOSTILE, feedback=HOSTILE, prompt=HOSTILE, note=HOSTILE,
                 expected=HOSTILE, type="expression", plot_file="x' onerror='alert(1)",
                 witness=Witness(point={HOSTILE: HOSTILE}, received=HOSTILE)),
            part("q2", Status.INCORRECT, received="x < y > z & </math><script>", type="expression"),
        ],
        warnings=[HOSTILE],
        error=HOSTILE,
    )  # fmt: skip


@pytest.mark.parametrize("show_expected", [False, True])
def test_nothing_a_student_writes_becomes_markup_on_their_page(show_expected: bool) -> None:
    html = render_student_page(hostile_report(), show_expected=show_expected)
    page = Elements(html)
    assert "<script>" not in html
    assert all((s.get("src") or "").startswith("grader-assets/") for s in page.all("script"))
    assert all(not any(k.startswith("on") for k in attrs) for _, attrs in page.tags)
    assert [i["src"] for i in page.all("img")] == ["x' onerror='alert(1)"]  # one attribute value, inert
    assert HOSTILE in page.words  # shown as text


def test_the_page_needs_no_network_and_runs_only_the_vendored_scripts() -> None:
    html = render_student_page(sample_report())
    page = Elements(html)
    policy = next(m["content"] for m in page.all("meta") if m.get("http-equiv") == "Content-Security-Policy")
    assert policy is not None and "default-src 'none'" in policy and "script-src 'self';" not in policy
    assert policy.endswith("script-src 'self'") and "unsafe" not in policy  # no inline script, no other site
    assert not re.search(r"""(src|href)=['"]?(https?:)?//""", html)
    assert "<script>" not in html


def test_html_is_a_registered_format() -> None:
    reporter = REPORTERS["html"]
    assert reporter.render(sample_report()).startswith("<!DOCTYPE html>")
    assert "class dashboard" in reporter.render_batch([sample_report("a"), sample_report("b")])


# ---- the dashboard ------------------------------------------------------------------------------


def class_reports() -> list[Report]:
    reports = []
    answers = ["1/2x", "1/(2*x)", "0.5/x", "x/2", "x/2", "2x"]
    for i, answer in enumerate(answers):
        status = Status.CORRECT if answer == "x/2" else Status.INCORRECT
        feedback = "" if status is Status.CORRECT else f"at x = 3 your formula gives {i}"
        reports.append(
            Report(
                "a1",
                f"student{i}",
                [
                    part("q1.slope", status, 2.0 if status is Status.CORRECT else 0.0, received=answer,
                         feedback=feedback, type="expression"),
                    part("q2", Status.ERROR if i < 2 else Status.CORRECT, 0.0 if i < 2 else 2.0,
                         received="3", type="number", feedback="time limit" if i < 2 else ""),
                ],
            )
        )  # fmt: skip
    return reports


def test_the_dashboard_shows_a_histogram_image_with_alt_text() -> None:
    page = Elements(render_dashboard(class_reports()))
    image = next(i for i in page.all("img") if i.get("id") == "histogram")
    assert "Histogram of the scores of 6 students" in (image["alt"] or "")
    source = image["src"] or ""
    assert source.startswith("data:image/svg+xml;base64,")
    svg = ET.fromstring(base64.b64decode(source.split(",", 1)[1]))
    assert svg.find("{http://www.w3.org/2000/svg}title") is not None


def test_every_chart_has_a_title() -> None:
    html = render_dashboard(class_reports())
    for svg in re.findall(r"<svg.*?</svg>", html, re.S):
        assert "<title" in svg and "role='img'" in svg


def test_per_part_numbers_and_review_flags() -> None:
    page = Elements(render_dashboard(class_reports()))
    words = page.words
    headers = [t for t in page.text if t in ("correct", "missing", "unreadable", "error", "mean score")]
    assert {"correct", "missing", "unreadable", "error", "mean score"} <= set(headers)
    assert "Review these parts:" in words and "q2: 2 of 6 verdicts are errors" in words


def test_wrong_answers_equal_as_formulas_are_one_group_with_links() -> None:
    html = render_dashboard(class_reports())
    wrong = html[html.index("id='wrong'") : html.index("id='students'")]
    first = wrong[wrong.index("<li>") : wrong.index("</li>")]
    assert "3 students" in first and "<code>1/2x</code>" in first
    assert "also written <code>1/(2*x)</code>, <code>0.5/x</code>" in first
    assert "Feedback given: at x = 3 your formula gives 0" in first
    links = re.findall(r"href='([^']+)'", first)
    assert links == ["student0.html", "student1.html", "student2.html"]


def test_the_students_table_links_every_page_and_sorts_with_a_small_script() -> None:
    page = Elements(render_dashboard(class_reports(), pages=[f"p{i}.html" for i in range(6)]))
    hrefs = {a["href"] for a in page.all("a")}
    assert {f"p{i}.html" for i in range(6)} <= hrefs
    assert len([s for s in page.all("script") if not s.get("src")]) == 1  # beside KaTeX's, for the answers
    table = next(t for t in page.all("table") if t.get("id") == "students-table")
    assert "sortable" in (table["class"] or "")


def test_nothing_a_student_writes_becomes_markup_on_the_dashboard() -> None:
    html = render_dashboard([hostile_report(), sample_report()])
    page = Elements(html)
    assert html.count("<script>") == 1  # the table's sort; the others are KaTeX's files
    assert all((s.get("src") or "grader-assets/").startswith("grader-assets/") for s in page.all("script"))
    assert all(not any(k.startswith("on") for k in attrs) for _, attrs in page.tags)


# ---- pages of the shipped example, read with their problem set -------------------------------------


def shipped(name: str) -> tuple[ProblemSet, Report]:
    root = Path(__file__).resolve().parent.parent
    spec = load_problem_set(root / "problems" / f"{name}.yaml")
    folder = sorted(p for p in (root / "submissions" / name).iterdir() if p.is_dir())[0]
    return spec, grade(spec, load_submission(folder))


def test_with_its_problem_set_a_page_has_question_titles_and_reads_names() -> None:
    spec, report = shipped("activations-softmax-conv")
    words = Elements(render_student_page(report, spec=spec)).words
    assert "Question q1: ReLU and the Heaviside step function" in words
    assert "“g(x) =” is read as the formula's name" in words  # the label of g(x) = x * H(x)
