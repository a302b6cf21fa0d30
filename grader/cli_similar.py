"""``grader similar``: pairs of sheets in a class alike in code, write-ups and wrong answers.

The sheets are read as ``grader grade`` reads them and graded through the batch (a
``--cache`` verdict store makes a re-run cheap) for their wrong answers; ``--no-grade``
compares the texts only. The pairs are ranked by :mod:`grader.similarity`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from grader.cli_options import _PROBLEM_FILE, _VARIANT_KEY, _variant_key
from grader.loading import ProblemFileError, load_problem_set, load_submission
from grader.spec import ProblemSet

EXIT_USAGE = 2
TABLE_ROWS = 20


@click.command(name="similar")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@_PROBLEM_FILE
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write similarity.html (the sheets side by side) and similarity.csv here.",
)
@click.option(
    "--corpus",
    "corpus_dirs",
    multiple=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="A folder of earlier terms' submissions to compare the class with (repeat for several).",
)
@click.option(
    "--format", "output_format", type=click.Choice(["table", "json"]), default="table", show_default=True
)
@click.option(
    "--top", type=click.IntRange(1), default=TABLE_ROWS, show_default=True, help="Pairs in the table."
)
@click.option("--no-grade", is_flag=True, help="Compare the texts only: no grading, no shared wrong answers.")
@click.option("--cache", type=click.Path(dir_okay=False, path_type=Path), help="A verdict store to reuse.")
@click.option("-j", "--jobs", type=click.IntRange(1, 256), default=1, show_default=True)
@_VARIANT_KEY
def similar_command(  # noqa: PLR0913  (one argument per option)
    folder: Path,
    problem_file: Path,
    out_dir: Path | None,
    corpus_dirs: tuple[Path, ...],
    output_format: str,
    top: int,
    no_grade: bool,
    cache: Path | None,
    jobs: int,
    variant_key: str | None,
) -> None:
    """Rank the pairs of sheets in FOLDER (a class folder) by how alike they are: code,
    formulas, prose and shared rare wrong answers, the handout left out."""
    from grader.batch import submission_folders
    from grader.similarity import compare_class

    try:
        spec = load_problem_set(problem_file)
    except ProblemFileError as exc:
        click.echo(exc.render(), err=True)
        sys.exit(EXIT_USAGE)
    folders = submission_folders(folder)
    if not folders:
        click.echo(f"error: {folder} holds no submissions", err=True)
        sys.exit(EXIT_USAGE)
    answers = {f.relative_to(folder).as_posix(): _answers(spec, f) for f in folders}
    wrong = None if no_grade else _wrong(spec, folder, folders, answers, cache, jobs, variant_key)
    corpus: dict[str, dict[str, Any]] = {}
    for earlier in corpus_dirs:
        for sub in submission_folders(earlier):
            corpus[f"corpus:{earlier.name}/{sub.relative_to(earlier).as_posix()}"] = _answers(spec, sub)
    own_specs = _own_specs(spec, folders, variant_key) if spec.parameters else None
    found = compare_class(spec, answers, wrong=wrong, corpus=corpus, own_specs=own_specs)
    pairs = [p for p in found.pairs if p.score > 0]
    if out_dir is not None:
        _write(out_dir, spec, found, pairs)
    if output_format == "json":
        from grader.similarity.page import pairs_json

        click.echo(json.dumps(pairs_json(pairs), indent=2, ensure_ascii=False))
        return
    _table(spec, found.students, pairs, top)
    if out_dir is not None:
        click.echo(f"wrote {out_dir / 'similarity.html'} and {out_dir / 'similarity.csv'}")


def _own_specs(spec: ProblemSet, folders: list[Path], variant_key: str | None) -> dict[str, ProblemSet]:
    """Each student's variant of a set with parameters (one object per variant)."""
    from grader.variants import VariantError

    key = _variant_key(spec, variant_key, [f.name for f in folders])
    found: dict[str, ProblemSet] = {}
    by_variant: dict[str, ProblemSet] = {}
    for folder in folders:
        student = load_submission(folder).student
        try:
            variant = spec.parameter_block().draw(key, spec.assignment, student)
        except (VariantError, ValueError):
            continue
        name = variant.id
        if name not in by_variant:
            by_variant[name] = spec.for_variant(variant)
        found[folder.name] = by_variant[name]
    return found


def _answers(spec: ProblemSet, folder: Path) -> dict[str, Any]:
    submission = load_submission(folder)
    if submission.load_error:
        return {}
    return dict(submission.matched_to(a for a, _, _ in spec.iter_parts()).answers)


def _wrong(
    spec: ProblemSet,
    root: Path,
    folders: list[Path],
    answers: dict[str, dict[str, Any]],
    cache: Path | None,
    jobs: int,
    variant_key: str | None,
) -> dict[str, dict[str, tuple[str, str]]]:
    from grader.batch import BatchOptions, run_batch
    from grader.similarity.patterns import Graded, wrong_answers

    names = [f.relative_to(root).as_posix() for f in folders]
    key = _variant_key(spec, variant_key, [f.name for f in folders])
    options = BatchOptions(jobs=jobs, cache=cache, use_cache=cache is not None, variant_key=key)
    reports = run_batch(spec, root, folders, options).reports
    graded = [
        Graded(r.folder or "", r, answers.get(r.folder or "", {}))
        for r in reports
        if (r.folder or "") in names
    ]
    return wrong_answers(spec, graded)


def _write(out_dir: Path, spec: ProblemSet, found: Any, pairs: list[Any]) -> None:
    from grader.core.files import write_atomic
    from grader.similarity.page import pairs_csv, render_page

    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        write_atomic(out_dir / "similarity.csv", pairs_csv(pairs), mode=0o600)
        write_atomic(
            out_dir / "similarity.html",
            render_page(spec.title or spec.assignment, pairs, found.sheets, found.students),
            mode=0o600,
        )
    except OSError as exc:
        click.echo(f"error: cannot write {out_dir}: {exc.strerror or exc}", err=True)
        sys.exit(EXIT_USAGE)


def _table(spec: ProblemSet, students: int, pairs: list[Any], top: int) -> None:
    from grader.reporting.escape import terminal_text
    from grader.similarity.models import SIGNALS

    click.echo(f"{spec.assignment}: {students} students, {len(pairs)} pairs scored at least 0.05")
    if not pairs:
        return
    click.echo(f"{'score':>5}  {'a':<16} {'b':<16} " + " ".join(f"{s:>8}" for s in SIGNALS) + "  where")
    for pair in pairs[:top]:
        where = ", ".join(list(pair.signals[pair.strongest].parts)[:4])
        click.echo(
            f"{pair.score:5.2f}  {terminal_text(pair.a, False):<16} {terminal_text(pair.b, False):<16} "
            + " ".join(f"{pair.signals[s].score:8.2f}" for s in SIGNALS)
            + f"  {where}"
        )
    if len(pairs) > top:
        click.echo(f"... {len(pairs) - top} more (--top, or --out for all of them)")
