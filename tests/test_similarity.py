"""grader similar (issue 63): the pairs a TA must see and the honest pairs they must not,
from tests/cases/similarity/pairs.yaml, the pieces that decide them, and the command on
the shipped examples and on write-ups (LaTeX, Markdown, a notebook) of one answer."""

from __future__ import annotations

import csv
import io
import json
import random
from pathlib import Path
from typing import Any

import nbformat
import pytest
import yaml
from click.testing import CliRunner

from grader.cli import main
from grader.loading import load_problem_set
from grader.similarity import compare_class
from grader.similarity.code import code_tokens
from grader.similarity.compare import set_aside
from grader.similarity.models import SIGNALS
from grader.similarity.writing import canonical_tokens, prose_features

ROOT = Path(__file__).parent.parent
TABLE = Path(__file__).parent / "cases" / "similarity" / "pairs.yaml"


def _cases() -> list[Any]:
    found = []
    for group in yaml.safe_load(TABLE.read_text()):
        for pair in group["pairs"]:
            found.append(
                pytest.param(group["problems"], pair, id=f"{group['description']}: {pair['description']}")
            )
    return found


@pytest.mark.parametrize(("problems", "case"), _cases())
def test_pairs_table(problems: str, case: dict[str, Any]) -> None:
    spec = load_problem_set(ROOT / problems)
    answers = {"a": case.get("a", {}), "b": case.get("b", {})}
    wrong = {
        "a": {part: (key, key) for part, key in case.get("wrong_a", {}).items()},
        "b": {part: (key, key) for part, key in case.get("wrong_b", {}).items()},
    }
    for n, other in enumerate(case.get("others", [])):
        answers[f"other{n}"] = other.get("answers", {})
        wrong[f"other{n}"] = {part: (key, key) for part, key in other.get("wrong", {}).items()}
    found = compare_class(spec, answers, wrong=wrong, shown_from=0.0)
    pair = next((p for p in found.pairs if {p.a, p.b} == {"a", "b"}), None)
    expected = case.get("found") or case["honest"]
    signal = expected.get("signal")
    score = 0.0 if pair is None else (pair.signals[signal].score if signal else pair.score)
    if "found" in case:
        assert pair is not None and score >= expected["at_least"], pair
    else:
        assert score <= expected["at_most"], pair


def test_a_fraction_and_a_slash_are_one_formula() -> None:
    assert canonical_tokens(r"\frac{a}{b}") == canonical_tokens("a/b")
    assert canonical_tokens(r"\frac{a}{b}") != canonical_tokens("b/a")
    assert canonical_tokens(r"\frac{a}{b} \cdot \left( x + 1 \right)") == canonical_tokens("a/b*(x+1)")
    assert canonical_tokens(r"c \cdot f(x)") == canonical_tokens("c f(x)")


def test_code_tokens_forget_names_comments_and_layout_but_keep_the_library_calls() -> None:
    one = [t.kind for t in code_tokens("total = torch.matmul(a, b)  # product\n")]
    other = [t.kind for t in code_tokens("s   =   torch.matmul( x,y )\n\n")]
    assert one == other
    assert "matmul" in one
    assert one != [t.kind for t in code_tokens("total = torch.mm(a, b)\n")]


def test_code_a_lexer_cannot_finish_is_read_on() -> None:
    kinds = [t.kind for t in code_tokens("x = f(1, 'q'\ny = [")]
    assert kinds[:3] == ["V", "=", "V"] and "S" in kinds


def test_prose_ignores_case_and_line_breaks() -> None:
    one = {f.hash for f in prose_features("The network is positively homogeneous everywhere")}
    other = {f.hash for f in prose_features("THE NETWORK\nis positively   homogeneous everywhere")}
    assert one and one == other


def test_a_large_class_goes_through_candidates_and_finds_the_same_copies() -> None:
    spec = load_problem_set(ROOT / "problems/approximation-backprop-cifar.yaml")
    words = "origin kink slope weight bias unit layer scale input output target breakpoint sum zero".split()  # noqa: SIM905
    calls = [
        "p.grad.sum()",
        "p.data.clone()",
        "p.grad.abs()",
        "p.data.norm()",
        "p.grad.mean()",
        "p.data.max()",
    ]
    answers: dict[str, dict[str, Any]] = {}
    for n in range(30):
        rng = random.Random(n)
        own = [f"{rng.choice(['a', 'b', 'c'])} = {rng.choice(calls)}" for _ in range(4)]
        answers[f"s{n:02d}"] = {
            "q5.b": " ".join(rng.choice(words) for _ in range(30)),
            "q11.sgd_step": "for p in model.parameters():\n    " + "\n    ".join(own) + "\n",
        }
    answers["copy"] = dict(answers["s07"])
    every = compare_class(spec, answers, shown_from=0.5)
    sampled = compare_class(spec, answers, shown_from=0.5, all_pairs_up_to=5)
    assert [(p.a, p.b) for p in every.pairs][:1] == [("copy", "s07")]
    assert [(p.a, p.b, p.score) for p in sampled.pairs] == [(p.a, p.b, p.score) for p in every.pairs]


@pytest.mark.parametrize(
    ("sheets", "parts", "aside"),
    [
        (500, 11, 2),  # two parts above their level: some honest pairs; three: none
        (5000, 11, 2),  # ten times the sheets, a hundred times the pairs, the same levels' share
        (50, 11, 3),  # fewer pairs, but each level coarser: one pair in 100 is above it
        (500, 3, 2),  # never all of a sheet's parts
    ],
)
def test_the_parts_set_aside_follow_the_class_null_model(sheets: int, parts: int, aside: int) -> None:
    pairs = sheets * (sheets - 1) / 2
    level = 1 / (2 * (sheets - 1))  # each part's chance level: one pair in 2 N above it
    assert set_aside([level] * parts, pairs) == aside


def test_a_class_where_few_pairs_are_above_any_level_sets_one_part_aside() -> None:
    # twenty sheets, one pair above the level in three parts (the rest handed in nothing)
    assert set_aside([1 / 190] * 3 + [0.0] * 3, 190) == 1


# ---- the command --------------------------------------------------------------------------


def _run(*args: str) -> Any:
    return CliRunner().invoke(main, ["similar", *args], catch_exceptions=False)


def test_cli_json_on_the_shipped_variants_finds_the_planted_copy_and_the_shared_slips(tmp_path: Path) -> None:
    """s2600004 copied s2600001's right answers into another variant; s2600003 and
    s2600006 gave the same listed mistakes in two variants (the same slip, other numbers)."""
    result = _run(
        str(ROOT / "submissions/variants-relu-conv-softmax"),
        "-p",
        str(ROOT / "problems/variants-relu-conv-softmax.yaml"),
        "--format",
        "json",
    )
    assert result.exit_code == 0, result.output
    pairs = json.loads(result.output)
    found = {(p["a"], p["b"]): p for p in pairs}
    assert {(p["a"], p["b"]) for p in pairs[:2]} == {("s2600001", "s2600004"), ("s2600003", "s2600006")}
    assert all(p["score"] < 0.5 <= pairs[1]["score"] for p in pairs[2:])
    assert all(set(p["signals"]) == set(SIGNALS) and 0 <= p["score"] <= 1 for p in pairs)
    assert found[("s2600003", "s2600006")]["signals"]["answers"]["score"] >= 0.5
    shared = found[("s2600003", "s2600006")]["signals"]["answers"]["answers"]
    assert {s["part"] for s in shared} == {"q1", "q2", "q3"}
    assert found[("s2600001", "s2600004")]["signals"]["formulas"]["score"] >= 0.5


def test_cli_out_writes_the_page_and_the_csv_with_student_text_escaped(tmp_path: Path) -> None:
    spec = ROOT / "problems/approximation-backprop-cifar.yaml"
    seed = yaml.safe_load(
        (ROOT / "submissions/approximation-backprop-cifar/seed-002/answers.yaml").read_text()
    )
    klass = tmp_path / "class"
    hostile = "<script>alert(1)</script>"
    for name, answers in {
        "alice": seed["answers"],
        "=bob": {**seed["answers"], "q12": seed["answers"]["q12"] + " " + hostile},
        "carol": {"q12": "The curves are flat; nothing was learnt at all by this model in any epoch."},
    }.items():
        (klass / name).mkdir(parents=True)
        (klass / name / "answers.yaml").write_text(yaml.safe_dump({"answers": answers}))
    out = tmp_path / "out"
    result = _run(str(klass), "-p", str(spec), "--out", str(out), "--no-grade")
    assert result.exit_code == 0, result.output
    assert "=bob" in result.output and "alice" in result.output
    page = (out / "similarity.html").read_text()
    assert hostile not in page and "&lt;script&gt;" in page
    assert "<mark>" in page
    rows = list(csv.DictReader(io.StringIO((out / "similarity.csv").read_text())))
    assert {rows[0]["a"], rows[0]["b"]} == {"alice", "'=bob"}  # a cell a spreadsheet would run is quoted
    assert float(rows[0]["score"]) >= 0.9 and float(rows[0]["code"]) >= 0.9
    assert all("carol" not in (r["a"], r["b"]) for r in rows)
    assert oct((out / "similarity.csv").stat().st_mode & 0o777) == "0o600"


def test_cli_latex_markdown_and_notebook_write_ups_of_one_answer_are_one_sheet(tmp_path: Path) -> None:
    spec = ROOT / "problems/approximation-backprop-cifar.yaml"
    proof = (
        "Without biases every hidden unit switches at the origin, so f is positively homogeneous and "
        "every kink of f sits at zero; the target bends elsewhere, so no weights can match it"
    )
    code = (
        "def backward(self, dLdout):\n    gate = (self.inputs[0] > 0).to(dLdout.dtype)\n"
        "    return gate * dLdout\n"
    )
    klass = tmp_path / "class"
    for name in ("tex", "md", "nb", "own"):
        (klass / name).mkdir(parents=True)
    (klass / "tex" / "main.tex").write_text(
        "\\documentclass{article}\\usepackage{grader}\\begin{document}\n"
        f"\\begin{{answer}}{{q5.b}}\n{proof}: $f(c x) = c \\cdot f(x)$.\n\\end{{answer}}\n"
        f"\\begin{{answer}}{{q10.relu_backward}}\n\\begin{{verbatim}}\n{code}\\end{{verbatim}}\n\\end{{answer}}\n"
        "\\end{document}\n"
    )
    (klass / "md" / "answers.md").write_text(
        f"**Answer q5.b:** {proof.upper()}: $f(c x) = c f(x)$.\n\nAnswer q10.relu_backward:\n\n```python\n"
        + code.replace("gate", "mask")
        + "```\n"
    )
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_markdown_cell(f"{proof}: $f(c\\,x) = c\\,f(x)$.", metadata={"tags": ["answer:q5.b"]}),
        nbformat.v4.new_code_cell(code.replace("gate", "g"), metadata={"tags": ["answer:q10.relu_backward"]}),
    ]
    nbformat.write(notebook, str(klass / "nb" / "hw.ipynb"))
    (klass / "own" / "answers.yaml").write_text(
        yaml.safe_dump(
            {
                "answers": {
                    "q5.b": "Scaling the input by two scales the output by two, yet the target bends there.",
                    "q10.relu_backward": (
                        "def backward(self, dLdout):\n    return torch.where(self.inputs[0] > 0, dLdout, 0)\n"
                    ),
                }
            }
        )
    )
    result = _run(str(klass), "-p", str(spec), "--format", "json", "--no-grade")
    assert result.exit_code == 0, result.output
    pairs = {frozenset((p["a"], p["b"])): p for p in json.loads(result.output)}
    for one, other in (("tex", "md"), ("tex", "nb"), ("md", "nb")):
        pair = pairs[frozenset((one, other))]
        assert pair["score"] >= 0.8, pair
        assert pair["signals"]["code"]["score"] >= 0.8 and pair["signals"]["prose"]["score"] >= 0.8, pair
    assert all("own" not in key for key in pairs)


def test_cli_bad_usage(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    result = _run(str(tmp_path / "empty"), "-p", str(ROOT / "problems/mfdnn-hw3.yaml"))
    assert result.exit_code == 2 and "holds no submissions" in result.output


def test_cli_corpus_compares_earlier_terms_with_the_class_only(tmp_path: Path) -> None:
    seeds = ROOT / "submissions/variants-relu-conv-softmax"
    klass, earlier = tmp_path / "class", tmp_path / "2025"
    for folder, names in ((klass, ("s2600002", "s2600004")), (earlier, ("s2600001", "s2600005"))):
        for name in names:
            (folder / name).mkdir(parents=True)
            (folder / name / "answers.yaml").write_text((seeds / name / "answers.yaml").read_text())
    result = _run(
        str(klass), "-p", str(ROOT / "problems/variants-relu-conv-softmax.yaml"), "--corpus", str(earlier),
        "--format", "json", "--no-grade",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    pairs = json.loads(result.output)
    assert (pairs[0]["a"], pairs[0]["b"]) == ("s2600004", "corpus:2025/s2600001")  # last term's sheet, copied
    assert pairs[0]["score"] >= 0.8
    assert all(not (p["a"].startswith("corpus:") and p["b"].startswith("corpus:")) for p in pairs)
