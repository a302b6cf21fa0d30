"""How many ``correct`` verdicts carry a certificate (issues 21 and 47), per answer type.

    python benchmarks/bench_certificates.py

Grades every shipped submission (``submissions/<set>/<student>``) against its problem set
(``problems/<set>.yaml``), the peers' answer-equivalence rows (``benchmarks/peer``) and the
right answers of the checker tables (``tests/cases``, formula types), and prints for each,
per answer type: the corrects,
how many are certified (exact, proved, piecewise-linear decision, interval bound: every
kind but probes) and the count of each kind; then the share over the formula types
(number, array, interval, expression, network). Goal (issues 47, 58): at least 80% on each,
``expression`` included.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from grader.core.verdict import Certificate, Status, Verdict
from grader.engine import check_part
from grader.loading import load_problem_set, load_submission
from grader.spec import ProblemSet

ROOT = Path(__file__).resolve().parents[1]


FORMULA_TYPES = ("number", "array", "interval", "expression", "network")


def tally(spec: ProblemSet, folders: list[Path], by_type: dict[str, Counter[str]]) -> None:
    for folder in folders:
        answers = load_submission(folder).answers
        for part_id, _, part in spec.iter_parts():
            verdict: Verdict = check_part(part, answers.get(part_id))
            if verdict.status is not Status.CORRECT:
                continue
            counts = by_type.setdefault(part.type, Counter())
            counts["correct"] += 1
            kind = verdict.decision.kind if verdict.decision is not None else None
            counts[kind.value if kind is not None else "none"] += 1
            counts["certified"] += kind is not None and kind.certified


def line(name: str, counts: Counter[str]) -> str:
    correct, certified = counts["correct"], counts["certified"]
    share = f"{100 * certified / correct:5.1f}%" if correct else "    -"
    kinds = ", ".join(f"{kind}: {counts[kind.value]}" for kind in Certificate if counts[kind.value])
    if counts["none"]:  # checkers that state no decision yet (complexity)
        kinds += f"{', ' if kinds else ''}not stated: {counts['none']}"
    return f"{name:<34}{correct:>8}{certified:>10}  {share}  {kinds}"


def report(title: str, by_type: dict[str, Counter[str]]) -> None:
    print(f"{title:<34}{'correct':>8}{'certified':>10}  share   by kind")
    formulas: Counter[str] = Counter()
    for name in sorted(by_type):
        print(line(f"  {name}", by_type[name]))
        if name in FORMULA_TYPES:
            formulas.update(by_type[name])
    print(line("  formula types", formulas))


def main() -> None:
    library: dict[str, Counter[str]] = {}
    for problem_file in sorted((ROOT / "problems").glob("*.yaml")):
        folder = ROOT / "submissions" / problem_file.stem
        if folder.is_dir():
            students = sorted(p for p in folder.iterdir() if p.is_dir())
            tally(load_problem_set(problem_file), students, library)
    report("shipped library", library)
    peer = ROOT / "benchmarks" / "peer"
    peers: dict[str, Counter[str]] = {}
    tally(load_problem_set(peer / "problems.yaml"), [peer / "submissions" / "peer"], peers)
    report("peers' rows", peers)
    report("checker tables (tests/cases)", tally_tables())


def tally_tables() -> dict[str, Counter[str]]:
    """The right answers of the checker tables (tests/cases/*.yaml) of the formula types."""
    from pydantic import TypeAdapter

    from grader.core.yamlio import load_with_positions
    from grader.spec import Part

    adapter: TypeAdapter[Part] = TypeAdapter(Part)
    by_type: dict[str, Counter[str]] = {}
    for path in sorted((ROOT / "tests" / "cases").glob("*.yaml")):
        groups, _ = load_with_positions(path.read_text(encoding="utf-8"))
        for group in groups:
            if group["spec"].get("type") not in FORMULA_TYPES:
                continue
            part = adapter.validate_python({"id": "p", **group["spec"]})
            for test in group["tests"]:
                if test["status"] != "correct":
                    continue
                verdict = check_part(part, test["answer"])
                if verdict.status is not Status.CORRECT:
                    continue
                counts = by_type.setdefault(part.type, Counter())
                counts["correct"] += 1
                kind = verdict.decision.kind if verdict.decision is not None else None
                counts[kind.value if kind is not None else "none"] += 1
                counts["certified"] += kind is not None and kind.certified
    return by_type


if __name__ == "__main__":
    main()
