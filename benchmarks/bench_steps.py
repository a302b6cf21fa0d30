"""Which step is wrong (issue 61): the four figures of the step checker.

    python benchmarks/bench_steps.py [--seeds DIR] [--show]

1. the share of the seed sheets' steps decided (shown or wrong; target >= 70%);
2. steps marked wrong in the corpus of right derivations (tests/cases/steps/corpus.yaml;
   target 0);
3. the share of planted errors whose first wrong step is found, with a witness, at the
   step the plant changed (target >= 90%);
4. the median and p99 time a step (targets < 20 ms, < 500 ms on 2 cores).

The seed sheets are read from --seeds (default tests/fixtures/seed-sheets, copies of the
five sheets), else from the seed submissions' answers.yaml files in the repository.
"""

from __future__ import annotations

import argparse
import collections
import statistics
import time
from pathlib import Path

from grader.core.yamlio import load_with_positions
from grader.steps import Context, chains_in_text, decide
from grader.steps.corpus import load_corpus
from grader.steps.decide import mark_chains
from grader.steps.models import StepMark

ROOT = Path(__file__).parent.parent
CORPUS = ROOT / "tests" / "cases" / "steps" / "corpus.yaml"


CPU: list[float] = []  # the process's CPU time a step (the wall time depends on the shared cores' load)


def timed_marks(text: str, context: Context | None, times: list[float]) -> list[StepMark]:
    """Each step marked on its own, timed (a chain's conditions ride with each step)."""
    marks: list[StepMark] = []
    for chain in chains_in_text(text, "markdown"):
        for step in chain.steps:
            one = chain.model_copy(update={"steps": (step,)})
            decide._DECIDED.clear()  # each step timed cold: the engine's kept decisions dropped
            started, cpu = time.perf_counter(), time.process_time()
            marks += mark_chains([one], context)[0].steps
            times.append(time.perf_counter() - started)
            CPU.append(time.process_time() - cpu)
    return marks


def seed_texts(folder: Path) -> dict[str, str]:
    sheets = sorted([*folder.glob("*.txt"), *folder.glob("*.md")]) if folder.is_dir() else []
    if sheets:
        return {p.name: p.read_text(encoding="utf-8", errors="replace") for p in sheets}
    texts = {}
    for answers in sorted(ROOT.glob("submissions/*/seed-*/answers.yaml")):
        data, _ = load_with_positions(answers.read_text(encoding="utf-8"))
        parts = [v for v in (data.get("answers") or {}).values() if isinstance(v, str)]
        texts[str(answers.relative_to(ROOT))] = "\n\n".join(f"$${p}$$" for p in parts)
    return texts


def answers_as_graded() -> collections.Counter[str]:
    """The marks of the seed submissions' answers to text parts, as grading makes them (the
    text type's checker, with the part's declared symbols and functions)."""
    from grader.loading import load_problem_set
    from grader.steps.grading import check, stored_marks

    counts: collections.Counter[str] = collections.Counter()
    for answers in sorted(ROOT.glob("submissions/*/seed-*/answers.yaml")):
        spec = load_problem_set(ROOT / "problems" / f"{answers.parent.parent.name}.yaml")
        data, _ = load_with_positions(answers.read_text(encoding="utf-8"))
        given = data.get("answers") or {}
        for question in spec.questions:
            for part in question.parts:
                key = question.id if question.single else f"{question.id}.{part.id}"
                if part.type == "text" and isinstance(given.get(key), str):
                    verdict = check(part, given[key])
                    counts.update(s.status for c in stored_marks(verdict.steps) for s in c.steps)
    return counts


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=Path, default=ROOT / "tests" / "fixtures" / "seed-sheets")
    parser.add_argument("--show", action="store_true", help="print every seed step's mark")
    args = parser.parse_args()
    # the engine's checker and what it loads on first use (sympy) imported outside the timings
    warm = r"$$\frac{e^{a}}{e^{a}+e^{b}} = \frac{1}{1+e^{b-a}}$$ $$\tanh(x) = x$$"
    mark_chains(chains_in_text(warm, "markdown"))
    times: list[float] = []

    seed: collections.Counter[str] = collections.Counter()
    why: collections.Counter[str] = collections.Counter()
    for name, text in seed_texts(args.seeds).items():
        for mark in timed_marks(text, None, times):
            seed[mark.status] += 1
            if mark.status == "undecided":
                why[(mark.certificate or "").split(":")[0][:50]] += 1
            if args.show:
                step = f"{mark.left} {mark.relation} {mark.right}"
                print(f"{name}:{mark.line} {mark.status:9} {step} | {mark.certificate}")
    total = sum(seed.values())
    decided = seed["shown"] + seed["wrong"]

    rows = load_corpus(CORPUS)
    right_steps = right_wrong = found = 0
    missed = []
    for row in rows:
        context = Context(functions=row.functions)
        right = timed_marks(row.text(), context, times)
        planted = timed_marks(row.text(planted=True), context, times)
        right_steps += len(right)
        right_wrong += sum(m.status == "wrong" for m in right)
        changed = next(
            (
                i
                for i, (a, b) in enumerate(zip(right, planted, strict=False))
                if (a.left, a.relation, a.right) != (b.left, b.relation, b.right)
            ),
            None,
        )
        first = next((i for i, m in enumerate(planted) if m.status == "wrong"), None)
        if first is not None and first == changed and planted[first].witness is not None:
            found += 1
        else:
            missed.append(row.id)

    ms = sorted(t * 1000 for t in times)
    p99 = ms[min(len(ms) - 1, int(0.99 * len(ms)))]
    cpu = sorted(t * 1000 for t in CPU)
    cpu_p99 = cpu[min(len(cpu) - 1, int(0.99 * len(cpu)))]
    print(
        f"1. seed steps decided: {decided}/{total} = {decided / max(total, 1):.0%} "
        f"({seed['shown']} shown, {seed['wrong']} wrong, {seed['undecided']} undecided; target >= 70%)"
    )
    print("   undecided, by reason: " + "; ".join(f"{k} {v}" for k, v in why.most_common(8)))
    graded = answers_as_graded()
    print(
        f"   1b. the seed submissions' answers to text parts, marked as grading marks them (their "
        f"problem files' declarations): {graded['shown'] + graded['wrong']}/{sum(graded.values())} "
        f"steps decided ({graded['shown']} shown, {graded['wrong']} wrong, {graded['undecided']} undecided)"
    )
    print(
        f"2. wrong steps in the right corpus: {right_wrong} of {right_steps} steps "
        f"({len(rows)} derivations; target 0)"
    )
    print(
        f"3. planted errors found at their step: {found}/{len(rows)} = {found / len(rows):.0%} "
        "(target >= 90%)" + (f"; missed: {', '.join(missed)}" if missed else "")
    )
    print(
        f"4. time a step: median {statistics.median(ms):.1f} ms, p99 {p99:.0f} ms, max {ms[-1]:.0f} ms "
        f"over {len(ms)} steps (targets < 20 ms, < 500 ms); CPU time median {statistics.median(cpu):.1f} ms, "
        f"p99 {cpu_p99:.0f} ms"
    )


if __name__ == "__main__":
    main()
