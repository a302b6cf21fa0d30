"""Running an exact activation-region walk, or saying why it cannot decide."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from grader.clock import deadline_in
from grader.mathlang.errors import EvalError
from grader.mathlang.evaluate import NotExactError
from grader.networks.affine import NotAffine, NotPolyhedral, TooManyRegions
from grader.networks.pl import NonLinearError
from grader.types.network.compile import Compiled, NotPiecewiseLinear

REGION_WALK_SHARE = 0.3  # of the part's time limit; past it the region walk gives way to sampling

W = TypeVar("W")


def on_inputs(comp: Compiled, fn: Callable[[dict[str, Any]], Any]) -> Callable[[Sequence[Any]], Any]:
    """``fn`` of a point given as the inputs' values in order (as the walks and probes pass it)."""

    def at(xs: Sequence[Any]) -> Any:
        return fn(dict(zip(comp.inputs, xs, strict=True)))

    return at


def walk_deadline(comp: Compiled) -> float:
    return deadline_in(REGION_WALK_SHARE * comp.part.time_limit)


def walk_or_reason(walk: Callable[[], W]) -> W | str:
    """The walk's result, or why the region walk cannot decide (then the caller samples)."""
    try:
        return walk()
    except NotPolyhedral as err:
        return f"the condition is not a union of polyhedra ({err})"
    except TooManyRegions as err:
        return f"the region walk stopped: {err}"
    except (NotAffine, NotExactError, NotPiecewiseLinear, NonLinearError) as err:
        return f"the network is not piecewise linear in a way the region walk handles ({err})"
    except (EvalError, ZeroDivisionError) as err:
        return f"the exact evaluation failed ({err})"
