"""Suite-wide fixtures and the ``slow`` marker.

A test is ``slow`` when it, or one of its fixtures, starts something heavy: a service
over real HTTP (``tests.service_server``), a browser (``tests.chromium``), the fake LTI
platform, a Dask cluster, PostgreSQL (the ``postgres``/``db_url`` fixtures) or the
sandbox as another user. Those are found here; a test that runs the CLI or a bundle in a
subprocess for many seconds (a class graded, stopped and resumed; an interpreter per answer
type) says so itself with ``@pytest.mark.slow`` or its module's ``pytestmark``.
``pytest -m "not slow"`` is the inner loop (under 5 minutes on 2 idle cores); CI runs
everything.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from types import CodeType, ModuleType
from typing import Any

import hypothesis_budget  # noqa: F401  (registers the quick and thorough profiles)
import pytest
from hypothesis import settings

pytest_plugins = ["service_fixtures"]


def _pin_store_key() -> None:
    """Every test process grades with one fixed store key unless one is named already.

    The key seeds each code answer's trials (grader.core.drawing): with the machine's own
    random key, how many structured trials a golden report's certificate counts would
    change from one machine to the next (CI makes a fresh key on every run).
    """
    if os.environ.get("GRADER_STORE_KEY"):
        return
    path = Path(tempfile.gettempdir()) / f"grader-tests-{os.getuid()}.key"
    key = hashlib.sha256(b"grader's test suite: a fixed store key").digest()
    if not path.exists() or path.read_bytes() != key:
        written = path.with_name(f"{path.name}.{os.getpid()}")
        written.write_bytes(key)
        written.chmod(0o600)
        os.replace(written, path)
    os.environ["GRADER_STORE_KEY"] = str(path)


_pin_store_key()

SLOW_HELPERS = {"service_server", "chromium", "lti_platform", "distributed"}
SLOW_FIXTURES = {"postgres", "db_url"}
SLOW_FILES = {"test_sandbox_unprivileged.py", "test_dask.py"}


def _is_slow_helper(value: Any) -> bool:
    name = value.__name__ if isinstance(value, ModuleType) else getattr(value, "__module__", None)
    return isinstance(name, str) and bool(set(name.split(".")) & SLOW_HELPERS)


def _names(code: CodeType) -> Iterator[str]:
    yield from code.co_names
    for constant in code.co_consts:
        if isinstance(constant, CodeType):
            yield from _names(constant)


def _calls_slow_helper(function: Callable[..., Any], seen: set[int] | None = None) -> bool:
    """Whether ``function`` names a slow helper, directly or through a function of its module."""
    seen = set() if seen is None else seen
    code = getattr(function, "__code__", None)
    if code is None or id(code) in seen:
        return False
    seen.add(id(code))
    module_globals = getattr(function, "__globals__", {})
    for name in _names(code):
        if name in SLOW_HELPERS:  # imported inside the function
            return True
        value = module_globals.get(name)
        if value is None:
            continue
        if _is_slow_helper(value):
            return True
        own = getattr(value, "__module__", None) == module_globals.get("__name__") and callable(value)
        if own and _calls_slow_helper(value, seen):
            return True
    return False


def _is_slow(item: pytest.Item) -> bool:
    if item.path.name in SLOW_FILES or SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
        return True
    functions = [getattr(item, "function", None)]
    fixture_info = getattr(item, "_fixtureinfo", None)
    if fixture_info is not None:
        for definitions in fixture_info.name2fixturedefs.values():
            functions.extend(definition.func for definition in definitions)
    return any(function is not None and _calls_slow_helper(function) for function in functions)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "slow: starts a server, a browser, a cluster or PostgreSQL, or runs the CLI for long"
    )
    # The inner loop tries a fifth of each property's examples (tests/hypothesis_budget.py);
    # the whole suite, and a run given --hypothesis-profile, keep their own numbers.
    if config.getoption("file_seconds") and not hasattr(config, "workerinput"):
        config.pluginmanager.register(FileSecondsRecorder(), "file-seconds")
    quick_run = "not slow" in (config.getoption("markexpr", "") or "")
    if quick_run and not config.getoption("hypothesis_profile", None):
        settings.load_profile("quick")


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """``-n auto``: a test process more than the cores. A third of the suite's time is spent
    waiting (servers and clusters starting, verdicts graded, restarts): with one process a core
    the CPU was busy 58% of the time (2 idle cores, 2,148 s of CPU in 1,830 s)."""
    return (os.cpu_count() or 1) + 1


# Each test file's seconds in the last whole run that recorded them, its slow tests' and the
# rest's: ``pytest --file-seconds`` writes them again.
FILE_SECONDS = Path(__file__).with_name("file_seconds.json")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--file-seconds",
        action="store_true",
        help=f"write each test file's seconds, slow tests and the rest, to {FILE_SECONDS.name} (a whole run)",
    )


def _recorded_seconds() -> dict[str, list[float]]:
    try:
        return dict(json.loads(FILE_SECONDS.read_text()))
    except (OSError, ValueError):
        return {}


def _longest_files_first(items: list[pytest.Item]) -> None:
    """Files in the order of their recorded seconds, longest first: ``--dist loadfile`` hands
    them out in this order, and a ten-minute file of servers handed out last would run alone
    while the other test processes idle. A file without a figure counts as the median file."""
    seconds = _recorded_seconds()
    totals = sorted(sum(figures) for figures in seconds.values())
    median = totals[len(totals) // 2] if totals else 0.0
    kinds: dict[str, set[bool]] = {}
    for item in items:
        kinds.setdefault(item.path.name, set()).add(item.get_closest_marker("slow") is not None)

    def weight(name: str) -> float:
        if name not in seconds:
            return median
        slow, quick = seconds[name]
        return slow * (True in kinds[name]) + quick * (False in kinds[name])

    weights = {name: weight(name) for name in kinds}
    order = {id(item): index for index, item in enumerate(items)}
    items.sort(key=lambda item: (-weights[item.path.name], order[id(item)]))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if _is_slow(item):
            item.add_marker(pytest.mark.slow)
    _longest_files_first(items)


class FileSecondsRecorder:
    """With ``--file-seconds``: each test's setup, call and teardown counted to its file (with
    ``-n``, in the process that hands out the files: reports carry their markers' names); at the
    end, the files this run ran get their new figures and files gone are dropped."""

    def __init__(self) -> None:
        self.recorded: dict[str, list[float]] = {}

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        figures = self.recorded.setdefault(report.nodeid.split("::")[0].rsplit("/", 1)[-1], [0.0, 0.0])
        figures[0 if "slow" in report.keywords else 1] += report.duration

    def pytest_sessionfinish(self) -> None:
        seconds = _recorded_seconds() | {
            name: [round(slow, 1), round(quick, 1)] for name, (slow, quick) in self.recorded.items()
        }
        here = FILE_SECONDS.parent
        kept = {name: seconds[name] for name in sorted(seconds) if (here / name).exists()}
        lines = [f"  {json.dumps(name)}: {json.dumps(figures)}" for name, figures in kept.items()]
        FILE_SECONDS.write_text("{\n" + ",\n".join(lines) + "\n}\n")
