"""A corpus of typeset PDFs that do not use grader's template: each shipped problem set written
up in several styles a student might use (article, report and exam-like layouts, headings
spelled ``Question 3``, ``Problem 2.b``, ``3(a)``, ``Q2 (b)``, part ids, titles, roman
numerals, enumerate lists, two columns), compiled with pdflatex. ``tests/test_pdf_typeset.py``
and ``benchmarks/bench_pdf.py`` measure how many parts are found by their headings."""

from __future__ import annotations

import re
import string
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from grader.loading import load_problem_set
from grader.spec import ProblemSet

ROOT = Path(__file__).parent.parent
ROMAN = ["i", "ii", "iii", "iv", "v", "vi", "vii", "viii", "ix", "x", "xi", "xii"]


@dataclass(frozen=True)
class Style:
    name: str
    preamble: str
    question: Callable[[int, str, str], str]  # (number, id, title) -> LaTeX
    part: Callable[[int, int, str, str], str]  # (question number, part index, part id, address) -> LaTeX
    single_parts_headed: bool = False  # a question that is one part still gets a part heading
    around_parts: tuple[str, str] = ("", "")


def _tex(text: str) -> str:
    """Plain text as LaTeX (a title from a problem file)."""
    out = "".join("\\" + c if c in "&%$#_{}" else c for c in text)
    return out.replace("~", "\\textasciitilde{}").replace("^", "\\textasciicircum{}").replace("\\\\", "")


ARTICLE = "\\documentclass{article}\n\\usepackage{amsmath}\n"
STYLES = [
    Style(
        "section-question",
        ARTICLE,
        lambda n, q, t: f"\\section*{{Question {n}}}\n",
        lambda n, i, p, a: f"\\subsection*{{({string.ascii_lowercase[i]})}}\n",
    ),
    Style(
        "problem-dot-letter",
        ARTICLE,
        lambda n, q, t: f"\\section*{{Problem {n}: {_tex(t)}}}\n",
        lambda n, i, p, a: f"\\paragraph{{Problem {n}.{string.ascii_lowercase[i]}}}\n",
    ),
    Style(
        "bare-number-letter",
        "\\documentclass[11pt]{article}\n\\usepackage{amsmath}\n",
        lambda n, q, t: f"\\bigskip\\noindent\\textbf{{\\large {n}. {_tex(t)}}}\\par\n",
        lambda n, i, p, a: f"\\medskip\\noindent\\textbf{{{n}({string.ascii_lowercase[i]})}}\\par\n",
        single_parts_headed=False,
    ),
    Style(
        "q-short",
        ARTICLE + "\\usepackage[margin=1in]{geometry}\n",
        lambda n, q, t: f"\\noindent\\textbf{{Q{n}}}\\par\n",
        lambda n, i, p, a: f"\\noindent\\textbf{{Q{n} ({string.ascii_lowercase[i]})}}\\par\n",
    ),
    Style(
        "part-ids",
        ARTICLE,
        lambda n, q, t: f"\\section*{{{_tex(q)}: {_tex(t)}}}\n",
        lambda n, i, p, a: f"\\subsection*{{{_tex(a)}}}\n",
        single_parts_headed=True,
    ),
    Style(
        "exam-like",
        ARTICLE + "\\usepackage{enumerate}\n",
        lambda n, q, t: f"\\bigskip\\noindent {n}. (10 points) {_tex(t)}\\par\n",
        lambda n, i, p, a: f"\\item[({string.ascii_lowercase[i]})]\n",
        around_parts=("\\begin{enumerate}\n", "\\end{enumerate}\n"),
    ),
    Style(
        "report-exercise",
        "\\documentclass{report}\n\\usepackage{amsmath}\n",
        lambda n, q, t: f"\\section*{{Exercise {n}}}\n",
        lambda n, i, p, a: f"\\noindent\\textit{{Exercise {n}, part ({string.ascii_lowercase[i]})}}\\par\n",
    ),
    Style(
        "roman",
        ARTICLE,
        lambda n, q, t: f"\\section*{{Question {n}}}\n",
        lambda n, i, p, a: f"\\noindent ({ROMAN[i]})\\quad\n",
    ),
    Style(
        "two-column",
        "\\documentclass[twocolumn]{article}\n\\usepackage{amsmath}\n",
        lambda n, q, t: f"\\section*{{Problem {n}}}\n",
        lambda n, i, p, a: f"\\subsection*{{Part ({string.ascii_lowercase[i]})}}\n",
    ),
    Style(
        "task-colon",
        ARTICLE,
        lambda n, q, t: f"\\noindent\\textbf{{Task {n}:}} {_tex(t)}\\par\n",
        lambda n, i, p, a: f"\\noindent {string.ascii_lowercase[i]}) ",
    ),
]


def _numbers(spec: ProblemSet) -> list[int]:
    digits = [re.findall(r"\d+", q.id) for q in spec.questions]
    numbers = [int(d[-1]) for d in digits if d]
    if len(numbers) == len(spec.questions) and len(set(numbers)) == len(numbers):
        return numbers
    return list(range(1, len(spec.questions) + 1))


def _body(address: str, index: int) -> str:
    """What a student writes: prose with math (exponents, fractions), now and then a result line."""
    lines = [
        f"We use the definition and simplify; with $x^2 + \\frac{{1}}{{2}} y_{{t-1}}$ the claim for "
        f"this part follows after {index + 2} lines of algebra.",
        "\\[ \\sum_{i=1}^{n} e^{f_i} > e^{f_y} \\]",
    ]
    if index % 3 == 0:
        lines.append(f"\n\nAnswer: {index + 1}")
    return "\n".join(lines) + "\n\n"


def writeup(spec: ProblemSet, style: Style) -> str:
    out = [style.preamble, "\\begin{document}\n", f"\\noindent Homework write-up ({style.name})\\par\n"]
    for number, question in zip(_numbers(spec), spec.questions, strict=True):
        out.append(style.question(number, question.id, question.title or question.id))
        out.append("Some words about the setting of the question.\n\n")
        headed = not question.single or style.single_parts_headed
        if headed:
            out.append(style.around_parts[0])
        for index, part in enumerate(question.parts):
            address = question.id if question.single else f"{question.id}.{part.id}"
            if headed:
                out.append(style.part(number, index, part.id, address))
            out.append(_body(address, index))
        if headed:
            out.append(style.around_parts[1])
        out.append("\\clearpage\n" if number % 2 == 0 else "")
    out.append("\\end{document}\n")
    return "".join(out)


def build_corpus(out: Path) -> list[tuple[str, Path]]:
    """(problem set, PDF) for every style over every shipped problem set (60 PDFs)."""
    problem_files = sorted((ROOT / "problems").glob("*.yaml"))
    made: list[tuple[str, Path]] = []
    for problem_file in problem_files:
        for style in STYLES:
            spec = load_problem_set(problem_file)
            folder = out / f"{problem_file.stem}--{style.name}"
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "homework.tex").write_text(writeup(spec, style), encoding="utf-8")
            if not (folder / "homework.pdf").exists():
                done = subprocess.run(
                    [
                        "pdflatex",
                        "-interaction=nonstopmode",
                        "-halt-on-error",
                        "-no-shell-escape",
                        "homework.tex",
                    ],
                    cwd=folder,
                    capture_output=True,
                    text=True,
                    timeout=120,
                    check=False,
                )
                if done.returncode != 0:
                    raise RuntimeError(f"{folder}: {done.stdout[-1500:]}")
            made.append((problem_file.stem, folder / "homework.pdf"))
    return made
