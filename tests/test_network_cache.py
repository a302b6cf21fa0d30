"""A part's prepared value (grader/core/cache.py) is never reused for a part that differs
in any field: per answer type, per field; and, for networks, the verdicts that a shared
preparation used to decide (a strict part graded as if it had a wider tolerance)."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pytest
from pydantic import TypeAdapter

from grader.core.cache import PartCache
from grader.core.parts import PartBase
from grader.core.verdict import Status
from grader.core.yamlio import load_with_positions
from grader.engine import check_part
from grader.spec import Part
from grader.types import ANSWER_TYPES
from grader.types.network.compile import compile_part

PART: TypeAdapter[Any] = TypeAdapter(Part)
CASES = Path(__file__).parent / "cases"


def _example(type_name: str) -> PartBase:
    """The first part of the type's checker table (tests/cases/<type>.yaml)."""
    groups, _ = load_with_positions((CASES / f"{type_name}.yaml").read_text(encoding="utf-8"))
    part = PART.validate_python({"id": "p", **groups[0]["spec"]})
    assert isinstance(part, PartBase)
    return part


def _changed(value: Any) -> Any:
    """Another value of the same kind."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int | float):
        return value + 1
    if isinstance(value, str):
        return value + "-changed"
    if isinstance(value, tuple | list):
        return type(value)([*value, value[0]]) if value else ("changed",)
    if isinstance(value, dict):
        return {**value, "changed": next(iter(value.values()))} if value else {"changed": "x"}
    return "changed"


FIELDS = [
    pytest.param(name, field, id=f"{name}.{field}")
    for name, answer_type in ANSWER_TYPES.items()
    if (CASES / f"{name}.yaml").exists()
    for field in answer_type.part.model_fields
]


@pytest.mark.parametrize(("type_name", "field"), FIELDS)
def test_a_prepared_value_belongs_to_one_part(type_name: str, field: str) -> None:
    base = _example(type_name)
    variant = base.model_copy(update={field: _changed(getattr(base, field))})
    built: list[Any] = []

    def build(part: Any, seed_key: str) -> Any:
        built.append(part)
        return part

    cache: PartCache[Any] = PartCache(("answer",), build, size=8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a changed value may not be of the field's type
        assert cache.get(base) is base
        assert cache.get(variant) is variant, f"a part with another {field} got a stale prepared value"
        assert cache.get(base) is base
    assert built == [base, variant]


NETWORK = {
    "type": "network",
    "params": {"a": []},
    "model": "a x",
    "target": "2 x",
    "answer": {"a": 2},
}


@pytest.mark.parametrize("field", ["rtol", "atol", "time_limit", "points", "domain"])
def test_a_compiled_network_part_is_the_part_itself(field: str) -> None:
    value = {"rtol": 0.1, "atol": 0.5, "time_limit": 3.0, "points": 4.0, "domain": [-1, 1]}[field]
    base = PART.validate_python({"id": "p", **NETWORK})
    variant = PART.validate_python({"id": "p", **NETWORK, field: value})
    assert compile_part(base).part == base
    assert compile_part(variant).part == variant


@pytest.mark.parametrize("strict_first", [True, False])
def test_parts_that_differ_only_in_tolerance_keep_their_own_verdicts(strict_first: bool) -> None:
    strict = PART.validate_python({"id": "p", **NETWORK})
    wide = PART.validate_python({"id": "p", **NETWORK, "rtol": 0.1})
    order = [strict, wide] if strict_first else [wide, strict]
    verdicts = {id(part): check_part(part, {"a": 2.1}) for part in order}
    assert verdicts[id(strict)].status is Status.INCORRECT
    assert verdicts[id(wide)].status is Status.CORRECT


def test_a_full_cache_shared_by_threads_never_fails_a_lookup() -> None:
    """The service's request threads share the prepared parts: two threads dropping the oldest
    entry of a full cache at once once made a TA's class dashboard answer 500 (KeyError)."""
    import sys
    import threading

    from pydantic import BaseModel

    class Numbered(BaseModel):
        n: int

    cache: PartCache[list[int]] = PartCache(("n",), lambda part, _key: [part.n], size=4)
    failures: list[BaseException] = []

    def look_up(offset: int) -> None:
        try:
            for i in range(5000):
                part = Numbered(n=(i * 7 + offset) % 50)
                assert cache.get(part) == [part.n]
        except BaseException as exc:  # any failure of a lookup is the finding
            failures.append(exc)

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as the interpreter can
    try:
        threads = [threading.Thread(target=look_up, args=(k,)) for k in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    assert failures == []
    assert len(cache.values()) <= 4
