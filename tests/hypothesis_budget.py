"""How many examples a property test tries: its own number in the thorough run (CI's whole
suite, hypothesis's default profile), a fifth of it in the quick one that
``pytest -m "not slow"`` loads (tests/conftest.py). ``--hypothesis-profile thorough`` gives
a quick run the whole numbers."""

from __future__ import annotations

from hypothesis import settings

THOROUGH = 100  # hypothesis's own max_examples: a profile's against it is the scale
settings.register_profile("thorough", max_examples=THOROUGH)
settings.register_profile("quick", max_examples=THOROUGH // 5)


def examples(count: int) -> int:
    """``count`` scaled by the loaded profile (read when the test module is imported, after
    pytest chose the profile): never below 10 (or ``count`` itself when it is smaller)."""
    return max(min(count, 10), count * settings().max_examples // THOROUGH)
