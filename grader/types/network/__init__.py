"""``network``: weights that make a network meet a target, decided exactly where
the network is piecewise linear."""

from __future__ import annotations

from grader.types.base import AnswerType
from grader.types.network.checker import check, same_answer
from grader.types.network.part import NetworkPart


def template_hint(part: NetworkPart) -> str:
    params = ", ".join(f"{name}: [...]" for name in part.params)
    return "{" + params + "}, or impossible if no such weights exist"


ANSWER_TYPE = AnswerType(
    name="network", part=NetworkPart, check=check, hint=template_hint, same_mistake=same_answer
)

__all__ = ["ANSWER_TYPE", "NetworkPart", "check"]
