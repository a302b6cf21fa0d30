"""constraints-lowest.txt (what .ci/lowest installs) pins every dependency of pyproject.toml
at its lower bound: a bound raised or added without the file is caught here (issue 49 item 13)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.version import Version

ROOT = Path(__file__).parent.parent


def _name(requirement: str) -> str:
    return re.split(r"[<>=!;\[ ]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def test_constraints_lowest_pins_every_lower_bound() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    bounds = {}
    for requirement in project["dependencies"]:
        found = re.search(r">=\s*([\w.]+)", requirement)
        assert found, f"{requirement!r} has no lower bound"
        bounds[_name(requirement)] = Version(found.group(1))
    pins = {}
    for line in (ROOT / "constraints-lowest.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            pins[name.lower()] = Version(version)
    assert pins == bounds
    assert bounds["filelock"] == Version("4.2.1") and bounds["click"] == Version(
        "8.2"
    )  # the lowest the suite passes with


def test_every_data_file_of_the_package_is_installed() -> None:
    """A file grader reads at run time (a page's template, KaTeX, a migration, grader.sty) is
    named by pyproject.toml's package-data: a non-editable install (pip install
    dl-theory-grader) holds every one of them."""
    package_data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    installed = {
        path
        for package, patterns in package_data.items()
        for pattern in patterns
        for path in (ROOT / package.replace(".", "/")).glob(pattern)
    }
    data_files = {
        path
        for path in (ROOT / "grader").rglob("*")
        if path.is_file() and path.suffix not in (".py", ".pyc") and "__pycache__" not in path.parts
    }
    assert data_files, "no data files found"
    assert sorted(str(p.relative_to(ROOT)) for p in data_files - installed) == []
