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
  checks (sampling, not exact); :mod:`.regions_exact` - several inputs, exact.
"""

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
