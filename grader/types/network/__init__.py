"""``network``: weights that make a network meet a target, decided exactly where
the network is piecewise linear.

The verdict is made in :mod:`.checker` (``check``, ``same_answer``), from:

* :mod:`.part` - the part model; :mod:`.compile` - the part parsed once (cached);
* :mod:`.weights` - reading a student's answer (``impossible`` or weights);
* :mod:`.evaluation` - the formulas evaluated exactly (numbers or piecewise-linear
  functions of the input), in floats and as sympy; :mod:`.planes` - where the
  first layer switches (probe points of several inputs);
* :mod:`.sides` - what the network is compared with (the target, the condition,
  another network); :mod:`.symbols` - draws of the part's symbols;
* :mod:`.exact`, :mod:`.approx`, :mod:`.classify` - the three modes;
  :mod:`.sampled` - float sampling where exact tools cannot decide;
  :mod:`.walk` - running an activation-region walk;
* :mod:`.comparison` - what a mode found; :mod:`.feedback` - values and points as
  text; :mod:`.plotdata` - the data of the picture of a wrong network.

The piecewise-linear mathematics itself is :mod:`grader.networks`.
"""

from __future__ import annotations

from grader.core.deferred import deferred
from grader.types.base import AnswerType
from grader.types.network.part import NetworkPart


def template_hint(part: NetworkPart) -> str:
    params = ", ".join(f"{name}: [...]" for name in part.params)
    return "{" + params + "}, or impossible if no such weights exist"


ANSWER_TYPE = AnswerType(
    name="network",
    part=NetworkPart,
    check=deferred("grader.types.network.checker", "check"),
    hint=template_hint,
    same_mistake=deferred("grader.types.network.checker", "same_answer"),
    value_after_label=False,
    formulas_apart="items",
)

__all__ = ["ANSWER_TYPE", "NetworkPart"]
