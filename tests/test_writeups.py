"""Write-ups: answers marked in LaTeX, Markdown and notebooks, read as an answers file is read.

Each test writes a small submission folder and checks what grader takes from it: the
answer text as a student typed it, where it was marked, and a warning naming the file
and line for every mark it cannot take.
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_raw_cell

from grader.core.folder import Folder
from grader.mathlang.candidates import PROSE
from grader.writeups import read_writeup, writeup_files
from grader.writeups.latex import grader_sty, read_latex
from grader.writeups.markdown import extract_markdown
from grader.writeups.notebook import read_notebooks


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _answers(folder: Path) -> dict[str, object]:
    return read_writeup(folder).answers


def _warnings(folder: Path) -> str:
    return "\n".join(read_writeup(folder).warnings)


# ---------------------------------------------------------------------------
# LaTeX


def test_inline_answer_keeps_nested_braces(tmp_path: Path) -> None:
    _write(tmp_path, "main.tex", r"Result: \answer{q1.a}{\frac{1}{\sqrt{x_{i+1}}} + {2}}." "\n")
    assert _answers(tmp_path) == {"q1.a": r"\frac{1}{\sqrt{x_{i+1}}} + {2}"}


def test_answer_environment_spans_lines_and_keeps_left_right(tmp_path: Path) -> None:
    _write(
        tmp_path,
        "main.tex",
        "\\begin{answer}{q3.jacobian}\n"
        "  \\[\n"
        "    \\operatorname{diag}\\left( S(x) \\right)\n"
        "    - S(x) S(x)^\\top\n"
        "  \\]\n"
        "\\end{answer}\n",
    )
    assert _answers(tmp_path) == {"q3.jacobian": r"\operatorname{diag}\left( S(x) \right) - S(x) S(x)^\top"}


def test_comments_inside_an_answer_are_left_out_but_escaped_percent_stays(tmp_path: Path) -> None:
    _write(
        tmp_path,
        "main.tex",
        "\\begin{answer}{q1}\n"
        "  $\\text{diag}(S(x)) % the diagonal part\n"
        "  - S(x) S(x)^\\top$ % and the outer product\n"
        "\\end{answer}\n"
        "\\answer{q2}{50\\% of the units}\n"
        "% \\answer{q3}{commented out: not an answer}\n",
    )
    assert _answers(tmp_path) == {"q1": r"\text{diag}(S(x)) - S(x) S(x)^\top", "q2": r"50\% of the units"}


def test_math_delimiters_go_but_escaped_dollars_stay(tmp_path: Path) -> None:
    _write(
        tmp_path,
        "main.tex",
        r"\answer{q1}{$\frac{1}{2}$} \answer{q2}{costs \$5, i.e. \(5\) dollars}"
        "\n\\answer{q3}{$$x^2$$}\n\\answer{q4}{\\begin{equation*} y = 2x \\end{equation*}}\n",
    )
    assert _answers(tmp_path) == {
        "q1": r"\frac{1}{2}",
        "q2": f"{PROSE}costs \\$5, i.e. {PROSE}5{PROSE} dollars{PROSE}",  # prose beside math set off
        "q3": "x^2",
        "q4": "y = 2x",
    }


def test_positions_name_file_line_and_column(tmp_path: Path) -> None:
    _write(tmp_path, "main.tex", "\\section{One}\n\n  Here: \\answer{q1}{3}\n")
    positions = read_writeup(tmp_path).positions
    assert str(positions["q1"]) == f"{tmp_path / 'main.tex'}:3:9"


def test_escaped_underscores_are_underscores(tmp_path: Path) -> None:
    _write(
        tmp_path,
        "main.tex",
        "\\answer{approx.square\\_all\\_reals}{impossible}\n\\answer{q4}{theta\\_small}\n",
    )
    assert _answers(tmp_path) == {"approx.square_all_reals": "impossible", "q4": "theta_small"}


def test_a_part_marked_twice_keeps_the_last_and_names_both_lines(tmp_path: Path) -> None:
    _write(tmp_path, "main.tex", "\\answer{q1}{1}\n\n\\answer{q1}{2}\n")
    writeup = read_writeup(tmp_path)
    assert writeup.answers == {"q1": "2"}
    main = tmp_path / "main.tex"
    assert f"part q1 is marked twice: {main}:1:1 and {main}:3:1; the last one is graded" in writeup.warnings


@pytest.mark.parametrize(
    ("source", "line", "message"),
    [
        ("text\n\\answer{q1}\nmore text\n", 2, r"\answer needs two arguments in braces"),
        ("\\answer{q1}\n\\begin{answer}{q2}x\\end{answer}\n", 1, r"\answer needs two arguments in braces"),
        ("\n\\begin{answer}\nx\n\\end{answer}\n", 2, r"\begin{answer} needs the part id in braces"),
        ("\\answer{}{3}\n", 1, "the part id is missing"),
        ("\\answer{q 1}{3}\n", 1, "'q 1' is not a part id"),
        ("a\n\n\\begin{answer}{q1}\nnever closed\n", 3, r"is never closed by \end{answer}"),
    ],
)
def test_a_malformed_mark_is_a_warning_with_file_and_line(
    tmp_path: Path, source: str, line: int, message: str
) -> None:
    _write(tmp_path, "main.tex", source)
    warnings = [w for w in read_writeup(tmp_path).warnings if message in w]
    assert warnings and warnings[0].startswith(f"{tmp_path / 'main.tex'}:{line}:")


def test_a_malformed_mark_does_not_hide_the_next_one(tmp_path: Path) -> None:
    _write(tmp_path, "main.tex", "\\answer{q1}\n\\begin{answer}{q2}\n  x + 1\n\\end{answer}\n")
    assert _answers(tmp_path) == {"q2": "x + 1"}


def test_input_and_include_are_followed_inside_the_folder(tmp_path: Path) -> None:
    _write(tmp_path, "main.tex", "\\input{sections/one}\n\\include{two.tex}\n\\input{sections/one}\n")
    _write(tmp_path, "sections/one.tex", "\\answer{q1}{1}\n\\input{main}\n")  # a cycle: read once
    _write(tmp_path, "two.tex", "\n\\answer{q2}{2}\n")
    writeup = read_writeup(tmp_path)
    assert writeup.answers == {"q1": "1", "q2": "2"}
    assert str(writeup.positions["q2"]) == f"{tmp_path / 'two.tex'}:2:1"
    assert writeup.warnings == []


def test_input_escaping_the_folder_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    _write(outside, "secret.tex", "\\answer{q9}{read from outside}\n")
    folder = tmp_path / "student"
    (folder / "link").mkdir(parents=True)
    (folder / "link" / "secret.tex").symlink_to(outside / "secret.tex")
    (folder / "alias.tex").symlink_to(outside / "secret.tex")
    _write(
        folder,
        "main.tex",
        f"\\input{{../outside/secret}}\n\\input{{{outside / 'secret.tex'}}}\n"
        "\\input{link/secret}\n\\include{missing}\n\\answer{q1}{1}\n",
    )
    writeup = read_writeup(folder)
    assert writeup.answers == {"q1": "1"}
    main = folder / "main.tex"
    refusals = [w for w in writeup.warnings if "is not read: it is outside the submission folder" in w]
    assert [w.split(": ", 1)[0] for w in refusals] == [f"{main}:1:1", f"{main}:2:1", f"{main}:3:1"]
    assert f"{folder / 'alias.tex'}: not read: it links outside the submission folder" in writeup.warnings
    assert f"{main}:4:1: \\include{{missing}} is not read: there is no such file" in "\n".join(
        writeup.warnings
    )


def test_a_tex_file_linking_outside_is_not_read(tmp_path: Path) -> None:
    outside = _write(tmp_path / "elsewhere", "notes.tex", "\\answer{q1}{from outside}\n")
    folder = tmp_path / "student"
    folder.mkdir()
    (folder / "notes.tex").symlink_to(outside)
    writeup = read_writeup(folder)
    assert writeup.answers == {}
    assert any("links outside the submission folder" in w for w in writeup.warnings)


def test_main_tex_is_read_and_an_unread_marked_file_is_named(tmp_path: Path) -> None:
    _write(tmp_path, "main.tex", "\\answer{q1}{1}\n")
    _write(tmp_path, "draft.tex", "\\answer{q1}{2}\n")
    writeup = read_writeup(tmp_path)
    assert writeup.answers == {"q1": "1"}
    assert any(
        "draft.tex: marks answers but is not read: main.tex does not \\input it" in w
        for w in writeup.warnings
    )


def test_without_main_tex_every_tex_file_is_read(tmp_path: Path) -> None:
    _write(tmp_path, "a.tex", "\\answer{q1}{1}\n")
    _write(tmp_path, "b.tex", "\\answer{q2}{2}\n")
    assert _answers(tmp_path) == {"q1": "1", "q2": "2"}


def test_verbatim_definitions_and_filecontents_are_not_answers(tmp_path: Path) -> None:
    _write(
        tmp_path,
        "main.tex",
        "\\begin{filecontents*}[overwrite]{grader.sty}\n" + grader_sty() + "\\end{filecontents*}\n"
        "\\newcommand{\\answerbox}[2]{#2}\n"
        "\\begin{verbatim}\n\\answer{q8}{in verbatim}\n\\end{verbatim}\n"
        "\\verb|\\answer{q9}{in verb}|\n"
        "\\answer{q1}{1}\n",
    )
    writeup = read_writeup(tmp_path)
    assert writeup.answers == {"q1": "1"}
    assert writeup.warnings == []


def test_a_huge_or_binary_tex_file_is_refused_with_a_reason(tmp_path: Path) -> None:
    (tmp_path / "main.tex").write_bytes(b"\\answer{q1}{1}\x00")
    assert read_writeup(tmp_path).answers == {}
    assert any("binary" in w for w in read_writeup(tmp_path).warnings)
    (tmp_path / "main.tex").write_text("\\answer{q1}{1}\n" + "%" * 1_100_000)
    assert any("too large" in w for w in read_writeup(tmp_path).warnings)


def test_braces_nested_past_any_sense_are_a_warning_not_a_crash(tmp_path: Path) -> None:
    _write(tmp_path, "main.tex", "\\answer{q1}{" + "{" * 3000 + "}" * 3000 + "}\n")
    writeup = read_writeup(tmp_path)
    assert writeup.answers == {} and any("nest too deeply" in w for w in writeup.warnings)


def test_grader_sty_is_shipped() -> None:
    sty = grader_sty()
    assert "\\ProvidesPackage{grader}" in sty and "\\newcommand{\\answer}" in sty


# ---------------------------------------------------------------------------
# Markdown


def test_markdown_answer_lines_and_blocks() -> None:
    text = (
        "# Homework\n\n"
        "Answer q6.full: $[1, 2, 5, 8, 6, 8]$\n\n"
        "The kernel was flipped first.\n\n"
        "**Answer q7:** $24 \\times 24 \\times 128$\n\n"
        "- Answer q8.1a: $k = 8,\n  s = 2$\n\n"
        "```answer q2.jacobian\n\\text{diag}(S(x)) - S(x) S(x)^\\top\n```\n\n"
        "    Answer q9: in an indented code block, not a mark\n\n"
        "```python\nanswer = 'not a mark either'\n```\n"
    )
    found = extract_markdown(text, "hw.md")
    assert {m.part_id: m.answer for m in found.marks} == {
        "q6.full": "[1, 2, 5, 8, 6, 8]",
        "q7": "24 \\times 24 \\times 128",
        "q8.1a": "k = 8, s = 2",
        "q2.jacobian": "\\text{diag}(S(x)) - S(x) S(x)^\\top",
    }
    assert [str(m.position) for m in found.marks] == ["hw.md:3:1", "hw.md:7:1", "hw.md:9:3", "hw.md:12:1"]
    assert found.warnings == []


def test_a_markdown_answer_runs_to_the_end_of_its_paragraph_or_the_next_marker() -> None:
    text = (
        "Answer q1.proof:\nFor x > 0 the limit is 1;\nfor x < 0 it is 0.\n\nNot part of it.\n\n"
        "Answer q2:\n$$\n\\frac{e^z}{(1 + e^z)^2}\n$$\n\n"
        "**Answer q3.a:** $k_i^T q$ must be larger than\n$k_j^T q$ for all $j$.\nAnswer q3.b: 7\n"
    )
    found = extract_markdown(text, "hw.md")
    # the text as typed; prose beside math is set off by invisible marks (PROSE)
    assert {m.part_id: m.answer.replace(PROSE, "") for m in found.marks} == {
        "q1.proof": "For x > 0 the limit is 1; for x < 0 it is 0.",
        "q2": "\\frac{e^z}{(1 + e^z)^2}",
        "q3.a": "k_i^T q must be larger than k_j^T q for all j.",
        "q3.b": "7",
    }


def test_markdown_escaped_dollar_is_kept_and_escaped_underscore_read() -> None:
    found = extract_markdown("Answer q5: Take $x = 2$, than 1 \\$ 4\n\nAnswer q6: theta\\_small\n", "hw.md")
    assert [m.answer.replace(PROSE, "") for m in found.marks] == ["Take x = 2, than 1 \\$ 4", "theta_small"]


def test_markdown_malformed_markers_are_named() -> None:
    text = (
        "Answer q6.full $[1, 2]$\n\n```answer\n[1, 2]\n```\n\n"
        "~~~answer q1 q2\nx\n~~~\n\nAnswer q1: $x + 1\n\n"
    )
    found = extract_markdown(text, "hw.md")
    assert [m.part_id for m in found.marks] == ["q1"]
    assert found.warnings == [
        "hw.md:1:1: this looks like an answer marker without its colon: write 'Answer q6.full: ...'",
        "hw.md:3:1: an answer block names one part after 'answer': ```answer q6.full",
        "hw.md:7:1: an answer block names one part after 'answer': ```answer q6.full",
        "hw.md:11:1: answer q1: a $ opens math that is never closed",
    ]


def test_a_readme_without_marks_is_no_writeup(tmp_path: Path) -> None:
    _write(tmp_path, "README.md", "# My repository\n\nThe answer to everything is 42.\n")
    assert writeup_files(tmp_path) == []
    _write(tmp_path, "hw.md", "Answer q1: 42\n")
    assert writeup_files(tmp_path) == ["hw.md"]


# ---------------------------------------------------------------------------
# Notebooks


def _notebook(folder: Path, *cells: nbformat.NotebookNode, name: str = "hw.ipynb") -> Path:
    notebook = new_notebook(cells=list(cells))
    for number, cell in enumerate(notebook.cells, start=1):
        cell["id"] = f"c{number}"
    path = folder / name
    nbformat.write(notebook, str(path))
    return path


def _tags(*tags: str) -> dict[str, list[str]]:
    return {"tags": list(tags)}


def test_tagged_cells_are_answers(tmp_path: Path) -> None:
    _notebook(
        tmp_path,
        new_markdown_cell("# Homework"),
        new_markdown_cell("$$\\Theta(n^2 d)$$", metadata=_tags("answer:q3.head_time")),
        new_raw_cell("k = 8, s = 2", metadata=_tags("answer:q8.2a")),
    )
    writeup = read_writeup(tmp_path)
    assert writeup.answers == {"q3.head_time": "\\Theta(n^2 d)", "q8.2a": "k = 8, s = 2"}
    assert str(writeup.positions["q8.2a"]) == f"{tmp_path / 'hw.ipynb'} cell 3, line 1"


def test_a_cell_with_several_tags_answers_each_tagged_part(tmp_path: Path) -> None:
    cell = new_markdown_cell(
        "No", metadata=_tags("solution", "answer:q3.convex", "hide-input", "answer:q3.concave")
    )
    _notebook(tmp_path, cell)
    writeup = read_writeup(tmp_path)
    assert writeup.answers == {"q3.convex": "No", "q3.concave": "No"}
    assert writeup.warnings == []


def test_code_cells_give_the_literal_their_last_line_assigns(tmp_path: Path) -> None:
    _notebook(
        tmp_path,
        new_code_cell("%matplotlib inline\nimport numpy as np\nanswer_q6_full = [1, 2, 5, 8, 6, -8]"),
        new_code_cell("answer_q8_1a = {'k': 8, 's': 2, 'p': 3, 'd': 1}"),
        new_code_cell("x = r'\\beta'", metadata=_tags("answer:q2.alpha")),
    )
    writeup = read_writeup(tmp_path)
    assert writeup.answers == {
        "q6_full": [1, 2, 5, 8, 6, -8],
        "q8_1a": {"k": 8, "s": 2, "p": 3, "d": 1},
        "q2.alpha": "\\beta",
    }
    assert str(writeup.positions["q6_full"]) == f"{tmp_path / 'hw.ipynb'} cell 1, line 3 (answer_q6_full)"


def test_code_is_never_run(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    _notebook(
        tmp_path,
        new_code_cell(f"open({str(marker)!r}, 'w').close()\nanswer_q1 = __import__('os').getcwd()"),
        new_code_cell("answer_q2 = 1\nanswer_q3 = len('abc')"),
        new_code_cell("def broken(:\n    answer_q4 = 1"),
        new_code_cell("print(len('no answer here'))", metadata=_tags("answer:q5")),
    )
    writeup = read_writeup(tmp_path)
    # a tagged cell that assigns no value is code, kept as text for a code part's sandbox
    assert writeup.answers == {"q5": "print(len('no answer here'))"} and not marker.exists()
    nb = tmp_path / "hw.ipynb"
    assert writeup.warnings == [
        f"{nb} cell 1, line 2: answer_q1 is not read: only a string, a number, or a list or mapping "
        "of them is read; grader never runs code",
        f"{nb} cell 2, line 1: answer_q2 is not on the cell's last line, where grader reads answers",
        f"{nb} cell 2, line 2: answer_q3 is not read: only a string, a number, or a list or mapping "
        "of them is read; grader never runs code",
        f"{nb} cell 3, line 1: the code cannot be read as Python; no answer taken",
    ]


def test_a_tagged_code_cell_is_a_code_answer(tmp_path: Path) -> None:
    body = "%time\nself.weight.grad = dLdout.T @ self.inputs[0]\nreturn dLdout @ self.weight"
    function = "import torch\n\ndef evaluate(model, loader):\n    return 1.0"
    _notebook(
        tmp_path,
        new_code_cell(body, metadata=_tags("answer:q10.linear_backward")),
        new_code_cell(function, metadata=_tags("answer:q11.evaluate")),
        new_code_cell("def helper():\n    pass\nanswer = [1, 2]", metadata=_tags("answer:q6")),
    )
    writeup = read_writeup(tmp_path)
    assert writeup.answers == {
        "q10.linear_backward": "\nself.weight.grad = dLdout.T @ self.inputs[0]\nreturn dLdout @ self.weight",
        "q11.evaluate": function,
        "q6": [1, 2],  # a cell that ends by assigning a value still gives that value
    }
    assert str(writeup.positions["q11.evaluate"]) == f"{tmp_path / 'hw.ipynb'} cell 2, line 1"


def test_untagged_markdown_cells_are_read_as_markdown(tmp_path: Path) -> None:
    _notebook(tmp_path, new_markdown_cell("## Q1\n\nAnswer q1.a: $\\frac{1}{2}$"))
    writeup = read_writeup(tmp_path)
    assert writeup.answers == {"q1.a": "\\frac{1}{2}"}
    assert str(writeup.positions["q1.a"]) == f"{tmp_path / 'hw.ipynb'} cell 1, line 3"


def test_malformed_tags_are_named(tmp_path: Path) -> None:
    _notebook(
        tmp_path,
        new_markdown_cell("x", metadata=_tags("answer")),
        new_markdown_cell("y", metadata=_tags("answer:")),
        new_markdown_cell("z", metadata=_tags("answer:q 1")),
    )
    nb = tmp_path / "hw.ipynb"
    assert read_writeup(tmp_path).warnings == [
        f"{nb} cell 1, line 1: tag 'answer' names no part: tag the cell answer:q6.full",
        f"{nb} cell 2, line 1: tag 'answer:' is not read: the part id is missing",
        f"{nb} cell 3, line 1: tag 'answer:q 1' is not read: 'q 1' is not a part id "
        "(letters, digits, '.', '_' and '-', as in q6.full)",
    ]


def test_a_file_that_is_not_a_notebook_is_a_warning(tmp_path: Path) -> None:
    _write(tmp_path, "hw.ipynb", '{"cells": [ "answer_q1 = 1"')
    found = read_notebooks(Folder.from_disk(tmp_path))
    assert found.marks == [] and "not a Jupyter notebook" in found.warnings[0]
    _write(tmp_path, "hw.ipynb", json.dumps({"cells": "answer_q1", "nbformat": 4, "nbformat_minor": 5}))
    assert read_notebooks(Folder.from_disk(tmp_path)).marks == []


def test_formats_mix_in_one_folder(tmp_path: Path) -> None:
    _write(tmp_path, "main.tex", "\\answer{q1}{1}\n")
    _write(tmp_path, "extra.md", "Answer q2: 2\n")
    _notebook(tmp_path, new_markdown_cell("3", metadata=_tags("answer:q3")))
    writeup = read_writeup(tmp_path)
    assert writeup.answers == {"q1": "1", "q2": "2", "q3": "3"}
    assert writeup.files == [str(tmp_path / n) for n in ("main.tex", "extra.md", "hw.ipynb")]


def test_latex_reader_alone(tmp_path: Path) -> None:
    _write(tmp_path, "main.tex", "\\answer{q1}{1}\n")
    assert [(m.part_id, m.answer) for m in read_latex(Folder.from_disk(tmp_path)).marks] == [("q1", "1")]
