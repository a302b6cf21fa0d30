"""PDF hand-ins (issue 62): page rendering, template verdict identity, headings found, ingest.

    python benchmarks/bench_pdf.py [--width 1000] [--students 40] [--pages 8] [--quick]

Prints:
- rendering: p50/p95 per page at grading-view width (PDFium in the limited child, one child per
  PDF as the batch does), wall and CPU time (children's CPU included): the machine is shared;
- template PDFs: each shipped problem set's template filled with its seeds' answers, compiled
  with pdflatex, graded from the PDF alone and from the .tex: verdicts identical, parts mapped;
- typeset PDFs: the share of parts found by their headings on the 60-PDF corpus
  (tests/pdf_corpus.py), and the share whose answer line was read (the rest go to a TA);
- a class of ``--students`` PDFs of ``--pages`` pages read and rendered in one batch: the time
  per student, and what 500 students would take at that rate on this machine.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from click.testing import CliRunner
from pdf_corpus import build_corpus
from pdf_support import filled_seed, seeds

from grader.cli import main
from grader.engine import grade
from grader.loading import load_problem_set, load_submission
from grader.pdf.document import read_pdf, render_pages
from grader.pdf.headings import Outline, find_regions
from grader.pdf.mapping import text_answer
from grader.writeups.latex import grader_sty

ROOT = Path(__file__).resolve().parent.parent


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _class_pdf(folder: Path, pages: int, template: bool = False) -> Path:
    """A ``pages``-page homework typeset by pdflatex (text and math on every page); with
    ``template``, made with grader.sty (an answer marked on each page)."""
    folder.mkdir(parents=True, exist_ok=True)
    mark = "\\answer{{q{n}}}{{$\\frac{{1}}{{2}}$}}" if template else ""
    body = "".join(
        f"\\section*{{Question {n}}}\n"
        + ("We have $\\sum_{i=1}^n x_i^2 \\le \\frac{1}{2}$ and so on. " * 40)
        + mark.format(n=n)
        + "\n\\[ \\int_0^1 f(x)\\,dx = \\lim_{n\\to\\infty} \\frac{1}{n}\\sum_k f(k/n) \\]\n\\clearpage\n"
        for n in range(1, pages + 1)
    )
    package = "\\usepackage{grader}\n" if template else ""
    if template:
        (folder / "grader.sty").write_text(grader_sty(), encoding="utf-8")
    (folder / "hw.tex").write_text(
        f"\\documentclass{{article}}\n{package}\\begin{{document}}\n{body}\\end{{document}}\n"
    )
    os.system(f"cd {folder} && pdflatex -interaction=batchmode hw.tex >/dev/null 2>&1")
    return folder / "hw.pdf"


def bench_rendering(work: Path, width: int, pages: int) -> None:
    pdf = _class_pdf(work / "render", pages)
    per_page, cpu_per_page = [], []
    for trial in range(5):
        cpu, started = _cpu(), time.perf_counter()
        render_pages(pdf, list(range(1, pages + 1)), width, work / f"cache{trial}")
        per_page.append((time.perf_counter() - started) / pages)
        cpu_per_page.append((_cpu() - cpu) / pages)
    timings, cpu_timings = [], []
    for page in range(1, pages + 1):  # one page a child: what a TA opening one answer waits for
        cpu, started = _cpu(), time.perf_counter()
        render_pages(pdf, [page], width, work / f"one{page}")
        timings.append(time.perf_counter() - started)
        cpu_timings.append(_cpu() - cpu)

    def p95(values: list[float]) -> float:
        return sorted(values)[min(len(values) - 1, int(0.95 * len(values)))]

    batch, batch_cpu = statistics.median(per_page) * 1000, statistics.median(cpu_per_page) * 1000
    one, one_p95, one_cpu = statistics.median(timings) * 1000, p95(timings) * 1000, p95(cpu_timings) * 1000
    print(
        f"rendering at {width} px, {pages} pages a child (a batch): {batch:.0f} ms wall, {batch_cpu:.0f} ms "
        f"CPU a page (p95 {p95(cpu_per_page) * 1000:.0f} ms); one page a child (a TA opening one answer, "
        f"start-up included): p50 {one:.0f} ms, p95 {one_p95:.0f} ms wall, p95 {one_cpu:.0f} ms CPU"
    )


def bench_templates(work: Path) -> None:
    same = total = mapped = parts = 0
    for problem_set, seed in seeds():
        tex = filled_seed(problem_set, seed, work / "tpl" / problem_set / "tex" / seed)
        pdf_folder = work / "tpl" / problem_set / "pdf" / seed
        pdf_folder.mkdir(parents=True)
        shutil.copy(tex / "main.pdf", pdf_folder / "homework.pdf")
        key = ["--variant-key", "bench"] if problem_set.startswith("variants") else []
        reports = []
        for folder in (tex, pdf_folder):
            result = CliRunner().invoke(
                main,
                [
                    "grade",
                    str(folder),
                    "-p",
                    str(ROOT / "problems" / f"{problem_set}.yaml"),
                    "-f",
                    "json",
                    *key,
                ],
            )
            reports.append(
                [
                    (p["id"], p["status"], p["score"], p["feedback"])
                    for p in json.loads(result.stdout)["parts"]
                ]
            )
        total += 1
        same += reports[0] == reports[1]
        spec = load_problem_set(ROOT / "problems" / f"{problem_set}.yaml")
        report = grade(spec, load_submission(pdf_folder))
        parts += len(report.parts)
        mapped += sum(1 for p in report.parts if report.pages.get(p.id))
    print(
        f"template PDFs: {same}/{total} hand-ins graded identically to their .tex; "
        f"{mapped}/{parts} parts mapped to their pages ({100 * mapped / max(parts, 1):.0f}%)"
    )


def bench_typeset(work: Path) -> None:
    corpus = build_corpus(work / "corpus")
    total = own = read = 0
    for problem_set, pdf in corpus:
        outline = Outline.of(load_problem_set(ROOT / "problems" / f"{problem_set}.yaml"))
        regions = find_regions(outline, read_pdf(pdf).lines)
        for address in outline.addresses():
            total += 1
            region = regions.get(address)
            if region is not None and region.own:
                own += 1
                read += text_answer(region, address) is not None
    print(
        f"typeset PDFs: {len(corpus)} PDFs, {own}/{total} parts found by their headings "
        f"({100 * own / total:.1f}%); an answer line read for {read} ({100 * read / total:.0f}%), "
        "the rest to a TA with their pages"
    )


def bench_class(work: Path, students: int, pages: int, width: int) -> None:
    for template in (True, False):
        kind = "template" if template else "typeset"
        source = _class_pdf(work / f"class-src-{kind}", pages, template)
        klass = work / f"class-{kind}"
        for number in range(students):
            (klass / f"s{number:04d}").mkdir(parents=True)
            shutil.copy(source, klass / f"s{number:04d}" / "homework.pdf")
        cpu, started = _cpu(), time.perf_counter()
        for folder in sorted(klass.iterdir()):
            read_pdf(folder / "homework.pdf", render=(folder / ".pages", width))
        wall, used = time.perf_counter() - started, _cpu() - cpu
        print(
            f"class of {kind} PDFs: {students} students x {pages} pages read and every page rendered: "
            f"{wall:.1f} s wall, {used:.1f} s CPU ({used / students:.2f} s a student); 500 students: "
            f"{500 * used / students / 60 / 2:.1f} min on 2 cores at that CPU time"
        )


def run() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--width", type=int, default=1000)
    parser.add_argument("--students", type=int, default=40)
    parser.add_argument("--pages", type=int, default=8)
    parser.add_argument("--quick", action="store_true", help="rendering and the class only")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        bench_rendering(work, options.width, options.pages)
        bench_class(work, options.students, options.pages, options.width)
        if not options.quick:
            bench_templates(work)
            bench_typeset(work)


if __name__ == "__main__":
    run()
