r"""The safe parser of the math language: LaTeX and plain text into :mod:`.ast` trees.

    from grader.mathlang.parser import parse, dump
    tree = parse(text, symbols={"n", "d"}, functions={"S"}, mode="expr")

Hand-written recursive descent over the tokens of :mod:`.lexer`; nothing is ever
evaluated (no ``eval``/``sympify``). Every input string gives a tree or raises
:class:`ParseError` / :class:`LimitError` with a position and a hint. Recursion
is bounded by an explicit depth counter (``Limits.max_depth``), not by Python's
recursion limit.

Precedence, loosest first
-------------------------
1. ``,`` (a top-level or parenthesised list is a TupleLit)
2. ``or`` ``\lor`` ``\vee``, then ``and`` ``\land`` ``\wedge``, then ``not``
3. relations ``= != < <= > >=`` and ``\in``; chains ``-2 <= x <= 0`` become
   ``Logic("and", ..)``; ``\in`` with nothing on its left is ``Member(None, ..)``
4. ``+`` ``-``
5. explicit products, one level, left-associative: ``* / \cdot \times \odot
   \otimes @`` and ``.`` (the dot product between operands)
6. unary ``-`` / ``+``: ``-x^2`` is ``-(x^2)``, ``-2x`` is ``-(2x)``
7. implicit product (juxtaposition): ``2x``, ``W x``, ``S(x) S(x)^T``, ``(a+b)(c+d)``.
   It binds tighter than ``*`` and ``/``: ``1/2x`` = ``1/(2x)``, ``a/2b`` = ``a/(2b)``,
   as students mean it; ``\frac{1}{2}x`` is ``(1/2)x`` because ``\frac`` is an atom.
8. ``^`` (right-associative: ``2^3^2`` = ``2^9``); the exponent may carry its own
   sign (``x^-1``); LaTeX single-token exponents hold: ``x^2y`` = ``x^2 y``.
9. postfix ``^T ^\top ^{T} ^\intercal ᵀ`` (Transpose; ``^T`` is a power when
   ``T`` is a declared symbol), ``'`` (Prime), ``_i`` on a non-name (Index)

Names
-----
* A plain word is one token; it stays whole when it is a declared symbol, a
  Greek letter name, a function name or a keyword (``and or not if true
  otherwise pi inf``). Otherwise, when it splits completely into declared
  symbols (or declared functions), longest piece first, it is an implicit
  product: ``nmd`` -> ``n m d``, ``nd^2`` -> ``n d^2``. Else it is one Sym
  (``xy`` -> ``xy``; the evaluator reports unknown symbols).
* Subscripts are part of the name: ``w_0``, ``w_{0}`` -> ``w_0``;
  ``\theta_{small}`` -> ``theta_small``; ``x_{ij}`` -> ``x_ij``;
  ``\text{softmax}_{\text{row}}`` -> ``softmax_row``. A subscript that is an
  expression (``x_{i+1}``, ``x_{i,j}``) is ``Index(Sym("x"), (i+1,))``; so is a
  number or single-letter subscript on a declared symbol whose subscripted name
  is not declared (``x_1`` with ``x`` declared) -- element access, 1-based.
* ``W^{(2)}`` is the name ``W^(2)`` (a layer index, not a power); ``\hat{y}``
  is ``y_hat`` (also ``_bar``, ``_tilde``).
* A subscript after a one-token exponent is the base's, as in LaTeX:
  ``x^2_i`` is ``x_i^2``, ``\|x\|^2_2`` is ``norm(x, 2)^2``.
* A name that is not declared but whose other spelling is takes the declared
  one: ``w_0`` is ``w0`` when only ``w0`` is declared, ``w0`` is ``w_0`` when
  only ``w_0`` is.
* ``\pi`` / ``pi`` -> Const("pi"), ``\infty`` -> Const("inf"), ``\mathrm{e}`` ->
  Const("e"), ``true``/``otherwise`` -> Const("true"); ``e^{x}`` ->
  ``Call("exp", x)`` unless ``e`` is a declared symbol; a lone ``e`` is Const("e") too
  unless ``e`` is declared (then Sym("e")).
* ``\mathbb{1}``, ``\mathbf{1}``, ``\boldsymbol{1}`` (a vector of ones, its length
  from the other shapes, see :mod:`.evaluate`) -> Sym("1"); a plain ``1`` is the number.

Functions
---------
``name(..)`` is a Call only for a built-in, a declared function, or an
``\operatorname{..}`` word; otherwise it is an implicit product (``x(1-x)``,
``g(x)`` = ``g x``). Arguments may also be in ``\{..\}`` or ``{..}``
(``\max\{0, x\}``). LaTeX operator names (``\exp \log \ln \sin \max``...) take
a bare argument too: ``\log x^2`` = ``log(x^2)``, ``\log 2x`` = ``log(2) x``.
``relu softmax diag sigmoid`` match case-insensitively (``\mathrm{ReLU}``).
The names come from :mod:`.names` (the one list; ``ln``, ``\arcsin``, ``sgn``... are
other spellings). A power of a function is the power of its value: ``\tanh^2(x)``,
``\sin^{2} x`` -> ``(tanh x)^2``; ``\sin^{-1} x`` is ``asin x``.
``\sqrt[n]{x}`` -> ``Call("root", (x, n))``; ``|x|`` -> abs, ``\|x\|`` ->
norm, ``\|x\|_2`` -> ``norm(x, 2)``, ``\lfloor x \rfloor`` -> floor.
``piecewise((v1, c1), (v2, c2))`` and ``\begin{cases}`` -> Piecewise.

Modes
-----
``complexity`` adds ``Theta O Omega`` as functions. ``shape`` returns a
TupleLit of dimensions: ``24 x 24 x 128``, ``64×7×7``, ``1 \times k``,
``(24, 24, 128)``, ``[1, k]``, ``\mathbb{R}^{1 \times k}``,
``W_2 \in \mathbb{R}^{1 \times k}`` (the name is not a dimension); there ``x``,
``by``, ``×``, ``\times`` and ``,`` separate dimensions.

Odds and ends: a final ``.`` or ``,`` (end of a sentence) is ignored; inside
``[..]`` LaTeX spacing separates items (``[1 \quad 1]``); two numbers in a row
(``1 000``) are an error, not a product; ``x'`` is ``Prime(x)`` (``x''`` nests,
``\prime`` and ``′`` too); ``||`` is always a norm bar, so nested absolute values
need a space (``| |x| - 1 |``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from fractions import Fraction
from typing import Any

from grader.mathlang.ast import (
    BinOp,
    Call,
    Const,
    Index,
    ListLit,
    Logic,
    Matrix,
    Member,
    Neg,
    Node,
    Num,
    Piecewise,
    Prime,
    Relation,
    Space,
    Sym,
    Transpose,
    TupleLit,
)
from grader.mathlang.errors import LimitError, MathError, ParseError, ReadError
from grader.mathlang.lexer import (
    CMD,
    GREEK_NAMES,
    OPNAME,
    SPACED,
    WHOLE,
    Tok,
    check_number,
    tokenize,
    words,
)
from grader.mathlang.limits import DEFAULT_LIMITS, Limits, check_length
from grader.mathlang.names import CASELESS, FUNCTIONS, INVERSES, SPECIAL_FORMS, SPELLINGS
from grader.mathlang.parse_checks import (
    CLOSERS,
    OPENER_OF,
    SHOWN,
    check_balance,
    check_tree,
    is_euler,
    magnitude,
    shown_token,
)

__all__ = ["BOUND_FUNCTIONS", "BUILTIN_FUNCTIONS", "MODES", "dump", "parse"]

MODES = ("expr", "complexity", "shape")

BUILTIN_FUNCTIONS = frozenset(FUNCTIONS) | SPECIAL_FORMS
BOUND_FUNCTIONS = frozenset({"Theta", "O", "Omega"})
_FUNCTION_ALIASES = {name: name for name in BUILTIN_FUNCTIONS} | SPELLINGS

_KEYWORDS = {"and": "and", "or": "or", "not": "not", "if": "if", "for": "if", "when": "if", "where": "if"}
_CONST_WORDS = {
    "pi": "pi",
    "inf": "inf",
    "infty": "inf",
    "infinity": "inf",
    "true": "true",
    "True": "true",
    "otherwise": "true",
    "else": "true",
    "false": "false",
    "False": "false",
}


_RELATIONS = {"=": "=", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_PRODUCTS = {
    "*": "star",
    "/": "/",
    "cdot": "cdot",
    "times": "times",
    ".": "dot",
    "@": "matmul",
    "odot": "odot",
    "otimes": "otimes",
}
_PRECEDENCE = {"+": 1, "-": 1} | dict.fromkeys(_PRODUCTS, 2)
_OPERAND_START = frozenset(words("num ident const ( [ { \\{ frac sqrt begin bb lfloor lceil | ||"))
_OPERATORS = frozenset(_PRECEDENCE) | frozenset(_RELATIONS) | {"^", "_", "in", "and", "or", "not", ","}

_MATRIX_ENVS = frozenset(words("matrix bmatrix pmatrix vmatrix Bmatrix Vmatrix smallmatrix array"))
_CASES_ENVS = frozenset({"cases", "dcases", "rcases"})
_X_PIECES = re.compile(r"x|[0-9]+|[^x0-9]+")
_LETTERS_DIGITS = re.compile(r"([A-Za-z]+)([0-9]+)")
_MAX_SPLIT_WORD = 64
_DIM_WORDS = frozenset({"x", "by"})  # separate dimensions in shapes: 24 x 24, k by d
_MAX_SUBSCRIPT_TOKENS = 4


def parse(
    text: str,
    *,
    symbols: Iterable[str] = (),
    functions: Iterable[str] = (),
    mode: str = "expr",
    limits: Limits = DEFAULT_LIMITS,
) -> Node:
    """The tree of ``text``; raises ParseError or LimitError (never anything else) for bad input.

    ``symbols``: declared names (scalars, arrays, let-names), used to split words
    such as ``nd``; ``functions``: extra function names (``S``, ``H``, ``Theta``);
    ``mode``: ``expr``, ``complexity`` or ``shape`` (see the module docstring).

    Trees are immutable, so a text parsed again with the same names, mode and limits
    gets the tree (or a fresh copy of the error) of its first parse (:data:`_MEMO`):
    an answer is read by its check, its page and the class's statistics.
    """
    names, calls = frozenset(symbols), frozenset(functions)
    short = isinstance(text, str) and len(text) <= _MEMO_TEXT
    key = (text, names, calls, mode, limits) if short else None
    if key is not None:
        hit = _MEMO.get(key)
        if isinstance(hit, Node):
            return hit
        if hit is not None:
            raise _error_again(hit)
    try:
        tree = _parse(text, names, calls, mode, limits)
    except MathError as err:  # ParseError, LimitError: kept as what makes them, not with frames
        # (not Python's recursion limit met: that depends on the caller's stack, not the text)
        if key is not None and not isinstance(err.__context__, RecursionError):
            _remember(key, (type(err), str(err), dict(vars(err))))
        raise
    if key is not None:
        _remember(key, tree)
    return tree


# The parse memo: (text, symbols, functions, mode, limits) -> tree or (error class, message,
# fields). Bounded by entries, by each text's length and by the characters of all its texts
# (a tree holds about 60 bytes a character: a hostile write-up of many long distinct lines
# would otherwise leave a worker holding a gigabyte for the students after it; a web server
# that shows a term's answers would grow for hours), so about 15 MiB at most; cleared whole
# when full.
_MEMO: dict[tuple[Any, ...], Any] = {}
_MEMO_SIZE = 20_000
_MEMO_TEXT = 2_000
_MEMO_CHARACTERS = 250_000
_memo_characters = 0


def _remember(key: tuple[Any, ...], value: Any) -> None:
    global _memo_characters
    if len(_MEMO) >= _MEMO_SIZE or _memo_characters + len(key[0]) > _MEMO_CHARACTERS:
        _MEMO.clear()
        _memo_characters = 0
    _MEMO[key] = value
    _memo_characters += len(key[0])


def _error_again(kept: tuple[type[MathError], str, dict[str, Any]]) -> MathError:
    cls, message, fields = kept
    err = cls.__new__(cls)
    Exception.__init__(err, message)
    vars(err).update(fields)
    return err


def _parse(text: str, symbols: frozenset[str], functions: frozenset[str], mode: str, limits: Limits) -> Node:
    if mode not in MODES:
        raise ValueError(f"unknown parse mode {mode!r}; expected one of {MODES}")
    if not isinstance(text, str):
        raise ParseError(f"expected text, got {type(text).__name__}", hint="write the answer as text")
    check_length(text, limits)
    tokens = tokenize(text, limits)
    parser = _Parser(text, tokens, symbols, functions, mode, limits)
    try:
        tree = parser.run()
    except RecursionError:  # a safety net only: the depth counter stops well before
        raise LimitError("formula nested too deeply", text, 0, hint="simplify the formula") from None
    check_tree(tree, text, limits)
    return tree


# -- the parser ----------------------------------------------------------------------


class _Parser:
    """State of one parse: tokens, position and the context flags of the current group."""

    def __init__(
        self,
        text: str,
        tokens: list[Tok],
        symbols: frozenset[str],
        functions: frozenset[str],
        mode: str,
        limits: Limits,
    ) -> None:
        self.text = text
        self.symbols = symbols
        self.functions = functions
        self.mode = mode
        self.limits = limits
        self.bounds = BOUND_FUNCTIONS if mode == "complexity" else frozenset()
        self.pieces = symbols | functions
        self._lengths: list[int] | None = None
        self.i = 0
        self.depth = 0
        self.powers: list[int] = []  # positions of the bases of the exponents being parsed
        self.abs_depth = 0  # inside |..|: a '|' closes
        self.norm_depth = 0  # inside \|..\|
        self.space_sep = False  # directly inside [..]: LaTeX spacing separates items
        self.shape = mode == "shape"  # 'x' and \times separate dimensions
        self.exponent_atom = False  # parsing the one-token exponent of x^2_i: '_' is the base's
        self.toks = self._prepare(tokens)
        check_balance(self.toks, text)

    def run(self) -> Node:
        if self.toks[0].kind == "eof":
            raise ParseError("empty answer", self.text, 0, hint="write a formula")
        if self.mode == "shape":
            return self._shape()
        node = self._seq()
        self._expect_end()
        return node

    # -- errors ------------------------------------------------------------------

    def _error(self, message: str, pos: int, hint: str = "") -> ParseError:
        return ParseError(message, self.text, pos, hint)

    def _show(self, tok: Tok) -> str:
        return shown_token(tok, self.text)

    def _unexpected(self, tok: Tok, expected: str = "") -> ParseError:
        if tok.kind == "eof":
            return self._error(f"the formula ends early: expected {expected or 'more'}", tok.pos)
        message = f"unexpected '{self._show(tok)}'" + (f": expected {expected}" if expected else "")
        return self._error(message, tok.pos, self._hint_for(tok))

    def _hint_for(self, tok: Tok) -> str:
        if tok.kind == "&":
            return "'&' separates columns: use it only inside \\begin{bmatrix} or \\begin{cases}"
        if tok.kind == "\\\\":
            return "'\\\\' ends a row: use it only inside \\begin{bmatrix} or \\begin{cases}"
        if tok.kind == "if":
            return "conditions are only understood inside \\begin{cases} or piecewise(..)"
        if tok.kind in OPENER_OF or tok.kind in ("|", "||"):
            return "unbalanced brackets or bars"
        return "check the formula near here"

    def _operand_error(self, tok: Tok) -> ParseError:
        """The current token cannot start an operand: say what is missing."""
        prev = self.toks[self.i - 1] if self.i > 0 else None
        if prev is not None and prev.kind in ("frac", "sqrt"):
            return self._missing_argument(prev)
        if tok.kind == "eof":
            if prev is None:
                return self._error("empty answer", 0, "write a formula")
            return self._error(
                f"'{self._show(prev)}' at the end has nothing after it",
                prev.pos,
                "trailing operator: finish the formula or remove it",
            )
        if tok.kind in OPENER_OF or tok.kind in ("&", "\\\\", ","):
            if prev is not None and prev.kind in _OPERATORS:
                return self._error(
                    f"'{self._show(prev)}' has nothing after it",
                    prev.pos,
                    "missing operand: finish the formula or remove the operator",
                )
            return self._error(f"expected a formula before '{self._show(tok)}'", tok.pos, self._hint_for(tok))
        return self._unexpected(tok, "a number, a name or '('")

    def _missing_argument(self, cmd: Tok) -> ParseError:
        if cmd.kind == "frac":
            return self._error(
                f"{self._show(cmd)} needs two arguments", cmd.pos, "write \\frac{numerator}{denominator}"
            )
        return self._error(f"{self._show(cmd)} needs an argument", cmd.pos, "write \\sqrt{x}")

    def _too_large(self, start: int, what: str, hint: str) -> LimitError:
        return LimitError(f"{what}: {self._snippet(start)} is refused", self.text, start, hint=hint)

    def _snippet(self, start: int) -> str:
        """The power written at ``start``: up to a top-level space or operator, at most 40 chars."""
        text = self.text
        depth = 0
        end = start
        while end < len(text) and end - start < 40:
            ch = text[end]
            if ch in "([{":
                depth += 1
            elif ch in ")]}":
                depth -= 1
                if depth < 0:
                    break
            elif depth == 0 and (ch.isspace() or ch in "+-=<>,;&$"):
                break
            end += 1
        shown = text[start:end]
        return shown + ("…" if end - start >= 40 else "")

    # -- depth and group context ---------------------------------------------------

    def _enter(self, tok: Tok) -> None:
        self.depth += 1
        if self.depth > self.limits.max_depth:
            raise LimitError(
                f"formula nested too deeply (more than {self.limits.max_depth} levels)",
                self.text,
                tok.pos,
                hint="simplify the formula",
            )

    def _open(self, tok: Tok) -> tuple[int, int, bool, bool]:
        self._enter(tok)
        saved = (self.abs_depth, self.norm_depth, self.space_sep, self.shape)
        self.abs_depth = self.norm_depth = 0
        self.space_sep = False
        self.exponent_atom = False
        return saved

    def _close(self, saved: tuple[int, int, bool, bool]) -> None:
        self.abs_depth, self.norm_depth, self.space_sep, self.shape = saved
        self.depth -= 1

    # -- token preparation: keywords, word splitting, shape 'x' -----------------------

    def _prepare(self, tokens: list[Tok]) -> list[Tok]:
        out: list[Tok] = []
        in_subscript: list[bool] = []  # for each open '{': is it a subscript group?
        prev = ""
        for tok in tokens:
            kind = tok.kind
            inside = bool(in_subscript) and in_subscript[-1]
            if kind == "ident":
                self._word(tok, prev, prev == "_" or inside, out)
            else:
                if kind == "{":
                    in_subscript.append(prev == "_" or inside)
                elif kind == "}" and in_subscript:
                    in_subscript.pop()
                out.append(tok)
            prev = kind
        if len(out) > 2 and out[-2].kind in (".", ","):  # the end of a sentence
            del out[-2]
        return out

    def _word(self, tok: Tok, prev: str, subscript: bool, out: list[Tok]) -> None:
        word = tok.value
        if word in self.symbols or subscript:
            out.append(tok)
        elif word in _KEYWORDS:
            out.append(tok._replace(kind=_KEYWORDS[word]))
        elif word in _CONST_WORDS:
            out.append(Tok("const", _CONST_WORDS[word], tok.pos, tok.end, tok.flags))
        elif self.shape and word in _DIM_WORDS:
            out.append(tok._replace(kind="times"))
        elif len(word) == 1 or tok.flags & WHOLE or self._known_word(word):
            out.append(tok)
        elif prev == "^" and word[0] == "T" and "T" not in self.symbols and word[1].isalpha():
            out.append(Tok("ident", "T", tok.pos, tok.pos + 1, tok.flags))  # x^Tx: transpose, then x
            self._word(Tok("ident", word[1:], tok.pos + 1, tok.end, tok.flags), "ident", False, out)
        elif self.shape and "x" in word:
            self._split_x(tok, out)
        else:
            pieces = self._split(word)
            if pieces is None:
                out.append(tok)
                return
            pos = tok.pos
            for piece in pieces:
                out.append(Tok("ident", piece, pos, pos + len(piece), tok.flags))
                pos += len(piece)

    def _split_x(self, tok: Tok, out: list[Tok]) -> None:
        """Shape mode: ``24x24x128`` lexes as 24 then ``x24x128``; split it at each x."""
        for match in _X_PIECES.finditer(tok.value):
            piece, pos = match.group(), tok.pos + match.start()
            end = pos + len(piece)
            if piece == "x":
                out.append(Tok("times", "x", pos, end))
            elif piece[0].isdigit():
                check_number(piece, self.text, pos, self.limits)
                out.append(Tok("num", piece, pos, end))
            else:
                self._word(Tok("ident", piece, pos, end, tok.flags), "", False, out)

    def _known_word(self, word: str) -> bool:
        return word in GREEK_NAMES or self._function_name(word, 0) is not None

    def _split(self, word: str) -> list[str] | None:
        """``word`` as declared pieces, longest first; None when it does not split."""
        if len(word) > _MAX_SPLIT_WORD or not self.pieces:
            return None
        if self._lengths is None:
            self._lengths = sorted({len(piece) for piece in self.pieces}, reverse=True)
        n = len(word)
        step = [0] * (n + 1)  # step[i]: length of the piece starting at i in a full split
        reachable = [False] * n + [True]
        for i in range(n - 1, -1, -1):
            for length in self._lengths:
                if i + length <= n and reachable[i + length] and word[i : i + length] in self.pieces:
                    reachable[i] = True
                    step[i] = length
                    break
        if not reachable[0]:
            return None
        pieces: list[str] = []
        i = 0
        while i < n:
            pieces.append(word[i : i + step[i]])
            i += step[i]
        return pieces if len(pieces) > 1 else None

    def _function_name(self, name: str, flags: int) -> str | None:
        if name in self.functions:
            return name
        if name in self.symbols:
            return None
        if name in self.bounds:
            return name
        canonical = _FUNCTION_ALIASES.get(name)
        if canonical is not None:
            return canonical
        lower = name.lower()
        if lower in CASELESS:
            return lower
        return name if flags & OPNAME else None

    # -- token helpers ---------------------------------------------------------------

    def _expect(self, kind: str, opener: Tok) -> None:
        tok = self.toks[self.i]
        if tok.kind != kind:
            shown = SHOWN.get(kind, kind)
            raise self._unexpected(tok, f"'{shown}' to close '{self._show(opener)}'")
        self.i += 1

    def _expect_end(self) -> None:
        tok = self.toks[self.i]
        if tok.kind != "eof":
            raise self._unexpected(tok, "an operator or the end of the formula")

    def _can_start(self, tok: Tok) -> bool:
        return tok.kind in _OPERAND_START

    def _juxtaposed(self) -> bool:
        """Does the current token start another factor of an implicit product?"""
        tok = self.toks[self.i]
        kind = tok.kind
        if kind not in _OPERAND_START:
            return False
        if self.space_sep and tok.flags & SPACED:
            return False
        if kind == "|":
            return self.abs_depth == 0
        if kind == "||":
            return self.norm_depth == 0
        if kind == "ident" and self.shape and tok.value in _DIM_WORDS and tok.value not in self.symbols:
            return False
        if (
            kind == "num"
            and self.toks[self.i - 1].kind == "num"
            and self.toks[self.i - 2].kind not in ("^", "_")
        ):
            raise self._error(
                "two numbers in a row", tok.pos, "put an operator or a comma between the numbers"
            )
        return True

    # -- levels: lists, logic, relations ---------------------------------------------

    def _seq(self) -> Node:
        first = self._logic()
        if self.toks[self.i].kind != ",":
            return first
        items = [first]
        while self.toks[self.i].kind == ",":
            self.i += 1
            items.append(self._logic())
        return TupleLit(first.pos, tuple(items))

    def _logic(self) -> Node:
        node = self._conjunction()
        if self.toks[self.i].kind != "or":
            return node
        operands = [node]
        while self.toks[self.i].kind == "or":
            self.i += 1
            operands.append(self._conjunction())
        return Logic(node.pos, "or", tuple(operands))

    def _conjunction(self) -> Node:
        node = self._relation()
        if self.toks[self.i].kind != "and":
            return node
        operands = [node]
        while self.toks[self.i].kind == "and":
            self.i += 1
            operands.append(self._relation())
        return Logic(node.pos, "and", tuple(operands))

    def _relation(self) -> Node:
        tok = self.toks[self.i]
        if tok.kind == "not":
            self.i += 1
            self._enter(tok)
            operand = self._relation()
            self.depth -= 1
            return Logic(tok.pos, "not", (operand,))
        if tok.kind == "in":
            self.i += 1
            return Member(tok.pos, None, self._member_space())
        left = self._arith(1)
        kind = self.toks[self.i].kind
        if kind not in _RELATIONS and kind != "in":
            return left
        parts: list[Node] = []
        while kind in _RELATIONS or kind == "in":
            self.i += 1
            if kind == "in":
                right = self._member_space()
                parts.append(Member(left.pos, left, right))
            else:
                right = self._arith(1)
                parts.append(Relation(left.pos, _RELATIONS[kind], left, right))
            left = right
            kind = self.toks[self.i].kind
        return parts[0] if len(parts) == 1 else Logic(parts[0].pos, "and", tuple(parts))

    def _member_space(self) -> Node:
        tok = self.toks[self.i]
        if tok.kind == "ident" and tok.value == "R" and "R" not in self.symbols:
            return self._space(tok)
        return self._arith(1)

    # -- levels: arithmetic ----------------------------------------------------------

    def _arith(self, min_prec: int) -> Node:
        """Precedence climbing over + - (1) and the explicit products (2)."""
        left = self._factor()
        toks = self.toks
        while True:
            tok = toks[self.i]
            prec = _PRECEDENCE.get(tok.kind)
            if prec is None or prec < min_prec:
                return left
            if (self.shape and tok.kind == "times") or (self.space_sep and tok.flags & SPACED):
                return left
            if tok.kind == "." and not self._dot_operand(toks[self.i + 1]):
                return left  # a full stop, not a dot product
            self.i += 1
            right = self._arith(prec + 1)
            op = tok.kind if prec == 1 else _PRODUCTS[tok.kind]
            left = BinOp(left.pos, op, left, right)

    def _dot_operand(self, tok: Tok) -> bool:
        return tok.kind in _OPERAND_START or tok.kind in ("-", "+")

    def _factor(self) -> Node:
        tok = self.toks[self.i]
        if tok.kind == "-" or tok.kind == "+":
            self.i += 1
            self._enter(tok)
            operand = self._factor()
            self.depth -= 1
            return Neg(tok.pos, operand) if tok.kind == "-" else operand
        return self._implicit()

    def _implicit(self) -> Node:
        node = self._power()
        while self._juxtaposed():
            node = BinOp(node.pos, "implicit", node, self._power())
        return node

    def _power(self) -> Node:
        start = self.toks[self.i].pos
        base = self._postfix()
        caret = self.toks[self.i]
        if caret.kind != "^":
            return base
        self.i += 1
        exponent = self._exponent(caret, start)
        self._check_power(start, base, exponent)
        if self.toks[self.i].kind == "_":  # x^2_i is x_i^2, \|x\|^2_2 is norm(x, 2)^2
            base = self._late_subscript(base)
        if (isinstance(base, Sym) and base.name == "e" and "e" not in self.symbols) or (
            isinstance(base, Const) and base.name == "e"
        ):
            return Call(base.pos, "exp", (exponent,))
        return BinOp(base.pos, "^", base, exponent)

    def _late_subscript(self, base: Node) -> Node:
        """A subscript written after a one-token exponent belongs to the base."""
        if isinstance(base, Sym):
            simple = self._simple_subscript(self.i + 1)
            if simple is not None:
                self.i += 1 + simple[1]
                return Sym(base.pos, self._declared_spelling(f"{base.name}_{simple[0]}"))
        indices = self._subscript()
        if isinstance(base, Call) and base.name == "norm" and len(base.args) == 1:
            return Call(base.pos, "norm", (*base.args, *indices))
        return Index(base.pos, base, indices)

    def _exponent(self, caret: Tok, start: int) -> Node:
        self.powers.append(start)
        if len(self.powers) > self.limits.max_power_nesting:
            raise self._too_large(
                self.powers[0],
                "exponent too large",
                f"power towers deeper than {self.limits.max_power_nesting + 1} levels are not accepted",
            )
        self._enter(caret)
        self.exponent_atom = True
        exponent = self._signed_power()
        self.depth -= 1
        self.powers.pop()
        return exponent

    def _signed_power(self) -> Node:
        tok = self.toks[self.i]
        if tok.kind == "-" or tok.kind == "+":
            self.i += 1
            self._enter(tok)
            operand = self._signed_power()
            self.depth -= 1
            return Neg(tok.pos, operand) if tok.kind == "-" else operand
        return self._power()

    def _check_power(self, start: int, base: Node, exponent: Node) -> None:
        """A power of literals whose value is too large to write (``2^{10^4}``) is refused here;
        a power of a formula with symbols (``(x - a)^{6000}``) is bounded by the size of the
        values it builds when evaluated, not by its exponent."""
        size = magnitude(exponent)
        if size is None or is_euler(base, self.symbols):
            return  # e^{10^5} is never built exactly: its value is bounded where it is computed
        base_size = magnitude(base)
        if (
            base_size is not None
            and base_size > 1
            and size * math.log10(base_size) > self.limits.max_power_digits
        ):
            raise self._too_large(
                start, "number too large", f"values beyond 10^{self.limits.max_power_digits} are not accepted"
            )

    def _postfix(self) -> Node:
        atom = self.exponent_atom  # _open() clears the flag inside a group
        node = self._primary()
        self.exponent_atom = False
        toks = self.toks
        while True:
            tok = toks[self.i]
            kind = tok.kind
            if kind == "'":
                self.i += 1
                node = Prime(node.pos, node)
            elif kind == "top":
                self.i += 1
                node = Transpose(node.pos, node)
            elif kind == "^":
                count, is_prime = self._transpose_ahead(self.i + 1)
                if not count:
                    count = self._inverse_transpose_ahead(self.i + 1)
                    if not count:
                        return node
                    self.i += 1 + count  # X^{-\top}: the inverse, transposed
                    inverse = BinOp(node.pos, "^", node, Neg(node.pos, Num(node.pos, Fraction(1))))
                    node = Transpose(node.pos, inverse)
                    continue
                self.i += 1 + count
                node = Prime(node.pos, node) if is_prime else Transpose(node.pos, node)
            elif kind == "_":
                if atom:
                    return node  # x^2_i: the subscript belongs to the base
                node = Index(node.pos, node, self._subscript())
            else:
                return node

    def _transpose_ahead(self, j: int) -> tuple[int, bool]:
        """After a '^': (tokens of a transpose or prime mark, is it a prime)."""
        toks = self.toks
        if self._is_transpose_mark(toks[j]):
            return 1, toks[j].kind == "'"
        if toks[j].kind == "{" and self._is_transpose_mark(toks[j + 1]) and toks[j + 2].kind == "}":
            return 3, toks[j + 1].kind == "'"
        return 0, False

    def _inverse_transpose_ahead(self, j: int) -> int:
        """After a '^': the tokens of ``{-\\top}``, ``{-T}``, ``{-\\intercal}`` (0 when not that)."""
        toks = self.toks
        if (
            toks[j].kind == "{"
            and toks[j + 1].kind == "-"
            and toks[j + 2].kind != "'"
            and self._is_transpose_mark(toks[j + 2])
            and toks[j + 3].kind == "}"
        ):
            return 4
        return 0

    def _is_transpose_mark(self, tok: Tok) -> bool:
        if tok.kind == "top" or tok.kind == "'":
            return True
        return tok.kind == "ident" and tok.value == "T" and "T" not in self.symbols

    def _subscript(self) -> tuple[Node, ...]:
        """``_{..}`` or ``_x`` as element indices."""
        underscore = self.toks[self.i]
        self.i += 1
        tok = self.toks[self.i]
        if tok.kind == "{":
            items = self._items(tok)
            if not items:
                raise self._error("empty subscript", tok.pos, "write x_{1} or remove the '_'")
            return tuple(items)
        if not self._can_start(tok):
            raise self._error("'_' needs a subscript after it", underscore.pos, "write x_1 or x_{i}")
        self._enter(underscore)
        node = self._primary()
        self.depth -= 1
        return (node,)

    # -- atoms -------------------------------------------------------------------------

    def _primary(self) -> Node:
        tok = self.toks[self.i]
        handler = _ATOMS.get(tok.kind)
        if handler is None:
            raise self._operand_error(tok)
        return handler(self, tok)

    def _num(self, tok: Tok) -> Node:
        self.i += 1
        value = tok.value
        if value.isdigit() and value.isascii():  # a whole number: int reads it as Fraction would
            return Num(tok.pos, Fraction(int(value)), False)
        return Num(tok.pos, Fraction(value), "." in value or "e" in value or "E" in value)

    def _const(self, tok: Tok) -> Node:
        self.i += 1
        return Const(tok.pos, tok.value)

    def _ident(self, tok: Tok) -> Node:
        self.i += 1
        based = self._log_with_base(tok, tok.value)
        return based if based is not None else self._name(tok)

    def _name(self, tok: Tok) -> Node:
        name = tok.value
        index: tuple[Node, ...] | None = None
        transpose = False
        toks = self.toks
        while True:
            kind = toks[self.i].kind
            if kind == "_" and self.exponent_atom:
                break  # x^a_1: the subscript is x's
            if kind == "_":
                simple = self._simple_subscript(self.i + 1)
                if simple is None:
                    declared = self._declared_subscript(name, self.i + 1)
                    if declared is not None:  # Delta_{t-1} declared as one symbol
                        name, self.i = declared
                        continue
                    index = self._subscript()
                    break
                label, count = simple
                if self._is_element(name, label):
                    index = (self._index_atom(label, toks[self.i + 1].pos),)
                    self.i += 1 + count
                    break
                name = f"{name}_{label}"
                self.i += 1 + count
            elif kind == "^":
                layer = self._layer_superscript(self.i + 1)
                if layer is None:
                    break
                label, count, transpose = layer
                name = f"{name}^({label})"
                self.i += 1 + count
                if transpose:
                    break
            else:
                break
        node = self._classify(tok, name)
        if index is not None:
            node = Index(tok.pos, node, index)
        return Transpose(tok.pos, node) if transpose else node

    def _log_with_base(self, tok: Tok, name: str) -> Node | None:
        """``\\log_{10}(x)``, ``\\log_2 x``, ``log_b(x)``: the logarithm to that base, ``log(x, b)``
        (unless the part declares a symbol ``log_...``). None (nothing consumed) otherwise."""
        if name != "log" or self.toks[self.i].kind != "_" or self.exponent_atom:
            return None
        if any(symbol.startswith("log_") for symbol in self.symbols):
            return None
        start = self.i
        base = self._subscript()
        if len(base) != 1:
            self.i = start
            return None
        applied = self._applied(tok, "log")
        if not isinstance(applied, Call) or len(applied.args) != 1:
            self.i = start
            return None
        return Call(tok.pos, "log", (applied.args[0], base[0]))

    def _simple_subscript(self, j: int) -> tuple[str, int] | None:
        """A subscript that is part of a name: ``_0``, ``_i``, ``_{ij}``, ``_{small}``."""
        toks = self.toks
        tok = toks[j]
        if tok.kind in ("ident", "const") or (tok.kind == "num" and tok.value.isdigit()):
            return tok.value, 1
        if tok.kind != "{":
            return None
        parts: list[str] = []
        k = j + 1
        while len(parts) < _MAX_SUBSCRIPT_TOKENS:
            part = toks[k]
            if part.kind in ("ident", "const") or (part.kind == "num" and part.value.isdigit()):
                parts.append(part.value)
                k += 1
            else:
                break
        if not parts or toks[k].kind != "}":
            return None
        return "".join(parts), k - j + 1

    def _declared_subscript(self, name: str, j: int) -> tuple[str, int] | None:
        """``name_{t-1}`` as one symbol when the part declares exactly that name
        (spaces ignored): (the name, the token index after the closing brace)."""
        toks = self.toks
        if toks[j].kind != "{" or not self.symbols:
            return None
        depth, k = 0, j
        while k < len(toks) and toks[k].kind != "eof":
            depth += {"{": 1, "}": -1}.get(toks[k].kind, 0)
            if depth == 0:
                break
            k += 1
        if depth != 0:
            return None
        inner = "".join(self.text[toks[j].end : toks[k].pos].split())
        declared = {"".join(s.split()): s for s in self.symbols if "_{" in s}
        candidate = declared.get(f"{name}_{{{inner}}}")
        return (candidate, k + 1) if candidate is not None else None

    def _is_element(self, name: str, label: str) -> bool:
        return (
            name in self.symbols
            and f"{name}_{label}" not in self.symbols
            and f"{name}{label}" not in self.symbols
            and (label.isdigit() or len(label) == 1)
        )

    def _declared_spelling(self, name: str) -> str:
        """``w_0`` when only ``w0`` is declared is ``w0``, and the other way round."""
        if name in self.symbols or not self.symbols or "^" in name:
            return name
        if "_" in name:
            joined = name.replace("_", "")
            return joined if joined in self.symbols else name
        match = _LETTERS_DIGITS.fullmatch(name)
        if match is not None:
            split = f"{match.group(1)}_{match.group(2)}"
            return split if split in self.symbols else name
        return name

    def _index_atom(self, label: str, pos: int) -> Node:
        return Num(pos, Fraction(int(label))) if label.isdigit() else Sym(pos, label)

    def _layer_superscript(self, j: int) -> tuple[str, int, bool] | None:
        """``^{(2)}`` or ``^{(2)\\top}``: (label, tokens after '^', transposed)."""
        toks = self.toks
        if toks[j].kind != "{" or toks[j + 1].kind != "(":
            return None
        label = toks[j + 2]
        if not (label.kind == "ident" or (label.kind == "num" and label.value.isdigit())):
            return None
        if toks[j + 3].kind != ")":
            return None
        if toks[j + 4].kind == "}":
            return label.value, 5, False
        if self._is_transpose_mark(toks[j + 4]) and toks[j + 4].kind != "'" and toks[j + 5].kind == "}":
            return label.value, 6, True
        return None

    def _classify(self, tok: Tok, name: str) -> Node:
        function = self._function_name(name, tok.flags)
        if function is None and name == "e" and "e" not in self.symbols and self.mode != "shape":
            return Const(tok.pos, "e")  # Euler's number, in every part type, unless a symbol
        if function is None:
            return Sym(tok.pos, self._declared_spelling(name))
        if self.toks[self.i].kind == "^":
            powered = self._function_power(tok, function)
            if powered is not None:
                return powered
        applied = self._applied(tok, function)
        return applied if applied is not None else Sym(tok.pos, name)

    def _applied(self, tok: Tok, function: str) -> Node | None:
        """``f(x)``, ``\\max\\{0, x\\}``, or ``\\log x`` (a LaTeX operator takes a bare argument)."""
        nxt = self.toks[self.i]
        if nxt.kind in ("(", "\\{", "{"):
            return self._call(tok, function, nxt)
        if tok.flags & CMD and (self._can_start(nxt) or nxt.kind == "-"):
            self._enter(tok)
            argument = self._signed_power()
            self.depth -= 1
            return Call(tok.pos, function, (argument,))
        return None

    def _function_power(self, tok: Tok, function: str) -> Node | None:
        """``\\tanh^2(x)``, ``\\sin^{2} x``: the power of the value; ``\\sin^{-1} x`` is ``asin x``.
        None (nothing consumed) when what follows the ``^`` is not a whole number and an argument."""
        caret = self.i
        exponent = self._integer_exponent(caret + 1)
        if exponent is None:
            return None
        value, count = exponent
        self.i = caret + 1 + count
        if value == -1:
            inverse = INVERSES.get(function)
            if inverse is None:
                raise self._error(
                    f"{self._show(tok)}^{{-1}} is ambiguous",
                    tok.pos,
                    f"write 1/{function}(x) for the reciprocal",
                )
            function = inverse
        applied = self._applied(tok, function)
        if applied is None or value == 0:
            self.i = caret
            return None
        if value == -1:
            return applied
        return BinOp(tok.pos, "^", applied, Num(self.toks[caret + 1].pos, Fraction(value)))

    def _integer_exponent(self, j: int) -> tuple[int, int] | None:
        """A whole-number exponent at token ``j``: ``2``, ``{2}``, ``-1``, ``{-1}``, as (value, tokens)."""
        toks = self.toks
        braced = toks[j].kind == "{"
        k = j + 1 if braced else j
        sign = -1 if toks[k].kind == "-" else 1
        k += toks[k].kind == "-"
        if toks[k].kind != "num" or not toks[k].value.isdigit() or len(toks[k].value) > 3:
            return None
        k += 1
        if braced:
            if toks[k].kind != "}":
                return None
            k += 1
        return sign * int(toks[k - 1 - braced].value), k - j

    def _call(self, tok: Tok, function: str, opener: Tok) -> Node:
        args = self._items(opener)
        if function != "piecewise":
            return Call(tok.pos, function, tuple(args))
        cases: list[tuple[Node, Node]] = []
        for arg in args:
            if not (isinstance(arg, TupleLit) and len(arg.items) == 2):
                raise self._error(
                    "piecewise takes (value, condition) pairs",
                    arg.pos,
                    "write piecewise((3*x + 6, x <= 0), (0, true))",
                )
            cases.append((arg.items[0], arg.items[1]))
        if not cases:
            raise self._error(
                "piecewise needs at least one case", tok.pos, "write piecewise((x, x > 0), (0, true))"
            )
        return Piecewise(tok.pos, tuple(cases))

    def _items(self, opener: Tok) -> list[Node]:
        """Comma-separated items up to the closer of ``opener`` (the current token)."""
        closer = CLOSERS[opener.kind]
        self.i += 1
        saved = self._open(opener)
        items: list[Node] = []
        toks = self.toks
        if toks[self.i].kind != closer:
            while True:
                items.append(self._logic())
                kind = toks[self.i].kind
                if kind == ",":
                    self.i += 1
                elif kind == closer:
                    break
                else:
                    raise self._unexpected(toks[self.i], f"',' or '{SHOWN.get(closer, closer)}'")
        self.i += 1
        self._close(saved)
        return items

    def _paren(self, tok: Tok) -> Node:
        items = self._items(tok)
        if not items:
            noun = "parentheses" if tok.kind == "(" else "braces"
            raise self._error(f"empty {noun}", tok.pos, "put a formula inside or remove them")
        return items[0] if len(items) == 1 else TupleLit(tok.pos, tuple(items))

    def _bracket(self, tok: Tok) -> Node:
        """``[a, b]`` or ``[a \\quad b]``: a ListLit."""
        self.i += 1
        saved = self._open(tok)
        self.space_sep = True
        items: list[Node] = []
        toks = self.toks
        while toks[self.i].kind != "]":
            items.append(self._logic())
            nxt = toks[self.i]
            if nxt.kind == ",":
                self.i += 1
            elif nxt.kind != "]" and not (nxt.flags & SPACED and self._dot_operand(nxt)):
                raise self._unexpected(nxt, "',' or ']'")
        self.i += 1
        self._close(saved)
        return ListLit(tok.pos, tuple(items))

    def _bars(self, tok: Tok) -> Node:
        """``|x|`` -> abs(x); ``\\|x\\|`` or ``||x||`` -> norm(x), ``\\|x\\|_2`` -> norm(x, 2)."""
        self.i += 1
        saved = self._open(tok)
        if tok.kind == "|":
            self.abs_depth = 1
        else:
            self.norm_depth = 1
        inner = self._logic()
        self._close(saved)
        if self.toks[self.i].kind != tok.kind:
            raise self._error(
                f"'{self._show(tok)}' is never closed", tok.pos, f"add the closing '{self._show(tok)}'"
            )
        self.i += 1
        if tok.kind == "|":
            return Call(tok.pos, "abs", (inner,))
        if self.toks[self.i].kind == "_":
            return Call(tok.pos, "norm", (inner, *self._subscript()))
        return Call(tok.pos, "norm", (inner,))

    def _rounding(self, tok: Tok) -> Node:
        """``\\lfloor x \\rfloor`` -> floor(x), ``\\lceil x \\rceil`` -> ceil(x)."""
        self.i += 1
        saved = self._open(tok)
        inner = self._seq()
        self._close(saved)
        self._expect(CLOSERS[tok.kind], tok)
        return Call(tok.pos, "floor" if tok.kind == "lfloor" else "ceil", (inner,))

    def _frac(self, tok: Tok) -> Node:
        self.i += 1
        self._enter(tok)
        numerator = self._argument(tok)
        denominator = self._argument(tok)
        self.depth -= 1
        return BinOp(tok.pos, "/", numerator, denominator)

    def _sqrt(self, tok: Tok) -> Node:
        self.i += 1
        self._enter(tok)
        order: Node | None = None
        opener = self.toks[self.i]
        if opener.kind == "[":
            items = self._items(opener)
            if len(items) != 1:
                raise self._error("\\sqrt[n]{x} needs one root order n", opener.pos, "write \\sqrt[3]{x}")
            order = items[0]
        radicand = self._argument(tok)
        self.depth -= 1
        return (
            Call(tok.pos, "sqrt", (radicand,)) if order is None else Call(tok.pos, "root", (radicand, order))
        )

    def _argument(self, cmd: Tok) -> Node:
        """A LaTeX argument: ``{..}`` or one token (``\\frac12`` is 1/2, ``\\frac ab`` is a/b)."""
        tok = self.toks[self.i]
        if tok.kind == "{":
            items = self._items(tok)
            if not items:
                raise self._missing_argument(cmd)
            return items[0] if len(items) == 1 else TupleLit(items[0].pos, tuple(items))
        if tok.kind == "num" and len(tok.value) > 1 and tok.value.isdigit():
            self.toks[self.i] = Tok("num", tok.value[1:], tok.pos + 1, tok.end)
            return Num(tok.pos, Fraction(int(tok.value[0])))
        if tok.kind == "ident" and len(tok.value) > 1 and not tok.flags & WHOLE:
            self.toks[self.i] = Tok("ident", tok.value[1:], tok.pos + 1, tok.end, tok.flags)
            return Sym(tok.pos, tok.value[0])
        if tok.kind in _OPERAND_START:
            return self._primary()
        raise self._missing_argument(cmd)

    def _blackboard(self, tok: Tok) -> Node:
        if tok.value == "R":
            return self._space(tok)
        self.i += 1
        condition = self._indicator_condition()
        if condition is None and tok.value == "I":
            raise self._error(
                "\\mathbb{I} is not supported",
                tok.pos,
                "only \\mathbb{R}, \\mathbb{1} (a vector of ones) and the indicators \\mathbb{1}[x > 0], "
                "\\mathbb{I}[x > 0] are understood",
            )
        if condition is not None:  # \mathbb{1}[x > 0], \mathbb{1}_{x > 0}: 1 where it holds, else 0
            return Piecewise(
                tok.pos,
                ((Num(tok.pos, Fraction(1)), condition), (Num(tok.pos, Fraction(0)), Const(tok.pos, "true"))),
            )
        return Sym(tok.pos, "1")  # \mathbb{1}: a vector of ones

    def _indicator_condition(self) -> Node | None:
        """The condition after ``\\mathbb{1}`` that makes it an indicator: ``[x > 0]``, ``(x > 0)``,
        ``\\{x > 0\\}``, ``_{x > 0}`` or ``_{\\{x > 0\\}}``; None (nothing read) for anything else."""
        start = self.i
        tok = self.toks[start]
        try:
            if tok.kind in ("[", "(", "\\{"):
                items = self._items(tok)
            elif tok.kind == "_" and self.toks[start + 1].kind == "{":
                self.i += 1
                items = self._items(self.toks[self.i])
            else:
                return None
        except ReadError:
            self.i = start
            return None
        if len(items) == 1 and isinstance(items[0], TupleLit) and len(items[0].items) == 1:
            items = list(items[0].items)
        if len(items) == 1 and isinstance(items[0], Relation | Logic):
            return items[0]
        self.i = start
        return None

    def _space(self, tok: Tok) -> Space:
        """``\\mathbb{R}``, ``\\mathbb{R}^n``, ``\\mathbb{R}^{a \\times b}`` (the current token)."""
        self.i += 1
        caret = self.toks[self.i]
        if caret.kind != "^":
            return Space(tok.pos, ())
        self.i += 1
        opener = self.toks[self.i]
        if opener.kind == "{":
            self.i += 1
            saved = self._open(opener)
            self.shape = True
            dims = self._dims()
            self._close(saved)
            self._expect("}", opener)
            return Space(tok.pos, tuple(dims))
        self._enter(caret)
        dim = self._primary()
        self.depth -= 1
        return Space(tok.pos, (dim,))

    def _dims(self) -> list[Node]:
        dims = [self._arith(1)]
        while self._is_dim_separator(self.toks[self.i]):
            self.i += 1
            dims.append(self._arith(1))
        return dims

    def _is_dim_separator(self, tok: Tok) -> bool:
        if tok.kind == "times" or tok.kind == ",":
            return True
        return tok.kind == "ident" and tok.value in _DIM_WORDS and tok.value not in self.symbols

    def _shape(self) -> Node:
        toks = self.toks
        self._skip_named_membership()
        first = toks[self.i]
        if first.kind in ("(", "[") and self._closer_index(self.i) == len(toks) - 2:
            self.i += 1
            saved = self._open(first)
            dims = self._dims()
            self._close(saved)
            self._expect(CLOSERS[first.kind], first)
        elif self._is_real_space(first):
            dims = list(self._space(first).dims)
        else:
            dims = self._dims()
        self._expect_end()
        return TupleLit(first.pos, tuple(dims))

    def _is_real_space(self, tok: Tok) -> bool:
        """``\\mathbb{R}``, ``ℝ``, or a plain ``R^..`` when R is not a declared name."""
        if tok.kind == "bb":
            return tok.value == "R"
        if tok.kind != "ident" or tok.value != "R" or "R" in self.symbols:
            return False
        return self.toks[self.i + 1].kind == "^"

    def _skip_named_membership(self) -> None:
        """``\\in \\mathbb{R}^{..}`` or ``W_2 \\in \\mathbb{R}^{1 \\times k}``: the dims are the space's."""
        toks = self.toks
        if toks[self.i].kind == "in":
            self.i += 1
            return
        at_top = [k for k, tok in enumerate(toks) if tok.kind == "in" and self._depth_at(k) == 0]
        if not at_top or toks[self.i].kind not in ("ident", "times"):
            return
        if toks[self.i].kind == "times":  # ``x \\in ..``: the name x, read as a separator in shapes
            self.i += 1
        else:
            self._postfix()
        self._expect_kind("in")

    def _depth_at(self, index: int) -> int:
        """How many groups are open just before token ``index``."""
        depth = 0
        for tok in self.toks[:index]:
            if tok.kind in CLOSERS:
                depth += 1
            elif tok.kind in OPENER_OF:
                depth -= 1
        return depth

    def _expect_kind(self, kind: str) -> None:
        tok = self.toks[self.i]
        if tok.kind != kind:
            raise self._unexpected(tok, f"'{SHOWN.get(kind, kind)}'")
        self.i += 1

    def _closer_index(self, j: int) -> int:
        depth = 0
        for k in range(j, len(self.toks)):
            kind = self.toks[k].kind
            if kind in CLOSERS:
                depth += 1
            elif kind in OPENER_OF:
                depth -= 1
                if depth == 0:
                    return k
        return -1

    def _environment(self, tok: Tok) -> Node:
        name = tok.value.rstrip("*")
        if name in _MATRIX_ENVS:
            rows = self._rows(tok, cases=False)
            width = len(rows[0])
            for number, row in enumerate(rows, start=1):
                if len(row) != width:
                    raise self._error(
                        f"matrix rows have different lengths: row {number} has {len(row)} entries, "
                        f"row 1 has {width}",
                        row[0].pos,
                        "give every row the same number of entries",
                    )
            return Matrix(tok.pos, tuple(tuple(row) for row in rows))
        if name in _CASES_ENVS:
            rows = self._rows(tok, cases=True)
            for row in rows:
                if len(row) != 2:
                    raise self._error(
                        "each case needs a value and a condition",
                        row[0].pos,
                        "write  value & condition \\\\  in every row",
                    )
            return Piecewise(tok.pos, tuple((row[0], row[1]) for row in rows))
        raise self._error(
            f"\\begin{{{tok.value}}} is not supported",
            tok.pos,
            "only matrices (bmatrix, pmatrix, ...) and cases are understood: give only the final formula",
        )

    def _rows(self, tok: Tok, *, cases: bool) -> list[list[Node]]:
        self.i += 1
        saved = self._open(tok)
        rows: list[list[Node]] = []
        row: list[Node] = []
        toks = self.toks
        while toks[self.i].kind != "end":
            row.append(self._cell(condition=cases and len(row) == 1))
            if len(row) > self.limits.max_matrix_cols:
                raise LimitError(
                    f"matrix too wide: more than {self.limits.max_matrix_cols} columns", self.text, tok.pos
                )
            kind = toks[self.i].kind
            if kind == "&":
                self.i += 1
            elif kind == "\\\\":
                self.i += 1
                self._add_row(rows, row, tok)
                row = []
            elif kind != "end":
                raise self._unexpected(toks[self.i], "'&', '\\\\' or \\end")
        if row:
            self._add_row(rows, row, tok)
        self._close(saved)
        self.i += 1  # \end, matched by check_balance
        if not rows:
            raise self._error(f"empty \\begin{{{tok.value}}}", tok.pos, "write at least one entry")
        return rows

    def _add_row(self, rows: list[list[Node]], row: list[Node], begin: Tok) -> None:
        rows.append(row)
        if len(rows) > self.limits.max_matrix_rows:
            raise LimitError(
                f"matrix too tall: more than {self.limits.max_matrix_rows} rows", self.text, begin.pos
            )

    def _cell(self, *, condition: bool) -> Node:
        toks = self.toks
        while condition and toks[self.i].kind in ("if", ","):
            self.i += 1  # "\text{if } x > 0", ", x > 0"
        tok = toks[self.i]
        if tok.kind in ("&", "\\\\", "end"):
            raise self._error("empty matrix entry", tok.pos, "write 0 or remove the extra separator")
        node = self._logic()
        if toks[self.i].kind in (",", ".") and toks[self.i + 1].kind in ("&", "\\\\", "end"):
            self.i += 1  # "3x + 6, & x > 0"
        return node


_ATOMS: dict[str, Callable[[_Parser, Tok], Node]] = {
    "num": _Parser._num,
    "ident": _Parser._ident,
    "const": _Parser._const,
    "(": _Parser._paren,
    "{": _Parser._paren,
    "\\{": _Parser._paren,
    "[": _Parser._bracket,
    "|": _Parser._bars,
    "||": _Parser._bars,
    "lfloor": _Parser._rounding,
    "lceil": _Parser._rounding,
    "frac": _Parser._frac,
    "sqrt": _Parser._sqrt,
    "bb": _Parser._blackboard,
    "begin": _Parser._environment,
}


# -- canonical text of a tree --------------------------------------------------------

_DUMP_OPS = {"star": "*", "implicit": "imp", "matmul": "@"}


def dump(node: Node) -> str:
    """A compact canonical s-expression of a tree, e.g. ``(- (* 3 x) 6)``.

    Numbers print as fractions (``1/2``), with an ``f`` suffix when written with a
    point or exponent (``0.1`` -> ``1/10f``); constants as ``:pi``; a symbol whose
    name starts with a digit (``\\mathbb{1}``) as ``$1``; products by kind
    (``*`` star, ``imp`` implicit, ``@`` matmul, ``cdot`` ``times`` ``dot`` ``odot``
    ``otimes``); calls as ``(call name args..)``.
    """
    shown = _DUMPERS.get(type(node))
    return shown(node) if shown is not None else f"<{type(node).__name__}>"


def _sexpr(head: str, items: Iterable[Node]) -> str:
    parts = [dump(item) for item in items]
    return f"({head}{' ' if parts else ''}{' '.join(parts)})"


def _dump_member(node: Member) -> str:
    element = "_" if node.element is None else dump(node.element)
    return f"(in {element} {dump(node.space)})"


_DUMPERS: dict[type, Callable[[Any], str]] = {
    Num: lambda n: f"{n.value}{'f' if n.is_float else ''}",
    Sym: lambda n: n.name if not n.name[:1].isdigit() else f"${n.name}",
    Const: lambda n: f":{n.name}",
    Neg: lambda n: f"(neg {dump(n.operand)})",
    BinOp: lambda n: f"({_DUMP_OPS.get(n.op, n.op)} {dump(n.left)} {dump(n.right)})",
    Transpose: lambda n: f"(T {dump(n.operand)})",
    Prime: lambda n: f"(prime {dump(n.operand)})",
    Call: lambda n: _sexpr("call " + n.name, n.args),
    Index: lambda n: _sexpr("index", (n.operand, *n.indices)),
    ListLit: lambda n: "[" + " ".join(dump(item) for item in n.items) + "]",
    TupleLit: lambda n: _sexpr("tuple", n.items),
    Matrix: lambda n: "(matrix " + " ".join("[" + " ".join(map(dump, row)) + "]" for row in n.rows) + ")",
    Relation: lambda n: f"({n.op} {dump(n.left)} {dump(n.right)})",
    Logic: lambda n: _sexpr(n.op, n.operands),
    Piecewise: lambda n: "(piecewise " + " ".join(f"({dump(v)} {dump(c)})" for v, c in n.cases) + ")",
    Space: lambda n: _sexpr("R", n.dims),
    Member: _dump_member,
}
