"""A synthetic class for batch benchmarks and tests: one problem set, many answer sheets.

    python benchmarks/make_class.py OUT --sheets 500 [--seed 1] [--parts 45] [--variety]

writes ``OUT/problem-set.yaml`` (auto-graded parts of every shipped problem set but
code parts, which have their own benchmark, taken in turn from each, question ids
prefixed by their set) and
``OUT/class/<student>/answers.yaml``. Each answer is drawn, seeded, from: the
reference answer, the shipped submissions' answers, the listed mistakes, a wrong
variant of the reference (a number or a network weight changed), a hostile
string (towers, deep nesting, injection text, huge input) or nothing. A few
sheets are unreadable, a few are JSON, and a few give another student's name.

With ``--variety`` each student writes afresh, as a real class does: a right
answer restated (a formula scaled and divided back by a number of their own,
bracketed, in LaTeX or plain notation; a number as written or as a product of
their own), a listed mistake or a classmate's answer restated the same way,
every number of a wrong answer (a weight, an entry, a count, the size of a
hostile string) drawn anew, so that most (part, answer) pairs are distinct: the
script prints the share. Only the answers that cannot be written another way
repeat (an option of a choice part, a blank). The shipped synthetic class
repeats far more than a real one.
"""

from __future__ import annotations

import argparse
import copy
import json
import random
from pathlib import Path
from typing import Any

import yaml

from grader.core.yamlio import load_with_positions
from grader.types import ANSWER_TYPES

ROOT = Path(__file__).resolve().parent.parent
HOSTILE = [
    "9^9^9^9",
    "(" * 300 + "x" + ")" * 300,
    "\\frac{" * 80 + "1" + "}" * 80,
    "x" * 6000,
    "__import__('os').system('touch /tmp/pwned')",
    "${{ secrets.TOKEN }} {{7*7}} \\input{/etc/passwd}",
    "\\begin{bmatrix}" + " & ".join(["1"] * 70) + "\\end{bmatrix}",
    "1e999999",
    "exp(exp(exp(exp(100))))",
]
CHOICES = ("reference", "shipped", "mistake", "wrong", "hostile", "missing")
WEIGHTS = (35, 20, 12, 15, 6, 12)
# With --variety: fewer answers copied from the shipped ones, more written afresh.
VARIETY_WEIGHTS = (45, 5, 6, 32, 3, 9)
WRITTEN_AFRESH = ("expression", "number", "network", "array", "shape", "complexity", "constraint")
# A student's own numbers (the factor a formula is restated with, a wrong weight) are drawn
# from this many values: a class of thousands rarely draws the same one twice.
OWN_NUMBERS = 100_000


class _Dumper(yaml.SafeDumper):
    """Strings single-quoted (no escapes, so LaTeX stays as typed) or as literal blocks."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else "'"
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_str)


def dump_yaml(data: Any) -> str:
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)


def _read(path: Path) -> Any:
    return load_with_positions(path.read_text(encoding="utf-8"))[0]


def _prefixed_parts(path: Path, tag: str) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(address in the shipped set, question without parts, part) of every auto-graded part."""
    data = _read(path)
    defaults = data.get("defaults") or {}
    found = []
    for question in data["questions"]:
        parts = question.get("parts")
        shell = {k: v for k, v in question.items() if k != "parts"}
        shell["id"] = f"{tag}{question['id']}"
        for part in parts if parts is not None else [question]:
            answer_type = ANSWER_TYPES[part["type"]]
            if not answer_type.auto_graded or part["type"] == "code":
                continue  # hand-graded, or code run in a sandbox (benchmarks/bench_code.py)
            merged = dict(part)
            for key, value in defaults.items():
                if key in answer_type.part.model_fields and key not in merged:
                    merged[key] = value
            address = question["id"] if parts is None else f"{question['id']}.{part['id']}"
            found.append((address, shell if parts is not None else {}, merged))
    return found


def build_problem_set(parts_wanted: int) -> tuple[dict[str, Any], dict[str, tuple[str, str]]]:
    """The synthetic problem set, and for each of its addresses the (set, address) it came from."""
    pools = []
    for index, path in enumerate(sorted((ROOT / "problems").glob("*.yaml"))):
        pools.append((path.stem, f"s{index}_", _prefixed_parts(path, f"s{index}_")))
    questions: dict[str, dict[str, Any]] = {}
    origin: dict[str, tuple[str, str]] = {}
    taken = 0
    while taken < parts_wanted and any(pool for _, _, pool in pools):
        for stem, tag, pool in pools:
            if not pool or taken >= parts_wanted:
                continue
            address, shell, part = pool.pop(0)
            if shell:  # a part of a question with parts
                question = questions.setdefault(shell["id"], {**shell, "parts": []})
                question["parts"].append(part)
                origin[f"{shell['id']}.{part['id']}"] = (stem, address)
            else:  # a question that is itself one part
                single = {**part, "id": f"{tag}{part['id']}"}
                questions[single["id"]] = single
                origin[single["id"]] = (stem, address)
            taken += 1
    problem_set = {
        "assignment": "synthetic-class",
        "title": "A synthetic class",
        "questions": list(questions.values()),
    }
    return problem_set, origin


def shipped_answers() -> dict[tuple[str, str], list[Any]]:
    """Every answer of every shipped submission, by (problem set, address)."""
    found: dict[tuple[str, str], list[Any]] = {}
    for path in sorted((ROOT / "submissions").glob("*/*/answers.yaml")):
        data = _read(path)
        answers = data.get("answers", {}) if isinstance(data, dict) else {}
        for address, answer in (answers or {}).items():
            found.setdefault((path.parent.parent.name, str(address)), []).append(answer)
    return found


def _wrong(reference: Any, rng: random.Random) -> Any:
    """The reference with one number changed (a weight of a network, an entry, a count)."""
    if isinstance(reference, bool) or reference is None:
        return "none of these"
    if isinstance(reference, int | float):
        return reference + rng.choice((1, -1, 2, 10))
    if isinstance(reference, list) and reference:
        changed = copy.deepcopy(reference)
        index = rng.randrange(len(changed))
        changed[index] = _wrong(changed[index], rng)
        return changed
    if isinstance(reference, dict) and reference:
        entries = copy.deepcopy(reference)
        key = rng.choice(sorted(entries, key=str))
        entries[key] = _wrong(entries[key], rng)
        return entries
    text = str(reference)
    return f"{text} + 1" if rng.random() < 0.5 else f"2*({text})"


def _fresh_wrong(reference: Any, rng: random.Random) -> Any:
    """A wrong answer with every number of the reference moved by an amount of its own."""
    if isinstance(reference, bool) or reference is None:
        return "none of these"
    if isinstance(reference, int):
        return reference + rng.randint(1, OWN_NUMBERS)
    if isinstance(reference, float):
        return round(reference + rng.uniform(0.5, 100), 6)
    if isinstance(reference, list):
        return [_fresh_wrong(item, rng) for item in reference] or [rng.randint(1, 99)]
    if isinstance(reference, dict):
        return {key: _fresh_wrong(value, rng) for key, value in reference.items()}
    return f"{rng.randint(2, OWN_NUMBERS)}*({reference}) + {rng.randint(1, OWN_NUMBERS)}"


NOTATIONS = (
    "{k}*({r})/{k}",
    "\\frac{{{k}\\left({r}\\right)}}{{{k}}}",
    "({r}) + {k} - {k}",
    "(({r}))*{k}/{k}",
)


def _complexity_afresh(reference: str, wrong: bool, rng: random.Random) -> str:
    """``Theta(n^2 d)`` with a constant of the student's own (the same class), or with a
    larger term of their own (another class)."""
    head, bracket, inner = reference.partition("(")
    if not bracket or not inner.endswith(")"):
        return reference
    inner = inner[:-1]
    if wrong:
        return f"{head}({inner} + {rng.randint(2, 999)} n^{rng.randint(5, 60)})"
    return f"{head}({rng.randint(2, OWN_NUMBERS)} ({inner}))"


def _restated(reference: Any, rng: random.Random) -> Any:
    """The reference as a student writes it: the same value, in a form of their own."""
    if isinstance(reference, bool) or reference is None:
        return reference
    if isinstance(reference, int):
        k = rng.randint(2, OWN_NUMBERS)
        return rng.choice((reference, float(reference), str(reference), f"{k}*{reference}/{k}"))
    if isinstance(reference, float):
        return rng.choice((reference, repr(reference), f"{reference:.12g}"))
    if isinstance(reference, list):
        return [_restated(item, rng) for item in reference]
    if isinstance(reference, dict):
        return {key: _restated(value, rng) for key, value in reference.items()}
    text = str(reference)
    if any(mark in text for mark in ("=", "<", ">", "[", "{", ",", ";")) or len(text) > 200:
        return text  # an equation, a set or a matrix: written as given
    return rng.choice(NOTATIONS).format(k=rng.randint(2, OWN_NUMBERS), r=text)


def _hostile_afresh(rng: random.Random) -> str:
    """A hostile string of the kinds of HOSTILE, its sizes and numbers drawn anew."""
    depth = rng.randint(200, 400)
    return rng.choice(
        (
            "^".join(str(rng.randint(2, 99)) for _ in range(4)),
            "(" * depth + "x" + ")" * depth,
            "\\frac{" * (depth // 4) + "1" + "}" * (depth // 4),
            "x" * rng.randint(5_000, 7_000),
            f"__import__('os').system('touch /tmp/pwned-{rng.randint(1, OWN_NUMBERS)}')",
            "${{ secrets.TOKEN }} {{" + f"{rng.randint(2, 99)}*{rng.randint(2, 99)}"
            "}} \\input{/etc/passwd}",
            "\\begin{bmatrix}" + " & ".join(["1"] * rng.randint(60, 90)) + "\\end{bmatrix}",
            f"1e{rng.randint(100_000, 9_999_999)}",
            f"exp(exp(exp(exp({rng.randint(50, OWN_NUMBERS)}))))",
        )
    )


def _written_afresh(choice: str, part: dict[str, Any], shipped: list[Any], rng: random.Random) -> Any:
    """With --variety, the answer of kind ``choice`` as the student writes it; None when the
    kind is not one a student writes in their own way (then it is drawn as without --variety)."""
    reference = part.get("answer")
    mistakes = [m["answer"] for m in part.get("mistakes") or []]
    if choice == "hostile":
        return _hostile_afresh(rng)
    if part.get("type") not in WRITTEN_AFRESH:
        return None
    if choice in ("wrong", "reference") and part["type"] == "complexity":
        return _complexity_afresh(str(reference), choice == "wrong", rng)
    if choice == "wrong":
        return _fresh_wrong(reference, rng)
    if choice == "reference":
        return _restated(reference, rng)
    if choice == "mistake" and mistakes:  # the same mistake, in the student's own writing
        return _restated(copy.deepcopy(rng.choice(mistakes)), rng)
    if choice == "shipped" and shipped:  # a classmate's answer, restated
        return _restated(copy.deepcopy(rng.choice(shipped)), rng)
    return None


def draw_answer(part: dict[str, Any], shipped: list[Any], rng: random.Random, variety: bool = False) -> Any:
    choice = rng.choices(CHOICES, VARIETY_WEIGHTS if variety else WEIGHTS)[0]
    if variety and choice != "missing":
        afresh = _written_afresh(choice, part, shipped, rng)
        if afresh is not None:
            return afresh
    reference = part.get("answer")
    mistakes = [m["answer"] for m in part.get("mistakes") or []]
    if choice == "shipped" and shipped:
        return copy.deepcopy(rng.choice(shipped))
    if choice == "mistake" and mistakes:
        return copy.deepcopy(rng.choice(mistakes))
    if choice == "wrong":
        return _wrong(reference, rng)
    if choice == "hostile":
        return rng.choice(HOSTILE)
    if choice == "missing":
        return None
    return copy.deepcopy(reference)


def _parts_by_address(problem_set: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found = {}
    for question in problem_set["questions"]:
        if "parts" in question:
            found.update({f"{question['id']}.{p['id']}": p for p in question["parts"]})
        else:
            found[question["id"]] = question
    return found


def write_sheet(folder: Path, student: str, answers: dict[str, Any], rng: random.Random) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    roll = rng.random()
    if roll < 0.02:
        (folder / "answers.yaml").write_text(f"student: {student}\nanswers:\n  - [unclosed\n")
    elif roll < 0.05:
        (folder / "answers.json").write_text(json.dumps({"student": student, "answers": answers}))
    else:
        (folder / "answers.yaml").write_text(dump_yaml({"student": student, "answers": answers}))


def make_class(
    out: Path, sheets: int, seed: int = 1, parts: int = 45, variety: bool = False
) -> tuple[Path, Path]:
    """Write the problem set and the class; (problem set path, class folder)."""
    rng = random.Random(seed)
    problem_set, origin = build_problem_set(parts)
    out.mkdir(parents=True, exist_ok=True)
    problem_file = out / "problem-set.yaml"
    problem_file.write_text(dump_yaml(problem_set))
    shipped = shipped_answers()
    by_address = _parts_by_address(problem_set)
    pairs: set[str] = set()
    given = 0
    for number in range(sheets):
        folder = f"student-{number:05d}"
        student = folder if rng.random() > 0.01 else f"student-{rng.randrange(max(number, 1)):05d}"
        answers = {}
        for address, part in by_address.items():
            answer = draw_answer(part, shipped.get(origin[address], []), rng, variety)
            if answer is not None:
                answers[address] = answer
                pairs.add(f"{address}\0{json.dumps(answer, sort_keys=True)}")
                given += 1
        write_sheet(out / "class" / folder, student, answers, rng)
    make_class.distinct_share = len(pairs) / max(given, 1)  # type: ignore[attr-defined]
    return problem_file, out / "class"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("out", type=Path)
    parser.add_argument("--sheets", type=int, default=500)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--parts", type=int, default=45)
    parser.add_argument("--variety", action="store_true", help="each student writes afresh (see above)")
    args = parser.parse_args()
    problem_file, class_folder = make_class(args.out, args.sheets, args.seed, args.parts, args.variety)
    share = make_class.distinct_share  # type: ignore[attr-defined]
    print(
        f"wrote {problem_file} and {args.sheets} sheets in {class_folder}; "
        f"{share:.0%} of the (part, answer) pairs given are distinct"
    )


if __name__ == "__main__":
    main()
