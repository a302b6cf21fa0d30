"""No module of grader may run text as code: an AST scan (not a regex) of every
grader/**/*.py for eval, exec, compile, __import__, sympify, parse_expr,
parse_latex, yaml.load without a safe Loader, yaml.unsafe_load, pickle.load(s),
marshal.loads, and a shell (os.system, os.popen, subprocess with shell=True).

Building sympy objects directly (``sympy.Symbol``, ``sympy.Integer``...) is fine;
``re.compile`` is fine (only the builtin ``compile`` is refused).

Student code runs in exactly one place: ``grader/types/code/runner.py``, a script started
inside the sandbox and never imported. It alone may compile and exec; no other module
imports it, starts a process, or forks, except ``grader/types/code/sandbox.py``, which
starts the runner (under bubblewrap unless the TA passed ``--unsafe-run-code``).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "grader"

BUILTINS = frozenset({"eval", "exec", "compile", "__import__"})
TEXT_TO_CODE = frozenset({"sympify", "parse_expr", "parse_latex"})  # as a name or an attribute
SAFE_LOADERS = frozenset({"SafeLoader", "CSafeLoader", "BaseLoader", "CBaseLoader"})


def _dotted(node: ast.expr) -> str:
    """``yaml.load`` for an Attribute chain, the id for a Name, "" otherwise."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        inner = _dotted(node.value)
        return f"{inner}.{node.attr}" if inner else node.attr
    return ""


def _safe_loader_classes(tree: ast.Module) -> frozenset[str]:
    """SAFE_LOADERS plus the classes of this module that derive from one of them."""
    safe = set(SAFE_LOADERS)
    classes = [node for node in ast.walk(tree) if isinstance(node, ast.ClassDef)]
    changed = True
    while changed:
        changed = False
        for cls in classes:
            if cls.name not in safe and any(_dotted(b).rsplit(".", 1)[-1] in safe for b in cls.bases):
                safe.add(cls.name)
                changed = True
    return frozenset(safe)


def _has_safe_loader(call: ast.Call, safe: frozenset[str]) -> bool:
    loaders = [kw.value for kw in call.keywords if kw.arg == "Loader"]
    if len(call.args) >= 2:
        loaders.append(call.args[1])
    return any(_dotted(loader).rsplit(".", 1)[-1] in safe for loader in loaders)


def _call_problem(call: ast.Call, safe: frozenset[str]) -> str | None:
    name = _dotted(call.func)
    last = name.rsplit(".", 1)[-1]
    if isinstance(call.func, ast.Name) and name in BUILTINS:
        return f"{name}()"
    if name in {f"builtins.{b}" for b in BUILTINS}:
        return f"{name}()"
    if last in TEXT_TO_CODE:
        return f"{name}()"
    if name.endswith("yaml.load"):
        return None if _has_safe_loader(call, safe) else "yaml.load() without SafeLoader"
    if name.endswith("yaml.unsafe_load") or name.endswith("yaml.full_load"):
        return f"{name}()"
    if name.endswith(("pickle.load", "pickle.loads", "marshal.load", "marshal.loads")):
        return f"{name}()"
    if name in ("os.system", "os.popen") or _runs_a_shell(call):
        return f"{name}() through a shell"
    return None


def _runs_a_shell(call: ast.Call) -> bool:
    return any(
        kw.arg == "shell" and not (isinstance(kw.value, ast.Constant) and kw.value.value is False)
        for kw in call.keywords
    )


def _import_problem(node: ast.ImportFrom) -> str | None:
    for alias in node.names:
        if alias.name in TEXT_TO_CODE or alias.name in BUILTINS:
            return f"from {node.module} import {alias.name}"
        if node.module in ("pickle", "yaml") and alias.name in ("load", "loads", "unsafe_load"):
            return f"from {node.module} import {alias.name}"
    return None


def find_problems(source: str, filename: str = "<source>") -> list[str]:
    """Every forbidden call or import in ``source`` as ``file:line: what``."""
    problems = []
    tree = ast.parse(source, filename)
    safe = _safe_loader_classes(tree)
    for node in ast.walk(tree):
        problem = None
        if isinstance(node, ast.Call):
            problem = _call_problem(node, safe)
        elif isinstance(node, ast.ImportFrom):
            problem = _import_problem(node)
        if problem:
            problems.append(f"{filename}:{getattr(node, 'lineno', 0)}: {problem}")
    return problems


RUNNER = PACKAGE / "types" / "code" / "runner.py"
SANDBOX = PACKAGE / "types" / "code" / "sandbox.py"
# A PDF is opened in a child process under the PDF limits (CPU, memory, wall clock), never
# in a grading or web process: the one other module that starts a process (grader.pdf.child
# runs no student code, it reads a PDF's structure and pixels).
PDF_CHILD = PACKAGE / "pdf" / "isolated.py"
# What the runner may do, and nothing more: compile and exec the part's scaffold, the student's
# code and the harness, and import a framework by its fixed name.
RUNNER_ALLOWED = {"exec()": 2, "compile()": 2, "__import__()": 1}
# Starting a program or forking (grader's own worker pools, multiprocessing, run grader's code only).
PROCESS_CALLS = ("subprocess.", "os.fork", "os.exec", "os.spawn", "os.posix_spawn", "pty.")


def _package_files() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def _checked_files() -> list[Path]:
    return [path for path in _package_files() if path != RUNNER]


def test_package_files_are_found() -> None:
    assert (PACKAGE / "mathlang" / "parser.py") in _package_files()
    assert RUNNER in _package_files() and SANDBOX in _package_files()


@pytest.mark.parametrize("path", _checked_files(), ids=lambda p: str(p.relative_to(PACKAGE.parent)))
def test_no_text_is_run_as_code(path: Path) -> None:
    assert find_problems(path.read_text(encoding="utf-8"), str(path)) == []


def test_the_runner_runs_code_only_where_it_must() -> None:
    found: dict[str, int] = {}
    for problem in find_problems(RUNNER.read_text(encoding="utf-8")):
        what = problem.rsplit(": ", 1)[1]
        found[what] = found.get(what, 0) + 1
    assert found == RUNNER_ALLOWED


def _imported_modules(tree: ast.Module) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names |= {node.module, *(f"{node.module}.{alias.name}" for alias in node.names)}
    return names


@pytest.mark.parametrize("path", _package_files(), ids=lambda p: str(p.relative_to(PACKAGE.parent)))
def test_only_the_sandbox_starts_processes(path: Path) -> None:
    """No module imports the runner; only the sandbox module starts a process (the batch starts
    none but its pool's, and Dask's; a PDF is read in a child of its own), and only the runner
    (inside the sandbox) forks."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    assert "grader.types.code.runner" not in _imported_modules(tree)
    calls = {_dotted(node.func) for node in ast.walk(tree) if isinstance(node, ast.Call)}
    starting = sorted(call for call in calls if call.startswith(PROCESS_CALLS))
    if path == SANDBOX:
        assert starting == ["subprocess.Popen", "subprocess.run"]
    elif path == RUNNER:
        assert starting == ["os.fork"]
    elif path == PDF_CHILD:
        assert starting == ["subprocess.run"]
    else:
        assert starting == [], f"{path.name} starts a process: {starting}"
        assert "subprocess" not in _imported_modules(tree)


@pytest.mark.parametrize(
    "source",
    [
        "eval(text)",
        "exec(code)",
        "compile(src, 'f', 'eval')",
        "__import__('os')",
        "builtins.eval(x)",
        "sympy.sympify(answer)",
        "sp.parse_expr(answer)",
        "from sympy.parsing.latex import parse_latex",
        "from sympy import sympify as s",
        "sympify(answer)",
        "yaml.load(stream)",
        "yaml.load(stream, Loader=yaml.FullLoader)",
        "class L(yaml.Loader): pass\nyaml.load(stream, Loader=L)",
        "yaml.unsafe_load(stream)",
        "pickle.loads(blob)",
        "pickle.load(handle)",
        "from pickle import loads",
        "marshal.loads(blob)",
        "os.system(command)",
        "os.popen(command)",
        "subprocess.run(command, shell=True)",
    ],
)
def test_scanner_catches(source: str) -> None:
    assert find_problems(source)


@pytest.mark.parametrize(
    "source",
    [
        "re.compile(r'x+')",
        "sympy.Symbol('x'); sympy.Integer(3); sympy.Rational(1, 2)",
        "yaml.load(stream, Loader=yaml.SafeLoader)",
        "yaml.load(stream, yaml.CSafeLoader)",
        "yaml.safe_load(stream)",
        "class L(yaml.SafeLoader): pass\nclass M(L): pass\nyaml.load(stream, Loader=M)",
        "ast.literal_eval('1')",
        "expr.evalf()",
        "json.loads(text)",
        "subprocess.run([sys.executable, '-m', 'pip', 'wheel', '.'], check=True)",
        "subprocess.run(command, shell=False)",
    ],
)
def test_scanner_allows(source: str) -> None:
    assert find_problems(source) == []
