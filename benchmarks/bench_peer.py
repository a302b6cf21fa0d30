"""Agreement with two peers' labelled answer-equivalence suites (STACK, math-verify).

    python benchmarks/bench_peer.py [--show-disagreements]

Grades ``benchmarks/peer/submissions/peer`` against ``benchmarks/peer/problems.yaml``
and compares each verdict with ``benchmarks/peer/truth.jsonl`` (see its README for
provenance and how the truth was judged). Prints agreement and false accepts per
source and per scope, and the time per check. "correct" agrees with truth 1; any
other status agrees with truth 0; a false accept is "correct" where truth is 0.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections import defaultdict
from pathlib import Path

from grader.engine import check_part
from grader.loading import load_problem_set, load_submission

HERE = Path(__file__).parent / "peer"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--show-disagreements", action="store_true")
    args = parser.parse_args()
    spec = load_problem_set(HERE / "problems.yaml")
    answers = load_submission(HERE / "submissions" / "peer").answers
    truth = {row["id"]: row for row in map(json.loads, (HERE / "truth.jsonl").read_text().splitlines())}
    tally: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])  # rows, agree, false accepts
    times, disagreements = [], []
    for part_id, _, part in spec.iter_parts():
        row = truth[part_id]
        started = time.perf_counter()
        verdict = check_part(part, answers.get(part_id))
        times.append(time.perf_counter() - started)
        accepted = verdict.status == "correct"
        agree = accepted == bool(row["truth"])
        false_accept = accepted and not row["truth"]
        keys = ((row["source"], row["scope"]), (row["source"], "all"), ("all", row["scope"]), ("all", "all"))
        for key in keys:
            tally[key][0] += 1
            tally[key][1] += agree
            tally[key][2] += false_accept
        if not agree:
            disagreements.append((part_id, row, verdict))
    print(f"{'source':<12}{'scope':<10}{'rows':>6}{'agree':>9}{'false accepts':>15}")
    for (source, scope), (rows, agree, false_accepts) in sorted(tally.items()):
        print(f"{source:<12}{scope:<10}{rows:>6}{100 * agree / rows:>8.1f}%{false_accepts:>15}")
    ordered = sorted(times)
    print(
        f"\ncheck time: median {1000 * statistics.median(ordered):.2f} ms, "
        f"p99 {1000 * ordered[int(0.99 * (len(ordered) - 1))]:.1f} ms, max {1000 * ordered[-1]:.1f} ms"
    )
    if args.show_disagreements:
        for part_id, row, verdict in disagreements:
            pair = f"{row['reference']!r} vs {row['student']!r}"
            print(f"\n{part_id} truth={row['truth']} got={verdict.status}: {pair}")
            print(f"  evidence: {row['truth_evidence']}")
            print("  feedback: " + verdict.feedback.replace("\n", "\n  "))


if __name__ == "__main__":
    main()
