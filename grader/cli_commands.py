"""The ``grader`` command: a thin shell over the pure core (contract section 6).

The group of every command, and the problem-set author's commands (validate, template,
schema, variants, gradescope-bundle) and the LTI key's; the grading commands are in
:mod:`grader.cli_grading`, ``grader hand`` in :mod:`grader.cli_hand`, the service's in
:mod:`grader.cli_service`, the exit codes and shared options in :mod:`grader.cli_options`.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from grader import __version__
from grader.cli_grading import cache, check, grade_command, stats_command
from grader.cli_options import (
    _PROBLEM_FILE,
    _UNSAFE_RUN_CODE,
    _VARIANT_KEY,
    EXIT_USAGE,
    _load_spec,
    _student_spec,
    _variant_key,
)
from grader.cli_service import COURSE_ARG, extend_command, serve_command, submit_command, users_group
from grader.core.files import write_atomic
from grader.engine import is_auto_graded
from grader.loading import ProblemFileError, load_problem_set
from grader.mathlang.wording import counted
from grader.reporting.escape import terminal_output
from grader.reporting.schema import (
    ANSWERS_SCHEMA_BESIDE_TEMPLATE,
    ANSWERS_SCHEMA_FILE,
    PROBLEM_SET_SCHEMA_FILE,
    REPORT_SCHEMA_FILE,
    answers_schema,
    problem_set_schema,
    report_schema,
)
from grader.reporting.schema import dump as schema_text
from grader.reporting.template import render_template
from grader.reporting.writeup_template import WRITEUP_FORMATS, render_writeup_template

if TYPE_CHECKING:
    from grader.spec import ProblemSet


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="grader")
def main() -> None:
    """Grade deep-learning-theory homework against YAML problem sets."""


@main.command()
@click.argument(
    "problem_files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@_UNSAFE_RUN_CODE
def validate(problem_files: tuple[Path, ...]) -> None:
    """Check problem files and self-test every reference answer and listed mistake."""
    failed = False
    for path in problem_files:
        try:
            spec = load_problem_set(path)
        except ProblemFileError as exc:
            click.echo(exc.render(), err=True)
            failed = True
            continue
        sound, untested = _self_test(path, spec) if not spec.parameters else _certify(path, spec)
        failed = failed or not sound
        if sound:
            tested = "every reference answer grades correct"
            if untested:
                tested += f" but those of the {counted(untested, 'part')} not self-tested here"
            count = len(spec.iter_parts())
            click.echo(f"{path}: ok ({counted(count, 'part')}, {counted(spec.max_score, 'point')}; {tested})")
        for part_id, fragment in _notes_stating_answers(spec):
            click.echo(
                f"{path}: warning: {part_id}: its note (shown to students) states a correct answer "
                f"({fragment}): move it to ta_note",
                err=True,
            )
        for part_id, _, part in spec.iter_parts():
            if part.ta_note:
                click.echo(f"{path}: {part_id}: TA note (never shown to students): {part.ta_note.strip()}")
    if failed:
        sys.exit(EXIT_USAGE)


def _notes_stating_answers(spec: ProblemSet) -> list[tuple[str, str]]:
    from grader.selftest import notes_stating_answers

    return notes_stating_answers(spec) if not spec.parameters else []


MAX_FAILED_SHOWN = 10  # failing variants listed by grader validate; the rest are counted


def _certify(path: Path, spec: ProblemSet) -> tuple[bool, int]:
    """Self-test every variant of a set with parameters (grader.certify), printing the
    variants that fail and why, what was decided symbolically, and a constraint to add."""
    from grader.certify import certify
    from grader.selftest import untested_parts

    certificate = certify(spec)
    for fact in certificate.symbolic:
        click.echo(f"{path}: {fact}")
    for failure in certificate.failed[:MAX_FAILED_SHOWN]:
        for reason in failure.reasons:
            click.echo(f"{path}: variant {failure.variant.id}: {reason}", err=True)
    hidden = len(certificate.failed) - MAX_FAILED_SHOWN
    if hidden > 0:
        click.echo(f"{path}: and {counted(hidden, 'more failing variant')}", err=True)
    if certificate.failed:
        click.echo(
            f"{path}: {len(certificate.failed)} of {counted(certificate.checked, 'variant')} fail",
            err=True,
        )
        if certificate.suggestion:
            click.echo(
                f"{path}: suggestion: add  where: [{certificate.suggestion!r}]  to rule them out", err=True
            )
    else:
        which = "every variant" if certificate.everyone else "every extreme and a drawn sample"
        click.echo(f"{path}: {counted(certificate.checked, 'variant')} certified ({which})")
    return not certificate.failed, len(untested_parts(spec))


def _self_test(path: Path, spec: ProblemSet) -> tuple[bool, int]:
    """Self-test the problem set, printing what is wrong with it and, once a reason, the parts
    this machine cannot self-test (PyTorch or the sandbox missing: no fault of the file); (no
    problem found, how many parts were not self-tested)."""
    from grader.selftest import untested_parts, validate_problem_set

    problems = validate_problem_set(spec)
    for problem in problems:
        click.echo(f"{path}: {problem}", err=True)
    untested = untested_parts(spec)
    by_reason: dict[str, list[str]] = {}
    for part_id, reason in untested.items():
        by_reason.setdefault(reason, []).append(part_id)
    for reason, part_ids in by_reason.items():
        click.echo(
            f"{path}: warning: {counted(len(part_ids), 'part')} not self-tested on this machine "
            f"({', '.join(part_ids)}): {reason}",
            err=True,
        )
    return not problems, len(untested)


main.add_command(serve_command)
main.add_command(submit_command)
main.add_command(users_group)
main.add_command(extend_command)
main.add_command(grade_command)
main.add_command(check)
main.add_command(stats_command)
main.add_command(cache)


@main.group(name="lti")
def lti_group() -> None:
    """The course's LTI 1.3 tool (docs/lms.md)."""


@lti_group.command(name="rotate-key")
@COURSE_ARG
@click.option(
    "--grace-days",
    default=7.0,
    show_default=True,
    type=click.FloatRange(0),
    help="How long the previous keys stay published (0: drop them now, e.g. after a leak).",
)
def lti_rotate_key(course_dir: Path, grace_days: float) -> None:
    """Make a new signing key for the LTI tool of COURSE_DIR and print its kid.

    A running server signs with it at once and publishes the previous keys at
    /lti/jwks.json until their grace ends, so what they signed still verifies."""
    from grader.service.lti.keys import ToolKeys  # the LTI package: known to the app and here only
    from grader.service.settings import Settings

    if not (course_dir / "problems").is_dir():
        click.echo(f"error: {course_dir} has no problems/ folder: is it the course folder?", err=True)
        sys.exit(2)
    ring = ToolKeys(Settings(course_dir=course_dir).data_dir).rotate(grace_days)
    for key in ring.keys[1:]:
        click.echo(f"previous key {key.kid} published until {key.expires:%Y-%m-%d %H:%M UTC}", err=True)
    click.echo(ring.current.kid)


@main.command()
@_PROBLEM_FILE
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the template here instead of printing it.",
)
@click.option(
    "-f",
    "--format",
    "fmt",
    type=click.Choice(["yaml", *WRITEUP_FORMATS]),
    default="yaml",
    show_default=True,
    help="A blank answers.yaml, or a write-up skeleton (main.tex, a Markdown file, a notebook) "
    "with every part's prompt and an empty marked answer.",
)
@click.option("--student", help="The template of this student's variant (a set with parameters).")
@_VARIANT_KEY
def template(
    problem_file: Path, output: Path | None, fmt: str, student: str | None, variant_key: str | None
) -> None:
    """Print a blank answers.yaml (or a write-up skeleton) for students, with each part's prompt."""
    spec = _load_spec(problem_file)
    if student is not None:
        spec = _student_spec(spec, student, variant_key)
    text = render_template(spec) if fmt == "yaml" else render_writeup_template(spec, fmt)
    if output:
        write_atomic(output, text)
        click.echo(f"wrote {output}", err=True)
        if fmt == "yaml":  # the file its first line names, for editor completion of part ids
            schema_file = output.parent / ANSWERS_SCHEMA_BESIDE_TEMPLATE
            write_atomic(schema_file, schema_text(answers_schema(spec)))
            click.echo(f"wrote {schema_file}", err=True)
    else:
        click.echo(text, nl=False)


@main.command()
@click.option("--answers", is_flag=True, help="The schema of answers files instead of problem files.")
@click.option("--hand", "hand_grades", is_flag=True, help="The schema of hand-grades files (--hand).")
@click.option(
    "-p",
    "--problems",
    "problem_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="With --answers: the answers schema of this problem set (its part ids, completed by editors).",
)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write it here.")
@click.option(
    "--write",
    "folder",
    type=click.Path(file_okay=False, path_type=Path),
    help=f"Write {PROBLEM_SET_SCHEMA_FILE} and {ANSWERS_SCHEMA_FILE} into this folder "
    "(how schemas/ is made).",
)
def schema(
    answers: bool, hand_grades: bool, problem_file: Path | None, output: Path | None, folder: Path | None
) -> None:
    """Print the JSON Schema of problem files (or of answers files, with --answers)."""
    from grader.hand.book import HAND_GRADES_SCHEMA_FILE, hand_grades_schema

    if folder is not None:
        write_atomic(folder / PROBLEM_SET_SCHEMA_FILE, schema_text(problem_set_schema()))
        write_atomic(folder / ANSWERS_SCHEMA_FILE, schema_text(answers_schema()))
        write_atomic(folder / HAND_GRADES_SCHEMA_FILE, schema_text(hand_grades_schema()))
        write_atomic(folder / REPORT_SCHEMA_FILE, schema_text(report_schema()))
        written = (PROBLEM_SET_SCHEMA_FILE, ANSWERS_SCHEMA_FILE, HAND_GRADES_SCHEMA_FILE, REPORT_SCHEMA_FILE)
        click.echo("wrote " + ", ".join(str(folder / name) for name in written), err=True)
        return
    if hand_grades:
        click.echo(schema_text(hand_grades_schema()), nl=False)
        return
    if problem_file is not None and not answers:
        click.echo("error: -p is for --answers (the problem-set schema is the same for every set)", err=True)
        sys.exit(EXIT_USAGE)
    spec = _load_spec(problem_file) if problem_file else None
    text = schema_text(answers_schema(spec) if answers else problem_set_schema())
    if output:
        write_atomic(output, text)
        click.echo(f"wrote {output}", err=True)
    else:
        click.echo(text, nl=False)


@main.command(name="variants")
@_PROBLEM_FILE
@click.option(
    "--students",
    "roster",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A CSV of students: its 'student', 'folder' or 'id' column (else its first) holds their ids.",
)
@_VARIANT_KEY
def variants_command(problem_file: Path, roster: Path, variant_key: str | None) -> None:
    """List each student's variant of a problem set with parameters, as CSV (for TAs only)."""
    import csv
    import io

    from grader.variants import VariantError, roster_students

    spec = _load_spec(problem_file)
    if not spec.parameters:
        click.echo(f"error: {problem_file} has no parameters: every student gets the same sheet", err=True)
        sys.exit(EXIT_USAGE)
    key = _variant_key(spec, variant_key)
    try:
        students = roster_students(roster.read_text(encoding="utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:
        click.echo(f"error: {roster}: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    block = spec.parameter_block()
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["student", "variant", "pinned", *block.names()])
    for student in students:
        try:
            variant = block.draw(key, spec.assignment, student)
        except VariantError as exc:
            click.echo(f"error: {student}: {exc}", err=True)
            sys.exit(EXIT_USAGE)
        pinned = "yes" if student in block.pinned else ""
        writer.writerow([student, variant.id, pinned, *(variant.text(n) for n in block.names())])
    click.echo(terminal_output(out.getvalue()), nl=False)


@main.command(name="gradescope-bundle")
@_PROBLEM_FILE
@click.option(
    "-o",
    "--output",
    default="autograder.zip",
    show_default=True,
    type=click.Path(dir_okay=False, path_type=Path),
)
@_VARIANT_KEY
def gradescope_bundle(problem_file: Path, output: Path, variant_key: str | None) -> None:
    """Build the autograder zip of a Gradescope programming assignment for one problem set."""
    from grader.reporting.gradescope import build_bundle, code_parts, image_notes

    spec = _load_spec(problem_file)
    key = _variant_key(spec, variant_key) if spec.parameters else b""
    if not _self_test(problem_file, spec)[0]:
        sys.exit(EXIT_USAGE)
    parts = code_parts(spec)
    names = build_bundle(problem_file, output, variant_key=key.decode("utf-8"), parts=parts)
    for line in image_notes(parts):
        click.echo(line, err=True)
    auto = sum(p.points for _, _, p in spec.iter_parts() if is_auto_graded(p))
    click.echo(
        f"wrote {output} ({len(names)} files). Upload it as the autograder of a Gradescope programming "
        f"assignment worth {counted(auto, 'point')} (hand-graded parts are separate questions).",
        err=True,
    )


from grader.cli_hand import hand as hand_commands  # noqa: E402  (a command group of its own module)

main.add_command(hand_commands)

from grader.cli_steps import steps_command  # noqa: E402  (a command of its own module)

main.add_command(steps_command)
from grader.cli_similar import similar_command  # noqa: E402  (a command of its own module)

main.add_command(similar_command)


if __name__ == "__main__":  # pragma: no cover
    main()
