"""Tokens of the math language: LaTeX and plain text in one pass, never ``eval``.

The lexer turns the answer into a list of :class:`Tok` ending with an ``eof``
token. Every token keeps its character offsets in the *original* answer, so
error carets point at what the student wrote. Presentation-only LaTeX is
dropped here, so the parser sees plain structure:

* ``$``, ``\\(`` ``\\)`` ``\\[`` ``\\]``, ``\\displaystyle``, ``\\left`` /
  ``\\right`` / ``\\bigl`` (the delimiter after them stays), ``\\,`` and other
  spacing are not tokens. Spacing (``\\quad \\qquad \\, \\; \\: \\! \\ ``, ``~``)
  sets :data:`SPACED` on the next token: inside ``[..]`` it separates items.
* Font commands (``\\mathbf \\boldsymbol \\bm \\mathrm \\mathit \\mathcal \\vec
  \\boxed``...) are transparent: ``\\mathbf{W}^{(2)}`` lexes as ``W^{(2)}``.
  ``\\text{..}`` and ``\\operatorname{..}`` are transparent too, but their words
  are :data:`WHOLE` (never split into letters); ``\\operatorname`` words are
  also :data:`OPNAME` (a function when an argument follows).
* ``\\hat{x}`` ``\\bar{x}`` ``\\tilde{x}`` give the names ``x_hat`` ``x_bar``
  ``x_tilde``; ``\\mathrm{e}`` is Euler's number; ``\\mathbb{R}`` and
  ``\\mathbb{1}`` are ``bb`` tokens.
* ``\\\\`` (a matrix row break) drops a spacing argument such as ``\\\\[2pt]``.
* Greek letters are identifiers (``\\varepsilon`` -> ``epsilon``), LaTeX
  operator names (``\\exp \\log \\ln \\max``...) are identifiers flagged
  :data:`CMD`, unicode symbols (``× · ≤ ∞ ᵀ ² α``...) map to their LaTeX
  meaning.

Errors: an unknown command is a ParseError at its backslash ("unknown command
\\foo"); ``\\ldots`` and friends say "write the formula without dots"; number
literals longer than the limits are a LimitError. Plain ASCII words lex as one
``ident`` (``relu``, ``nd``, ``w1``): splitting ``nd`` into ``n d`` needs the
declared symbols and is the parser's job.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import NamedTuple

from grader.mathlang.errors import LimitError, ParseError
from grader.mathlang.limits import DEFAULT_LIMITS, Limits
from grader.mathlang.names import SPELLINGS

# Token flags.
WHOLE = 1  # a word that is never split into letters (LaTeX command, \text word)
CMD = 2  # a LaTeX operator name (\exp, \log, \max): may take an argument without parentheses
OPNAME = 4  # a word from \operatorname{..}: always a function when an argument follows
SPACED = 8  # preceded by LaTeX spacing (\quad, \,, ~): separates items inside [..]


class Tok(NamedTuple):
    """One token: ``kind`` (``num``, ``ident``, ``+``, ``frac``...), its text or
    normalised value, its offsets ``[pos, end)`` in the answer, and flags."""

    kind: str
    value: str
    pos: int
    end: int
    flags: int = 0


_IDENT_RE = re.compile(r"[A-Za-z][A-Za-z0-9]*")
_NUM_RE = re.compile(r"(?:[0-9]+(?:\.[0-9]+)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
# Thousands grouped as LaTeX typesets them: ``73{,}728`` (a comma without the space after it)
# and ``73\,728`` (a thin space); groups of three digits, so ``1{,}5`` is not read.
_GROUPED_RE = re.compile(r"[0-9]{1,3}(?:(?:\{,\}|\\,)[0-9]{3})+(?![0-9])(?:\.[0-9]+)?")
_GROUP_SEPARATOR = re.compile(r"\{,\}|\\,")
_CMD_RE = re.compile(r"[A-Za-z]+")
_ENV_RE = re.compile(r"\s*\{\s*([A-Za-z]+\*?)\s*\}")
_SPACE_RE = re.compile(r"\s*")
_BOLD_ONE = re.compile(r"\{\s*1\s*\}|1(?![0-9.])")
_BOLD = frozenset({"mathbf", "boldsymbol", "bm", "pmb", "vec"})
_ROW_SPACING_RE = re.compile(r"\s*\[\s*-?[0-9]*\.?[0-9]+\s*(?:pt|em|ex|mm|cm|in|mu|bp|pc)\s*\]")

_LETTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_DIGITS = frozenset("0123456789")


def words(text: str) -> list[str]:
    """The whitespace-separated words of ``text`` (keeps the tables below readable)."""
    return text.split()


GREEK_NAMES = frozenset(
    words(
        "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho sigma "
        "tau upsilon phi chi psi omega Gamma Delta Theta Lambda Xi Pi Sigma Upsilon Phi Psi Omega "
        "ell varpi"
    )
)
_GREEK_VARIANTS = {
    "varepsilon": "epsilon",
    "vartheta": "theta",
    "varphi": "phi",
    "varrho": "rho",
    "varsigma": "sigma",
    "varkappa": "kappa",
}

_HINT_SUM = "sums, products and integrals cannot be graded: write the closed form"
_HINT_CALCULUS = "give the result, not a derivative or a limit"
_HINT_ARROW = "give only the final formula, without arrows or implications"
_HINT_APPROX = "give the exact formula"
_HINT_SET = "sets and set operations are not supported"
_HINT_FUNCTION = "this function is not available: write it with exp, log or the built-in functions"

# name -> (action, argument); see _Lexer._command
_COMMANDS: dict[str, tuple[str, str]] = {}


def _table(action: str, names: str, arg: str = "") -> None:
    for name in words(names):
        _COMMANDS[name] = (action, arg or name)


for _name in GREEK_NAMES:
    _COMMANDS[_name] = ("greek", _name)
for _name, _canon in _GREEK_VARIANTS.items():
    _COMMANDS[_name] = ("greek", _canon)
_table("fn", "exp log sin cos tan sec csc cot sinh cosh tanh sech csch coth max min det")
for _name, _canon in SPELLINGS.items():  # \ln, \arcsin, \sgn...
    _COMMANDS[_name] = ("fn", _canon)
_table("tok", "cdot bullet", "cdot")
_table("tok", "times", "times")
_table("tok", "odot circ", "odot")
_table("tok", "otimes", "otimes")
_table("tok", "ast", "*")
_table("tok", "div", "/")
_table("tok", "neq ne", "!=")
_table("tok", "le leq leqslant", "<=")
_table("tok", "ge geq geqslant", ">=")
_table("tok", "lt", "<")
_table("tok", "gt", ">")
_table("tok", "coloneqq", "=")
_table("tok", "land wedge", "and")
_table("tok", "lor vee", "or")
_table("tok", "neg lnot", "not")
_table("tok", "in", "in")
_table("tok", "top intercal", "top")
_table("tok", "prime", "'")
_table("tok", "{", "\\{")
_table("tok", "}", "\\}")
_table("tok", "| lVert rVert Vert", "||")
_table("tok", "lvert rvert vert", "|")
_table("tok", "lfloor rfloor lceil rceil")
_COMMANDS["\\"] = ("rowsep", "\\\\")
_table("tok", "_", "_")
_table("tok", "frac dfrac tfrac cfrac", "frac")
_table("tok", "sqrt", "sqrt")
_COMMANDS["infty"] = ("const", "inf")
_table("space", "quad qquad , ; : ! > thinspace medspace thickspace enspace")
for _name in (" ", "\n", "\t", "\r"):
    _COMMANDS[_name] = ("space", _name)
_table(
    "skip",
    "displaystyle textstyle scriptstyle scriptscriptstyle limits nolimits big Big bigg Bigg "
    "bigl bigr Bigl Bigr biggl biggr Biggl Biggr bigm Bigm middle mathstrut nonumber notag hline ( ) [ ]",
)
_table("leftright", "left right")
_table(
    "font",
    "mathbf boldsymbol bm mathit mathsf mathtt mathcal mathscr mathfrak mathnormal vec boxed "
    "underline underbar pmb overrightarrow",
)
_table("mathrm", "mathrm")
_table("text", "text textrm textit textbf textsf texttt textnormal textup mbox emph")
_table("opname", "operatorname")
_table("deco", "hat widehat", "hat")
_table("deco", "bar overline", "bar")
_table("deco", "tilde widetilde", "tilde")
_table("deco", "dot", "dot")
_table("bb", "mathbb mathds mathbbm")
_table("begin", "begin")
_table("end", "end")
_table("not", "not")
_table("dots", "ldots dots cdots vdots ddots dotsc dotsb dotsm")
_table("unsupported", "sum prod int iint oint coprod bigcup bigcap", _HINT_SUM)
_table("unsupported", "partial nabla lim limsup liminf sup inf arg argmax argmin mathop", _HINT_CALCULUS)
_table(
    "unsupported",
    "to rightarrow Rightarrow leftarrow Leftarrow implies impliedby iff Leftrightarrow leftrightarrow "
    "longrightarrow Longrightarrow Longleftrightarrow mapsto xrightarrow forall exists nexists "
    "therefore because",
    _HINT_ARROW,
)
_table("unsupported", "approx sim simeq cong equiv propto pm mp gg ll doteq", _HINT_APPROX)
_table("unsupported", "subset subseteq supset supseteq cup cap setminus emptyset varnothing", _HINT_SET)
_table("unsupported", "binom choose", _HINT_FUNCTION)

# unicode character -> (action, argument), same actions as commands
_UNICODE: dict[str, tuple[str, str]] = {
    "×": ("tok", "times"),
    "·": ("tok", "cdot"),
    "⋅": ("tok", "cdot"),
    "∙": ("tok", "cdot"),
    "∗": ("tok", "*"),
    "−": ("tok", "-"),
    "–": ("tok", "-"),
    "÷": ("tok", "/"),
    "≤": ("tok", "<="),
    "⩽": ("tok", "<="),
    "≥": ("tok", ">="),
    "⩾": ("tok", ">="),
    "≠": ("tok", "!="),
    "⊙": ("tok", "odot"),
    "∘": ("tok", "odot"),
    "⊗": ("tok", "otimes"),
    "∈": ("tok", "in"),
    "‖": ("tok", "||"),
    "∧": ("tok", "and"),
    "∨": ("tok", "or"),
    "¬": ("tok", "not"),
    "ᵀ": ("tok", "top"),
    "⊤": ("tok", "top"),
    "√": ("tok", "sqrt"),
    "′": ("tok", "'"),
    "⌊": ("tok", "lfloor"),
    "⌋": ("tok", "rfloor"),
    "⌈": ("tok", "lceil"),
    "⌉": ("tok", "rceil"),
    "∞": ("const", "inf"),
    "ℝ": ("bbchar", "R"),
    "…": ("dots", "…"),
    "⋯": ("dots", "⋯"),
    "⋮": ("dots", "⋮"),
    "⋱": ("dots", "⋱"),
    "µ": ("greek", "mu"),
}
for _char in "→⇒⇔↦⟹⟶⟺←⇐":
    _UNICODE[_char] = ("unsupported", _HINT_ARROW)
for _char in "≈∼≡∝±∓≫≪":
    _UNICODE[_char] = ("unsupported", _HINT_APPROX)
for _char in "∑∏∫":
    _UNICODE[_char] = ("unsupported", _HINT_SUM)
for _char in "∂∇":
    _UNICODE[_char] = ("unsupported", _HINT_CALCULUS)
_UNICODE_GREEK = dict(
    zip(
        "αβγδεϵζηθϑικλμνξοπρϱσςτυφϕχψωΓΔΘΛΞΠΣΥΦΨΩ",
        words(
            "alpha beta gamma delta epsilon epsilon zeta eta theta theta iota kappa lambda mu nu xi "
            "omicron pi rho rho sigma sigma tau upsilon phi phi chi psi omega Gamma Delta Theta Lambda "
            "Xi Pi Sigma Upsilon Phi Psi Omega"
        ),
        strict=True,
    )
)
for _char, _name in _UNICODE_GREEK.items():
    _UNICODE[_char] = ("greek", _name)
_SUPERSCRIPTS = dict(zip("⁰¹²³⁴⁵⁶⁷⁸⁹⁻", "0123456789-", strict=True))
_IGNORED_CHARS = frozenset("$\u200b\u200c\u200d\u2060\ufeff")

# ASCII punctuation: two-character operators first
_TWO_CHAR = {"**": "^", "<=": "<=", ">=": ">=", "!=": "!=", "==": "=", ":=": "=", "||": "||"}
_ONE_CHAR = {c: c for c in "+-*/^_'@.,&=<>|()[]"}
_ONE_CHAR[";"] = ","
_BAD_TWO_CHAR = {"->": _HINT_ARROW, "=>": _HINT_ARROW}


def check_number(literal: str, text: str, pos: int, limits: Limits = DEFAULT_LIMITS) -> None:
    """Refuse a number literal with too many digits or too large a decimal exponent,
    before anything converts it (``int()`` of a huge string is itself slow)."""
    limit = limits.max_number_digits
    mantissa, _, exponent = literal.lower().partition("e")
    whole, _, fraction = mantissa.partition(".")
    digits = max(len(whole.lstrip("0")), len(fraction))
    if digits > limit:
        raise LimitError(
            f"number too long: {digits} digits (the limit is {limit})",
            text,
            pos,
            hint="write large numbers as powers, such as 2^{40}",
        )
    if exponent:
        size = exponent.lstrip("+-").lstrip("0")
        if len(size) > 6 or abs(int(exponent)) > limits.max_decimal_exponent:
            raise LimitError(
                f"number too large: {literal[:20]} (decimal exponents beyond "
                f"±{limits.max_decimal_exponent} are refused)",
                text,
                pos,
            )


def tokenize(text: str, limits: Limits = DEFAULT_LIMITS) -> list[Tok]:
    """The tokens of ``text``, ending with an ``eof`` token. Raises ParseError/LimitError."""
    return _Lexer(text, limits).run()


class _Lexer:
    """One pass over the text; ``braces`` remembers what each open ``{`` means."""

    def __init__(self, text: str, limits: Limits) -> None:
        self.text = text
        self.limits = limits
        self.out: list[Tok] = []
        # (role, position of '{', number of tokens emitted before it)
        self.braces: list[tuple[str, int, int]] = []
        self.text_depth = 0
        self.opname_depth = 0
        self.spaced = False
        self.deco: tuple[str, int] | None = None  # pending \hat x without braces

    # -- driver ---------------------------------------------------------------

    def run(self) -> list[Tok]:
        text = self.text
        n = len(text)
        i = 0
        while i < n:
            ch = text[i]
            if ch in _LETTERS:
                i = self._ident(i)
            elif ch in _DIGITS or (ch == "." and i + 1 < n and text[i + 1] in _DIGITS):
                i = self._number(i)
            elif ch == "\\":
                i = self._command(i)
            elif ch in " \t\r\n" or ch in _IGNORED_CHARS:
                i += 1
            elif ch == "{" or ch == "}":
                i = self._brace(i)
            else:
                i = self._symbol(i)
        self._finish()
        self.out.append(Tok("eof", "", n, n))
        return self.out

    def _finish(self) -> None:
        if self.deco is not None:
            name, pos = self.deco
            raise self._error(f"\\{name} must be followed by a letter", pos, f"write \\{name}{{x}}")
        if self.braces:
            raise self._error("'{' is never closed", self.braces[0][1], "add the matching '}'")

    def _error(self, message: str, pos: int, hint: str = "") -> ParseError:
        return ParseError(message, self.text, pos, hint)

    def _emit(self, kind: str, value: str, pos: int, end: int, flags: int = 0) -> None:
        if self.spaced:
            flags |= SPACED
            self.spaced = False
        if self.deco is not None:
            name, deco_pos = self.deco
            self.deco = None
            if kind != "ident":
                raise self._error(f"\\{name} must be followed by a letter", deco_pos, f"write \\{name}{{x}}")
            value = f"{value}_{name}"
            flags |= WHOLE
        self.out.append(Tok(kind, value, pos, end, flags))

    # -- words and numbers ----------------------------------------------------

    def _ident(self, i: int) -> int:
        match = _IDENT_RE.match(self.text, i)
        assert match is not None  # the caller saw a letter
        flags = 0
        if self.text_depth:
            flags = WHOLE | (OPNAME if self.opname_depth else 0)
        self._emit("ident", match.group(), i, match.end(), flags)
        return match.end()

    def _number(self, i: int) -> int:
        grouped = _GROUPED_RE.match(self.text, i)
        if grouped is not None:
            literal = _GROUP_SEPARATOR.sub("", grouped.group())
            self._check_number(literal, i)
            self._emit("num", literal, i, grouped.end())
            return grouped.end()
        match = _NUM_RE.match(self.text, i)
        assert match is not None  # the caller saw a digit
        literal = match.group()
        self._check_number(literal, i)
        self._emit("num", literal, i, match.end())
        return match.end()

    def _check_number(self, literal: str, pos: int) -> None:
        check_number(literal, self.text, pos, self.limits)

    # -- punctuation and unicode ---------------------------------------------

    def _brace(self, i: int) -> int:
        if self.text[i] == "{":
            self.braces.append(("keep", i, len(self.out)))
            self._emit("{", "{", i, i + 1)
            return i + 1
        if not self.braces:
            self._emit("}", "}", i, i + 1)  # a stray closer: the parser reports it
            return i + 1
        role, _, start = self.braces.pop()
        if role == "keep":
            self._emit("}", "}", i, i + 1)
        elif role == "text" or role == "opname":
            self.text_depth -= 1
            self.opname_depth -= role == "opname"
        elif role.startswith("deco:"):
            self._close_decoration(role[5:], start, i)
        return i + 1

    def _close_decoration(self, name: str, start: int, pos: int) -> None:
        inner = self.out[start:]
        if len(inner) != 1 or inner[0].kind != "ident":
            where = inner[0].pos if inner else pos
            raise self._error(f"\\{name}{{..}} must hold a single name", where, f"write \\{name}{{x}}")
        tok = inner[0]
        self.out[-1] = tok._replace(value=f"{tok.value}_{name}", flags=tok.flags | WHOLE)

    def _symbol(self, i: int) -> int:
        text = self.text
        ch = text[i]
        pair = text[i : i + 2]
        if pair in _TWO_CHAR:
            self._emit(_TWO_CHAR[pair], pair, i, i + 2)
            return i + 2
        if pair in _BAD_TWO_CHAR:
            raise self._error(f"'{pair}' cannot be graded", i, _BAD_TWO_CHAR[pair])
        if ch == "." and text.startswith("..", i + 1):
            raise self._error("'...' cannot be graded", i, "write the formula without dots")
        kind = _ONE_CHAR.get(ch)
        if kind is not None:
            self._emit(kind, ch, i, i + 1)
            return i + 1
        if ch == "~":
            self.spaced = True
            return i + 1
        if ch == "!":
            raise self._error("'!' (factorial) is not supported", i, "write the value instead")
        return self._unicode(i)

    def _unicode(self, i: int) -> int:
        ch = self.text[i]
        action = _UNICODE.get(ch)
        if action is not None:
            return self._act(action[0], action[1], i, i + 1, ch)
        if ch in _SUPERSCRIPTS:
            return self._superscript(i)
        if ch.isspace():
            return i + 1
        shown = ch if ch.isprintable() else repr(ch)
        raise self._error(f"unexpected character '{shown}'", i, "remove it, or write it in LaTeX")

    def _superscript(self, i: int) -> int:
        text = self.text
        j = i
        while j < len(text) and text[j] in _SUPERSCRIPTS:
            j += 1
        value = "".join(_SUPERSCRIPTS[c] for c in text[i:j])
        digits = value.lstrip("-")
        if not digits or "-" in digits:
            raise self._error("this superscript is not a number", i, "write x^{-1} or x^2")
        self._emit("^", "^", i, i)
        if value.startswith("-"):
            self._emit("-", "-", i, i + 1)
        self._check_number(digits, i)
        self._emit("num", digits, i, j)
        return j

    # -- commands -------------------------------------------------------------

    def _command(self, i: int) -> int:
        text = self.text
        match = _CMD_RE.match(text, i + 1)
        if match is not None:
            name, j = match.group(), match.end()
        elif i + 1 < len(text):
            name, j = text[i + 1], i + 2
        else:
            raise self._error("a lone backslash '\\' ends the answer", i, "remove it")
        action = _COMMANDS.get(name)
        if action is None:
            raise self._error(
                f"unknown command \\{name}", i, f"unknown command \\{name}: remove it or spell it out"
            )
        return self._act(action[0], action[1], i, j, "\\" + name)

    def _act(self, action: str, arg: str, i: int, j: int, written: str) -> int:
        """Do what a command or character stands for; the position after it."""
        emitted = _EMITTED.get(action)
        if emitted is not None:
            kind, flags = emitted
            if kind is None:  # "tok": the token kind is the argument
                self._emit(arg, written, i, j, flags)
            else:
                self._emit(kind, arg, i, j, flags)
            return j
        handler = _ACTIONS.get(action)
        return handler(self, action, arg, i, j, written) if handler is not None else j  # "skip"

    def _spacing(self, action: str, arg: str, i: int, j: int, written: str) -> int:
        self.spaced = True
        return j

    def _left_right(self, action: str, arg: str, i: int, j: int, written: str) -> int:
        k = self._skip_space(j)
        return k + 1 if self.text.startswith(".", k) else j

    def _row_separator(self, action: str, arg: str, i: int, j: int, written: str) -> int:
        self._emit(arg, written, i, j)
        match = _ROW_SPACING_RE.match(self.text, j)  # \\[2pt]
        return match.end() if match is not None else j

    def _refused(self, action: str, arg: str, i: int, j: int, written: str) -> int:
        if action == "dots":
            raise self._error(f"'{written}' cannot be graded", i, "write the formula without dots")
        raise self._error(f"{written} is not supported", i, arg)

    def _skip_space(self, j: int) -> int:
        match = _SPACE_RE.match(self.text, j)
        return match.end() if match is not None else j

    def _font(self, action: str, i: int, j: int, name: str = "") -> int:
        text = self.text
        k = self._skip_space(j)
        ones = _BOLD_ONE.match(text, k) if name in _BOLD else None
        if ones is not None:  # \mathbf{1}: the ones vector, as \mathbb{1}
            self._emit("bb", "1", i, ones.end())
            return ones.end()
        if action == "opname" and text.startswith("*", k):
            k = self._skip_space(k + 1)
        if action == "mathrm" and text[k : k + 3] == "{e}":
            self._emit("const", "e", i, k + 3)
            return k + 3
        if not text.startswith("{", k):
            return j  # \mathbf x: the command applies to the next token, which stays as it is
        role = {"font": "drop", "mathrm": "drop", "text": "text", "opname": "opname"}[action]
        self.braces.append((role, k, len(self.out)))
        if role != "drop":
            self.text_depth += 1
            self.opname_depth += role == "opname"
        return k + 1

    def _decoration(self, name: str, i: int, j: int) -> int:
        k = self._skip_space(j)
        if self.text.startswith("{", k):
            self.braces.append(("deco:" + name, k, len(self.out)))
            return k + 1
        self.deco = (name, i)
        return j

    def _blackboard(self, i: int, j: int) -> int:
        text = self.text
        k = self._skip_space(j)
        if text.startswith("{", k):
            close = text.find("}", k, k + 20)
            if close < 0:
                raise self._error("\\mathbb needs a letter: \\mathbb{R}", i, "write \\mathbb{R}")
            content, end = text[k + 1 : close].strip(), close + 1
        else:
            content, end = text[k : k + 1], k + 1
        if content not in ("R", "1", "I"):  # \mathbb{I}: only as an indicator, \mathbb{I}[x > 0]
            raise self._error(
                f"\\mathbb{{{content}}} is not supported",
                i,
                "only \\mathbb{R} (real numbers) and \\mathbb{1} (a vector of ones) are understood",
            )
        self._emit("bb", content, i, end)
        return end

    def _environment(self, kind: str, i: int, j: int) -> int:
        match = _ENV_RE.match(self.text, j)
        if match is None:
            raise self._error(f"\\{kind} needs an environment name", i, f"write \\{kind}{{bmatrix}}")
        name, end = match.group(1), match.end()
        if kind == "begin" and name == "array":
            end = self._skip_column_spec(i, end)
        self._emit(kind, name, i, end)
        return end

    def _skip_column_spec(self, i: int, j: int) -> int:
        text = self.text
        k = self._skip_space(j)
        if not text.startswith("{", k):
            return j
        depth = 0
        for end in range(k, min(len(text), k + 200)):
            if text[end] == "{":
                depth += 1
            elif text[end] == "}":
                depth -= 1
                if depth == 0:
                    return end + 1
        raise self._error("\\begin{array} needs a column spec such as {cc}", i, "write \\begin{array}{cc}")

    def _negated(self, i: int, j: int) -> int:
        k = self._skip_space(j)
        if self.text.startswith("=", k):
            self._emit("!=", "\\not=", i, k + 1)
            return k + 1
        raise self._error("\\not is only understood as \\not=", i, "write \\neq")


# action -> (token kind, or None when the argument is the kind; flags)
_EMITTED: dict[str, tuple[str | None, int]] = {
    "tok": (None, 0),
    "greek": ("ident", WHOLE),
    "fn": ("ident", WHOLE | CMD),
    "const": ("const", 0),
    "bbchar": ("bb", 0),
}
_ACTIONS: dict[str, Callable[[_Lexer, str, str, int, int, str], int]] = {
    "space": _Lexer._spacing,
    "leftright": _Lexer._left_right,
    "rowsep": _Lexer._row_separator,
    "dots": _Lexer._refused,
    "unsupported": _Lexer._refused,
    **dict.fromkeys(
        ("font", "text", "opname", "mathrm"),
        lambda lexer, action, arg, i, j, written: lexer._font(action, i, j, arg),
    ),
    "deco": lambda lexer, action, arg, i, j, written: lexer._decoration(arg, i, j),
    "bb": lambda lexer, action, arg, i, j, written: lexer._blackboard(i, j),
    "begin": lambda lexer, action, arg, i, j, written: lexer._environment(action, i, j),
    "end": lambda lexer, action, arg, i, j, written: lexer._environment(action, i, j),
    "not": lambda lexer, action, arg, i, j, written: lexer._negated(i, j),
}
