"""Write the hostile corpus: a class of submissions built to break a grader, and broken
problem files.

    python tests/hostile/make_corpus.py OUT [--pool-cases]

writes

- ``OUT/hostile.yaml``: a problem set with one part of every answer type (and, with
  ``--pool-cases``, a ``hostile_probe`` part: see ``tests/hostile/probes.py``);
- ``OUT/class/<student>/``: one submission per hostile case: deep nesting in YAML and
  JSON, anchors and alias bombs, YAML tags, duplicate keys, binary, non-UTF-8, UTF-16,
  empty and 100 MB files (sparse), links out of the folder, injection strings, power
  towers and numbers too large to grade, huge arrays, and the cases only killable
  workers and a memory limit can stop (with ``--pool-cases``);
- ``OUT/outside/``: files outside the class that links point at;
- ``OUT/problems/<case>.yaml``: problem files that are wrong, each refused by
  ``grader validate`` with its file, line and column;
- ``OUT/manifest.json``: every student and problem file with what to expect, and the
  canary files that injected code would create (none may exist after grading).

Nothing here is large in git: the corpus is generated (the 100 MB file is sparse).
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

PROBLEM_SET = """\
assignment: hostile
title: Every answer type, graded against hostile submissions
defaults: {time_limit: 2}
questions:
  - id: q1
    type: number
    answer: 131072
  - id: q2
    type: array
    answer: [1, 2, 5, 8, 6, 8]
  - id: q3
    type: shape
    answer: [24, 24, 128]
  - id: q4
    parts:
      - id: scalar
        type: expression
        symbols: {x: real, n: {integer: true, min: 1, max: 5}}
        answer: n*x^2 + 1
      - id: matrix
        type: expression
        symbols: {n: {integer: true, min: 2, max: 4}}
        arrays: {x: [n]}
        functions: {S: softmax}
        answer: diag(S(x)) - S(x) S(x)^T
  - id: q5
    type: complexity
    symbols: [n, d]
    answer: Theta(n^2 d + n d^2)
  - id: q6
    type: choice
    options: {A: linear, B: piecewise-linear, C: polynomial}
    answer: B
  - id: q7
    type: constraint
    fields: [k, s, p, d]
    given: {k: 8, d: 1}
    require:
      - floor((64 + 2*p - (k + (d - 1)*(k - 1)))/s) + 1 = 32
      - s >= 1
      - p >= 0
    answer: {k: 8, s: 2, p: 3, d: 1}
  - id: q8
    type: network
    input: x
    params: {w0: [3], b0: [3], w1: [3]}
    model: w1 . relu(w0*x + b0)
    target: piecewise((3*x + 6, -2 <= x <= 0), (-3*x + 6, 0 < x < 2), (0, true))
    answer: {w0: [1, 1, 1], b0: [2, 0, -2], w1: [3, -6, 3]}
  - id: q9
    type: text
    answer: a model answer
"""

PROBE_PART = """\
  - id: q10
    type: hostile_probe
    time_limit: 1
    memory_limit: 256
    answer: calm
"""

GOOD_ANSWERS: dict[str, Any] = {
    "q1": "2^{17}",
    "q2": [1, 2, 5, 8, 6, 8],
    "q3": "24 x 24 x 128",
    "q4.scalar": "n x^2 + 1",
    "q4.matrix": r"\text{diag}(S(\mathbf{x})) - S(\mathbf{x}) S(\mathbf{x})^\top",
    "q5": r"\Theta(n^2 d + n d^2)",
    "q6": "B",
    "q7": {"k": 8, "s": 2, "p": 3, "d": 1},
    "q8": {"w0": [1, 1, 1], "b0": [2, 0, -2], "w1": [3, -6, 3]},
    "q9": "because",
}
TEXT_PARTS = ("q1", "q3", "q4.scalar", "q4.matrix", "q5", "q6", "q9")


class _PlainDumper(yaml.SafeDumper):
    """Writes a repeated list out in full (answers files refuse anchors and aliases)."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


@dataclass
class Student:
    """One submission of the corpus and what grading it must give."""

    name: str
    what: str
    needs_pool: bool = False  # killable workers / memory limit (issue 12) decide this row
    unreadable: bool = False  # the whole answers file must be refused (one error row)


@dataclass
class Corpus:
    root: Path
    canaries: Path
    students: list[Student] = field(default_factory=list)
    problem_files: list[dict[str, Any]] = field(default_factory=list)

    @property
    def klass(self) -> Path:
        return self.root / "class"

    def folder(self, name: str) -> Path:
        path = self.klass / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def add(self, student: Student, filename: str, content: str | bytes) -> None:
        path = self.folder(student.name) / filename
        if isinstance(content, str):
            path.write_text(content, encoding="utf-8")
        else:
            path.write_bytes(content)
        self.students.append(student)

    def answers(self, student: Student, answers: dict[str, Any]) -> None:
        """An answers.yaml holding ``answers`` (values dumped as YAML, strings quoted)."""
        document = {"student": student.name, "answers": answers}
        text = yaml.dump(
            document, Dumper=_PlainDumper, allow_unicode=True, width=1 << 20, default_flow_style=None
        )
        self.add(student, "answers.yaml", text)

    def canary(self, name: str) -> str:
        return str(self.canaries / name)


# ---- answers files that must be refused as a whole -----------------------------------


def unreadable_files(corpus: Corpus) -> None:
    laughs = "student: laughs\nanswers:\n  a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
    for level in range(1, 10):
        laughs += f"  a{level}: &a{level} [" + ", ".join([f"*a{level - 1}"] * 9) + "]\n"
    cases: list[tuple[str, str, str, str | bytes]] = [
        ("json-deep", "answers.json nested 100,000 levels", "answers.json", "[" * 100_000 + "]" * 100_000),
        (
            "json-deep-object",
            "JSON objects nested 50,000 levels",
            "answers.json",
            '{"a":' * 50_000 + "1" + "}" * 50_000,
        ),
        (
            "yaml-deep-flow",
            "a YAML list nested 10,000 levels (1 KB)",
            "answers.yaml",
            "answers:\n  q2: " + "[" * 10_000 + "]" * 10_000,
        ),
        (
            "yaml-deep-block",
            "block lists nested 5,000 levels on one line",
            "answers.yaml",
            "answers:\n  q2:\n    " + "- " * 5000 + "x\n",
        ),
        ("yaml-self-alias", "a self-referencing alias", "answers.yaml", "answers: &a {q6.full: *a}\n"),
        ("yaml-laughs", "billion laughs: 9 levels of 9 aliases", "answers.yaml", laughs),
        (
            "yaml-anchor",
            "an innocent-looking anchor and alias",
            "answers.yaml",
            "answers:\n  q2: &v [1, 2]\n  q3: *v\n",
        ),
        ("yaml-merge", "a merge key", "answers.yaml", "base: &b {q1: 1}\nanswers:\n  <<: *b\n"),
        (
            "yaml-tag-python",
            "!!python/object/apply:os.system",
            "answers.yaml",
            f"answers:\n  q1: !!python/object/apply:os.system ['touch {corpus.canary('yaml-tag')}']\n",
        ),
        (
            "yaml-tag-python-new",
            "!!python/object/new:subprocess.Popen",
            "answers.yaml",
            "answers:\n  q1: !!python/object/new:subprocess.Popen "
            f"[['touch', '{corpus.canary('yaml-tag-new')}']]\n",
        ),
        (
            "yaml-tag-python-name",
            "!!python/name:os.system",
            "answers.yaml",
            "answers:\n  q1: !!python/name:os.system ''\n",
        ),
        ("yaml-tag-binary", "!!binary", "answers.yaml", "answers:\n  q1: !!binary aGVsbG8=\n"),
        ("yaml-tag-custom", "a custom !tag", "answers.yaml", "answers:\n  q1: !include /etc/passwd\n"),
        ("yaml-duplicate", "a duplicate key", "answers.yaml", "answers:\n  q1: 131072\n  q1: 2\n"),
        ("json-duplicate", "a duplicate key in JSON", "answers.json", '{"answers": {"q1": 131072, "q1": 2}}'),
        ("yaml-syntax", "not YAML", "answers.yaml", "answers: {q1: [1, 2\n"),
        ("json-syntax", "not JSON", "answers.json", '{"answers": {"q1": }'),
        ("binary", "binary bytes", "answers.yaml", bytes(range(256)) * 16),
        (
            "latin1",
            "Latin-1, not UTF-8",
            "answers.yaml",
            "answers:\n  q9: caf\u00e9 cr\u00e8me\n".encode("latin-1"),
        ),
        (
            "utf16",
            "UTF-16 with a byte-order mark",
            "answers.yaml",
            "answers:\n  q1: 131072\n".encode("utf-16"),
        ),
        ("empty", "an empty file", "answers.yaml", ""),
        ("blank", "only whitespace and comments", "answers.yaml", "\n   \n# nothing\n"),
        ("top-list", "a list instead of a mapping", "answers.yaml", "- 1\n- 2\n"),
        ("top-scalar", "a number instead of a mapping", "answers.json", "42"),
        ("answers-list", "answers: a list", "answers.yaml", "answers: [1, 2, 3]\n"),
    ]
    for name, what, filename, content in cases:
        corpus.add(Student(name, what, unreadable=True), filename, content)
    big = corpus.folder("huge-100mb") / "answers.yaml"  # sparse: instant, no disk used
    with big.open("wb") as stream:
        stream.write(b"answers:\n  q1: 131072\n")
        stream.truncate(100 * 1024 * 1024)
    corpus.students.append(Student("huge-100mb", "a 100 MB answers file (sparse)", unreadable=True))
    over = "answers:\n  q9: '" + "x" * 1_000_001 + "'\n"
    corpus.add(Student("over-limit", "1 MB and a bit of text", unreadable=True), "answers.yaml", over)


def link_cases(corpus: Corpus) -> None:
    outside = corpus.root / "outside"
    outside.mkdir(exist_ok=True)
    (outside / "answers.yaml").write_text("answers: {q1: 131072}\n", encoding="utf-8")
    links = {
        "link-to-classmate": Path("..") / "good" / "answers.yaml",
        "link-outside-class": outside / "answers.yaml",
        "link-to-etc-passwd": Path("/etc/passwd"),
        "link-dangling": corpus.root / "no-such-file.yaml",
        "link-to-dev-zero": Path("/dev/zero"),
    }
    for name, target in links.items():
        (corpus.folder(name) / "answers.yaml").symlink_to(target)
        corpus.students.append(Student(name, f"answers.yaml is a link to {target}", unreadable=True))
    loop = corpus.folder("link-loop")
    (loop / "answers.yaml").symlink_to(loop / "answers.yml")
    (loop / "answers.yml").symlink_to(loop / "answers.yaml")
    corpus.students.append(Student("link-loop", "two links pointing at each other", unreadable=True))
    writeup = corpus.folder("writeup-good")
    (writeup / "homework.md").write_text(
        "# Homework\n\nAnswer q1: 2^{17}\n\nAnswer q6: B\n", encoding="utf-8"
    )
    corpus.students.append(Student("writeup-good", "a Markdown write-up marking its answers"))
    (corpus.folder("writeup-link-to-classmate") / "homework.md").symlink_to(
        Path("..") / "writeup-good" / "homework.md"
    )
    corpus.students.append(
        Student("writeup-link-to-classmate", "a write-up that is a link to a classmate's", unreadable=True)
    )
    inside = corpus.folder("link-inside")  # a link within the student's own folder is fine
    (inside / "mine.yaml").write_text(yaml.safe_dump({"answers": GOOD_ANSWERS}), encoding="utf-8")
    (inside / "answers.yaml").symlink_to("mine.yaml")
    corpus.students.append(Student("link-inside", "a link to a file in the student's own folder"))


# ---- readable files with hostile answers ---------------------------------------------


def injections(corpus: Corpus) -> list[str]:
    canary = corpus.canary
    return [
        f"__import__('os').system('touch {canary('import')}')",
        f'__import__("subprocess").call(["touch", "{canary("subprocess")}"])',
        f"exec(\"open('{canary('exec')}', 'w')\")",
        f"eval(compile('open(\"{canary('eval')}\", \"w\")', 'x', 'exec'))",
        f"(lambda: __builtins__['__import__']('os').system('touch {canary('lambda')}'))()",
        "().__class__.__bases__[0].__subclasses__()",
        "x.__class__.__mro__[1].__subclasses__()",
        "Symbol('x').__class__.__init__.__globals__",
        "${{ github.token }}",
        "${{ secrets.GITHUB_TOKEN }}",
        "{{7*7}}",
        "{{ config.items() }}",
        "<%= 7*7 %>",
        "#{7*7}",
        r"\input{/etc/passwd}",
        r"\include{/etc/shadow}",
        rf"\write18{{touch {canary('write18')}}}",
        rf"\immediate\write18{{touch {canary('immediate')}}}",
        r"\def\x{\x}\x",
        r"\newcommand{\a}{\a}\a",
        r"\catcode`\^^@=11",
        f"$(touch {canary('shell')})",
        f"`touch {canary('backtick')}`",
        f"; touch {canary('semicolon')}",
        "'; DROP TABLE students; --",
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "[click](javascript:alert(1))",
        "../../../../etc/passwd",
        "%s%s%s%s%n",
        "\x1b[2J\x1b[31mred",
        "\u202eevil\u202c",
        "x\u200b+\u200b1",
        "\ud83d\ude00 + 1".encode("utf-16", "surrogatepass").decode("utf-16"),
        "lambda: 0",
        "import os",
        "os.system('ls')",
        "sympify('x')",
        "parse_expr('x')",
    ]


def numbers_too_large() -> list[str]:
    return [
        "9^9^9^9",
        "2^{2^{2^{2^{2}}}}",
        "10^{10^{10}}",
        "(10^{300})^{10}",
        "abs(2^{999})^{20}",
        "2^{999}*2^{999}*2^{999}*2^{999}*2^{999}",
        "exp(exp(exp(exp(100))))",
        "exp(10^{6})",
        "1e999999",
        "1e-999999",
        "9" * 5000,
        "1" + "0" * 400 + "e600",
        r"\frac{1}{2^{-4000}}",
        "10^{300}",
        "x^{1000}^{1000}",
        "(x+1)^{4096}",
        "n!^{n!}",
        "O(n^{abs(2^{999})^{20}})",
    ]


def structures() -> list[str]:
    return [
        "(" * 10_000 + "x" + ")" * 10_000,
        "{" * 5000 + "}" * 5000,
        r"\frac{" * 2000 + "1" + "}{2}" * 2000,
        r"\sqrt{" * 3000 + "x" + "}" * 3000,
        "-" * 10_000 + "1",
        "x+" * 2400 + "x",
        r"\begin{bmatrix}" + r"\\".join(["&".join(["1"] * 70)] * 70) + r"\end{bmatrix}",
        "[" + ",".join(["1"] * 4000) + "]",
        r"\left(" * 1000 + "x" + r"\right)" * 1000,
        "|" * 999 + "x" + "|" * 999,
    ]


def hostile_answers(corpus: Corpus) -> None:
    corpus.answers(Student("good", "every answer right"), GOOD_ANSWERS)
    strings = [
        ("inject", injections(corpus)),
        ("too-large", numbers_too_large()),
        ("structure", structures()),
    ]
    for prefix, texts in strings:
        for index, text in enumerate(texts):
            answers = {part: text for part in TEXT_PARTS}
            answers |= {"q2": text, "q7": text, "q8": text}
            corpus.answers(Student(f"{prefix}-{index:02d}", f"{text[:60]!r} as every answer"), answers)
    for name, what, answers in structured_answers():
        corpus.answers(Student(name, what), answers)
    json_cases = {
        "json-big-int": '{"answers": {"q1": ' + "9" * 5000 + "}}",
        "json-nan": '{"answers": {"q1": NaN, "q2": [Infinity, -Infinity, 1, 2, 3, 4]}}',
        "json-nested-ok": '{"answers": {"q2": [[[[[[[[1]]]]]]]]}}',
    }
    for name, text in json_cases.items():
        corpus.add(Student(name, name.replace("-", " ")), "answers.json", text)
    student_names = {
        "name-traversal": "../../../../tmp/evil",
        "name-markup": "<script>alert(1)</script>",
        "name-huge": "x" * 100_000,
        "name-newlines": "bob\n\n# injected heading\n",
        "name-csv": '=HYPERLINK("http://evil","x"),"a"',
        "name-number": 12345,
    }
    for name, value in student_names.items():
        text = yaml.dump({"student": value, "answers": GOOD_ANSWERS}, Dumper=_PlainDumper, width=1 << 20)
        corpus.add(Student(name, f"student: {str(value)[:40]!r}"), "answers.yaml", text)


def structured_answers() -> list[tuple[str, str, dict[Any, Any]]]:
    huge_list = list(range(60_000))
    nested = [[[[[[1]]]]]]
    return [
        ("huge-array", "an array answer of 60,000 numbers", {"q2": huge_list, "q8": {"w0": huge_list}}),
        ("huge-matrix", "a 300x300 matrix", {"q2": [[1] * 300] * 300, "q4.matrix": [[0] * 300] * 300}),
        ("deep-array", "nested lists as every answer", {part: nested for part in GOOD_ANSWERS}),
        ("many-keys", "10,000 answer keys", {f"k{i}": i for i in range(10_000)}),
        ("huge-key", "a 100,000-character key", {"x" * 100_000: 1, **GOOD_ANSWERS}),
        ("huge-string", "400,000-character answers", {"q1": "1" * 400_000, "q4.scalar": "x" * 400_000}),
        (
            "weird-values",
            "booleans, nulls and numbers where text is expected",
            {
                "q1": True,
                "q2": None,
                "q3": 1e308,
                "q4.scalar": -0.0,
                "q5": 12,
                "q6": False,
                "q7": [1, 2],
                "q8": "impossible",
                "q9": {"a": 1},
            },
        ),
        (
            "floats-extreme",
            "inf, nan and subnormal floats",
            {
                "q1": float("inf"),
                "q2": [float("nan")] * 6,
                "q3": [5e-324, 1e308, 1],
                "q7": {"k": float("inf")},
            },
        ),
        (
            "network-huge-weights",
            "network weights past any float",
            {
                "q8": {"w0": ["10^{300}", "10^{300}", 1], "b0": ["10^{300}", 0, 0], "w1": ["10^{300}", 1, 1]},
            },
        ),
        (
            "network-overflow-weights",
            "network weights of 6,000 digits",
            {
                "q8": {"w0": ["abs(2^{999})^{20}", 1, 1], "b0": [0, 0, 0], "w1": [1, 1, 1]},
            },
        ),
        (
            "network-tiny-weights",
            "network weights 10^-300 and 10^300",
            {
                "q8": {"w0": ["10^{-300}", 1, 1], "b0": ["10^{300}", 0, 0], "w1": [1, 1, 1]},
            },
        ),
        (
            "network-wide",
            "a network with 5,000 hidden units where 3 are asked",
            {
                "q8": {"w0": [1] * 5000, "b0": [0] * 5000, "w1": [1] * 5000},
            },
        ),
        (
            "constraint-huge",
            "constraint fields past any size",
            {
                "q7": {"k": "9^9^9", "s": "1e999999", "p": "abs(2^{999})^{20}", "d": 10**400},
            },
        ),
    ]


# ---- issue 28: folder shapes, names and write-ups that ended or spoiled a batch ------

DEEP_FOLDERS = 1000  # nested folders in one submission (os.walk recursed past Python's limit)
ROUND_THREE_NAMES = {
    "name-carriage-return": "bob\rx",
    "name-workflow": "bob\n::stop-commands::pause\n::error::forged\nPoints 102/102",
    "name-terminal": "\x1b]52;c;aGVsbG8=\x07\x1b]0;owned\x07\x1b[2J\x9b31meve\x7f",
    "name-formula": '=HYPERLINK("https://evil.example","grade")',
    "name-formula-plus": "+1+cmd|' /C calc'!A0",
    "name-formula-at": "@SUM(1+1)*cmd|' /C calc'!A0",
    "name-formula-tab": "\t=1+1",
    "name-markdown": "| a | b |\n|---|---|\n[click](javascript:alert(1)) <img src=x onerror=alert(1)>",
    "name-xml": "a\x00b]]><x>&amp;\ufffe",
    "name-bidi": "\u202eevil\u202c",
}


def round_three(corpus: Corpus) -> None:
    """Issue 28: names with control characters, workflow commands, formulas, terminal
    escapes; lone surrogates; folders named like the batch's own files; nested folders;
    ``\\verb`` at the end of a write-up; warnings by the ten thousand."""
    for name, value in ROUND_THREE_NAMES.items():  # JSON carries any character as written
        document = {"student": value, "answers": {**GOOD_ANSWERS, "q9": value, "q1": value}}
        corpus.add(Student(name, f"student: {value[:40]!r}"), "answers.json", json.dumps(document))
    surrogate = {"student": "sur\ud800", "answers": {**GOOD_ANSWERS, "q1": "1\ud800", "q4.scalar": "\udfff"}}
    corpus.add(
        Student("answer-surrogate", "lone surrogates in answers"), "answers.json", json.dumps(surrogate)
    )
    for name in ("index", "grades", "changes", "Index"):  # would be index.html, grades.csv, ...
        corpus.answers(Student(name, f"a folder named {name!r}, like a file the batch writes"), GOOD_ANSWERS)
    deep = Student("deep-folders", f"{DEEP_FOLDERS} nested folders beside the answers")
    corpus.answers(deep, GOOD_ANSWERS)
    level = corpus.folder(deep.name)
    for _ in range(DEEP_FOLDERS):
        level = level / "d"
        level.mkdir()
    corpus.add(
        Student("writeup-verb-at-end", "\\verb as the last characters of main.tex"),
        "main.tex",
        "\\answer{q1}{$2^{17}$}\n\\verb",
    )
    tagged = {"cell_type": "markdown", "metadata": {"tags": ["answer:q6"]}, "source": ["B"]}
    notebook = {"cells": [tagged] * 20_000, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    corpus.add(
        Student("notebook-tag-repeated", "one answer tag on 20,000 cells"),
        "homework.ipynb",
        json.dumps(notebook),
    )
    (corpus.klass / "folder-link-to-classmate").symlink_to("good")  # a second "good"
    corpus.students.append(
        Student(
            "folder-link-to-classmate", "a submission folder that is a link to a classmate's", unreadable=True
        )
    )
    unknown = {f"u{i}": i for i in range(60_000)}
    corpus.answers(Student("unknown-keys", "60,000 unknown answer keys"), {**GOOD_ANSWERS, **unknown})


def pdf_cases(corpus: Corpus) -> None:
    """Issue 62: hostile PDFs and page images, each refused with what to fix; one good PDF graded."""
    from pdfs import HOSTILE_PDFS, plain, png_bomb

    for name, (make, says) in HOSTILE_PDFS.items():
        corpus.add(Student(name, f"a hostile PDF, refused: {says}", unreadable=True), "homework.pdf", make())
    bomb = Student("png-bomb", "a page photo declaring ten gigapixels", unreadable=True)
    corpus.add(bomb, "page1.png", png_bomb())
    corpus.add(Student("pdf-good", "a readable typeset PDF: its parts go to a TA"), "homework.pdf", plain())


def remove_deep_folders(corpus_root: Path) -> None:
    """Remove the nested folders level by level (shutil.rmtree recurses, in Python 3.11)."""
    level = corpus_root / "class" / "deep-folders"
    while (level / "d").is_dir():
        level = level / "d"
    while level.name == "d":
        level.rmdir()
        level = level.parent


def pool_cases(corpus: Corpus) -> None:
    """Rows only killable workers and a per-check memory limit can keep to one row."""
    spin = Student("pool-spin", "a check spinning inside C code (no signal reaches it)", needs_pool=True)
    corpus.answers(spin, {**GOOD_ANSWERS, "q10": "spin"})
    hog = Student("pool-hog", "an answer whose check allocates 2 GiB", needs_pool=True)
    corpus.answers(hog, {**GOOD_ANSWERS, "q10": "hog"})


# ---- problem files a TA gets wrong ---------------------------------------------------

ONE_PART = "assignment: broken\nquestions:\n  - id: q1\n"


def _part(body: str) -> str:
    return ONE_PART + "".join(f"    {line}\n" for line in body.strip("\n").splitlines())


NETWORK = "type: network\nparams: {w0: [1]}\nmodel: w0 . x\ntarget: x\nanswer: {w0: [1]}\n"
RELU_NETWORK = (
    "type: network\nparams: {w0: [%s], b0: [1], w1: [1]}\nmodel: w1 . relu(w0*x + b0)\n"
    "target: relu(x)\nanswer: {w0: [1], b0: [0], w1: [1]}"
)
LAUGHS = "x0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"x{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]\n" for i in range(1, 10)
)
# name -> (what is wrong, the file); every file must be refused with its line and column.
PROBLEM_CASES: dict[str, tuple[str, Callable[[], str | bytes]]] = {
    "time-limit-huge": ("time_limit: 1e300", lambda: _part("type: number\ntime_limit: 1e300\nanswer: 3")),
    "time-limit-nan": ("time_limit: .nan", lambda: _part("type: number\ntime_limit: .nan\nanswer: 3")),
    "time-limit-zero": ("time_limit: 0", lambda: _part("type: number\ntime_limit: 0\nanswer: 3")),
    "defaults-time-limit": (
        "defaults: {time_limit: 1e300}",
        lambda: (
            "assignment: broken\ndefaults: {time_limit: 1e300}\n"
            "questions:\n  - {id: q1, type: number, answer: 3}\n"
        ),
    ),
    "rtol-huge": ("rtol: 1e300", lambda: _part("type: number\nrtol: 1e300\nanswer: 3")),
    "atol-inf": ("atol: .inf", lambda: _part("type: number\natol: .inf\nanswer: 3")),
    "points-huge": ("points: 1e300", lambda: _part("type: number\npoints: 1e300\nanswer: 3")),
    "points-digits": (
        "points of 5,000 digits",
        lambda: _part(f"type: number\npoints: {'9' * 5000}\nanswer: 3"),
    ),
    "memory-limit-huge": (
        "memory_limit: 1e300",
        lambda: _part("type: number\nmemory_limit: 1e300\nanswer: 3"),
    ),
    "mistake-score": (
        "a mistake worth 2",
        lambda: _part("type: number\nanswer: 3\nmistakes:\n  - {answer: 4, feedback: no, score: 2}"),
    ),
    "undeclared-dim": (
        "arrays: {W: [m, m]} with m never declared",
        lambda: _part("type: expression\narrays: {W: [m, m]}\nanswer: W"),
    ),
    "array-dim-huge": (
        "arrays: {W: [100000]}",
        lambda: _part("type: expression\narrays: {W: [100000]}\nanswer: W"),
    ),
    "array-dim-zero": (
        "arrays: {W: [0, 2]}",
        lambda: _part("type: expression\narrays: {W: [0, 2]}\nanswer: W"),
    ),
    "interval-reversed": (
        "{interval: [1, 0]}",
        lambda: _part("type: expression\nsymbols: {x: {interval: [1, 0]}}\nanswer: x"),
    ),
    "integer-empty": (
        "{integer: true, min: 5, max: 1}",
        lambda: _part("type: expression\nsymbols: {n: {integer: true, min: 5, max: 1}}\nanswer: n"),
    ),
    "integer-none-between": (
        "{integer: true, interval: [0, 1]}",
        lambda: _part("type: expression\nsymbols: {n: {integer: true, interval: [0, 1]}}\nanswer: n"),
    ),
    "domain-huge": ("{max: 1e300}", lambda: _part("type: expression\nsymbols: {x: {max: 1e300}}\nanswer: x")),
    "positive-below-zero": (
        "{positive: true, max: -1}",
        lambda: _part("type: expression\nsymbols: {x: {positive: true, max: -1}}\nanswer: x"),
    ),
    "constants-nan": (
        "constants: {c: .nan}",
        lambda: _part("type: expression\nsymbols: {x: real}\nconstants: {c: .nan}\nanswer: x"),
    ),
    "network-params-huge": ("params: {w0: [1000000000]}", lambda: _part(RELU_NETWORK % "1000000000")),
    "network-params-negative": ("params: {w0: [-1]}", lambda: _part(RELU_NETWORK % "-1")),
    "network-params-entries": (
        "params: {w0: [100000, 100000]}",
        lambda: _part(NETWORK.replace("{w0: [1]}", "{w0: [100000, 100000]}", 1)),
    ),
    "network-domain-reversed": (
        "domain: [1, 0]",
        lambda: _part(NETWORK + "domain: [1, 0]\nmode: approx\nepsilon: 0.1"),
    ),
    "network-epsilon-huge": (
        "epsilon: 1e300",
        lambda: _part(NETWORK + "domain: [0, 1]\nmode: approx\nepsilon: 1e300"),
    ),
    "yaml-deep": (
        "nested 10,000 levels",
        lambda: f"assignment: broken\nquestions: {'[' * 10_000}{']' * 10_000}\n",
    ),
    "yaml-laughs": ("billion laughs", lambda: "assignment: broken\n" + LAUGHS + "questions: []\n"),
    "yaml-self-alias": (
        "a self-referencing alias",
        lambda: "assignment: broken\nquestions: &q [{id: q1, type: number, answer: *q}]\n",
    ),
    "yaml-tag": (
        "!!python/object/apply:os.system",
        lambda: _part("type: number\nanswer: !!python/object/apply:os.system [ls]"),
    ),
    "yaml-duplicate": ("a duplicate key", lambda: _part("type: number\nanswer: 3\nanswer: 4")),
    "binary": ("binary bytes", lambda: bytes(range(256))),
    "utf16": ("UTF-16", lambda: _part("type: number\nanswer: 3").encode("utf-16")),
    "empty": ("an empty file", lambda: ""),
    "too-large": ("3 MB", lambda: _part("type: text\nanswer: '" + "x" * 3_000_000 + "'")),
}
# Cases with no position to report: the file as a whole is wrong.
WHOLE_FILE_CASES = {"binary", "utf16", "too-large"}


def problem_files(corpus: Corpus) -> None:
    folder = corpus.root / "problems"
    folder.mkdir(exist_ok=True)
    for name, (what, build) in PROBLEM_CASES.items():
        content = build()
        path = folder / f"{name}.yaml"
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        corpus.problem_files.append(
            {"file": str(path), "what": what, "positioned": name not in WHOLE_FILE_CASES}
        )


def make_corpus(root: Path, pool: bool = False) -> Corpus:
    """Write the whole corpus under ``root`` (which must not exist yet, or be empty)."""
    root.mkdir(parents=True, exist_ok=True)
    corpus = Corpus(root=root, canaries=root / "canaries")
    corpus.canaries.mkdir(exist_ok=True)
    problem_text = PROBLEM_SET + (PROBE_PART if pool else "")
    (root / "hostile.yaml").write_text(problem_text, encoding="utf-8")
    hostile_answers(corpus)
    unreadable_files(corpus)
    link_cases(corpus)
    round_three(corpus)
    pdf_cases(corpus)
    if pool:
        pool_cases(corpus)
    problem_files(corpus)
    manifest = {
        "problem_set": str(root / "hostile.yaml"),
        "class": str(corpus.klass),
        "canaries": str(corpus.canaries),
        "students": [asdict(s) for s in corpus.students],
        "problem_files": corpus.problem_files,
    }
    (root / "manifest.json").write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    return corpus


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("out", type=Path, help="folder to write the corpus in")
    parser.add_argument(
        "--pool-cases",
        action="store_true",
        help="add the rows that need killable workers and a memory limit (grade them with "
        "python -m tests.hostile.probe_cli)",
    )
    args = parser.parse_args()
    corpus = make_corpus(args.out, pool=args.pool_cases)
    size, pending = 0, [args.out]
    while pending:  # a loop: the corpus nests folders deeper than a recursion may go
        for entry in os.scandir(pending.pop()):
            if entry.is_dir(follow_symlinks=False):
                pending.append(Path(entry.path))
            elif entry.is_file(follow_symlinks=False):
                size += entry.stat(follow_symlinks=False).st_blocks * 512
    print(
        f"wrote {len(corpus.students)} submissions and {len(corpus.problem_files)} problem files "
        f"to {args.out} ({size / 1e6:.1f} MB on disk)"
    )


if __name__ == "__main__":
    main()
