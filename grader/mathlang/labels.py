"""What a student writes before the value: a label naming what is asked.

``\\eta_{\\max} = \\frac{1}{2}``, ``f'(0) = 3``, ``\\frac{\\partial L}{\\partial W} = ...``,
``\\nabla_W L = ...``, ``\\frac{d}{dx} f(x) = ...``: the left side names the quantity, the
right side is the answer. The text is only cut, never rewritten: the math language still
reads what is graded.
"""

from __future__ import annotations

import re

from grader.mathlang import ast
from grader.mathlang.errors import ReadError
from grader.mathlang.parser import parse

_GROUP = r"\{(?:[^{}]|\{[^{}]*\})*\}"  # braces, one level of nesting inside
# \frac{\partial f}{\partial \mathbf{x}} = ..., \frac{d}{dx} \sigma(x) = ..., \frac{dL}{dw} = ...
_DERIVATIVE = (
    r"\\[dt]?frac\s*\{\s*(?:\\partial|d)(?![a-zA-Z]{2})[^{}=]*(?:\{[^{}=]*\}[^{}=]*)*\}"
    r"\s*\{\s*(?:\\partial|d)[^=]*?\}[^=]*"
)
# a name: a letter, a Greek letter or a decorated one, with sub- and superscripts and primes
_NAME = (
    rf"(?:\\(?:mathbf|boldsymbol|bm|mathrm|mathit|mathcal|operatorname|text|textrm|hat|bar|tilde|vec|widehat)\s*{_GROUP}"
    r"|\\[A-Za-z]+|[A-Za-z][A-Za-z]*)"
    rf"(?:\s*(?:_|\^)\s*(?:{_GROUP}|\\[A-Za-z]+|[A-Za-z0-9*])|\s*')*"
)
_ARGUMENTS = r"(?:\s*(?:\\left\s*)?\((?:[^()=]|\([^()=]*\))*(?:\\right\s*)?\))?"
# \nabla_W L, \nabla_{\theta} J(\theta), \partial L / \partial W, dL/dW
_GRADIENT = rf"\\nabla(?:\s*_\s*(?:{_GROUP}|\\[A-Za-z]+|[A-Za-z0-9]))?\s*{_NAME}{_ARGUMENTS}"
_SLASHED = rf"(?:\\partial|d)\s*{_NAME}\s*/\s*(?:\\partial|d)\s*{_NAME}"
_D_BY_DX = rf"\\[dt]?frac\s*\{{\s*d\s*\}}\s*\{{\s*d\s*{_NAME}\s*\}}\s*{_NAME}{_ARGUMENTS}"

DERIVATIVE_LABEL = re.compile(rf"^\s*(?:{_DERIVATIVE}|{_GRADIENT}|{_SLASHED}|{_D_BY_DX})\s*=(?!=)")
NAME_LABEL = re.compile(rf"^\s*{_NAME}{_ARGUMENTS}\s*=(?!=)")
_LONGEST_LABEL = 200


def strip_derivative_label(text: str) -> str:
    """``\\nabla_W L = 2W`` -> ``2W``: a derivative or gradient named before its value."""
    match = DERIVATIVE_LABEL.match(text[: _LONGEST_LABEL + 1]) if text.strip() else None
    return text[match.end() :] if match else text


def strip_value_label(text: str) -> str:
    """``\\eta_{\\max} = \\frac{1}{2}`` -> ``\\frac{1}{2}``, for a part whose answer is a value
    (never an equation): a name, a function at a point or a derivative, then ``=``."""
    stripped = strip_derivative_label(text)
    if stripped is not text:
        return stripped
    match = NAME_LABEL.match(text[: _LONGEST_LABEL + 1])
    if match is None or not text[match.end() :].strip() or _is_constant(text[: match.end() - 1]):
        return text
    return text[match.end() :]


def _is_constant(left: str) -> bool:
    """``\\sin(1)``, ``\\pi``: a value, not a name; ``\\sin(1) = 0.5`` is working whose sides
    must agree, never a label to drop."""
    try:
        return not ast.free_names(parse(left))
    except ReadError:
        return False
