"""``grader steps FILE``: every derivation of a write-up checked step by step (docs/steps.md)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from grader.cli_options import EXIT_USAGE, _load_spec

if TYPE_CHECKING:
    from grader.steps import ChainMarks, Context

MARKS = {"shown": "ok", "wrong": "WRONG", "undecided": "?"}


@click.command(name="steps")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option(
    "-p",
    "--problem-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A problem file: with --part, that part's declared symbols, domains and functions apply.",
)
@click.option("--part", "part_id", help="The part whose symbols apply (q1.a), with -p.")
def steps_command(file: Path, fmt: str, problem_file: Path | None, part_id: str | None) -> None:
    """Check every derivation in FILE (LaTeX, Markdown or a notebook) step by step."""
    from grader.reporting.escape import terminal_output
    from grader.steps import check_text, kind_of

    context = _context(problem_file, part_id)
    try:
        text = file.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        click.echo(f"error: cannot read {file}: {exc.strerror}", err=True)
        sys.exit(EXIT_USAGE)
    chains = check_text(text, kind_of(file), context)
    if fmt == "json":
        click.echo(json.dumps({"chains": [c.as_json() for c in chains]}, indent=2))
        return
    click.echo(terminal_output(render(chains, str(file)), color=False), nl=False)


def render(chains: list[ChainMarks], name: str) -> str:
    """The marks as lines for a terminal: the first wrong step of each chain stands out."""
    lines = []
    counts = {"shown": 0, "wrong": 0, "undecided": 0}
    for chain in chains:
        given = f"  (given {', '.join(chain.conditions)})" if chain.conditions else ""
        lines.append(f"{name}:{chain.line}{given}")
        for step in chain.steps:
            counts[step.status] += 1
            lines.append(f"  {MARKS[step.status]:5} {step.left}  {_relation(step.relation)}  {step.right}")
            if step.witness is not None:
                at = ", ".join(f"{k} = {v}" for k, v in step.witness.at.items()) or "as written"
                lines.append(
                    f"        at {at}: left side {step.witness.left}, right side {step.witness.right}"
                )
            elif step.certificate:
                lines.append(f"        {step.certificate}")
    lines.append(
        f"{len(chains)} chains, {sum(counts.values())} steps: {counts['shown']} shown, "
        f"{counts['wrong']} wrong, {counts['undecided']} undecided"
    )
    return "\n".join(lines) + "\n"


def _relation(relation: str) -> str:
    return {"iff": "<=>", "implies": "=>", "approx": "~"}.get(relation, relation)


def _context(problem_file: Path | None, part_id: str | None) -> Context | None:
    if problem_file is None:
        if part_id:
            click.echo("error: --part needs -p PROBLEM_FILE", err=True)
            sys.exit(EXIT_USAGE)
        return None
    spec = _load_spec(problem_file)
    parts = {address: part for address, _, part in spec.iter_parts()}
    if part_id is None:
        click.echo(
            f"error: with -p, name the part whose symbols apply: --part ({', '.join(parts)})", err=True
        )
        sys.exit(EXIT_USAGE)
    if part_id not in parts:
        click.echo(f"error: {spec.assignment} has no part {part_id} (it has {', '.join(parts)})", err=True)
        sys.exit(EXIT_USAGE)
    from grader.steps import context_for

    return context_for(parts[part_id])
