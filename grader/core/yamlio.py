"""Reading YAML the way a TA or student means it, with a position for every value.

PyYAML follows YAML 1.1, where ``no``/``yes``/``on``/``off`` are booleans and
``1e-3`` is a string. We read YAML 1.2 style instead: only ``true``/``false``
are booleans and ``1e-3`` is a number, so ``answer: no`` in a choice part
stays the option ``no`` and ``rtol: 1e-3`` is a tolerance. Duplicate keys
are an error (PyYAML keeps the last one silently).

:func:`load_with_positions` returns the data and a map from each value's path
(a tuple of keys and list indices) to its (line, column), 1-based, so a
validation error can name the line the TA has to fix.
"""

from __future__ import annotations

import ast as python_ast
import re
import string
import textwrap
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, ClassVar

import yaml
from yaml.events import (
    AliasEvent,
    CollectionEndEvent,
    CollectionStartEvent,
    NodeEvent,
    ScalarEvent,
)
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from grader.mathlang.limits import MAX_VALUE_DIGITS, limit_from_environment

Path = tuple[Any, ...]

# The YAML 1.2 core schema: digits only (no underscores: "._" and "1_" stay text).
_FLOAT_12 = re.compile(
    r"""^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$
    |^[-+]?\.(?:inf|Inf|INF)$|^\.(?:nan|NaN|NAN)$""",
    re.X,
)
_INT_12 = re.compile(r"^[-+]?[0-9]+$")
_BOOL_12 = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")


class YamlError(Exception):
    def __init__(self, message: str, line: int | None = None, column: int | None = None):
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column


@dataclass(frozen=True)
class Position:
    line: int
    column: int


# libyaml's parser is about five times faster than the pure-Python one and gives the same
# positions (line, column, character index); the pure-Python one is the fallback.
_LoaderBase: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_LoaderBase):  # type: ignore[valid-type,misc]
    """SafeLoader with YAML 1.2 core-schema booleans, ints and floats."""


# Drop the YAML 1.1 resolvers for bool, int and float, then add the 1.2 ones.
_Loader.yaml_implicit_resolvers = {
    first: [
        (tag, regexp)
        for tag, regexp in resolvers
        if tag
        not in (
            "tag:yaml.org,2002:bool",
            "tag:yaml.org,2002:float",
            "tag:yaml.org,2002:int",
            "tag:yaml.org,2002:timestamp",  # a date in an answer stays the text written
        )
    ]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.copy().items()
}
_Loader.add_implicit_resolver("tag:yaml.org,2002:bool", _BOOL_12, list("tTfF"))
_Loader.add_implicit_resolver("tag:yaml.org,2002:int", _INT_12, list("-+0123456789"))
_Loader.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT_12, list("-+0123456789."))


class _ReadableDumper(yaml.SafeDumper):
    r"""SafeDumper whose output :func:`load_with_positions` reads back as it was: a string either
    YAML 1.1 or this reader's 1.2 schema takes for a number or boolean is quoted, and a
    double-quoted string escapes only ``\\`` and ``\"`` by letter (all else as ``\xNN``,
    ``\uNNNN``), since this reader keeps a one-letter escape (``\t``) as typed, for LaTeX."""

    ESCAPE_REPLACEMENTS = MappingProxyType({'"': '"', "\\": "\\"})  # type: ignore[misc,assignment]


def _represent_text(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    # a next-line character outside double quotes is a line break that reading folds away
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style='"' if "\x85" in text else None)


_ReadableDumper.add_representer(str, _represent_text)
for _first, _resolvers in _Loader.yaml_implicit_resolvers.items():
    for _tag, _regexp in _resolvers:
        _ReadableDumper.add_implicit_resolver(_tag, _regexp, [_first])


def dump_readable(data: Any) -> str:
    """``data`` as YAML (keys in order, Unicode as typed) that grader's reader reads back as ``data``."""
    return yaml.dump(data, Dumper=_ReadableDumper, sort_keys=False, allow_unicode=True, width=100)


def load_with_positions(
    text: str, notes: list[TypedString] | None = None, limits: StructureLimits | None = None
) -> tuple[Any, dict[Path, Position]]:
    """Parse one YAML document; raise :class:`YamlError` with a line on any problem.

    ``notes``, when given, receives every double-quoted string that was read as typed
    (LaTeX such as ``"\\sigma(x)"``), so the reader can suggest single quotes.
    ``limits`` bound nesting and aliases (:data:`PROBLEM_FILE` when not given), checked
    before anything is built.
    """
    try:
        check_structure(text, PROBLEM_FILE if limits is None else limits)
        root = _single_node(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "not valid YAML"
        if mark is None:
            raise YamlError(f"not valid YAML: {problem}") from None
        raise YamlError(f"not valid YAML: {problem}", mark.line + 1, mark.column + 1) from None
    except yaml.YAMLError as exc:
        raise YamlError(f"not valid YAML: {exc}") from None
    if root is None:
        return None, {}
    positions: dict[Path, Position] = {}
    try:
        data = _construct(root, (), positions, _Source(text, notes))
    except yaml.MarkedYAMLError as exc:  # a value its tag cannot be built from
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (None, None)
        raise YamlError(f"not valid YAML: {exc.problem or exc.context}", line, column) from None
    return data, positions


def _single_node(text: str) -> Node | None:
    try:
        return _compose(_Loader, text)
    except yaml.MarkedYAMLError as exc:
        if "escape" not in str(exc.problem) and "hexdecimal" not in str(exc.problem):
            raise
    # LaTeX in double quotes with an escape YAML does not know ("\sigma", "\left("):
    # read again with a scanner that keeps such escapes as typed.
    return _compose(_TypedEscapesLoader, text)


def _compose(loader_class: type[yaml.SafeLoader], text: str) -> Node | None:
    loader = loader_class(text)
    try:
        node: Node | None = loader.get_single_node()
        return node
    finally:
        loader.dispose()


@dataclass(frozen=True)
class TypedString:
    """A double-quoted string whose backslashes were kept as typed, and its line."""

    line: int
    value: str


class _KeptEscapes(dict[str, str]):
    """The scanner's escape table, keeping every escape YAML does not know as typed
    (``\\s`` stays ``\\s``, ``\\xi`` stays ``\\xi``); the known ones decode as usual and
    are read as typed afterwards, when the whole string is (see :func:`_as_typed`)."""

    _HEX_DIGITS: ClassVar[dict[str, int]] = {"x": 2, "u": 4, "U": 8}

    def __init__(self, loader: yaml.SafeLoader):
        super().__init__(loader.ESCAPE_REPLACEMENTS)
        self.loader = loader

    def __contains__(self, ch: object) -> bool:
        if not isinstance(ch, str) or ch in "\0\r\n\x85\u2028\u2029":
            return False
        if ch in self._HEX_DIGITS:  # a real \xNN / \uNNNN escape is YAML's to decode
            count = self._HEX_DIGITS[ch]
            return not all(self.loader.peek(k + 1) in string.hexdigits for k in range(count))
        return True

    def __getitem__(self, ch: str) -> str:
        return super().__getitem__(ch) if dict.__contains__(self, ch) else "\\" + ch


class _TypedEscapesLoader(yaml.SafeLoader):
    """The pure-Python loader, whose scanner keeps unknown escapes (for the rare file that has them)."""

    def __init__(self, stream: str):
        super().__init__(stream)
        self.ESCAPE_REPLACEMENTS = _KeptEscapes(self)  # type: ignore[misc]  # per loader, on purpose


_TypedEscapesLoader.yaml_implicit_resolvers = _Loader.yaml_implicit_resolvers


class _ScalarConstructor(yaml.constructor.SafeConstructor):
    """Scalars as the YAML 1.2 core schema reads them: an integer is decimal, so ``0123`` is
    123 (YAML 1.1 read a leading 0 as octal and refused ``0129``)."""

    def construct_yaml_int(self, node: ScalarNode) -> int:
        return int(str(self.construct_scalar(node)), 10)


_ScalarConstructor.add_constructor("tag:yaml.org,2002:int", _ScalarConstructor.construct_yaml_int)  # type: ignore[type-var]


class _Source:
    """The text being read, a scalar constructor for it, and where to note strings read as typed."""

    def __init__(self, text: str, notes: list[TypedString] | None = None):
        self.text = text
        self.scalars = _ScalarConstructor()
        self.notes = notes


def _construct(node: Node, path: Path, positions: dict[Path, Position], source: _Source) -> Any:
    positions[path] = Position(node.start_mark.line + 1, node.start_mark.column + 1)
    refuse_unknown_tag(node)
    if isinstance(node, MappingNode):
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise _error_at(key_node, "merge keys (<<) are not supported")
            key = _construct(key_node, (*path, "<key>"), {}, source)
            if isinstance(key, (list, dict)):
                raise _error_at(key_node, "a key must be a plain value")
            if isinstance(key, (bool, int, float)):  # ids such as 1, 1.10, true: keep the text written
                key = key_node.value
            if key in result:
                raise _error_at(key_node, f"duplicate key {key!r}")
            result[key] = _construct(value_node, (*path, key), positions, source)
        return result
    if isinstance(node, SequenceNode):
        items = enumerate(node.value)
        return [_construct(item, (*path, i), positions, source) for i, item in items]
    assert isinstance(node, ScalarNode)
    value = construct_scalar(source.scalars, node)
    if isinstance(value, str) and node.style == '"':
        value = _as_typed(node, source, value)
    return value


# An escape in a double-quoted string: \\, \", a hex escape, or any other character.
_ESCAPE = re.compile(r'\\(?:[\\"/ ]|x[0-9A-Fa-f]{2}|u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8}|(.))', re.S)
_QUOTED_ESCAPE = re.compile(r'\\([\\"])')


def _as_typed(node: ScalarNode, source: _Source, decoded: str) -> str:
    """LaTeX typed inside double quotes: ``"\\frac{1}{2}"`` decodes ``\\f`` as a form feed,
    ``"\\theta"`` as a tab, ``"\\eta"`` as an escape character. When the string holds such
    an escape, take the characters the student typed instead (undoing only ``\\\\`` and
    ``\\"``), and note its line."""
    raw = source.text[node.start_mark.index + 1 : node.end_mark.index - 1]
    if "\n" in raw:  # a folded multi-line string: keep YAML's reading
        return decoded
    escapes = {match.group(1) for match in _ESCAPE.finditer(raw) if match.group(1)}
    if not escapes:
        return decoded
    if escapes <= _CODE_ESCAPES and is_python_code(decoded):
        return decoded  # code with its line breaks written \n: YAML's reading
    typed = _QUOTED_ESCAPE.sub(r"\1", raw)
    if source.notes is not None:
        source.notes.append(TypedString(node.start_mark.line + 1, typed))
    return typed


# Escapes code written in double quotes uses (``"def f(x):\n    return x"``); a string holding
# only these is read as YAML reads it when that reading is Python (see is_python_code).
_CODE_ESCAPES = frozenset({"n", "t"})


def is_python_code(text: str) -> bool:
    """Is ``text`` Python source of at least two lines with a statement that is not a bare
    expression (a ``def``, a ``return``, an assignment...), as a whole or as a function's
    body? LaTeX never is (``\\nabla f`` read as YAML is a line break and ``abla f``)."""
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) < 2 or not text.splitlines()[0].strip():
        return False
    for source in (text, "def _body():\n" + textwrap.indent(text, "    ")):
        try:
            tree = python_ast.parse(source)
        except (SyntaxError, ValueError):
            continue
        body = tree.body if source is text else tree.body[0].body  # type: ignore[attr-defined]
        return any(not isinstance(statement, python_ast.Expr) for statement in body)
    return False


def _error_at(node: Node, message: str) -> YamlError:
    return YamlError(message, node.start_mark.line + 1, node.start_mark.column + 1)


def locate(positions: dict[Path, Position], loc: Path) -> Position | None:
    """The position of the deepest value along ``loc`` that the file actually holds.

    Pydantic error locations include steps the file does not have (the union tag
    ``number``, the ``parts``/0 of a question that is itself one part); those are
    skipped.
    """
    best: Position | None = positions.get(())
    current: Path = ()
    for step in loc:
        candidate = (*current, step)
        if candidate in positions:
            current = candidate
            best = positions[candidate]
    return best


# ---- limits: nesting, anchors and aliases, tags, integer size -----------------------
#
# Checked on the parser's event stream before anything is composed, so a 1 KB file
# nested 10,000 levels deep or a "billion laughs" of aliases costs one error message,
# not a RecursionError or minutes of expansion.


@dataclass(frozen=True)
class StructureLimits:
    """What a YAML file may hold beyond plain values."""

    max_depth: int  # nested mappings and lists
    anchors: bool  # may the file use anchors and aliases (&name, *name)
    max_alias_values: int  # values that expanding its aliases may add


MAX_NESTING = limit_from_environment("GRADER_MAX_NESTING", 64, 8, 100)
MAX_ALIAS_VALUES = limit_from_environment("GRADER_MAX_ALIAS_VALUES", 10_000, 0, 1_000_000)
PROBLEM_FILE = StructureLimits(MAX_NESTING, anchors=True, max_alias_values=MAX_ALIAS_VALUES)
ANSWERS_FILE = StructureLimits(MAX_NESTING, anchors=False, max_alias_values=0)


def check_structure(text: str, limits: StructureLimits) -> None:
    """Raise :class:`YamlError` (with a line) when ``text`` nests deeper than allowed, uses
    anchors where they are refused, has an alias inside its own anchor, or expands past
    the alias budget. Text that is not valid YAML passes: the reader reports where."""
    for loader_class in (_Loader, _TypedEscapesLoader):  # LaTeX escapes need the second
        try:
            _scan_events(loader_class(text), limits)
            return
        except yaml.MarkedYAMLError:
            continue


def _scan_events(loader: yaml.SafeLoader, limits: StructureLimits) -> None:
    scan = _EventScan(limits)
    try:
        while loader.check_event():
            scan.take(loader.get_event())
    finally:
        loader.dispose()


class _EventScan:
    """Depth and expanded size of the nodes read so far, and the size of each anchor."""

    def __init__(self, limits: StructureLimits):
        self.limits = limits
        self.open: list[list[Any]] = []  # [anchor, values so far] of each open collection
        self.anchor_sizes: dict[str, int] = {}
        self.alias_values = 0

    def take(self, event: yaml.Event) -> None:
        if isinstance(event, NodeEvent) and event.anchor is not None:
            self._check_anchor(event)
        if isinstance(event, CollectionStartEvent):
            self.open.append([event.anchor, 1])
            if len(self.open) > self.limits.max_depth:
                raise _event_error(event, f"nested deeper than {self.limits.max_depth} levels")
        elif isinstance(event, CollectionEndEvent) and self.open:
            anchor, size = self.open.pop()
            self._close(anchor, size)
        elif isinstance(event, ScalarEvent):
            self._close(event.anchor, 1)
        elif isinstance(event, AliasEvent):
            self._alias(event)

    def _check_anchor(self, event: NodeEvent) -> None:
        if not self.limits.anchors:
            raise _event_error(
                event,
                "anchors and aliases (&name, *name) are not accepted in an answers file; "
                "write each answer out in full",
            )

    def _close(self, anchor: str | None, size: int) -> None:
        if anchor is not None:
            self.anchor_sizes[anchor] = size
        if self.open:
            self.open[-1][1] += size

    def _alias(self, event: AliasEvent) -> None:
        self._check_anchor(event)
        if any(anchor == event.anchor for anchor, _ in self.open):
            raise _event_error(event, f"alias *{event.anchor} is inside the value it names")
        size = self.anchor_sizes.get(str(event.anchor), 1)
        self.alias_values += size
        if self.alias_values > self.limits.max_alias_values:
            raise _event_error(
                event,
                f"aliases expand this file past {self.limits.max_alias_values:,} values "
                "(GRADER_MAX_ALIAS_VALUES sets the limit)",
            )
        self._close(None, size)


def _event_error(event: yaml.Event, message: str) -> YamlError:
    mark = event.start_mark
    return YamlError(message, mark.line + 1, mark.column + 1) if mark else YamlError(message)


_CORE_TAGS = frozenset(
    f"tag:yaml.org,2002:{name}" for name in ("str", "int", "float", "bool", "null", "seq", "map")
)
_INT_TAG = "tag:yaml.org,2002:int"
_STR_TAG = "tag:yaml.org,2002:str"


def refuse_unknown_tag(node: Node) -> None:
    """Only plain values, lists and mappings: ``!!python/object/apply:os.system``,
    ``!!binary``, ``!!set`` or a custom ``!tag`` are refused where they are written."""
    if node.tag not in _CORE_TAGS and node.tag != "tag:yaml.org,2002:merge":
        shown = node.tag.replace("tag:yaml.org,2002:", "!!")
        raise _error_at(node, f"the YAML tag {shown} is not accepted; write the value without it")


def construct_scalar(constructor: yaml.constructor.SafeConstructor, node: ScalarNode) -> Any:
    """The value of a scalar; an integer of more than MAX_VALUE_DIGITS digits stays the
    text written (Python would refuse to read it), a value its tag cannot be read as is
    a :class:`YamlError`."""
    if node.tag == _STR_TAG:  # most scalars: what PyYAML's constructor returns, without its set-up
        return node.value
    if node.tag == _INT_TAG and len(node.value) > MAX_VALUE_DIGITS:
        return node.value
    try:
        if node.tag == _INT_TAG:  # decimal, as YAML 1.2's core schema reads it (_ScalarConstructor)
            return int(node.value, 10)
        return constructor.construct_object(node)
    except (ValueError, TypeError, KeyError, AttributeError):
        shown = node.tag.replace("tag:yaml.org,2002:", "")
        raise _error_at(node, f"{_preview(node.value)} cannot be read as {shown}") from None


def _preview(text: str) -> str:
    return repr(text if len(text) <= 40 else text[:40] + "…")
