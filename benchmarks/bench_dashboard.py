"""How long a 500-student class dashboard takes: to write, and to render in headless Chromium.

Grades the shipped submissions of one problem set (the one with the most parts),
then makes 500 students from them: each part's verdict and answer drawn (seeded)
from the shipped answers, the part's listed mistakes, the reference, equal
rewrites of those (other spacing and spelling) and wrong variants, so the
wrong-answer grouping has real work to do. Prints

* ``render_dashboard``: the time to compute the statistics and write the HTML;
* ``chromium load event``: from navigation to the load event in headless Chromium
  (parsing, styles, MathML and SVG layout, the sort script), and the same span
  as the page's own navigation timing measures it;
* ``load and the first frame drawn after it``: until the page is on screen.

The first run includes starting the renderer; the median is the steady figure.

The issue's target is a load under 2 s. Needs Debian's ``chromium``.

Run: ``python benchmarks/bench_dashboard.py [--students 500] [--runs 5]``
"""

from __future__ import annotations

import argparse
import dataclasses
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from chromium import Chromium, chromium_path  # noqa: E402

from grader.core.report import PartResult, Report  # noqa: E402
from grader.core.verdict import Status  # noqa: E402
from grader.engine import grade  # noqa: E402
from grader.loading import load_problem_set, load_submission  # noqa: E402
from grader.reporting.dashboard import render_dashboard  # noqa: E402
from grader.spec import ProblemSet  # noqa: E402

NAVIGATION_END = "performance.getEntriesByType('navigation')[0].loadEventEnd"
NEXT_FRAME = "new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(() => done(true))))"
STATUS_WEIGHTS = {
    Status.CORRECT: 50,
    Status.INCORRECT: 25,
    Status.PARTIAL: 6,
    Status.MISSING: 10,
    Status.INVALID: 5,
    Status.ERROR: 1,
}


def biggest_problem_set() -> tuple[ProblemSet, list[Report]]:
    specs = [load_problem_set(path) for path in sorted((ROOT / "problems").glob("*.yaml"))]
    spec = max(specs, key=lambda s: len(s.iter_parts()))
    folder = next(f for f in (ROOT / "submissions").iterdir() if f.is_dir() and load_problem_set(
        ROOT / "problems" / f"{f.name}.yaml").assignment == spec.assignment)  # fmt: skip
    shipped = [grade(spec, load_submission(s)) for s in sorted(folder.iterdir()) if s.is_dir()]
    return spec, shipped


def answer_pool(spec: ProblemSet, shipped: list[Report]) -> dict[str, list[str]]:
    """Per part: answers a class might give (right, listed mistakes, and variants)."""
    pool: dict[str, list[str]] = {}
    for part_id, _, part in spec.iter_parts():
        seen = [str(p.received) for r in shipped for p in r.parts if p.id == part_id and p.received]
        seen += [str(m.answer) for m in part.mistakes]
        if part.answer is not None:
            seen.append(str(part.answer))
        variants = [v.replace(" ", "") for v in seen] + [f"({v}) + {k}" for v in seen[:2] for k in (1, 2, 3)]
        pool[part_id] = seen + variants or ["1"]
    return pool


def synthetic_class(spec: ProblemSet, shipped: list[Report], students: int, seed: int = 7) -> list[Report]:
    rng = random.Random(seed)
    pool = answer_pool(spec, shipped)
    statuses, weights = list(STATUS_WEIGHTS), list(STATUS_WEIGHTS.values())
    reports = []
    for i in range(students):
        base = shipped[i % len(shipped)]
        parts = [_part(p, rng.choices(statuses, weights)[0], pool[p.id], rng) for p in base.parts]
        reports.append(Report(base.assignment, f"student-{i:03d}", parts))
    return reports


def _part(part: PartResult, status: Status, answers: list[str], rng: random.Random) -> PartResult:
    if part.status is Status.MANUAL:
        return part
    fraction = {Status.CORRECT: 1.0, Status.PARTIAL: 0.5}.get(status, 0.0)
    received = None if status is Status.MISSING else rng.choice(answers)
    feedback = "" if status is Status.CORRECT else f"synthetic feedback {rng.randint(1, 4)}"
    return dataclasses.replace(
        part, status=status, score=fraction * part.max_score, received=received, feedback=feedback
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--students", type=int, default=500)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    if chromium_path() is None:
        sys.exit("chromium is not installed (apt-get install chromium)")
    spec, shipped = biggest_problem_set()
    reports = synthetic_class(spec, shipped, args.students)
    started = time.perf_counter()
    html = render_dashboard(reports, spec=spec)
    written = time.perf_counter() - started
    print(f"{spec.assignment}: {args.students} students, {len(spec.iter_parts())} parts")
    print(f"render_dashboard: {written * 1000:.0f} ms, {len(html) / 1024:.0f} KiB of HTML")
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "index.html"
        path.write_text(html, encoding="utf-8")
        loads, painted, browser_times = [], [], []
        with Chromium(width=1200, height=900) as browser:
            for _ in range(args.runs):
                started = time.perf_counter()
                page = browser.open(path)
                loads.append(time.perf_counter() - started)
                page.evaluate(NEXT_FRAME)
                painted.append(time.perf_counter() - started)
                browser_times.append(page.evaluate(NAVIGATION_END))
                if page.errors:
                    sys.exit(f"the page reported errors: {page.errors}")
    print(f"chromium load event: {_spread(loads)} (target: under 2000 ms)")
    print(f"  as the page measures it (navigation start to load end): {_spread(browser_times, 1e-3)}")
    print(f"load and the first frame drawn after it: {_spread(painted)}")


def _spread(seconds: list[float], scale: float = 1.0) -> str:
    values = [s * scale for s in seconds]
    return (
        f"median {statistics.median(values) * 1000:.0f} ms, first {values[0] * 1000:.0f} ms, "
        f"max {max(values) * 1000:.0f} ms over {len(values)} runs"
    )


if __name__ == "__main__":
    main()
