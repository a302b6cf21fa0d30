"""A code answer as text to run: read, parsed (never compiled or run here), completed.

A student may give the whole function or class, just the method the part names
(``def backward(self, dLdout): ...``), or only its body when the part gives the
``signature``: the body is then indented under it. A syntax error is an unreadable
answer, with a caret under where Python stopped reading.
"""

from __future__ import annotations

import ast
import textwrap
from dataclasses import dataclass
from typing import Any

from grader.core.verdict import AnswerError
from grader.types.code.part import CodePart

ANSWER_FILE = "<answer>"


@dataclass(frozen=True)
class Program:
    """Source the runner executes as the student's answer (or a reference), and how to use it."""

    text: str
    # (class, method) pairs: a method given on its own is set on the scaffold's class
    attach: tuple[tuple[str, str], ...] = ()
    # lines the answer was moved down by (a body placed under the signature)
    line_offset: int = 0


def answer_text(answer: Any) -> str:
    """The Python source of an answer: text, or a file the loader read (``file: layers.py``)."""
    if isinstance(answer, str):
        return answer
    if isinstance(answer, dict) and set(answer) <= {"file", "error"} and "file" in answer:
        reason = answer.get("error") or "it could not be read"
        raise AnswerError(f"the file {answer['file']} was not read: {reason}")
    raise AnswerError(
        f"a code answer is Python source (a function or a class), not a {type(answer).__name__}"
    )


def program(part: CodePart, answer: Any, *, reference: bool = False) -> Program:
    """The program the runner executes for ``answer`` to ``part``."""
    text = textwrap.dedent(answer_text(answer))
    tree = _parse(text, reference)
    defined = _defined_names(tree)
    if part.entry_class and part.entry_class in defined:
        return Program(text)
    if part.entry_name in defined:
        attach = ((part.entry_class, part.entry_name),) if part.entry_class else ()
        return Program(text, attach)
    if part.signature and not defined:
        return _under_signature(part, text, reference)
    wanted = f"{part.entry_class} or {part.entry_name}" if part.entry_class else part.entry_name
    message = f"the code does not define {wanted} (it defines {', '.join(sorted(defined)) or 'nothing'})"
    if reference:
        raise ValueError(f"problem spec: {message}")
    raise AnswerError(f"your {message.removeprefix('the ')}")


def _under_signature(part: CodePart, body: str, reference: bool) -> Program:
    signature = textwrap.dedent(part.signature or "").rstrip()
    header_lines = signature.count("\n") + 1
    indented = textwrap.indent(textwrap.dedent(body), "    ", lambda line: True)
    extra = _extra_header_indent(signature)
    text = f"{signature}\n{textwrap.indent(indented, extra) if extra else indented}"
    _parse(text, reference, offset=header_lines)
    attach = ((part.entry_class, part.entry_name),) if part.entry_class else ()
    return Program(text, attach, header_lines)


def _extra_header_indent(signature: str) -> str:
    """A signature with lines after the def line (``logits, target = self.inputs``):
    the body goes at their indentation."""
    lines = signature.split("\n")
    if len(lines) == 1:
        return ""
    last = lines[-1]
    return last[: len(last) - len(last.lstrip())][4:]


def _parse(text: str, reference: bool, offset: int = 0) -> ast.Module:
    try:
        return ast.parse(text, ANSWER_FILE)
    except SyntaxError as exc:
        line = max((exc.lineno or 1) - offset, 1)
        who = "the reference" if reference else "your code"
        message = f"{who} is not valid Python: {exc.msg} (line {line})"
        if reference:
            raise ValueError(f"problem spec: {message}") from None
        raise AnswerError(message, text, _offset_of(text, exc.lineno, exc.offset)) from None
    except (RecursionError, MemoryError, ValueError) as exc:
        raise AnswerError(f"your code cannot be read ({type(exc).__name__})") from None


def _offset_of(text: str, line: int | None, column: int | None) -> int | None:
    if line is None:
        return None
    lines = text.split("\n")
    if line > len(lines):
        return len(text)
    start = sum(len(item) + 1 for item in lines[: line - 1])
    return start + max((column or 1) - 1, 0)


def _defined_names(tree: ast.Module) -> set[str]:
    """Functions and classes the source defines at its top level."""
    return {
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
    }
