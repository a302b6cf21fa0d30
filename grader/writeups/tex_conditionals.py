r"""What TeX would typeset of a write-up: its conditionals evaluated, excluded comments left out.

A draft kept in ``\iffalse ... \fi``, in a ``\newif\ifdraft`` switched off by ``\draftfalse``,
or in a ``comment`` environment is not submitted: TeX never typesets it, so grader never reads
it. Each file is read once, before it is parsed, in the order TeX reads it (an ``\input`` file
where it is input, with the switches as they stand there). Text TeX skips is blanked (line
breaks kept, so every line and column stays where it was). A conditional grader cannot decide
(``\ifx``, ``\ifnum`` on a register, ``\ifdefined`` of a name the write-up never defines) keeps
its text, and every answer marked inside it is refused by the reader with the reason: never a
guess. Nothing is run; definitions are only noted (their bodies are read when they are used).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

# Control sequences starting with "if" that are no conditionals.
_NOT_CONDITIONALS = frozenset({"iff", "ifthenelse"})
# Definitions: their bodies are conditionals TeX reads when they are used, not where defined.
_DEFINITIONS = frozenset(
    {
        "newcommand",
        "renewcommand",
        "providecommand",
        "DeclareMathOperator",
        "DeclareRobustCommand",
        "newenvironment",
        "renewenvironment",
        "NewDocumentCommand",
        "RenewDocumentCommand",
        "ProvideDocumentCommand",
        "DeclareDocumentCommand",
        "NewDocumentEnvironment",
        "RenewDocumentEnvironment",
    }
)
_DEFS = frozenset({"def", "gdef", "edef", "xdef", "let", "global", "long", "protected"})
# Environments read as typed (nothing inside is a command).
_VERBATIM = frozenset({"verbatim", "verbatim*", "lstlisting", "minted", "filecontents", "filecontents*"})
_INPUTS = frozenset({"input", "include"})
_TOKEN = re.compile(
    r"%[^\n]*|\\verb\*?([^A-Za-z\s])|\\(?:begin|end)\s*\{([^{}]*)\}|\\([A-Za-z@]+)\s*\*?|\\[^A-Za-z@]"
)
_NAME_AFTER = re.compile(r"\s*(?:\{\s*\\([A-Za-z@]+)\s*\}|\\([A-Za-z@]+)|\\([^A-Za-z@]))")
_ONE_TOKEN = re.compile(r"\s*(?:\\[A-Za-z@]+|\\.|[^\s\\])")
_GROUP_AFTER = re.compile(r"\s*\{([^{}]*)\}")


@dataclass
class Typeset:
    """One file as TeX typesets it: ``text`` with what is skipped blanked, and the spans
    (start, end, why) whose typesetting cannot be decided."""

    text: str
    undecided: list[tuple[int, int, str]] = field(default_factory=list)

    def undecided_at(self, position: int) -> str | None:
        """Why the text at ``position`` may or may not be typeset, or None when it is."""
        for start, end, why in self.undecided:
            if start <= position < end:
                return why
        return None


@dataclass
class _Frame:
    kind: str  # "true", "false", "undecided" or "skipped" (inside text that is skipped anyway)
    start: int
    why: str
    in_else: bool = False

    def typesets(self) -> bool:
        if self.kind == "true":
            return not self.in_else
        if self.kind == "false":
            return self.in_else
        return self.kind == "undecided"


# follow(name) -> (path, text) of the file ``\input{name}`` reads, or None.
Follow = Callable[[str], "tuple[str, str] | None"]


@dataclass
class Typesetter:
    """The state TeX carries through a write-up: switches (``\\newif``), names defined, and
    environments excluded as comments. ``None`` as a switch's value: it cannot be told."""

    switches: dict[str, bool | None] = field(default_factory=dict)
    defined: set[str] = field(default_factory=set)
    uncertain: set[str] = field(default_factory=set)  # defined only where typesetting is undecided
    excluded: set[str] = field(default_factory=lambda: {"comment"})
    files: dict[str, Typeset] = field(default_factory=dict)
    # where each switch changed, per file: (position, switches then), to read a macro's body later
    history: dict[str, list[tuple[int, dict[str, bool | None]]]] = field(default_factory=dict)

    def typeset(self, path: str, text: str, follow: Follow | None = None) -> Typeset:
        """``text`` (the file ``path``) as TeX typesets it; files it inputs are typeset where input."""
        if path in self.files:
            return self.files[path]
        self.files[path] = Typeset(text)  # a file inputting itself reads it as it stands
        result = self._run(path, text, follow)
        self.files[path] = result
        return result

    def fragment(self, text: str, path: str, position: int) -> Typeset:
        """A macro's body as used at ``position`` of ``path``, with the switches as they stood there."""
        saved = self.switches
        self.switches = dict(self.switches_at(path, position))
        try:
            return self._run(None, text, None)
        finally:
            self.switches = saved

    def switches_at(self, path: str, position: int) -> dict[str, bool | None]:
        state: dict[str, bool | None] = {}
        for at, switches in self.history.get(path, []):
            if at > position:
                break
            state = switches
        return state

    def _record(self, path: str | None, position: int) -> None:
        if path is not None:
            self.history.setdefault(path, []).append((position, dict(self.switches)))

    def _run(self, path: str | None, text: str, follow: Follow | None) -> Typeset:
        run = _Run(self, path, text, follow)
        self._record(path, 0)
        index = 0
        while (match := _TOKEN.search(text, index)) is not None:
            index = run.token(match)
        return run.finished()

    def _define(self, names: set[str], unsure: bool) -> None:
        if unsure:
            self.uncertain |= names - self.defined
        else:
            self.defined |= names
            self.uncertain -= names

    def _definition(self, name: str, text: str, index: int, unsure: bool) -> int:
        """Past a definition's name and body (conditionals in a body are read where it is used)."""
        if name in ("global", "long", "protected"):
            return index
        named = _NAME_AFTER.match(text, index)
        if name.endswith(("environment", "Environment")):
            group = _GROUP_AFTER.match(text, index)
            return _skip_groups(text, group.end(), 2) if group else index
        if named is None:
            return index
        defined = named.group(1) or named.group(2) or named.group(3)
        self._define({defined}, unsure)
        if name == "let":
            return named.end()
        if name in _DEFS:  # \def\name#1#2{body}
            brace = text.find("{", named.end())
            return index if brace < 0 else _skip_groups(text, brace, 1)
        return _skip_groups(text, named.end(), 1, optional=True)

    def _condition(self, name: str, text: str, index: int) -> tuple[str, str, int]:
        """(kind, why, where the test ends) for the conditional ``\\<name>`` ending at ``index``."""
        if name == "iftrue":
            return "true", "", index
        if name == "iffalse":
            return "false", "", index
        if name[2:] in self.switches:
            value = self.switches[name[2:]]
            if value is None:
                return "undecided", f"\\{name} is switched where TeX's reading cannot be told", index
            return ("true" if value else "false"), "", index
        if name == "ifdefined":
            named = _NAME_AFTER.match(text, index)
            if named is None:
                return "undecided", "\\ifdefined tests no name grader can read", index
            tested = named.group(1) or named.group(2) or named.group(3)
            if tested in self.defined:
                return "true", "", named.end()
            why = f"\\ifdefined\\{tested}: whether \\{tested} is defined cannot be told from the write-up"
            return "undecided", why, named.end()
        if name in ("ifx", "if", "ifcat"):  # two tokens compared: past them
            for _ in range(2):
                token = _ONE_TOKEN.match(text, index)
                index = token.end() if token else index
        return "undecided", f"\\{name} is a condition grader does not evaluate", index


class _Run:
    """One reading of a text: where TeX skips, which spans are undecided, the frames open."""

    def __init__(self, state: Typesetter, path: str | None, text: str, follow: Follow | None) -> None:
        self.state, self.path, self.text, self.follow = state, path, text, follow
        self.out = list(text)
        self.undecided: list[tuple[int, int, str]] = []
        self.frames: list[_Frame] = []
        self.skip_from: int | None = None  # where the text TeX skips started

    def typesetting(self) -> bool:
        return all(frame.typesets() for frame in self.frames)

    def doubt(self) -> str | None:
        return next((frame.why for frame in self.frames if frame.kind == "undecided"), None)

    def blank(self, start: int, end: int) -> None:
        for index in range(start, min(end, len(self.out))):
            if self.out[index] != "\n":
                self.out[index] = " "

    def finished(self) -> Typeset:
        for frame in reversed(self.frames):  # never closed: TeX's run ends inside it
            if frame.kind == "undecided":
                self.undecided.append((frame.start, len(self.text), frame.why))
        if self.skip_from is not None:
            self.blank(self.skip_from, len(self.text))
        return Typeset("".join(self.out), self.undecided)

    def token(self, match: re.Match[str]) -> int:
        """Read one token; where reading goes on."""
        start, index = match.start(), match.end()
        if match.group(1) is not None:  # \verb|...|
            close = self.text.find(match.group(1), index)
            return len(self.text) if close < 0 else close + 1
        if match.group(2) is not None:
            return self.environment(match.group(2).strip(), start, index)
        name = match.group(3)
        if name is None:  # a comment or a one-character command
            return index
        if _is_conditional(name, self.state):
            return self.conditional(name, start, index)
        if name in ("else", "or", "fi") and self.frames:
            return self.branch(name, start, index)
        if not self.typesetting():
            return index
        return self.command(name, index)

    def environment(self, name: str, start: int, index: int) -> int:
        if not self.text.startswith("\\begin", start) or (
            name not in _VERBATIM and name not in self.state.excluded
        ):
            return index
        closing = f"\\end{{{name}}}"
        end = self.text.find(closing, index)
        end = len(self.text) if end < 0 else end + len(closing)
        if name in self.state.excluded and self.typesetting():
            self.blank(start, end)
        return end

    def conditional(self, name: str, start: int, index: int) -> int:
        if not self.typesetting():
            self.frames.append(_Frame("skipped", start, ""))
            return index
        kind, why, index = self.state._condition(name, self.text, index)
        self.frames.append(_Frame(kind, start, why))
        self.blank(start, index)
        if not self.typesetting():
            self.skip_from = start
        return index

    def branch(self, name: str, start: int, index: int) -> int:
        frame = self.frames[-1]
        if name == "fi":
            self.frames.pop()
            if frame.kind == "undecided":
                self.undecided.append((frame.start, index, frame.why))
        elif name == "else":
            frame.in_else = True
        if self.skip_from is not None and self.typesetting():
            self.blank(self.skip_from, index)
            self.skip_from = None
        elif self.skip_from is None and not self.typesetting():
            self.skip_from = start
        if self.typesetting():
            self.blank(start, index)
        return index

    def command(self, name: str, index: int) -> int:
        """A command TeX typesets: a switch, a definition, an input, a comment environment."""
        state, text, unsure = self.state, self.text, self.doubt() is not None
        switch = _switch_set(name, state)
        if name == "newif":
            named = _NAME_AFTER.match(text, index)
            found = named.group(1) or named.group(2) if named else None
            if named and found and found.startswith("if"):
                state.switches[found[2:]] = None if unsure else False
                state._define({found, f"{found[2:]}true", f"{found[2:]}false"}, unsure)
                index = named.end()
                state._record(self.path, index)
        elif switch is not None:
            state.switches[switch[0]] = None if unsure else switch[1]
            state._record(self.path, index)
        elif name in ("excludecomment", "includecomment"):
            group = _GROUP_AFTER.match(text, index)
            if group:
                (state.excluded.add if name == "excludecomment" else state.excluded.discard)(
                    group.group(1).strip()
                )
                index = group.end()
        elif name in _DEFINITIONS or name in _DEFS:
            index = state._definition(name, text, index, unsure)
        elif name in _INPUTS and self.follow is not None:
            group = _GROUP_AFTER.match(text, index)
            found_file = self.follow(group.group(1).strip()) if group else None
            if found_file is not None:
                inner = state.typeset(found_file[0], found_file[1], self.follow)
                if unsure:
                    inner.undecided.append((0, len(inner.text) + 1, self.doubt() or ""))
        return index


def _is_conditional(name: str, state: Typesetter) -> bool:
    """Is ``\\<name>`` a conditional: a TeX primitive, a ``\\newif`` switch, a package's ``\\if...``
    (a command the student defined with that name is not)?"""
    if not name.startswith("if") or name in _NOT_CONDITIONALS:
        return False
    return name[2:] in state.switches or name not in state.defined


def _switch_set(name: str, state: Typesetter) -> tuple[str, bool] | None:
    """``\\drafttrue`` -> ("draft", True) for a switch ``\\newif`` made; else None."""
    for suffix, value in (("true", True), ("false", False)):
        if name.endswith(suffix) and name[: -len(suffix)] in state.switches:
            return name[: -len(suffix)], value
    return None


def _skip_groups(text: str, index: int, count: int, optional: bool = False) -> int:
    """Past ``count`` brace groups from ``index`` (``[...]`` options before them skipped)."""
    for _ in range(count):
        while True:
            while index < len(text) and text[index].isspace():
                index += 1
            if optional and index < len(text) and text[index] == "[":
                close = text.find("]", index)
                index = len(text) if close < 0 else close + 1
                continue
            break
        if index >= len(text) or text[index] != "{":
            return index
        depth = 0
        while index < len(text):
            char = text[index]
            if char == "\\":
                index += 2
                continue
            if char == "%":
                newline = text.find("\n", index)
                index = len(text) if newline < 0 else newline + 1
                continue
            depth += char == "{"
            depth -= char == "}"
            index += 1
            if depth == 0:
                break
    return index
