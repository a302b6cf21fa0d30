"""Functions named by their module and imported when first used.

An answer type's checker pulls in what deciding needs (numpy, sympy, python-flint, the
code sandbox), a write-up reader its parser (pylatexenc, nbformat, markdown-it): naming
them rather than importing them keeps reading a problem set, a submission or the verdict
store free of all that. The registries that name them stay explicit tables
(:data:`grader.types.ANSWER_TYPES`, the write-up formats); the engine loads a checker
before a check runs, so an import never counts against an answer's time or memory limit.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


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
