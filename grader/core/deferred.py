"""Functions named by their module and imported when first used.

An answer type's checker pulls in what deciding needs (numpy, sympy, python-flint, the
code sandbox), a write-up reader its parser (pylatexenc, nbformat, markdown-it): naming
them rather than importing them keeps reading a problem set, a submission or the verdict
store free of all that. The registries that name them stay explicit tables
(:data:`grader.types.ANSWER_TYPES`, the write-up formats); the engine loads a checker
before a check runs, so an import never counts against an answer's time or memory limit.
"""

from __future__ import annotations

import contextlib
import importlib
import sys
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


class Deferred:
    """A function named by its module, imported on its first call (or by :meth:`load`)."""

    __slots__ = ("_function", "module", "name")

    def __init__(self, module: str, name: str):
        self.module = module
        self.name = name
        self._function: Callable[..., Any] | None = None

    def load(self) -> Callable[..., Any]:
        if self._function is None:
            self._function = getattr(importlib.import_module(self.module), self.name)
        return self._function

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.load()(*args, **kwargs)

    def __repr__(self) -> str:
        return f"Deferred({self.module}.{self.name})"


def deferred(module: str, name: str) -> Callable[..., Any]:
    """The function ``name`` of ``module``, imported when it is first called (see :class:`Deferred`)."""
    return Deferred(module, name)


def loaded(function: Callable[..., Any]) -> Callable[..., Any]:
    """The function itself: imported now when it was :func:`deferred`."""
    return function.load() if isinstance(function, Deferred) else function


class NotImported(BaseException):
    """A check reached a step that needs a module no check has imported yet (sympy, for a
    formula the numbers cannot decide). The engine imports it outside the check's time and
    memory limits and runs the check again from the start (:func:`with_imports`): the
    verdict is the one the check gives with the module imported before it, and a check that
    never reaches such a step never pays for the import. A BaseException, so that a check's
    ``except Exception`` cannot take it for a failure of the step."""

    def __init__(self, module: str):
        super().__init__(module)
        self.module = module


_UNIMPORTABLE: set[str] = set()


def needs(module: str) -> None:
    """Go on only with ``module`` imported: else raise :class:`NotImported`. A module that
    could not be imported is left to the check's own ``import``, whose error it reports."""
    if module not in sys.modules and module not in _UNIMPORTABLE:
        raise NotImported(module)


def with_imports(check: Callable[[], T]) -> T:
    """``check()``, run again after importing each module it turned out to need (see
    :func:`needs`); call it where no time or memory limit is in force."""
    while True:
        try:
            return check()
        except NotImported as missing:
            with contextlib.suppress(Exception):
                importlib.import_module(missing.module)
            if missing.module not in sys.modules:  # the check's own import says why
                _UNIMPORTABLE.add(missing.module)
