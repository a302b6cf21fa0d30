"""Where a reference's numerics can break, read from its source (never run here).

A static walk of the reference's syntax tree (with the part's ``given`` code and
harness): which inputs feed an argument of a square root, a logarithm, a reciprocal or a
fractional or negative power, the right side of a division, or an exponential (``exp``,
``softmax``, ``logsumexp``, ``sigmoid``...). What flows where is followed through
assignments, attributes (``self.x = x``) and calls of the sources' own functions, over
the whole text and without regard to order: it may say an input feeds a place that it
does not (one more trial), never the other way round for the forms it reads. A
reference it cannot read at all says every float input feeds every such place.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass

from grader.types.code.part import CodePart

# A root, log or reciprocal of the argument: singular (or not real) at zero.
_AT_ZERO = {"sqrt", "rsqrt", "log", "log2", "log10", "reciprocal", "cbrt", "arctanh", "atanh"}
_DIVIDE = {"divide", "true_divide", "div", "floor_divide", "fmod", "remainder"}
_EXPONENTIAL = {
    "exp",
    "exp2",
    "expm1",
    "softmax",
    "log_softmax",
    "logsumexp",
    "sigmoid",
    "logaddexp",
    "softplus",
    "cosh",
    "sinh",
    "cross_entropy",
}
_POWER = {"power", "pow", "float_power"}


@dataclass(frozen=True)
class Singular:
    """One place of the reference: ``zero`` (a root, log or division: singular at zero) or
    ``exp`` (an exponential: overflow and underflow), and the inputs its argument depends on."""

    kind: str
    inputs: frozenset[str]


_READ: dict[int, tuple[CodePart, list[Singular]]] = {}


def singular_points(part: CodePart) -> list[Singular]:
    """The reference's singular places, each with the inputs that feed it (distinct, in order);
    read once a part (every answer's seed draws its structured trials from them)."""
    found = _READ.get(id(part))
    if found is None or found[0] is not part:
        if len(_READ) > 256:
            _READ.clear()
        found = _READ[id(part)] = (part, _singular_points(part))
    return list(found[1])


def _singular_points(part: CodePart) -> list[Singular]:
    floats = frozenset(
        name for name, spec in part.inputs.items() if spec.dtype.startswith("float") and spec.choices is None
    )
    trees = []
    for text in (part.given, part.answer, part.harness or ""):
        try:
            trees.append(ast.parse(text))
        except (SyntaxError, ValueError, RecursionError):
            return [Singular("zero", floats), Singular("exp", floats)] if floats else []
    flows = _Flows(part, trees)
    found: list[Singular] = []
    for kind, expression in _places(trees):
        feeding = frozenset(flows.inputs_of(expression) & floats)
        point = Singular(kind, feeding)
        if feeding and point not in found:
            found.append(point)
    return found


def _name(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def _places(trees: Iterable[ast.Module]) -> Iterable[tuple[str, ast.expr]]:
    """(kind, the argument) for every singular place in the sources."""
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.BinOp):
                if isinstance(node.op, ast.Div | ast.FloorDiv | ast.Mod):
                    yield "zero", node.right
                elif isinstance(node.op, ast.Pow) and _fractional_or_negative(node.right):
                    yield "zero", node.left
            elif isinstance(node, ast.Call):
                yield from _call_places(node)


def _call_places(node: ast.Call) -> Iterable[tuple[str, ast.expr]]:
    name = _name(node.func)
    # np.sqrt(x), torch.sqrt(x) take the argument; x.sqrt() is a method of it
    subject = node.func.value if isinstance(node.func, ast.Attribute) else None
    first = node.args[0] if node.args else subject
    if name in _AT_ZERO and first is not None:
        yield "zero", first
    elif name in _EXPONENTIAL and first is not None:
        yield "exp", first
        if name in ("logsumexp", "log_softmax", "cross_entropy"):
            yield "zero", first
    elif name in _DIVIDE:
        divisor = node.args[1] if len(node.args) >= 2 else node.args[0] if node.args else None
        if divisor is not None:
            yield "zero", divisor
    elif name in _POWER and len(node.args) >= 2 and _fractional_or_negative(node.args[1]):
        yield "zero", node.args[0]
    elif name in ("norm", "std", "var", "normalize", "layer_norm", "batch_norm") and first is not None:
        yield "zero", first


def _fractional_or_negative(node: ast.expr) -> bool:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return True
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return node.value < 0 or float(node.value) != int(node.value)
    return not isinstance(node, ast.Constant)  # an exponent the walk cannot read: maybe


class _Flows:
    """Which inputs each name (``x``) and attribute (``.x``) may hold, over all the sources."""

    def __init__(self, part: CodePart, trees: list[ast.Module]) -> None:
        inputs = set(part.inputs)
        self.holds: dict[str, set[str]] = {name: {name} for name in inputs}
        functions = [node for tree in trees for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)]
        entry = [f for f in functions if f.name == part.entry_name]
        if part.harness is None and entry:  # called with the inputs in their declared order
            for parameter, name in zip(entry[-1].args.args, part.inputs, strict=False):
                self.holds.setdefault(parameter.arg, set()).add(name)
        links = _links(trees, functions)
        for _ in range(50):  # to a fixed point
            changed = False
            for target, value in links:
                held = self.inputs_of(value)
                known = self.holds.setdefault(target, set())
                if not held <= known:
                    known |= held
                    changed = True
            if not changed:
                break

    def inputs_of(self, expression: ast.AST) -> set[str]:
        found: set[str] = set()
        for node in ast.walk(expression):
            if isinstance(node, ast.Name):
                found |= self.holds.get(node.id, set())
            elif isinstance(node, ast.Attribute):
                found |= self.holds.get(f".{node.attr}", set())
            elif isinstance(node, ast.Call) and _name(node.func):
                found |= self.holds.get(f"{_name(node.func)}()", set())
        return found


def _links(trees: list[ast.Module], functions: list[ast.FunctionDef]) -> list[tuple[str, ast.expr]]:
    """(a name, what it may be given): assignments, arguments of the sources' own functions,
    and what a call of one returns."""
    links: list[tuple[str, ast.expr]] = []
    by_name = {f.name: f for f in functions}
    for tree in trees:
        for node in ast.walk(tree):
            links.extend(_assignments(node))
            if isinstance(node, ast.Call) and _name(node.func) in by_name:
                links.extend(_arguments(by_name[_name(node.func)], node))
    for function in functions:
        links.extend(
            (f"{function.name}()", node.value)
            for node in ast.walk(function)
            if isinstance(node, ast.Return) and node.value is not None
        )
    return links


def _targets(node: ast.expr) -> Iterable[str]:
    if isinstance(node, ast.Name):
        yield node.id
    elif isinstance(node, ast.Attribute):
        yield f".{node.attr}"
    elif isinstance(node, ast.Subscript | ast.Starred):
        yield from _targets(node.value)
    elif isinstance(node, ast.Tuple | ast.List):
        for element in node.elts:
            yield from _targets(element)


def _assignments(node: ast.AST) -> Iterable[tuple[str, ast.expr]]:
    if isinstance(node, ast.Assign):
        pairs = [(target, node.value) for target in node.targets]
    elif isinstance(node, ast.AugAssign | ast.AnnAssign) and node.value is not None:
        pairs = [(node.target, node.value)]
    elif isinstance(node, ast.For):
        pairs = [(node.target, node.iter)]
    elif isinstance(node, ast.NamedExpr):
        pairs = [(node.target, node.value)]
    elif isinstance(node, ast.withitem) and node.optional_vars is not None:
        pairs = [(node.optional_vars, node.context_expr)]
    else:
        return []
    return [(name, value) for target, value in pairs for name in _targets(target)]


def _arguments(function: ast.FunctionDef, call: ast.Call) -> list[tuple[str, ast.expr]]:
    """A call of the sources' own function: each parameter holds what its argument holds;
    a method's ``self`` is skipped when called on an object."""
    parameters = [argument.arg for argument in function.args.args]
    if isinstance(call.func, ast.Attribute) and parameters[:1] == ["self"]:
        parameters = parameters[1:]
    links = [(name, value) for name, value in zip(parameters, call.args, strict=False)]
    links += [(keyword.arg, keyword.value) for keyword in call.keywords if keyword.arg in parameters]
    return [(name, value) for name, value in links if name is not None]
