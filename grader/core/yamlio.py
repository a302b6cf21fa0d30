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

import re
from dataclasses import dataclass
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

Path = tuple[Any, ...]

_FLOAT_12 = re.compile(
    r"""^[-+]?(?:(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
    |\.[0-9_]+(?:[eE][-+]?[0-9]+)?
    |[0-9][0-9_]*[eE][-+]?[0-9]+
    |\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$""",
    re.X,
)
_INT_12 = re.compile(r"^[-+]?(?:0|[1-9][0-9_]*)$")
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


class _Loader(yaml.SafeLoader):
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


def load_with_positions(text: str) -> tuple[Any, dict[Path, Position]]:
    """Parse one YAML document; raise :class:`YamlError` with a line on any problem."""
    try:
        loader = _Loader(text)
        try:
            root = loader.get_single_node()
        finally:
            loader.dispose()
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
    data = _construct(root, (), positions, _Source(text))
    return data, positions


class _Source:
    """The text being read and a scalar constructor for it."""

    def __init__(self, text: str):
        self.text = text
        self.scalars = yaml.constructor.SafeConstructor()


def _construct(node: Node, path: Path, positions: dict[Path, Position], source: _Source) -> Any:
    positions[path] = Position(node.start_mark.line + 1, node.start_mark.column + 1)
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
    value = source.scalars.construct_object(node)
    if isinstance(value, str) and node.style == '"':
        value = _raw_double_quoted(node, source.text, value)
    return value


_CONTROL_ESCAPES = {"\t": "t", "\x0c": "f", "\x08": "b", "\x0b": "v", "\x07": "a", "\r": "r"}


def _raw_double_quoted(node: ScalarNode, text: str, decoded: str) -> str:
    """LaTeX typed inside double quotes: ``"\\frac{1}{2}"`` decodes ``\\f`` as a form feed
    and ``"\\theta"`` as a tab. When decoding produced such control characters, take the
    characters the student typed instead (undoing only ``\\\\`` and ``\\"``)."""
    if not any(ch in decoded for ch in _CONTROL_ESCAPES) and "\n" not in decoded:
        return decoded
    start, end = node.start_mark.index, node.end_mark.index
    raw = text[start + 1 : end - 1]
    if "\n" in raw:  # a folded multi-line string: keep YAML's reading
        return decoded
    return raw.replace('\\"', '"').replace("\\\\", "\\")


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
