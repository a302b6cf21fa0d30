"""The ``grader`` command's entry point: a group that loads the commands only when one runs.

``grader --help`` and ``grader --version`` import nothing but click: the commands
(:mod:`grader.cli_commands`) pull in the engine, numpy and sympy, about a second of
imports, and are loaded when a command is named. The listing below is what ``--help``
shows; a test keeps it equal to the commands' own help.
"""

from __future__ import annotations

import click

from grader import __version__

# name -> the first sentence of the command's help, shortened to fit as click does
COMMANDS: dict[str, str] = {
    "cache": "The verdict store that lets a re-run regrade only what changed.",
    "check": "Show how grader reads the answers in PATH (default: here) before you hand them in.",
    "extend": "Give STUDENT an extension of ASSIGNMENT until UNTIL.",
    "grade": "Grade one submission folder, or every submission folder under PATH.",
    "gradescope-bundle": (
        "Build the autograder zip of a Gradescope programming assignment for one problem set."
    ),
    "hand": "Grade by question: answer groups, misconceptions, hand-grading progress.",
    "lti": "The course's LTI 1.3 tool (docs/lms.md).",
    "schema": "Print the JSON Schema of problem files (or of answers files, with --answers).",
    "serve": "Run the grading service for the course in COURSE_DIR (problems/*.yaml, course.yaml).",
    "stats": (
        "Per-part statistics of the <student>.json reports in FOLDER (and its subfolders): mean score, "
        "share of each verdict, the most common wrong answers grouped by meaning."
    ),
    "steps": "Check every derivation in FILE (LaTeX, Markdown or a notebook) step by step.",
    "similar": (
        "Rank the pairs of sheets in FOLDER (a class folder) by how alike they are: code, formulas, "
        "prose and shared rare wrong answers, the handout left out."
    ),
    "submit": (
        "Hand in the answers in PATH (default: here) to the course's grading service and show the verdict."
    ),
    "template": "Print a blank answers.yaml (or a write-up skeleton) for students, with each part's prompt.",
    "users": "The users of a course served by `grader serve`: add, list, remove, import, links, tokens.",
    "validate": "Check problem files and self-test every reference answer and listed mistake.",
    "variants": "List each student's variant of a problem set with parameters, as CSV (for TAs only).",
}


# The service's commands, loaded without the engine (grader.cli_service imports what each
# command uses when it runs): `grader users ...` starts as fast as `grader --help`.
SERVICE_COMMANDS = {
    "users": "users_group",
    "serve": "serve_command",
    "submit": "submit_command",
    "extend": "extend_command",
}


class LazyCommands(click.Group):
    """A group whose commands are imported when one is looked up, not to list them."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        if cmd_name in SERVICE_COMMANDS:  # the service's commands import what they use when run
            from grader import cli_service as service_commands

            command: click.Command = getattr(service_commands, SERVICE_COMMANDS[cmd_name])
            return command
        from grader.cli_commands import main as commands  # the engine: about a second of imports

        return commands.get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        limit = formatter.width - 6 - max(len(name) for name in COMMANDS)
        with formatter.section("Commands"):
            formatter.write_dl([(name, _short_help(COMMANDS[name], limit)) for name in sorted(COMMANDS)])


def _short_help(text: str, limit: int) -> str:
    """The text shortened to the limit as click shortens a command's own help."""
    return click.Command(name=None, help=text).get_short_help_str(limit)


@click.group(cls=LazyCommands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="grader")
def main() -> None:
    """Grade deep-learning-theory homework against YAML problem sets."""


if __name__ == "__main__":  # pragma: no cover
    main()
