"""For the service tests of a server that gains a dependency: while the file named by
GRADER_TEST_HIDE_TORCH exists, this interpreter (put first on PYTHONPATH) finds no PyTorch,
as on a machine where it is not installed; once the file is removed, it is "installed"."""

import importlib.util
import os

_MARKER = os.environ.get("GRADER_TEST_HIDE_TORCH")
_find_spec = importlib.util.find_spec


def _hiding_find_spec(name, package=None):  # type: ignore[no-untyped-def]
    if _MARKER and os.path.exists(_MARKER) and (name == "torch" or name.startswith("torch.")):
        return None
    return _find_spec(name, package)


importlib.util.find_spec = _hiding_find_spec
