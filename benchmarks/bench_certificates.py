"""How many ``correct`` verdicts carry a certificate (issue 21), per problem set.

    python benchmarks/bench_certificates.py

Grades every shipped submission (``submissions/<set>/<student>``) against its problem set
(``problems/<set>.yaml``) and the peers' answer-equivalence rows (``benchmarks/peer``),
and prints for each: the corrects, how many are certified (exact, proved, piecewise-linear
decision, interval bound: every kind but probes) and the count of each kind.
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


def tally(spec: ProblemSet, folders: list[Path]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for folder in folders:
        answers = load_submission(folder).answers
        for part_id, _, part in spec.iter_parts():
            verdict: Verdict = check_part(part, answers.get(part_id))
            if verdict.status is not Status.CORRECT:
                continue
            counts["correct"] += 1
            kind = verdict.decision.kind if verdict.decision is not None else None
            counts[kind.value if kind is not None else "none"] += 1
            counts["certified"] += kind is not None and kind.certified
    return counts


def line(name: str, counts: Counter[str]) -> str:
    correct, certified = counts["correct"], counts["certified"]
    share = f"{100 * certified / correct:5.1f}%" if correct else "    -"
    kinds = ", ".join(f"{kind}: {counts[kind.value]}" for kind in Certificate if counts[kind.value])
    if counts["none"]:  # checkers that state no decision yet (complexity)
        kinds += f"{', ' if kinds else ''}not stated: {counts['none']}"
    return f"{name:<34}{correct:>8}{certified:>10}  {share}  {kinds}"


def main() -> None:
    print(f"{'problem set':<34}{'correct':>8}{'certified':>10}  share   by kind")
    total: Counter[str] = Counter()
    for problem_file in sorted((ROOT / "problems").glob("*.yaml")):
        folder = ROOT / "submissions" / problem_file.stem
        if not folder.is_dir():
            continue
        students = sorted(p for p in folder.iterdir() if p.is_dir())
        counts = tally(load_problem_set(problem_file), students)
        total.update(counts)
        print(line(problem_file.stem, counts))
    print(line("shipped library", total))
    peer = ROOT / "benchmarks" / "peer"
    print(
        line("peers' rows", tally(load_problem_set(peer / "problems.yaml"), [peer / "submissions" / "peer"]))
    )


if __name__ == "__main__":
    main()
