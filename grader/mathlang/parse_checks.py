"""What is checked around the parser (grader.mathlang.parser): every bracket of a text closed
in order, with the error a student reads at the one that is not; the size and depth of a
finished tree; and an upper bound of a literal formula's value (a power refused before it
is computed)."""

from __future__ import annotations

import math

from grader.mathlang.ast import BinOp, Const, Neg, Node, Num, Sym, children
from grader.mathlang.errors import LimitError, ParseError
from grader.mathlang.lexer import Tok
from grader.mathlang.limits import Limits

CLOSERS = {"(": ")", "[": "]", "{": "}", "\\{": "\\}", "lfloor": "rfloor", "lceil": "rceil", "begin": "end"}
OPENER_OF = {closer: opener for opener, closer in CLOSERS.items()}
SHOWN = {"lfloor": "\\lfloor", "rfloor": "\\rfloor", "lceil": "\\lceil", "rceil": "\\rceil"}
GROUP_NOUN = {"(": "parenthesis", "[": "bracket", "{": "brace", "\\{": "brace", "lfloor": "floor"}


def shown_token(tok: Tok, text: str) -> str:
    return text[tok.pos : tok.end] or SHOWN.get(tok.kind, tok.value) or tok.kind


def check_balance(tokens: list[Tok], text: str) -> None:
    """Every ( [ { \\{ \\lfloor \\begin closed in order; else a ParseError at the opener
    that is never closed, or at the stray closer."""
    stack: list[Tok] = []
    for tok in tokens:
        kind = tok.kind
        if kind in CLOSERS:
            stack.append(tok)
            continue
        opener_kind = OPENER_OF.get(kind)
        if opener_kind is None:
            continue
        if stack and stack[-1].kind == opener_kind:
            opener = stack.pop()
            if kind == "end" and opener.value != tok.value:
                raise ParseError(
                    f"\\end{{{tok.value}}} does not match \\begin{{{opener.value}}}",
                    text,
                    tok.pos,
                    hint=f"close it with \\end{{{opener.value}}}",
                )
            continue
        if any(open_tok.kind == opener_kind for open_tok in stack):
            raise _never_closed(stack[-1], text)
        raise _stray_closer(tok, opener_kind, text)
    if stack:
        raise _never_closed(stack[0], text)


def _never_closed(tok: Tok, text: str) -> ParseError:
    if tok.kind == "begin":
        return ParseError(
            f"\\begin{{{tok.value}}} is never closed", text, tok.pos, hint=f"add \\end{{{tok.value}}}"
        )
    closer = SHOWN.get(CLOSERS[tok.kind], CLOSERS[tok.kind])
    noun = GROUP_NOUN.get(tok.kind, "ceiling")
    return ParseError(
        f"'{shown_token(tok, text)}' is never closed",
        text,
        tok.pos,
        hint=f"unbalanced {noun}: add the matching '{closer}'",
    )


def _stray_closer(tok: Tok, opener_kind: str, text: str) -> ParseError:
    if tok.kind == "end":
        return ParseError(
            f"\\end{{{tok.value}}} has no \\begin", text, tok.pos, hint=f"add \\begin{{{tok.value}}}"
        )
    opener = SHOWN.get(opener_kind, opener_kind)
    return ParseError(
        f"'{shown_token(tok, text)}' has no matching '{opener}'",
        text,
        tok.pos,
        hint=f"unbalanced {GROUP_NOUN.get(opener_kind, 'ceiling')}: remove it or add the opening '{opener}'",
    )


def check_tree(root: Node, text: str, limits: Limits) -> None:
    """Node count and depth of the finished tree, without recursion."""
    count = 0
    stack: list[tuple[Node, int]] = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        count += 1
        if count > limits.max_nodes:
            raise LimitError(
                f"formula too large: more than {limits.max_nodes} parts",
                text,
                node.pos,
                hint="give a shorter formula",
            )
        if depth > limits.max_tree_depth:
            raise LimitError(
                f"formula too deeply nested (more than {limits.max_tree_depth} levels)",
                text,
                node.pos,
                hint="give a shorter formula",
            )
        stack.extend((child, depth + 1) for child in reversed(children(node)))


def magnitude(node: Node, depth: int = 0) -> float | None:
    """An upper bound of |value| when ``node`` holds only literals, else None."""
    if depth > 40:
        return None
    if isinstance(node, Num):
        return float(node.value)
    if isinstance(node, Neg):
        return magnitude(node.operand, depth + 1)
    if isinstance(node, Const):
        return 3.15 if node.name in ("pi", "e") else None
    if not isinstance(node, BinOp):
        return None
    left = magnitude(node.left, depth + 1)
    right = magnitude(node.right, depth + 1)
    if left is None or right is None:
        return None
    return _combined_magnitude(node, left, right)


def is_euler(node: Node, symbols: frozenset[str]) -> bool:
    return (isinstance(node, Const) and node.name == "e") or (
        isinstance(node, Sym) and node.name == "e" and "e" not in symbols
    )


def _combined_magnitude(node: BinOp, left: float, right: float) -> float | None:
    if node.op in ("+", "-"):
        return left + right
    if node.op == "/":
        divisor = node.right
        return left / right if isinstance(divisor, Num) and divisor.value != 0 else None
    if node.op == "^":
        if left < 1:
            return None
        return math.inf if right * math.log10(max(left, 1.0)) > 300 else left**right
    if left == 0 or right == 0:
        return 0.0
    return left * right
