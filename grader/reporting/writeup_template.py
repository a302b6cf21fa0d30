"""Write-up skeletons for students: every part's prompt and an empty marked answer, in LaTeX,
Markdown or a Jupyter notebook (``grader template --format latex|markdown|ipynb``).

An empty mark is a missing answer, so a skeleton graded as it is gives every part
``missing``; a student fills in the marks and hands in the write-up itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from grader.core.parts import PartBase
from grader.spec import ProblemSet, Question
from grader.types import ANSWER_TYPES
from grader.types.choice import ChoicePart
from grader.writeups.latex_files import grader_sty

WRITEUP_FORMATS = ("latex", "markdown", "ipynb")
# The file name each skeleton is meant to be saved as (grader reads main.tex first).
SKELETON_FILES = {"latex": "main.tex", "markdown": "answers.md", "ipynb": "answers.ipynb"}

# Jupyter opens a notebook with a kernelspec without asking which kernel to start.
NOTEBOOK_KERNEL = {
    "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
    "language_info": {"name": "python"},
}

_LATEX_SPECIALS = {
    "\\": r"\textbackslash{}",
    "{": r"\{",
    "}": r"\}",
    "$": r"\$",
    "&": r"\&",
    "#": r"\#",
    "^": r"\^{}",
    "_": r"\_",
    "%": r"\%",
    "~": r"\~{}",
}


@dataclass(frozen=True)
class _Entry:
    """One part of the problem set, as a skeleton shows it."""

    address: str  # q6.full, or q7 for a question without parts
    question: Question
    part: PartBase
    first_of_question: bool

    @property
    def heading(self) -> str:
        points = f"{self.part.points:g} point" + ("" if self.part.points == 1 else "s")
        return f"{self.address} ({self.part.type}, {points})"

    @property
    def is_code(self) -> bool:
        return self.part.type == "code"

    def hint(self, fmt: str) -> str:
        """How to answer, in the write-up's own words (not the answers file's)."""
        answer_type = ANSWER_TYPES.get(self.part.type)
        if answer_type is None:
            return ""
        if answer_type.writeup_hint is not None:
            return answer_type.writeup_hint(self.part, fmt)
        return answer_type.hint(self.part)


def _entries(spec: ProblemSet) -> Iterator[_Entry]:
    for question in spec.questions:
        for index, part in enumerate(question.parts):
            address = question.id if question.single else f"{question.id}.{part.id}"
            yield _Entry(address, question, part, index == 0)


def _question_heading(question: Question) -> str:
    return question.id + (f": {question.title}" if question.title else "")


# What the skeleton says of code answers, when the set has code parts.
_LATEX_CODE_NOTE = [
    "% Code answers go in the \\begin{verbatim} ... \\end{verbatim} inside their answer (or in",
    "% lstlisting): read as typed, line breaks and indentation kept; anywhere else an answer is",
    "% read as one line.",
]
_MARKDOWN_CODE_NOTE = [
    "<!-- Code answers go in the ```python block right under their Answer line: read as typed,",
    "line breaks and indentation kept. -->",
]


def _has_code(spec: ProblemSet) -> bool:
    return any(part.type == "code" for _, _, part in spec.iter_parts())


def render_writeup_template(spec: ProblemSet, fmt: str) -> str:
    """The skeleton of a write-up in ``fmt`` (one of WRITEUP_FORMATS)."""
    renderers = {"latex": _latex, "markdown": _markdown, "ipynb": _notebook}
    if fmt not in renderers:
        raise ValueError(f"unknown write-up format {fmt!r}; use one of {', '.join(WRITEUP_FORMATS)}")
    return renderers[fmt](spec)


def latex_escape(text: str) -> str:
    """Plain text as LaTeX typesets it literally."""
    return "".join(_LATEX_SPECIALS.get(char, char) for char in text)


def _latex(spec: ProblemSet) -> str:
    title = spec.title or spec.assignment
    lines = [
        f"% {spec.assignment}: a write-up for grader. Write each answer inside its mark:",
        "%   \\answer{<part id>}{$[4, 0, -1]$}, or \\begin{answer}{<part id>} ... \\end{answer}.",
        "% grader reads the marked answers as typed (math delimiters and % comments left out);",
        "% everything else is yours. A mark left empty is a missing answer.",
        *(_LATEX_CODE_NOTE if _has_code(spec) else []),
        "% The filecontents block writes grader.sty beside this file the first time LaTeX runs.",
        "\\begin{filecontents*}[overwrite]{grader.sty}",
        grader_sty().rstrip("\n"),
        "\\end{filecontents*}",
        "\\documentclass[11pt]{article}",
        "\\usepackage[T1]{fontenc}",
        "\\usepackage{amsmath,amssymb}",
        "\\usepackage{grader}",
        "",
        f"\\title{{{latex_escape(title)}}}",
        "\\author{}",
        "\\date{}",
        "",
        "\\begin{document}",
        "\\maketitle",
    ]
    for entry in _entries(spec):
        if entry.first_of_question:
            lines += ["", f"\\section*{{{latex_escape(_question_heading(entry.question))}}}"]
            if entry.question.prompt and not entry.question.single:
                lines += [latex_escape(entry.question.prompt.strip())]
        lines += ["", f"\\subsection*{{{latex_escape(entry.heading)}}}"]
        if entry.part.prompt or (entry.question.single and entry.question.prompt):
            lines.append(latex_prose((entry.part.prompt or entry.question.prompt or "").strip()))
        lines += _latex_options(entry.part)
        hint = entry.hint("latex")
        if hint:
            lines += ["", f"\\noindent\\textit{{Answer with {latex_escape(hint)}.}}"]
        # code keeps its lines only in verbatim: LaTeX reads any other answer as one line
        body = ["\\begin{verbatim}", "", "\\end{verbatim}"] if entry.is_code else [""]
        lines += [
            "",
            "\\paragraph{Your answer}",  # set apart from the prompt
            f"\\begin{{answer}}{{{entry.address}}}",
            *body,
            "\\end{answer}",
        ]
    lines += ["", "\\end{document}"]
    return "\n".join(lines) + "\n"


def latex_prose(text: str) -> str:
    """A TA's prompt as LaTeX: its ``$...$`` math typeset as written, the rest escaped."""
    pieces = re.split(r"(\$[^$]+\$)", text)
    return "".join(
        piece if piece.startswith("$") and len(piece) > 1 else latex_escape(piece) for piece in pieces
    )


def _latex_options(part: PartBase) -> list[str]:
    """A choice part's options, listed where the student reads the question."""
    if not isinstance(part, ChoicePart):
        return []
    items = [
        f"  \\item[({latex_escape(key)})] {latex_prose(str(text))}" for key, text in part.options.items()
    ]
    return ["\\begin{itemize}", *items, "\\end{itemize}"]


def _markdown_options(part: PartBase) -> list[str]:
    if not isinstance(part, ChoicePart):
        return []
    return [f"- ({key}) {text}" for key, text in part.options.items()] + [""]


def _markdown(spec: ProblemSet) -> str:
    lines = [
        f"<!-- {spec.assignment}: a write-up for grader. Write each answer after its",
        '"Answer <part id>:" mark, on the same line or in the lines right below it (up to the',
        "next blank line); math goes in $...$ or $$...$$. A fenced block ```answer <part id>",
        "marks an answer too. grader reads only the marked answers; a mark left empty is a",
        "missing answer. -->",
        *(_MARKDOWN_CODE_NOTE if _has_code(spec) else []),
        "",
        f"# {spec.title or spec.assignment}",
    ]
    for entry in _entries(spec):
        if entry.first_of_question:
            lines += ["", f"## {_question_heading(entry.question)}"]
            if entry.question.prompt and not entry.question.single:
                lines += ["", entry.question.prompt.strip()]
        lines += ["", f"### {entry.heading}", ""]
        prompt = entry.part.prompt or (entry.question.prompt if entry.question.single else None)
        if prompt:
            lines += [prompt.strip(), ""]
        lines += _markdown_options(entry.part)
        hint = entry.hint("markdown")
        if hint:
            lines += [f"*Answer with* {_markdown_code_span(hint)}", ""]
        lines.append(f"Answer {entry.address}:")
        if entry.is_code:  # a fenced block keeps the code's lines
            lines += ["", "```python", "", "```"]
    return "\n".join(lines) + "\n"


def _markdown_code_span(text: str) -> str:
    """``text`` as inline code, fenced by more backticks than it holds in a row."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or longest else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _notebook(spec: ProblemSet) -> str:
    import nbformat  # with jsonschema: only for this template
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

    cells = [
        new_markdown_cell(
            f"# {spec.title or spec.assignment}\n\n"
            "A write-up for grader: each answer goes in the Markdown cell tagged `answer:<part id>`"
            " below its part (math in `$...$`; code in the code cell tagged so), or in a code cell whose"
            " last line is"
            " `answer_<part id, with _ for .> = <a string, number, list or dict>`."
            " grader reads the marked answers and never runs a cell; an empty answer cell is a"
            " missing answer."
        )
    ]
    for entry in _entries(spec):
        if entry.first_of_question:
            intro = (
                entry.question.prompt.strip() if entry.question.prompt and not entry.question.single else ""
            )
            cells.append(
                new_markdown_cell(
                    f"## {_question_heading(entry.question)}" + (f"\n\n{intro}" if intro else "")
                )
            )
        prompt = entry.part.prompt or (entry.question.prompt if entry.question.single else None)
        text = f"### {entry.heading}" + (f"\n\n{prompt.strip()}" if prompt else "")
        options = _markdown_options(entry.part)
        if options:
            text += "\n\n" + "\n".join(options).rstrip()
        hint = entry.hint("ipynb").replace("<part id>", entry.address)
        if hint:
            text += f"\n\n*Answer with* {_markdown_code_span(hint)}"
        cells.append(new_markdown_cell(text))
        tags = {"tags": [f"answer:{entry.address}"]}
        # code in a code cell, where it keeps its lines (grader never runs a cell)
        cells.append(
            new_code_cell("", metadata=tags) if entry.is_code else new_markdown_cell("", metadata=tags)
        )
    for number, cell in enumerate(cells, start=1):
        cell["id"] = f"cell-{number}"
    notebook = new_notebook(
        cells=cells, metadata={"grader": {"assignment": spec.assignment}, **NOTEBOOK_KERNEL}
    )
    return str(nbformat.writes(notebook)) + "\n"
