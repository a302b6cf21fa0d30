r"""Answers marked in LaTeX: ``\answer{q6.full}{...}`` and ``\begin{answer}{q3.jacobian} ... \end{answer}``.

grader reads ``main.tex``, or every ``.tex`` file of the folder when there is none, and
follows ``\input``/``\include`` to files inside the submission folder only. pylatexenc
parses the source into nodes, so braces nest as LaTeX nests them; an answer is its
source text as typed, less ``%`` comments and the ``$``/``\[``/``\(`` delimiters of
math (an escaped ``\%`` or ``\$`` stays). Code in ``verbatim`` or ``lstlisting`` inside an
``answer`` environment is read as typed, line breaks kept (the answer to a ``code`` part).
Nothing is run. What TeX would not typeset is not read (:mod:`tex_conditionals`): a draft
in ``\iffalse``, a ``\newif`` switch turned off, a ``comment`` environment; an answer inside a
condition grader cannot decide is refused with why. The student's own macros are replaced by
their bodies.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from pylatexenc import latexwalker as lw
from pylatexenc.macrospec import (
    EnvironmentSpec,
    LatexContextDb,
    MacroSpec,
    MacroStandardArgsParser,
    ParsedMacroArgs,
    ParsedVerbatimArgs,
)

from grader.core.folder import Folder
from grader.core.submission import SourcePosition
from grader.mathlang.candidates import APART, with_prose
from grader.writeups.common import (
    MAX_WRITEUP_FILE_BYTES,
    MAX_WRITEUP_FILES,
    Extraction,
    Macro,
    expand_macros,
    find_macros,
    id_problem,
    one_line,
)
from grader.writeups.latex_files import grader_sty as grader_sty
from grader.writeups.latex_files import has_marker as has_marker
from grader.writeups.latex_files import resolve_input
from grader.writeups.tex_conditionals import Typeset, Typesetter

MAIN_FILE = "main.tex"
MAX_INPUT_DEPTH = 16
# All .tex files of one submission together; parsing a megabyte of LaTeX takes seconds.
MAX_LATEX_CHARACTERS = 2_000_000
INPUT_MACROS = ("input", "include")
# Their contents are not the document: a package written out by filecontents, verbatim code.
SKIPPED_ENVIRONMENTS = frozenset(
    {"filecontents", "filecontents*", "verbatim", "verbatim*", "lstlisting", "minted"}
)
# Macros that define \answer rather than use it: their arguments are not read.
DEFINING_MACROS = frozenset(
    {
        "def",
        "gdef",
        "DeclareMathOperator",
        "edef",
        "xdef",
        "let",
        "newcommand",
        "renewcommand",
        "providecommand",
        "newenvironment",
        "renewenvironment",
        "NewDocumentCommand",
        "RenewDocumentCommand",
        "DeclareDocumentCommand",
        "NewDocumentEnvironment",
        "RenewDocumentEnvironment",
    }
)
# Code in an answer: read as typed, line breaks kept (the answer to a ``code`` part).
CODE_ENVIRONMENTS = ("verbatim", "verbatim*", "lstlisting")
_LISTING_OPTIONS = re.compile(r"\A[ \t]*\[[^\]\n]*\]")  # \begin{lstlisting}[language=Python]
# Rows of working, aligned at ``&``: the rows are read one after another, a row starting
# ``&= ...`` continuing the one before it (grader.mathlang.candidates.mended).
ALIGNED_ENVIRONMENTS = frozenset(
    {
        *(
            f"{name}{star}"
            for name in ("align", "alignat", "flalign", "gather", "multline", "eqnarray")
            for star in ("", "*")
        ),
        "aligned",
        "alignedat",
        "gathered",
        "split",
    }
)
MATH_ENVIRONMENTS = frozenset({"equation", "equation*", "displaymath", "math", *ALIGNED_ENVIRONMENTS})
# Struck-out text is not submitted (ulem's \sout and \xout, soul's \st).
STRUCK_OUT_MACROS = ("sout", "xout", "st")
_END_ANSWER = re.compile(r"\\end\s*\{answer\}\Z")
_MACRO_NAMES = re.compile(r"\\([A-Za-z@]+)")
_CONDITIONAL = re.compile(r"\\if[A-Za-z@]")


# What pylatexenc raises, besides its own errors, on input it was not written for.
_PARSER_SLIPS = (IndexError, KeyError, ValueError, TypeError, AttributeError)


class _BracedArguments(MacroStandardArgsParser):
    r"""Arguments in braces only: ``\answer{q9}`` followed by ``\begin{answer}`` takes one
    argument (and is reported), instead of swallowing the next command as LaTeX would."""

    def parse_args(
        self, w: lw.LatexWalker, pos: int, parsing_state: lw.ParsingState | None = None
    ) -> tuple[ParsedMacroArgs, int, int]:
        arguments: list[lw.LatexNode] = []
        cursor = pos
        for _ in self.argspec:
            try:
                token = w.get_token(cursor, parsing_state=parsing_state)
            except lw.LatexWalkerEndOfStream:
                break
            if token.tok != "brace_open":
                break
            node, start, length = w.get_latex_expression(cursor, parsing_state=parsing_state)
            arguments.append(node)
            cursor = start + length
        return ParsedMacroArgs(argspec=self.argspec[: len(arguments)], argnlist=arguments), pos, cursor - pos


class _VerbatimBody(MacroStandardArgsParser):
    r"""The body of ``verbatim`` or ``lstlisting`` as typed, up to its ``\end``, as LaTeX reads
    it: no comment, brace or command inside (pylatexenc's own parser knows only ``verbatim``)."""

    def __init__(self, environment: str) -> None:
        super().__init__(argspec="{")
        self.environment = environment

    def parse_args(
        self, w: lw.LatexWalker, pos: int, parsing_state: lw.ParsingState | None = None
    ) -> tuple[ParsedVerbatimArgs, int, int]:
        end = w.s.find(f"\\end{{{self.environment}}}", pos)
        if end < 0:
            raise lw.LatexWalkerParseError(
                s=w.s, pos=pos, msg=f"\\begin{{{self.environment}}} is never closed"
            )
        chars = w.make_node(
            lw.LatexCharsNode, parsing_state=parsing_state, chars=w.s[pos:end], pos=pos, len=end - pos
        )
        return ParsedVerbatimArgs(verbatim_chars_node=chars), pos, end - pos


def _latex_context() -> LatexContextDb:
    context = lw.get_default_latex_context_db()
    context.add_context_category(
        "grader",
        prepend=True,
        macros=[
            MacroSpec("answer", args_parser=_BracedArguments("{{")),
            *(MacroSpec(name, args_parser=_BracedArguments("{")) for name in INPUT_MACROS),
        ],
        environments=[
            EnvironmentSpec("answer", args_parser=_BracedArguments("{")),
            *(EnvironmentSpec(name, args_parser=_VerbatimBody(name)) for name in CODE_ENVIRONMENTS),
        ],
    )
    return context


_CONTEXT = _latex_context()


@dataclass
class _Document:
    """One parsed ``.tex`` file."""

    name: str  # as the submission path names it: submissions/alice/main.tex
    path: str  # inside the submission folder
    text: str  # as TeX typesets it: what it skips blanked
    walker: lw.LatexWalker
    typeset: Typeset

    def position(self, pos: int) -> SourcePosition:
        line, column = self.walker.pos_to_lineno_colno(pos)
        return SourcePosition(self.name, line, column + 1)

    def answer_text(self, start: int, end: int, nodes: list[lw.LatexNode | None]) -> str:
        """The source between ``start`` and ``end`` as typed, less comments and math delimiters."""
        out, cursor = [], start
        for cut_start, cut_end, replacement in sorted(_cuts(self.text, nodes)):
            if cut_start >= cursor:
                out += [self.text[cursor:cut_start], replacement]
                cursor = cut_end
        out.append(self.text[cursor:end])
        return one_line(_apart("".join(out)))


@dataclass
class _Reader:
    folder: Folder
    found: Extraction = field(default_factory=Extraction)
    visited: set[str] = field(default_factory=set)
    characters_read: int = 0
    macros: dict[str, Macro] = field(default_factory=dict)  # the student's \newcommand, so far
    typesetter: Typesetter = field(default_factory=Typesetter)

    def read_file(self, path: str, depth: int) -> None:
        name = self.folder.named(path)
        if len(self.visited) >= MAX_WRITEUP_FILES:
            self.found.warn(name, f"not read: a write-up may have at most {MAX_WRITEUP_FILES} .tex files")
            return
        self.visited.add(path)
        try:
            text = self.folder.read_text(path, MAX_WRITEUP_FILE_BYTES)
        except ValueError as exc:
            self.found.not_read(name, exc)
            return
        self.characters_read += len(text)
        if self.characters_read > MAX_LATEX_CHARACTERS:
            self.found.warn(
                name, f"not read: the write-up's .tex files pass {MAX_LATEX_CHARACTERS:,} characters"
            )
            return
        typeset = self.typesetter.typeset(path, text, self._input_text)
        try:
            self.walk(*self._parse(path, name, typeset), depth)
        except RecursionError:
            self.found.warn(name, "not read: braces or environments nest too deeply")
        except lw.LatexWalkerError as exc:  # the tolerant parse gave up too
            self.found.warn(name, f"not read: the LaTeX cannot be parsed ({exc})")
        except _PARSER_SLIPS as exc:  # pylatexenc reads past the end (``\\verb`` last)
            self.found.warn(name, f"not read: the LaTeX cannot be parsed ({type(exc).__name__})")

    def _input_text(self, name: str) -> tuple[str, str] | None:
        """The file ``\\input{name}`` reads and its text, for the typesetter (None: not read)."""
        target, _ = resolve_input(self.folder, name)
        if target is None or len(self.typesetter.files) >= MAX_WRITEUP_FILES:
            return None
        try:
            return target, self.folder.read_text(target, MAX_WRITEUP_FILE_BYTES)
        except ValueError:
            return None

    def _parse(self, path: str, name: str, typeset: Typeset) -> tuple[_Document, list[lw.LatexNode | None]]:
        """The file's nodes; after a LaTeX error, a warning and the nodes a tolerant parse finds."""
        text = typeset.text
        walker = lw.LatexWalker(text, latex_context=_CONTEXT, tolerant_parsing=False)
        try:
            return _Document(name, path, text, walker, typeset), walker.get_latex_nodes()[0]
        except lw.LatexWalkerParseError as exc:
            where = f"{name}:{exc.lineno}:{(exc.colno or 0) + 1}" if exc.lineno else name
            self.found.warn(where, f"the LaTeX cannot be read here ({exc.msg}); answers may be missed")
        walker = lw.LatexWalker(text, latex_context=_CONTEXT, tolerant_parsing=True)
        return _Document(name, path, text, walker, typeset), walker.get_latex_nodes()[0]

    def walk(self, document: _Document, nodes: list[lw.LatexNode | None], depth: int) -> None:
        previous: lw.LatexNode | None = None
        for index, node in enumerate(nodes):
            if node is None:
                continue
            if _is_macro(node, *DEFINING_MACROS):
                self.macros.update(find_macros(_definition_text(document.text, nodes, index)))
            defines_answer = _is_macro(previous, *DEFINING_MACROS) and not _arguments(previous)
            if _is_macro(node, "answer") and not defines_answer:
                self._inline_answer(document, node)
            elif _is_macro(node, *INPUT_MACROS):
                self._follow(document, node, depth)
            elif _is_environment(node, "answer"):
                self._block_answer(document, node)
            elif not _is_skipped(node):
                self.walk(document, _children(node), depth)
            previous = node

    def _inline_answer(self, document: _Document, node: lw.LatexMacroNode) -> None:
        position = document.position(node.pos)
        arguments = _arguments(node)
        if len(arguments) != 2 or not all(isinstance(a, lw.LatexGroupNode) for a in arguments):
            self.found.warn(position, r"\answer needs two arguments in braces: \answer{q6.full}{...}")
            return
        id_group, body = arguments
        part_id = self._part_id(document, id_group, position)
        if part_id is not None:
            start, end = _inside(body)
            text = document.answer_text(start, end, body.nodelist)
            self._add(document, node.pos, part_id, text, position)

    def _block_answer(self, document: _Document, node: lw.LatexEnvironmentNode) -> None:
        position = document.position(node.pos)
        arguments = _arguments(node)
        if len(arguments) != 1 or not isinstance(arguments[0], lw.LatexGroupNode):
            self.found.warn(
                position, r"\begin{answer} needs the part id in braces: \begin{answer}{q3.jacobian}"
            )
            return
        node_end = node.pos + node.len
        body_end = document.text.rfind("\\end", node.pos, node_end)
        if body_end < 0 or not _END_ANSWER.match(document.text, body_end, node_end):
            self.found.warn(
                position, r"\begin{answer} is never closed by \end{answer}; the answer is not read"
            )
            return
        part_id = self._part_id(document, arguments[0], position)
        if part_id is None:
            return
        code = [
            _code(child)
            for child in node.nodelist
            if isinstance(child, lw.LatexEnvironmentNode) and child.environmentname in CODE_ENVIRONMENTS
        ]
        if code:  # code, as typed: never collapsed, no macro replaced
            self.found.add(part_id, "\n".join(code), position)
            return
        body_start = arguments[0].pos + arguments[0].len
        text = document.answer_text(body_start, body_end, node.nodelist)
        self._add(document, node.pos, part_id, text, position)

    def _add(self, document: _Document, at: int, part_id: str, text: str, position: SourcePosition) -> None:
        """The answer as TeX typesets it, the student's macros replaced; refused with why when
        whether TeX typesets it (or what a macro in it gives) cannot be told."""
        why = document.typeset.undecided_at(at)
        used = {name for name in _MACRO_NAMES.findall(text) if name in self.typesetter.uncertain}
        if why is None and used:
            why = f"\\{sorted(used)[0]} is defined inside a condition grader cannot decide"
        expanded = expand_macros(text, self.macros)
        if why is None and expanded != text and _CONDITIONAL.search(expanded):
            fragment = self.typesetter.fragment(expanded, document.path, at)
            expanded = one_line(fragment.text)
            why = fragment.undecided[0][2] if fragment.undecided else None
        if why is not None:
            reason = f"TeX may or may not typeset this answer ({why}); it is not read"
            self.found.refuse(part_id, position, reason)
            return
        self.found.add(part_id, expanded, position)

    def _part_id(self, document: _Document, group: lw.LatexGroupNode, position: SourcePosition) -> str | None:
        start, end = _inside(group)
        part_id = document.text[start:end].strip().replace("\\_", "_")
        problem = id_problem(part_id)
        if problem:
            self.found.warn(position, f"answer not read: {problem}")
            return None
        return part_id

    def _follow(self, document: _Document, node: lw.LatexMacroNode, depth: int) -> None:
        position = document.position(node.pos)
        arguments = _arguments(node)
        if not arguments or not isinstance(arguments[0], lw.LatexGroupNode):
            self.found.warn(
                position, f"\\{node.macroname} without braces is not followed; write \\input{{file}}"
            )
            return
        start, end = _inside(arguments[0])
        name = document.text[start:end].strip()
        target, refusal = resolve_input(self.folder, name)
        if refusal:
            self.found.warn(position, f"\\{node.macroname}{{{name}}} is not read: {refusal}")
        elif target is not None and target not in self.visited:
            if depth >= MAX_INPUT_DEPTH:
                self.found.warn(position, f"\\{node.macroname}{{{name}}} is not read: inputs nest too deeply")
            else:
                self.read_file(target, depth + 1)


def read_latex(folder: Folder) -> Extraction:
    """Every answer marked in the folder's LaTeX, in reading order (``\\input`` files where input)."""
    reader = _Reader(folder)
    reader.found.warn_escaping(folder, ".tex")
    main = folder.resolve(MAIN_FILE)
    roots = [main] if main is not None and folder.is_file(main) else folder.files(".tex")
    for root in roots:
        if root not in reader.visited:
            reader.read_file(root, 0)
    _warn_unread(reader)
    return reader.found


def _warn_unread(reader: _Reader) -> None:
    """A ``.tex`` file with marks that ``main.tex`` never inputs is named, not silently dropped."""
    for path in reader.folder.files(".tex"):
        if path in reader.visited:
            continue
        try:
            text = reader.folder.read_text(path, MAX_WRITEUP_FILE_BYTES)
        except ValueError:
            continue
        if has_marker(text):
            reader.found.warn(
                reader.folder.named(path), f"marks answers but is not read: {MAIN_FILE} does not \\input it"
            )


def _cuts(text: str, nodes: list[lw.LatexNode | None]) -> list[tuple[int, int, str]]:
    """Source spans an answer reads otherwise (start, end, what it reads): comments and the
    delimiters around math as nothing, ``\\_`` as ``_`` (LaTeX's way to type an underscore)."""
    cuts: list[tuple[int, int, str]] = []
    for index, node in enumerate(nodes):
        if node is None:
            continue
        struck = _struck_out(node, nodes[index + 1 : index + 2])
        if struck is not None:
            cuts.append((node.pos, struck, " "))
            continue
        if isinstance(node, lw.LatexCommentNode):
            cuts.append((node.pos, node.pos + node.len, ""))
            continue
        if _is_macro(node, "_"):
            cuts.append((node.pos, node.pos + len("\\_"), "_"))
        elif isinstance(node, lw.LatexMathNode):
            opening, closing = node.delimiters
            end = node.pos + node.len
            cuts.append((node.pos, node.pos + len(opening), _OPENS))
            if text.startswith(closing, end - len(closing)):
                cuts.append((end - len(closing), end, _CLOSES))
        elif isinstance(node, lw.LatexEnvironmentNode) and node.environmentname in MATH_ENVIRONMENTS:
            cuts += _environment_markers(text, node)
            if node.environmentname in ALIGNED_ENVIRONMENTS:
                cuts += _row_breaks(node)
        cuts += _cuts(text, _children(node))
    return cuts


# Where math opened and closed, while an answer's text is put together (then dropped).
_OPENS, _CLOSES = "\x00(", "\x00)"
_JUXTAPOSED = re.compile(r"\x00\)\s*\x00\(")


def _apart(text: str) -> str:
    """Math delimiters dropped; two formulas with only white space between them kept apart;
    prose beside math set off (:func:`~grader.mathlang.candidates.with_prose`)."""
    text = _JUXTAPOSED.sub(f"{_CLOSES} {APART} {_OPENS}", text)
    pieces: list[tuple[str, bool]] = []
    depth = 0
    for chunk in re.split(r"(\x00[()])", text):
        if chunk in (_OPENS, _CLOSES):
            depth = depth + 1 if chunk == _OPENS else max(depth - 1, 0)
        elif chunk:
            pieces.append((chunk, depth > 0))
    return with_prose(pieces)


def _definition_text(text: str, nodes: list[lw.LatexNode | None], index: int) -> str:
    """The source of the definition starting at ``nodes[index]``: the node itself, with the
    nodes after it that pylatexenc leaves as siblings (``\\def\\two{2}``), up to its body."""
    node = nodes[index]
    assert node is not None
    end = node.pos + node.len
    for later in nodes[index + 1 : index + 4]:
        if later is None:
            continue
        end = later.pos + later.len
        if isinstance(later, lw.LatexGroupNode):
            break
    return text[node.pos : end]


def _struck_out(node: lw.LatexNode, after: list[lw.LatexNode | None]) -> int | None:
    """Where ``\\sout{...}`` (struck-out text) starting at ``node`` ends, or None."""
    if not _is_macro(node, *STRUCK_OUT_MACROS):
        return None
    if _arguments(node):
        return node.pos + node.len
    group = after[0] if after else None
    return group.pos + group.len if isinstance(group, lw.LatexGroupNode) else None


def _row_breaks(node: lw.LatexEnvironmentNode) -> list[tuple[int, int, str]]:
    """An aligned environment's ``&`` left out and its ``\\\\`` read as formulas kept apart."""
    cuts = []
    for child in node.nodelist:
        if isinstance(child, lw.LatexSpecialsNode) and child.specials_chars == "&":
            cuts.append((child.pos, child.pos + child.len, " "))
        elif _is_macro(child, "\\"):
            cuts.append((child.pos, child.pos + child.len, f" {APART} "))
    return cuts


def _environment_markers(text: str, node: lw.LatexEnvironmentNode) -> list[tuple[int, int, str]]:
    end = node.pos + node.len
    begin_end = text.find("}", node.pos, end) + 1
    end_start = text.rfind("\\end", node.pos, end)
    if begin_end <= 0 or end_start < begin_end:
        return []
    return [(node.pos, begin_end, _OPENS), (end_start, end, _CLOSES)]


def _children(node: lw.LatexNode) -> list[lw.LatexNode | None]:
    children: list[lw.LatexNode | None] = list(_arguments(node))
    if isinstance(node, lw.LatexGroupNode | lw.LatexEnvironmentNode | lw.LatexMathNode):
        children += node.nodelist
    return children


def _arguments(node: lw.LatexNode) -> list[lw.LatexNode]:
    parsed = getattr(node, "nodeargd", None)
    if parsed is None or not parsed.argnlist:
        return []
    return [argument for argument in parsed.argnlist if argument is not None]


def _inside(group: lw.LatexGroupNode) -> tuple[int, int]:
    opening, closing = group.delimiters
    return group.pos + len(opening), group.pos + group.len - len(closing)


def _is_macro(node: lw.LatexNode | None, *names: str) -> bool:
    return isinstance(node, lw.LatexMacroNode) and node.macroname in names


def _is_environment(node: lw.LatexNode | None, *names: str) -> bool:
    return isinstance(node, lw.LatexEnvironmentNode) and node.environmentname in names


def _code(node: lw.LatexEnvironmentNode) -> str:
    """A ``verbatim`` or ``lstlisting`` body as typed: its options and the line breaks after
    ``\\begin`` and before ``\\end`` left out, every other line as it is."""
    text = str(getattr(node.nodeargd, "verbatim_text", None) or "")
    if node.environmentname == "lstlisting":
        text = _LISTING_OPTIONS.sub("", text, count=1)
    lines = text.split("\n")
    if lines and not lines[0].strip():
        lines = lines[1:]
    if lines and not lines[-1].strip():
        lines = lines[:-1]
    return "\n".join(lines)


def _is_skipped(node: lw.LatexNode) -> bool:
    if isinstance(node, lw.LatexEnvironmentNode):
        return node.environmentname in SKIPPED_ENVIRONMENTS
    return isinstance(node, lw.LatexCommentNode) or _is_macro(node, *DEFINING_MACROS)
