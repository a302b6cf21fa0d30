"""The package's layers, read from its imports: a lower layer never imports a higher one.

docs/architecture.md draws the same layers. Imports inside functions count too,
so a dependency cannot hide from this test.
"""

from __future__ import annotations

import ast
import typing
from pathlib import Path

import pytest

from grader import spec
from grader.types import ANSWER_TYPES
from grader.types.base import AnswerType

PACKAGE = Path(__file__).parent.parent / "grader"

# Lowest first. A module may import its own layer and the layers below it.
LAYERS: list[tuple[str, ...]] = [
    ("grader.shipped",),  # the shipped problem sets and seed submissions: data, no code
    ("grader.clock",),
    ("grader.exact",),
    ("grader.mathlang",),
    ("grader.networks",),
    ("grader.core",),
    ("grader.types",),
    (
        "grader.variants",
        "grader.spec",
        "grader.loading",
        "grader.reading",
        "grader.versions",
        "grader.writeups",
        "grader.engine",
        "grader.steps",
        "grader.checkers",
        "grader.selftest",
        "grader.certify",
        "grader.hand",
        "grader.pdf",  # PDF hand-ins: read in a limited process, matched to parts, graded copies
    ),
    ("grader.reporting", "grader.similarity"),
    ("grader.batch", "grader.client"),
    ("grader.service",),
    (
        "grader.cli",
        "grader.cli_commands",
        "grader.cli_grading",
        "grader.cli_options",
        "grader.cli_service",
        "grader.cli_hand",
        "grader.cli_steps",
        "grader.cli_similar",
        "grader.__main__",
    ),
]
# The math language and the piecewise-linear mathematics know nothing of grading.
# (grader.clock: the deadlines inside a check, and the count of those that passed.)
ISOLATED = {
    "grader.clock": {"grader.clock"},
    "grader.exact": {"grader.exact", "grader.clock"},
    "grader.mathlang": {"grader.mathlang", "grader.exact", "grader.clock"},
    "grader.networks": {"grader.networks", "grader.exact", "grader.mathlang", "grader.clock"},
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _layer(module: str) -> int | None:
    for index, prefixes in enumerate(LAYERS):
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return index
    return None


def _grader_imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "grader":
                found += [(node.lineno, f"grader.{alias.name}") for alias in node.names]
            elif node.module.startswith("grader."):
                found.append((node.lineno, node.module))
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.startswith("grader.")]
    return found


MODULES = sorted(PACKAGE.rglob("*.py"))


def test_every_module_is_in_a_layer() -> None:
    unplaced = [
        _module_name(p) for p in MODULES if _module_name(p) != "grader" and _layer(_module_name(p)) is None
    ]
    assert unplaced == [], f"add these modules to a layer in LAYERS and docs/architecture.md: {unplaced}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: _module_name(p))
def test_no_import_reaches_up(path: Path) -> None:
    module = _module_name(path)
    own = _layer(module)
    if own is None:
        return
    upward = [
        f"line {line}: {target}"
        for line, target in _grader_imports(path)
        if target != "grader" and (_layer(target) or 0) > own
    ]
    assert upward == [], f"{module} (layer {own}) imports a higher layer: {upward}"


@pytest.mark.parametrize("package", sorted(ISOLATED))
def test_pure_layers_import_nothing_else_of_grader(package: str) -> None:
    allowed = ISOLATED[package]
    for path in MODULES:
        module = _module_name(path)
        if not (module == package or module.startswith(package + ".")):
            continue
        for line, target in _grader_imports(path):
            assert any(target == a or target.startswith(a + ".") for a in allowed), (
                f"{module}:{line} imports {target}; {package} may only import {sorted(allowed)}"
            )


def test_one_registry_names_every_answer_type() -> None:
    type_modules = {
        p.stem if p.name != "__init__.py" else p.parent.name
        for p in (PACKAGE / "types").iterdir()
        if (p.suffix == ".py" and p.stem not in ("__init__", "base")) or (p / "__init__.py").exists()
    }
    assert type_modules == set(ANSWER_TYPES), "every module in grader/types/ is one registered answer type"
    assert tuple(ANSWER_TYPES) == spec.PART_TYPES
    for name, answer_type in ANSWER_TYPES.items():
        assert isinstance(answer_type, AnswerType)
        assert answer_type.name == name
        literal = typing.get_args(answer_type.part.model_fields["type"].annotation)
        assert literal == (name,), f"{answer_type.part.__name__}.type must be Literal[{name!r}]"
        assert callable(answer_type.check) and callable(answer_type.hint)
        answer_type.load()  # every checker it names, and every module it loads, can be imported


def test_the_problem_file_schema_is_the_registry() -> None:
    """A part is read as the model its type names (spec.PART_MODEL_OF_TYPE), and the JSON schema
    is the union of the same models tagged by type (spec.PART_UNION): both are the registry."""
    union = typing.get_args(typing.get_args(spec.PART_UNION)[0])
    assert set(union) == {t.part for t in ANSWER_TYPES.values()}
    assert {name: t.part for name, t in ANSWER_TYPES.items()} == spec.PART_MODEL_OF_TYPE


MAX_MODULE_LINES = 1500  # the developers' guide: a longer module is split along a natural seam


def test_no_module_exceeds_1500_lines() -> None:
    long = {
        _module_name(path): count
        for path in MODULES
        if (count := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    }
    assert long == {}, f"split these modules (lines): {long}"


def test_only_the_app_knows_the_lti_package() -> None:
    """LTI is a set of modules beside the service: the service's own modules never call it,
    so the service runs the same without a platform registered (only app.py installs it, and
    the commands that write open their service with its score hook)."""
    outside = [
        f"{_module_name(path)}:{line}"
        for path in MODULES
        if _module_name(path).startswith("grader.service.")
        and not _module_name(path).startswith("grader.service.lti")
        and _module_name(path) != "grader.service.app"
        for line, module in _grader_imports(path)
        if module == "grader.service.lti" or module.startswith("grader.service.lti.")
    ]
    assert outside == []


def _import_graph() -> dict[str, set[str]]:
    """Module -> the grader modules it imports (``from grader.x import y`` counts ``grader.x.y``
    when that is a module), imports inside functions and ``TYPE_CHECKING`` blocks included."""
    names = {_module_name(path) for path in MODULES}
    graph: dict[str, set[str]] = {}
    for path in MODULES:
        tree = ast.parse(path.read_text(), filename=str(path))
        targets: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                if node.module.startswith("grader"):
                    targets.add(node.module)
                    targets |= {f"{node.module}.{a.name}" for a in node.names}
            elif isinstance(node, ast.Import):
                targets |= {a.name for a in node.names}
        graph[_module_name(path)] = {t for t in targets if t in names} - {_module_name(path)}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for target in sorted(graph[module]):
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in on_stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == module:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return found


def test_no_import_cycles() -> None:
    """No loop of imports between modules, those inside functions included."""
    assert _cycles(_import_graph()) == []
