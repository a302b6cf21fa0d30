"""A side of a step read with grader's own parser, or why it cannot be.

Students' derivations use notation the math language has no value for (limits, sums,
derivatives, vectors, functions they never define): such a side is not guessed at, the
step is undecided with the reason. Everything else is parsed by :mod:`grader.mathlang`
(never eval or sympify), with subscripted names kept whole (``h_{t-1}`` is one symbol).
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from dataclasses import dataclass, field

from grader.mathlang import ast
from grader.mathlang.errors import MathError
from grader.mathlang.lexer import GREEK_NAMES
from grader.mathlang.names import ALIASES, BUILTIN_NAMES, SPELLINGS
from grader.mathlang.parser import parse

# notation with no value in the math language: (pattern, why)
OUT_OF_SCOPE: list[tuple[re.Pattern[str], str]] = [
    # each also as written in plain text (an answer typed without LaTeX: lim_{x -> 0}, sum_j, int)
    (re.compile(r"\\lim\b|\\limsup|\\liminf|(?<![\\A-Za-z])lim(?![A-Za-z])"), "a limit"),
    (re.compile(r"\\sum\b|\\prod\b|(?<![\\A-Za-z])(?:sum|prod)\s*[_^]"), "a sum or product over an index"),
    (re.compile(r"\\i+nt\b|\\oint|(?<![\\A-Za-z])int(?![A-Za-z])"), "an integral"),
    (
        re.compile(
            r"\\partial|\\nabla|\\frac\s*\{\s*d\s*\}\s*\{\s*d\s*\\?[A-Za-z]|\\frac\s*\{\s*d\s*\\?[A-Za-z][^}]*\}\s*\{\s*d\s*\\?[A-Za-z]"
            r"|\\frac\s*\{\s*d\s*(?:\\left\s*)?[(\[]"  # \frac{d(x^2)}{d x}: never d times x^2 over d x
            r"|\\mathrm\s*\{\s*d\s*\}|\\,d[a-z]\b|\bd[xyzt]\b"
            r"|\bd\\?[A-Za-z]+(?:_\{[^{}]*\}|_\w)?\s*/\s*d\\?[A-Za-z]"  # dL/dp: never d L over d p
        ),
        "a derivative",
    ),
    (re.compile(r"(?<!\\)'|\\prime|\^\s*\{?\s*\*"), "a derivative or a marked name"),
    (
        re.compile(r"\\mathbb\s*\{\s*E|\\mathbb\s*\{\s*P|\b[EP]\s*(?:_\{?\w+\}?)?\s*(?:\\left)?\s*\["),
        "an expectation or probability",
    ),
    (re.compile(r"\\[bp]?mod\b|\bmod\b"), "modular arithmetic"),
    (re.compile(r"\\dots|\\cdots|\\ldots|\\vdots|\\ddots|\.\.\."), "an ellipsis"),
    (re.compile(r"\\infty"), "infinity"),
    (  # applied: \Theta alone is a name (a network's parameters)
        re.compile(r"\\Theta\s*(?:\\left\s*)?\(|\\mathcal\s*\{\s*O|\\Omega\s*(?:\\left\s*)?\(|\bO\s*\("),
        "an asymptotic bound",
    ),
    (
        re.compile(
            r"\\(?:det|arg|sup|inf|lambda_\{?(?:max|min|\d))|\\lambda_|\\max_|\\min_|\\operatorname\*"
        ),
        "an operator over a set or a matrix",
    ),
    (
        re.compile(
            r"\\mathbf|\\boldsymbol|\\bm\b|\\vec|\\odot|\\otimes|\^\s*\{?\s*(?:T|\\top|\\intercal)\b|\\begin\s*\{\s*[bpvBV]?matrix"
        ),
        "vectors or matrices",
    ),
    (re.compile(r"\\begin\s*\{\s*cases"), "a case distinction"),
    (
        re.compile(r"\\mathcal|\\mathbb|\\mathrm\s*\{\s*[A-Za-z]{2,}|\\sim\b|\\in\b"),
        "notation outside the math language",
    ),
    (re.compile(r"\^\s*\{\s*\(\s*[A-Za-z0-9]+\s*\)\s*\}"), "a superscript index"),
    (re.compile(r"<[^>]*>"), "words inside the formula"),
]
# single letters and Greek names students use for functions: f(x) is a call, never a product;
# h, p, q, u, v are calls when applied to one name (h(t), p(x)), products otherwise (h(2x + 1))
CALLED_ON_A_NAME = frozenset("hpqruv")
FUNCTION_LETTERS = frozenset("fgFGHLJNPS") | {
    "sigma",
    "phi",
    "varphi",
    "psi",
    "ell",
    "rho",
    "Phi",
    "Psi",
    "Gamma",
    "mu",
    "pi",
}
KNOWN_CALLS = (
    frozenset(BUILTIN_NAMES)
    | frozenset(SPELLINGS)
    | {a for a in ALIASES if a not in ("sigma", "H", "step")}
    | {
        "ln",
        "exp",
        "log",
        "max",
        "min",
        "sqrt",
        "text",
        "mathrm",
        "operatorname",
        "left",
        "frac",
        "Big",
        "big",
        "bigg",
        "Bigg",
        "right",
    }
)
_CALL = re.compile(
    r"(?<![A-Za-z])(\\?[A-Za-z]+)\s*(?:_\{\s*\\?([^{}]*?)\s*\}|_\\?(\w))?\s*(?:\\left|\\big|\\Big)?\s*\("
)
_WORD = re.compile(r"(?<![\\A-Za-z])([A-Za-z]{4,})")
_TEXT = re.compile(r"\\(?:text|textrm|mathrm|operatorname)\s*\{([^}]*)\}")
_LONE_E = re.compile(r"(?<![A-Za-z\\])e(?![A-Za-z_^{])")
_SUBSCRIPT = re.compile(r"_\{([^{}]*)\}")
_PRIMED = re.compile(
    r"(?<![A-Za-z\\])(?P<base>\\[A-Za-z]+|[A-Za-z])(?P<sub>_\{[^{}]*\}|_\w)?"
    r"(?P<primes>''?(?!')|\^\s*\{\s*\\prime\s*\}|\^\s*\\prime(?![A-Za-z]))"
    r"(?!\s*(?:\(|\\left|\[|\\big|\\Big))"
)
# an entry of a bold vector with a letter index (\mathbf{x}_i, \mathbf{x}_{ij}) is a scalar
_BOLD_ENTRY = re.compile(
    r"\\(?:mathbf|boldsymbol|bm)\s*\{\s*([a-z])\s*\}\s*_\s*(?:\{\s*([i-n]{1,2})\s*\}|([i-n])(?![A-Za-z0-9]))"
)
LETTERS = tuple(c for c in string.ascii_letters if c != "e")  # e is Euler's number


@dataclass(frozen=True)
class Context:
    """What a part declares: symbols with domains, functions (``S: softmax``), and nothing else."""

    domains: Mapping[str, object] = field(default_factory=dict)  # name -> SymbolDomain
    functions: Mapping[str, str] = field(default_factory=dict)
    arrays: frozenset[str] = frozenset()
    shapes: Mapping[str, tuple[int | str, ...]] = field(default_factory=dict)  # the part's arrays' shapes


@dataclass(frozen=True)
class Read:
    node: ast.Node | None
    text: str  # the side as the engine is given it (subscripts kept as names)
    why: str = ""


def primed_names(text: str) -> str:
    """A primed name not applied to anything (``k'``, ``x_i'``, ``\\Theta''``) as a name of its
    own (``k_{pr}``, ``x_{ipr}``, ``Theta_{pr2}``); ``f'(x)`` stays a derivative."""

    def name(m: re.Match[str]) -> str:
        mark = "pr" if len(m.group("primes").replace(" ", "")) == 1 or "prime" in m.group("primes") else "pr2"
        sub = m.group("sub") or ""
        inner = sub[2:-1] if sub.startswith("_{") else sub[1:]
        return f"{m.group('base')}_{{{inner}{mark}}}"

    return _PRIMED.sub(name, text)


def shown_name(name: str) -> str:
    """A name as the write-up has it: ``k_pr`` -> ``k'``, ``x_ipr2`` -> ``x_i''``,
    ``v_tm2`` -> ``v_{t-2}``."""
    shifted = re.fullmatch(r"(.+?)_([a-z])m(\d+)", name)
    if shifted is not None:
        return f"{shifted.group(1)}_{{{shifted.group(2)}-{shifted.group(3)}}}"
    m = re.fullmatch(r"(.+?)(?:_(\w*?))?(pr2?)", name)
    if m is None or not (name.endswith("_pr") or name.endswith("_pr2") or m.group(2)):
        return name
    primes = "''" if m.group(3) == "pr2" else "'"
    return f"{m.group(1)}_{m.group(2)}{primes}" if m.group(2) else f"{m.group(1)}{primes}"


def plain_entries(text: str) -> str:
    """Entries of bold vectors with a letter index as scalar names: ``\\mathbf{x}_i`` -> ``x_{i}``."""
    return _BOLD_ENTRY.sub(lambda m: f" {m.group(1)}_{{{m.group(2) or m.group(3)}}}", text)


def normalize(text: str) -> str:
    """Subscripts as plain names (``h_{t-1}`` -> ``h_{tm1}``), spacing commands dropped."""

    def subscript(m: re.Match[str]) -> str:
        inner = m.group(1).replace(" ", "").replace("\\", "").replace("{", "").replace("}", "")
        inner = inner.replace("-", "m").replace("+", "p").replace(",", "c")
        if not inner.isalnum():
            return m.group(0)
        return "_{" + inner + "}"

    text = _SUBSCRIPT.sub(subscript, primed_names(plain_entries(text)))
    text = _LONE_E.sub(r"\\exp(1)", text)  # a lone e in a derivation is Euler's number
    text = re.sub(r"\\[,;:!]|\\quad|\\qquad", " ", text)
    return text.strip()


_COMMAND_OR_TEXT = re.compile(r"\\(?:text|textrm|mathrm|operatorname)\s*\{[^}]*\}|\\[A-Za-z]+")
_LETTER_APPLIED = re.compile(r"(?<![A-Za-z_^\\])(?<!_\{)(?<!\^\{)([A-Za-z])(?!\s*')(?=\s*\()")
_LETTER_ALONE = r"(?<![A-Za-z\\]){0}(?!\s*\()"


def only_applied(text: str, context: Context) -> list[str]:
    """Single letters written before a parenthesis, ``h(2)``, that the text never uses alone
    and that nothing declares: each may be a function's value (``h(2) - h(0) = 2h(1) - 2h(0)``
    is then no identity) or a product (it is one), and the text does not say which. Letters
    students use for functions (FUNCTION_LETTERS, a call on a name) are read as calls elsewhere."""
    plain = _COMMAND_OR_TEXT.sub(" ", text)
    letters = {m.group(1) for m in _LETTER_APPLIED.finditer(plain)}
    return sorted(
        letter
        for letter in letters
        if letter not in FUNCTION_LETTERS
        and letter not in context.functions
        and letter not in context.domains
        and letter != "e"
        and not re.search(_LETTER_ALONE.format(letter), plain)
    )


def undefined_call(text: str, context: Context) -> str | None:
    """A function applied that the write-up does not define (``\\sigma(a)``, ``f(x)``,
    ``\\Gamma(a)``): the reason, else None. A step or a condition with one is not read as
    a product of a name and its argument."""
    for m in _CALL.finditer(text):
        name = m.group(1).lstrip("\\")
        sub = m.group(2) or m.group(3)
        if (f"{name}_{sub}" if sub else name) in context.functions:
            continue  # as declared: sigma_s for \sigma_s(z) and \sigma_{s}(z), never sigma for \sigma_t(z)
        if name in KNOWN_CALLS or name.lower() in KNOWN_CALLS:
            continue
        if name in FUNCTION_LETTERS or (
            len(name) > 3 and name not in GREEK_NAMES and not m.group(1).startswith("\\")
        ):
            return f"{name}(...) is a function not defined here"
        if name in CALLED_ON_A_NAME and re.match(
            r"\s*\\?[A-Za-z]+(?:_\{?\w+\}?)?\s*(?:\\right)?\)", text[m.end() :]
        ):
            return f"{name}(...) is a function not defined here"
    return None


def unreadable(text: str, context: Context) -> str | None:
    """Why this side is out of scope, before parsing, or None."""
    for pattern, why in OUT_OF_SCOPE:
        if pattern.search(text) and not (why == "vectors or matrices" and context.arrays):
            return f"{why}: out of scope"
    called = undefined_call(text, context)
    if called is not None:
        return called
    for m in _TEXT.finditer(text):
        word = m.group(1).strip()
        if (
            word
            and word not in KNOWN_CALLS
            and word.lower() not in KNOWN_CALLS
            and word not in context.functions
        ):
            return f"'{word}' is not defined here"
    stripped = _TEXT.sub(" ", re.sub(r"\\[A-Za-z]+", " ", _without_declared(text, context)))
    for m in _WORD.finditer(stripped):
        word = m.group(1)
        if word.lower() not in KNOWN_CALLS and word not in context.functions and word not in context.domains:
            return f"'{word}' is not defined here"
    return None


def _without_declared(text: str, context: Context) -> str:
    """The text without the subscripted names the part declares (``sigma_s``, ``\\sigma_{s}``)."""
    for name in (n for n in (*context.functions, *context.domains) if "_" in n):
        base, sub = name.split("_", 1)
        text = re.sub(rf"\\?{base}_(?:\{{\s*\\?{sub}\s*\}}|\\?{sub}(?![A-Za-z0-9]))", " ", text)
    return text


def read_side(text: str, context: Context) -> Read:
    """A side parsed with the part's names and functions, every single letter a symbol."""
    shown = normalize(text)
    why = unreadable(shown, context)
    if why:
        return Read(None, shown, why)
    if not shown:
        return Read(None, shown, "an empty side")
    functions = tuple(context.functions)
    try:
        first = parse(shown, functions=functions)
        names = {n for n in ast.free_names(first) if "_" in n} | set(context.domains)
        node = parse(shown, symbols=(*LETTERS, *names), functions=functions)
    except MathError as err:
        return Read(None, shown, f"unreadable: {err}")
    except Exception as err:  # a parser bug must not stop the other steps
        return Read(None, shown, f"unreadable: {type(err).__name__}")
    undeclared = sorted(n for n in ast.free_names(node) if _may_be_matrix(n) and n not in context.domains)
    if undeclared:
        return Read(None, shown, f"{undeclared[0]} may be a matrix: declare it in the problem file")
    for sub in ast.walk(node):
        if isinstance(sub, ast.Index):
            return Read(None, shown, "an indexed entry: out of scope")
        if isinstance(sub, (ast.Relation, ast.Logic)):
            return Read(None, shown, "a relation inside a side")
        if not isinstance(sub, (ast.Num, ast.Const, ast.Sym, ast.Neg, ast.BinOp, ast.Call)):
            return Read(None, shown, f"{type(sub).__name__.lower()}: out of scope")
    return Read(node, shown)


def _may_be_matrix(name: str) -> bool:
    base = name.split("_")[0]
    return len(base) == 1 and base.isupper() and base not in ("T", "N", "L", "M", "C", "Z", "R")
