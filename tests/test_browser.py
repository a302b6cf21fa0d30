"""The shipped example batch's HTML pages, opened in headless Chromium.

Grades ``submissions/`` against ``problems/`` with ``--out``, opens every
problem set's ``index.html`` and every student page, and asserts from the live
DOM what a reader would check: formulas are laid out as MathML, every part is
there, the histogram and the plots loaded, the student table sorts, and the
console stayed clean (no script error, no blocked resource, no CSP report).
Screenshots are kept next to the pages in the test's tmp dir (a CI artifact).

Chromium is Debian's ``chromium`` package; ``.ci/run`` installs it. Without it
these tests are skipped, saying so.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from chromium import Chromium, Page, chromium_path
from click.testing import CliRunner

from grader.cli import main

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.skipif(
    chromium_path() is None,
    reason="chromium is not installed: apt-get install chromium (.ci/run installs it)",
)

MATH_LAID_OUT = """(() => {
  const maths = Array.from(document.querySelectorAll("math"));
  return maths.map((m) => ({
    mathml: m instanceof MathMLElement,
    display: getComputedStyle(m).display,
    children: m.children.length,
    width: m.getBoundingClientRect().width,
    height: m.getBoundingClientRect().height,
  }));
})()"""

IMAGES = """Array.from(document.images).map((i) => ({
  id: i.id, src: i.getAttribute("src"), alt: i.alt, complete: i.complete, width: i.naturalWidth
}))"""


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("reports")
    run = CliRunner().invoke(
        main, ["grade", str(ROOT / "submissions"), "-p", str(ROOT / "problems"), "--out", str(out), "-q"]
    )
    assert run.exit_code in (0, 1), run.output
    return out


@pytest.fixture(scope="module")
def browser() -> Iterator[Chromium]:
    with Chromium(width=1200, height=900) as chromium:
        yield chromium


def problem_sets() -> list[str]:
    return sorted(p.stem for p in (ROOT / "problems").glob("*.yaml"))


def student_pages(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*.html") if p.name != "index.html")


def assert_math_rendered(page: Page) -> None:
    maths = page.evaluate(MATH_LAID_OUT)
    assert maths, "no <math> element on the page"
    for math in maths:
        assert math["mathml"], "a <math> element that is not MathML"
        assert math["display"] in ("math", "inline math", "block math"), "the browser did not lay out MathML"
        assert math["children"] > 0 and math["width"] > 0 and math["height"] > 0


def open_and_shoot(browser: Chromium, path: Path) -> Page:
    page = browser.open(path)
    shot = page.screenshot(path.with_suffix(".png"))
    assert shot.stat().st_size > 10_000
    return page


@pytest.mark.parametrize("problem_set", problem_sets())
def test_the_dashboard_renders_in_chromium(reports: Path, browser: Chromium, problem_set: str) -> None:
    folder = reports / problem_set
    page = open_and_shoot(browser, folder / "index.html")
    assert page.errors == []
    histogram = next(i for i in page.evaluate(IMAGES) if i["id"] == "histogram")
    assert histogram["complete"] and histogram["width"] > 0 and "Histogram" in histogram["alt"]
    assert page.evaluate("document.querySelectorAll('svg[role=img] title').length") >= 1
    part_ids = [p["id"] for p in json.loads(next(folder.glob("*.json")).read_text())["parts"]]
    shown = page.evaluate("Array.from(document.querySelectorAll('#parts-table tbody tr td:first-child'))"
                          ".map((td) => td.textContent)")  # fmt: skip
    assert shown == part_ids
    links = page.evaluate("Array.from(document.querySelectorAll('#students-table a')).map((a) => a.href)")
    assert len(links) == len(student_pages(folder))
    assert all(Path(link.removeprefix("file://")).exists() for link in links)


def test_wrong_answers_on_the_dashboard_are_mathml(reports: Path, browser: Chromium) -> None:
    page = browser.open(reports / "attention-approximation" / "index.html")
    assert page.evaluate("document.querySelectorAll('#wrong ~ ol math').length") > 0
    assert_math_rendered(page)


def test_the_students_table_sorts_when_a_header_is_clicked(reports: Path, browser: Chromium) -> None:
    page = browser.open(reports / "attention-approximation" / "index.html")
    names = (
        "Array.from(document.querySelectorAll('#students-table tbody tr')).map((r) => r.cells[0].innerText)"
    )
    before = page.evaluate(names)
    score = "document.querySelector('#students-table thead th:nth-child(2) button')"
    page.evaluate(f"{score}.click()")
    ascending = page.evaluate(names)
    page.evaluate(f"{score}.click()")
    assert page.evaluate(names) == list(reversed(ascending))
    assert sorted(before) == sorted(ascending) and ascending[0] == "seed-000-second-attempt"
    assert page.errors == []


@pytest.mark.parametrize("problem_set", problem_sets())
def test_every_student_page_renders_in_chromium(reports: Path, browser: Chromium, problem_set: str) -> None:
    for path in student_pages(reports / problem_set):
        page = open_and_shoot(browser, path)
        assert page.errors == [], path.name
        report = json.loads(path.with_suffix(".json").read_text())
        articles = page.evaluate("Array.from(document.querySelectorAll('article.part h3 .part-id'))"
                                 ".map((e) => e.textContent)")  # fmt: skip
        assert articles == [p["id"] for p in report["parts"]], path.name
        assert page.evaluate("document.querySelectorAll('h2').length") >= 1
        badges = "Array.from(document.querySelectorAll('article .status'))"
        verdicts = page.evaluate(f"{badges}.map((e) => e.innerText)")
        assert len(verdicts) == len(report["parts"])
        assert all(text.split()[-1] in {p["status"] for p in report["parts"]} for text in verdicts)
        graded = ("correct", "incorrect", "partial")
        if any(p.get("received") and p["status"] in graded for p in report["parts"]):
            assert_math_rendered(page)
        for image in page.evaluate(IMAGES):
            assert image["complete"] and image["width"] > 0 and image["alt"], image["src"]


def test_a_wrong_network_shows_its_plot(reports: Path, browser: Chromium) -> None:
    page = browser.open(reports / "attention-approximation" / "seed-000.html")
    # the plot is inline SVG in the page (one self-contained file), drawn with a real size
    plots_in = "Array.from(document.querySelectorAll('#part-approx\\\\.linear figure svg'))"
    plots = page.evaluate(f"{plots_in}.map((svg) => svg.getBoundingClientRect().width)")
    assert plots and plots[0] > 0
    no_plot = page.evaluate("document.querySelector('#part-approx\\\\.identity').innerText")
    assert "No plot of this network" in no_plot
