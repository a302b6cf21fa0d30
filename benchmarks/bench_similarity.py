"""Figures of ``grader similar`` on a synthetic class (benchmarks/similarity_class.py).

    python benchmarks/bench_similarity.py [--students 500] [--large 5000] [--seed 0]

It builds a class answering 11 parts of the shipped set approximation-backprop-cifar:
honest students in their own code and words, copies planted with every disguise
(renamed, reordered, comments, formulas re-typeset, prose reworded) and half copies.
The formula parts' distinct answers are graded once by grader's own checker, and the wrong
ones grouped by canonical form, for the shared-wrong-answer signal. Then it times
``grader.similarity.compare_class`` over the class (reading every answer's features, every
pair scored, the top pairs explained) and prints, for the class and for ``--large``
students (MinHash LSH candidates), the copies' and honest pairs' scores. The last line is:

    similarity: copies above every honest pair C/C, lowest copy score S, highest honest score H,
    half copies at least 0.5 K/K, seconds T for 500 students
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from similarity_class import FORMULA_PARTS, PROBLEM_SET, SyntheticClass, make_class  # noqa: E402

from grader.loading import load_problem_set  # noqa: E402
from grader.spec import ProblemSet  # noqa: E402

SHOWN = 0.02  # pairs scored below this are not listed (the honest pairs' highest is above it)


def wrong_formulas(
    spec: ProblemSet, answers: dict[str, dict[str, object]]
) -> dict[str, dict[str, tuple[str, str]]]:
    """The formula parts' wrong answers, each distinct answer graded once by the checker,
    keyed by its canonical form (the same formula however typeset)."""
    from grader.core.submission import Submission
    from grader.core.verdict import Status
    from grader.engine import grade
    from grader.similarity.writing import canonical_tokens

    verdicts: dict[tuple[str, str], bool] = {}
    found: dict[str, dict[str, tuple[str, str]]] = {s: {} for s in answers}
    for student, given in answers.items():
        for part in FORMULA_PARTS:
            text = str(given.get(part, "")).strip("$")
            if (part, text) not in verdicts:
                report = grade(spec, Submission(student="probe", folder="probe", answers={part: text}))
                status = next(r.status for r in report.parts if r.id == part)
                verdicts[(part, text)] = status in (Status.INCORRECT, Status.PARTIAL)
            if verdicts[(part, text)]:
                key = " ".join(canonical_tokens(text) or [text])
                found[student][part] = (key, text)
    return found


def figures(
    klass: SyntheticClass, spec: ProblemSet, wrong: dict[str, dict[str, tuple[str, str]]], jobs: int
) -> dict[str, float]:
    from grader.similarity import compare_class

    started = time.perf_counter()
    cpu = _cpu()
    found = compare_class(spec, klass.answers, wrong=wrong, jobs=jobs, shown_from=SHOWN)
    seconds = time.perf_counter() - started
    cpu = _cpu() - cpu
    planted = {frozenset((a, b)): (a, b) for a, b, _ in klass.copies}
    halves = {frozenset((a, b)) for a, b, _ in klass.halves}
    scores = {frozenset((p.a, p.b)): p for p in found.pairs}
    copy_scores = [scores[k].score if k in scores else 0.0 for k in planted]
    strongest = [max(s.score for s in scores[k].signals.values()) if k in scores else 0.0 for k in planted]
    half_scores = [scores[k].score if k in scores else 0.0 for k in halves]
    honest = [p.score for k, p in scores.items() if k not in planted and k not in halves]
    highest_honest = max(honest, default=0.0)
    return {
        "seconds": seconds,
        "copies": len(copy_scores) + len(half_scores),
        "above": sum(1 for s in copy_scores + half_scores if s > highest_honest),
        "lowest_copy": min(copy_scores, default=0.0),
        "lowest_strongest": min(strongest, default=0.0),
        "highest_honest": highest_honest,
        "halves": len(half_scores),
        "halves_ok": sum(1 for s in half_scores if s >= 0.5),
        "lowest_half": min(half_scores, default=0.0),
        "pairs": len(found.pairs),
        "cpu": cpu,
    }


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--students", type=int, default=500)
    parser.add_argument("--large", type=int, default=5000, help="a second, larger class (0: none)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=2, help="processes that read the sheets")
    args = parser.parse_args()
    spec = load_problem_set(HERE.parent / PROBLEM_SET)
    runs = []
    for size in [args.students] + ([args.large] if args.large else []):
        klass = make_class(size, seed=args.seed)
        wrong = wrong_formulas(spec, klass.answers)
        result = figures(klass, spec, wrong, args.jobs)
        runs.append(result)
        print(
            f"{size} students x 11 parts: {result['seconds']:.2f} s wall, {result['cpu']:.2f} s CPU "
            f"(this process and its {args.jobs} readers), {result['pairs']} pairs scored at least "
            f"{SHOWN:.2f}; {result['copies']} planted ({result['halves']} half copies): lowest copy score "
            f"{result['lowest_copy']:.3f} (strongest signal {result['lowest_strongest']:.3f}), "
            f"lowest half copy {result['lowest_half']:.3f}, "
            f"highest honest pair {result['highest_honest']:.3f}",
            flush=True,
        )
    first = runs[0]
    print(
        f"similarity: copies above every honest pair {first['above']}/{first['copies']}, "
        f"lowest copy score {first['lowest_copy']:.3f}, highest honest score {first['highest_honest']:.3f}, "
        f"half copies at least 0.5 {first['halves_ok']}/{first['halves']}, "
        f"seconds {first['seconds']:.2f} for {args.students} students"
    )


if __name__ == "__main__":
    main()
