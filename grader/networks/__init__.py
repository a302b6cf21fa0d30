"""Exact decision core for ReLU-network questions (contract section 5).

* :mod:`.pl` - ``PL``, exact piecewise-linear functions of one variable, and
  the activation helpers the evaluator calls (``relu``, ``heaviside``...).
* :mod:`.exact` - ``compare`` (exact equality over R or an interval, with a
  witness) and ``decide_for_all`` (symbolic weights, decided per seeded draw).
* :mod:`.sym` - sympy targets: ``pl_from_sympy``, ``compare_expr``.
* :mod:`.approx` - ``max_error`` on a bounded interval.
* :mod:`.kinks` - the difference of two sums of units without merging them
  (what makes ``compare`` fast for networks of thousands of units).
* :mod:`.regions` - several inputs: probe points / lines and classification
  checks (sampling, not exact); :mod:`.regions_exact` - several inputs,
  exact: a walk of activation regions over :mod:`.affine` forms, :mod:`.cells` of
  conditions and exact :mod:`.systems`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from grader.networks.approx import ApproxResult, max_error
    from grader.networks.exact import DifferingPoint, ForAllResult, compare, decide_for_all, symbol_draws
    from grader.networks.intervals import Interval, Region, simplest_in
    from grader.networks.kinks import paused_collection
    from grader.networks.pl import (
        PL,
        DomainError,
        NonLinearError,
        absolute,
        heaviside,
        leaky_relu,
        maximum,
        minimum,
        one_hidden_layer,
        piecewise,
        pl_sum,
        relu,
        where,
    )
    from grader.networks.regions import (
        ClassifyResult,
        ClassifyWitness,
        check_classify,
        check_classify_lines,
        probe_lines,
        probe_points,
    )
    from grader.networks.sym import ExprDecision, compare_expr, pl_from_sympy

# name -> the module of this package that defines it. The modules are imported when a name is
# first used: numpy for the piecewise-linear core, sympy and python-flint only for the targets
# and error bounds that need them (importing grader.networks.pl does not load sympy).
_WHERE = {
    "ApproxResult": "approx",
    "max_error": "approx",
    "DifferingPoint": "exact",
    "ForAllResult": "exact",
    "compare": "exact",
    "decide_for_all": "exact",
    "symbol_draws": "exact",
    "Interval": "intervals",
    "Region": "intervals",
    "simplest_in": "intervals",
    "paused_collection": "kinks",
    "PL": "pl",
    "DomainError": "pl",
    "NonLinearError": "pl",
    "absolute": "pl",
    "heaviside": "pl",
    "leaky_relu": "pl",
    "maximum": "pl",
    "minimum": "pl",
    "one_hidden_layer": "pl",
    "piecewise": "pl",
    "pl_sum": "pl",
    "relu": "pl",
    "where": "pl",
    "ClassifyResult": "regions",
    "ClassifyWitness": "regions",
    "check_classify": "regions",
    "check_classify_lines": "regions",
    "probe_lines": "regions",
    "probe_points": "regions",
    "ExprDecision": "sym",
    "compare_expr": "sym",
    "pl_from_sympy": "sym",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


__all__ = [
    "PL",
    "ApproxResult",
    "ClassifyResult",
    "ClassifyWitness",
    "DifferingPoint",
    "DomainError",
    "ExprDecision",
    "ForAllResult",
    "Interval",
    "NonLinearError",
    "Region",
    "absolute",
    "check_classify",
    "check_classify_lines",
    "compare",
    "compare_expr",
    "decide_for_all",
    "heaviside",
    "leaky_relu",
    "max_error",
    "maximum",
    "minimum",
    "one_hidden_layer",
    "paused_collection",
    "piecewise",
    "pl_from_sympy",
    "pl_sum",
    "probe_lines",
    "probe_points",
    "relu",
    "simplest_in",
    "symbol_draws",
    "where",
]
