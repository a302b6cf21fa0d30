"""The package's layers, read from its imports: a lower layer never imports a higher one.

docs/architecture.md draws the same layers. Imports inside functions count too,
so a dependency cannot hide from this test.
"""

from __future__ import annotations

import ast
import functools
import re
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
    ("grader.course",),  # a course as the service runs it, no table and no request
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


# The course core (grader/course/) is the service's domain without a database or HTTP: what
# needs a table, a request or a page stays in grader.service, which sits above it.
NOT_IN_THE_COURSE_CORE = ("sqlalchemy", "fastapi", "starlette", "jinja2", "grader.service")


def test_the_course_core_needs_no_database_and_no_http() -> None:
    assert _layer("grader.course") is not None and _layer("grader.service") is not None
    assert _layer("grader.course") < _layer("grader.service")
    found = [
        f"{_module_name(path)} imports {target}"
        for path in MODULES
        if _module_name(path) == "grader.course" or _module_name(path).startswith("grader.course.")
        for target in sorted(_imported(path, _module_name(path)))
        if any(target == banned or target.startswith(banned + ".") for banned in NOT_IN_THE_COURSE_CORE)
    ]
    assert found == [], "grader.course reads no table and serves no request: " + ", ".join(found)


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


def _imported(path: Path, module: str) -> set[str]:
    """Every module name an import of ``path`` (module ``module``) names, relative imports
    resolved, imports inside functions and ``TYPE_CHECKING`` blocks included; ``from a import b``
    names ``a`` and ``a.b`` (kept when ``a.b`` is a module)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    targets: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                source = ".".join([*base, node.module] if node.module else base)
            else:
                source = node.module or ""
            targets.add(source)
            targets |= {f"{source}.{a.name}" for a in node.names}
        elif isinstance(node, ast.Import):
            targets |= {a.name for a in node.names}
    return targets


def _parents(module: str) -> list[str]:
    """The packages Python runs before ``module``: ``a``, ``a.b`` for ``a.b.c``."""
    parts = module.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


@functools.cache  # read once for the tests that walk it (none changes it)
def _import_graph() -> dict[str, set[str]]:
    """Module -> the grader modules importing it runs: those it imports (imports inside
    functions and ``TYPE_CHECKING`` blocks included) and the package ``__init__`` of each of
    them (importing ``a.b.c`` runs ``a/b/__init__.py`` first), but not its own packages'."""
    names = {_module_name(path) for path in MODULES}
    graph: dict[str, set[str]] = {}
    for path in MODULES:
        module = _module_name(path)
        own = {*_parents(module), module}
        targets = {t for t in _imported(path, module) if t in names}
        targets |= {p for t in targets for p in _parents(t) if p in names}
        graph[module] = targets - own
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


def _longest_chain(graph: dict[str, set[str]], inside: str) -> list[str]:
    """The longest chain of imports between modules of ``inside`` (the graph has no cycle)."""
    memo: dict[str, list[str]] = {}

    def chain(module: str) -> list[str]:
        if module not in memo:
            below = [chain(t) for t in sorted(graph[module]) if t.startswith(inside + ".")]
            memo[module] = [module, *max(below, key=len, default=[])]
        return memo[module]

    return max((chain(m) for m in graph if m.startswith(inside + ".")), key=len)


# Modules on the longest chain of imports inside grader/service/: 19 with the pages <-> hand/
# cycle broken, 13 with the grading child, 11 with the tables spread over five modules, 8 now
# (e.g. server -> app -> lti.routes -> lti.passback -> lti.scores -> crud.submissions -> crud.verdicts
# -> models):
# the tables are in models.py, the late policy and the course files read no table (they are in
# grader.course, below the service), and the LTI modules import the claims from lti/launch.py.
MAX_SERVICE_CHAIN = 8


def test_the_service_imports_in_shallow_chains() -> None:
    """A newcomer follows any import chain of the service to its end in a few steps."""
    graph = _import_graph()
    assert _cycles(graph) == []
    longest = _longest_chain(graph, "grader.service")
    assert len(longest) <= MAX_SERVICE_CHAIN, " -> ".join(longest)


# Where the service builds SQL: the tables (models.py), the engine and its sessions (db.py), the
# migrations and crud/ (one module per resource). Every other module of the service (routes,
# pages, the worker, LTI, the course) reads and writes through crud/.
SQL_HOMES = ("grader.service.crud", "grader.service.models", "grader.service.db", "grader.service.migrations")
SQL_BUILDERS = {"select", "insert", "update", "delete", "func", "text", "bindparam", "and_", "or_", "case"}
SQL_CALLS = {"execute", "scalar", "scalars", "query"}  # a statement run on a session


def _sql_built(path: Path, module: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "sqlalchemy":
            found += [f"{module}:{node.lineno} {a.name}" for a in node.names if a.name in SQL_BUILDERS]
        elif isinstance(node, ast.Import) and any(a.name == "sqlalchemy" for a in node.names):
            found.append(f"{module}:{node.lineno} import sqlalchemy")
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", None) in SQL_CALLS:
            found.append(f"{module}:{node.lineno} .{node.func.attr}()")  # type: ignore[attr-defined]
    return found


def test_only_crud_builds_sql() -> None:
    """The service reaches the database through crud/: ``from sqlalchemy import select`` (or any
    statement builder), or a statement run on a session, outside crud/, models.py and db.py is a
    query to move there."""
    found = []
    for path in MODULES:
        module = _module_name(path)
        if not module.startswith("grader.service.") or any(
            module == home or module.startswith(home + ".") for home in SQL_HOMES
        ):
            continue
        found += _sql_built(path, module)
    assert found == [], "move these queries into grader/service/crud/: " + ", ".join(found)


def test_the_sql_check_sees_a_query(tmp_path: Path) -> None:
    """The check above finds a builder imported, and a statement run, in a module."""
    module = tmp_path / "m.py"
    module.write_text("from sqlalchemy import select\n\ndef f(db):\n    return db.scalars(q)\n")
    assert [f.split(" ")[1] for f in _sql_built(module, "m")] == ["select", ".scalars()"]


def test_the_import_graph_sees_packages_and_functions(tmp_path: Path) -> None:
    """The graph counts what a hidden cycle hides behind: a package's ``__init__`` and an
    import inside a function, relative or absolute."""
    graph = _import_graph()
    # grader.service.crud.audit is in a package: importing it runs grader/service/crud/__init__.py
    importers = {m for m, targets in graph.items() if "grader.service.crud.audit" in targets}
    assert importers and all(
        "grader.service.crud" in graph[m] for m in importers if not m.startswith("grader.service.crud")
    )
    package = tmp_path / "grader" / "p"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    inner = package / "m.py"
    inner.write_text("def f():\n    from . import n\n    from ..q import r\n")
    assert {"grader.p.n", "grader.q", "grader.q.r"} <= _imported(inner, "grader.p.m")


# A tag in a Python string: HTML that belongs in a template (``<p>``, ``</td>``, ``<input ...``).
TAG = re.compile(r"(?<!\(\?P)</?[a-zA-Z][a-zA-Z0-9-]*(\s|/?>)")  # a regex's (?P<name>...) is no tag
# A string that is one tag alone (``"</header>"``, ``"<body>\n"``): where the service places a
# partial into a report page the reporting package built, not HTML built in Python.
ANCHOR = re.compile(r"^\s*</?[a-zA-Z][a-zA-Z0-9]*>\s*$")


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def html_in_strings(source: str) -> list[tuple[int, str]]:
    """(line, text) of each string literal of ``source`` that holds an HTML tag (an f-string
    read whole, its values as ``{}``), docstrings and lone anchor tags apart."""
    tree = ast.parse(source)
    skip = _docstrings(tree)
    texts: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            skip |= {id(piece) for piece in node.values}
            pieces = (p.value if isinstance(p, ast.Constant) else "{}" for p in node.values)
            texts.append((node.lineno, "".join(str(piece) for piece in pieces)))
    texts += [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip
    ]
    return sorted((line, text) for line, text in texts if TAG.search(text) and not ANCHOR.match(text))


def test_no_html_built_in_python_strings() -> None:
    """Every page and partial of the service is a Jinja2 template (autoescaped): no module of
    grader/service/ builds HTML tags in string literals."""
    found = [
        f"{_module_name(path)}:{line}: {text[:60]!r}"
        for path in MODULES
        if _module_name(path).startswith("grader.service.")
        for line, text in html_in_strings(path.read_text())
    ]
    assert found == [], "move this HTML into grader/service/templates/:\n" + "\n".join(found)


def test_the_html_scan_finds_html() -> None:
    """The scan sees tags in plain and f-strings, and lets docstrings and lone anchors be."""
    source = (
        'def f(x):\n    """A <p> in a docstring."""\n    a = f"<td>{x}</td>"\n'
        '    b = "</header>"\n    return "<input type=\'x\'>"\n'
    )
    assert [line for line, _ in html_in_strings(source)] == [3, 5]
