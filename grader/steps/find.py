"""Finding the derivations in a write-up: math cut into items at its top-level relations.

Pure text work, no parsing of formulas: displayed math (``$$ $$``, ``\\[ \\]``, ``equation``, ``align``,
``aligned``, ``eqnarray``, ``gather``, ``multline``) and inline math (``$ $``, ``\\( \\)``) are cut into
rows (``\\\\``), ``&`` dropped, and each row cut at the relations outside every brace, bracket and
environment. A row or piece that starts with a relation continues the chain before it. Conditions in
words around a chain ("for $x > 0$", ``\\forall``, ``\\text{if } ...``) ride with it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from grader.mathlang.lexer import GREEK_NAMES
from grader.mathlang.names import BUILTIN_NAMES
from grader.steps import hedged, imaginary, network, premise, reach, topic
from grader.steps import stated as said
from grader.steps.entries import KRONECKER_WORDS, EntryDefinition, definition_in
from grader.steps.latex import closing
from grader.steps.models import Chain, Relation, Step
from grader.steps.names import NORM_OF, NUMBER, Claims, applies_declared, defines, is_name, names_a_definition
from grader.steps.recurrence import recurrence_of

DISPLAY_ENVS = (
    "equation",
    "align",
    "aligned",
    "alignat",
    "eqnarray",
    "gather",
    "gathered",
    "multline",
    "split",
)
_ENV = "|".join(DISPLAY_ENVS)
_DISPLAY = re.compile(
    r"\$\$(?P<a>.+?)\$\$|\\\[(?P<b>.+?)\\\]|\\begin\{(?P<env>"
    + _ENV
    + r")\*?\}(?P<c>.+?)\\end\{(?P=env)\*?\}",
    re.DOTALL,
)
_CASES = re.compile(r"\\begin\{cases\}(.*?)\\end\{cases\}", re.DOTALL)
_INLINE = re.compile(r"\\\((?P<a>.+?)\\\)|(?<![\\$])\$(?P<b>[^$\n]+?)\$(?!\$)")

# relation words, longest first; None: a relation that ends a chain (not a step grader checks)
_NO_STEP_WORDS = (  # "->" is an arrow, not "-" and ">"; "<=>", "=>" are ASCII iff and implies
    r"\coloneqq \doteq \equiv \triangleq \neq \ne \xrightarrow \xleftarrow \rightarrow \longrightarrow"
    r" \to \in \notin \sim \propto \ll \gg \subset \subseteq \mapsto \Leftarrow \impliedby := =: ->"
)
_RELATIONS: list[tuple[str, Relation | None]] = [  # tried in order: a word before one it starts
    *((word, "iff") for word in (r"\Longleftrightarrow", r"\Leftrightarrow", r"\iff", "<==>", "<=>")),
    *((word, "implies") for word in (r"\Longrightarrow", r"\Rightarrow", r"\implies", "==>", "=>")),
    *((word, "<=") for word in (r"\leqslant", r"\leq", r"\le")),
    *((word, ">=") for word in (r"\geqslant", r"\geq", r"\ge")),
    *((word, "approx") for word in (r"\approx", r"\simeq")),
    (r"\lt", "<"),
    (r"\gt", ">"),
    *((word, None) for word in _NO_STEP_WORDS.split()),
    ("<=", "<="),
    (">=", ">="),
    ("=", "="),
    ("<", "<"),
    (">", ">"),
]
_WORD_END = re.compile(r"[A-Za-z]")
# Any relation a step could be made of (a superset: "=" also matches ":="): a text without
# one holds no step. The grading pre-filter (:mod:`grader.steps.grading`) uses it, so that
# both read one list.
STEP_RELATION = re.compile(
    "|".join(
        re.escape(word) + ("(?![A-Za-z])" if word.startswith("\\") else "")
        for word, relation in _RELATIONS
        if relation is not None
    )
)
_COMMENT_TEXT = re.compile(
    r"\\(?:text|textrm|mbox|textnormal|mathrm)\s*\{\s*(?:if|for|since|where|when|as|and|by|because|otherwise|"
    r"i\.e\.|so|hence|thus|with|using|on|from|else|whenever|then|all|each|every|any|subject\s+to|s\.\s*t\."
    r"|such\s+that|given|assuming|provided)\b",
    re.IGNORECASE,
)
_SPACERS = re.compile(r"\\(?:quad|qquad)\b|\\hspace\s*\{[^}]*\}|\\forall\b")
_DROP = re.compile(
    r"\\(?:label|tag|eqref|ref)\s*\{[^}]*\}|\\(?:nonumber|notag|displaystyle|textstyle|limits|nolimits)\b"
    r"|\\[,;:!>]|(?<!\\)\\ (?=\S)|~"
)
# words that state a condition before the math that follows them
_CONDITION_WORDS = re.compile(
    r"(?<!except\s)(?<!unless\s)(?:\b(?:for|if|since|where|when|whenever|assume|assuming|suppose|given|with|let|as|solve"
    r"|subject\s+to|s\.\s*t\.|such\s+that|provided|the\s+(?:equations?|constraints?|conditions?|relations?|premises?|hypothes[ie]s)"
    r"|we\s+are\s+(?:told|given)|the\s+fact|setting)(?:\s+that)?|\\forall"
    r"|\bcase\s*\d*\s*[:.)]?\s*(?:\*\*|\})?)\s*(?:all|any|every|each|some)?\s*$",
    re.IGNORECASE,
)
# "$A$ if and only if $B$", "$A$ only if $B$": a claimed equivalence or implication, not a premise
_ONLY_IF = re.compile(r"(?:\bonly\s+if|\biff)\s*$", re.IGNORECASE)
# words after a relation that state it as a premise ("$x^2 + y^2 = 1$ holds", "... is given")
_PREMISE_AFTER = re.compile(
    r"^\s*(?:holds|hold|is\s+(?:given|satisfied|assumed|true\s+by\s+(?:assumption|hypothesis))"
    r"|are\s+(?:given|satisfied|assumed)|by\s+(?:assumption|hypothesis))\b"
    # "holds by the chain rule", "is given by ...", "holds for all x": a reason or a claim
    r"(?!\s*(?:by(?!\s+(?:assumption|hypothesis))|because|since|as\b|due|from|thanks|trivially|always|everywhere"
    r"|identically|for\s+(?:all|every|any|each)|in\s+general|\$|\\\())",
    re.IGNORECASE,
)
# words after a relation that deny it: neither a premise nor a claimed identity
_DENIED_AFTER = re.compile(
    r"^\s*(?:does\s+not|doesn't|do\s+not|need\s+not|cannot|can't)\s+hold\b|^\s*(?:fails|is\s+false|is\s+not"
    r"\s+(?:satisfied|true|an\s+identity)|never\s+holds)\b",
    re.IGNORECASE,
)
# words in the sentence before that make "holds" a conclusion ("Then $a = b$ holds")
_CLAIM_WORDS = re.compile(
    r"\b(?:then|so|hence|thus|therefore|show|shows|prove|proves|verify|check|note|see|get|follows|clearly"
    r"|conclude|because|obtain|find|indeed|also|still|compute|computing|write|have|gives|yields|implies)\b",
    re.IGNORECASE,
)
CONDITION_REACH = 12  # lines after a stated condition that it still applies to


@dataclass
class _Item:
    text: str
    relation: Relation | None  # the relation before this item (None for the first)


@dataclass
class _Row:
    items: list[_Item]
    line: int
    continues: bool  # starts with a relation: continues the chain before it
    conditions: list[str] = field(default_factory=list)
    comment: str = ""
    start: int = -1  # offset in the text of the math it was read from
    unread: list[str] = field(default_factory=list)  # conditions stated after it, not read


@dataclass
class _Piece:
    math: str
    start: int  # offset in the text
    display: bool


def chains_in_text(text: str, kind: str = "latex", declared: Iterable[str] = ()) -> list[Chain]:
    """Every derivation in a write-up's text (``kind``: latex, markdown or ipynb); ``declared``:
    the functions the part declares (a step that applies one is a claim, never a definition)."""
    if kind == "ipynb":
        text = notebook_text(text)
    text = _without_comments(text, kind)
    pieces = _math_pieces(text)
    worded, worded_unread = said.worded(text, pieces)
    listed = _stated_conditions(text, pieces)
    # a bound the words state that is also read as a condition listed with others keeps the
    # offset of its list (conditions stated together hold together: reach.latest_per_symbol)
    worded = [w for w in worded if (w[0], w[1]) not in {(at, c) for at, c, _ in listed}]
    conditions_at = listed + _number_words(text, pieces)
    # words around inline math (a sign, a kind, a bare bound) may be denied or qualified: unread
    unread_at = _unread_condition_words(text, pieces) + worded_unread + worded
    definitions = _function_definitions(text, pieces) + _named_functions(text, pieces)
    functions = {d[0] for d in definitions}  # "let $x$ be real" ends nothing: x is no function
    definitions += [d for d in _reintroduced(text) if d[0] in functions]
    claims = Claims(frozenset(d[0] for d in definitions if d[2]), frozenset(declared))
    items = _Items(text.splitlines())
    resets = tuple(m.start() for m in _GENERAL.finditer(text))
    plain = _prose(text, pieces)
    sizes = tuple((name, dims) for _, name, dims in _declared_shapes(text, pieces))
    around = (plain, reach.symbol_resets(text, plain), sizes)
    turns = tuple(m.start() for m in _OTHERWISE.finditer(plain))
    # math a word of another case follows ("$|x| = -x$ otherwise"): the case of no condition before
    after = {p.start: reach.after_math(plain, p.start + len(p.math)) for p in pieces}
    turns_after = frozenset(start for start, at in after.items() if _OTHERWISE.match(plain, at))
    groups = _row_groups(text, pieces)
    trailing, unread_after = said.trailing(text, pieces, _conditions_in_math)
    hedges = hedged.hedged(text, pieces, _conditions_in_math)  # denied, quoted, asked, restricted
    for row in (row for group in groups for row in group):  # not read: "unless", "... and $y > 0$"
        row.unread += [w for found in (trailing, unread_after, hedges) for w in found.get(row.start, [])]
    chains = [
        c
        for g in groups
        if (c := _as_chain(g, conditions_at, unread_at, claims, items, resets, (turns, turns_after), around))
        is not None
    ]
    defined = _defined_names(pieces)
    if defined:
        chains = [c.model_copy(update={"defined": defined}) for c in chains]
    lines = text.splitlines()
    chains = [
        c.model_copy(update={"about_shapes": True}) if topic.about_shapes(c, lines) else c for c in chains
    ]
    shapes = _declared_shapes(text, pieces)
    if shapes:
        chains = [c.model_copy(update={"arrays": _shapes_before(shapes, c)}) for c in chains]
    words = _array_property_words(text, pieces)
    if words:
        chains = [c.model_copy(update={"array_words": _words_near(words, c)}) for c in chains]
    chains = [c.model_copy(update={"convolution": topic.convolution_named(c, lines)}) for c in chains]
    entries = _entry_definitions(text, pieces)
    if entries:
        parts = _part_labels(lines)
        chains = [c.model_copy(update={"entries": _entries_before(entries, c.line, parts)}) for c in chains]
        chains = [c for c in (_without_entry_definition(c, entries) for c in chains) if c.steps]
    said_of_text = {"kronecker": bool(KRONECKER_WORDS.search(text)), "imaginary": imaginary.declared(text)}
    chains = [c.model_copy(update=said_of_text) for c in chains]
    located = [(p.math, text.count("\n", 0, p.start) + 1) for p in pieces]
    net = network.definitions_in(located)
    if net:
        parts = _part_labels(lines)
        stated = network.names_stated(located)
        chains = [
            c.model_copy(update={"network": network.definitions_before(net, c.line, parts, stated)})
            for c in chains
        ]
    if definitions:
        definitions.sort(key=lambda d: d[3])
        parts = _part_labels(lines)
        chains = [
            c.model_copy(update={"functions": _defined_before(definitions, c.line, parts)}) for c in chains
        ]
    return chains


_FUNCTION_DEFINITION = re.compile(
    r"^\s*\\?([A-Za-z]+)\s*\(\s*\\?([A-Za-z]+)\s*\)\s*(?::=|\\coloneqq|\\triangleq|=)\s*(\S.*?)\s*$"
)


def _function_definitions(text: str, pieces: list[_Piece]) -> list[tuple[str, str, str, int]]:
    """(name, variable, formula, line) of every ``f(x) = formula`` the write-up states as a piece
    of math of its own (or a comma-separated part of one); the formula "" where it is no
    formula of that variable alone (another relation in it, another letter it depends on)."""
    found: list[tuple[str, str, str, int]] = []
    for piece in pieces:
        line = text.count("\n", 0, piece.start) + 1
        after = text[piece.start + len(piece.math) : piece.start + len(piece.math) + 40]
        if _CONDITION_AFTER.match(after.split("\n\n")[0]):  # a condition in the same paragraph
            continue  # "$\\phi(x) = 0$ whenever $|x| > A$": a statement, not a definition
        clause = _SENTENCE_END.split(text[max(0, piece.start - 80) : piece.start])[-1]
        for raw in _split_rows(piece.math):
            for part in _comma_parts(raw):
                m = _FUNCTION_DEFINITION.match(_DROP.sub(" ", part.replace("&", " ")).strip().rstrip(".;"))
                if m is None or m.group(1) in BUILTIN_NAMES or m.group(1) in _NOT_FUNCTION_NAMES:
                    continue
                name, variable, formula = m.groups()
                if _top_level_relations(formula):
                    continue  # "f(x) = x \\Rightarrow ...", "f(x) = a = b": a derivation, not a definition
                near = text[max(0, piece.start - 30) : piece.start]
                if _CONDITION_BEFORE.search(near) or _CLAIM_BEFORE.search(clause):
                    # "for $f(x) = x^2$", "we solve $f(x) = 2x$", "the fixed points satisfy $f(x) = x$":
                    # a condition or an equation, not a definition; one before it no longer applies
                    found.append((name, variable, "", line))
                    continue
                if any(d[0] == name and line - d[3] <= DEFINITION_REACH for d in found) and not (
                    _DEFINING_BEFORE.search(clause) or _DEFINING_SIGN.search(part)
                ):
                    # a name defined before, written = again without "let", "now", ":=": a claim
                    # about it, or a new meaning; neither is read as its definition
                    found.append((name, variable, "", line))
                    continue
                line += _after_a_use(text, piece.start, name, clause)
                if (
                    _NOT_A_FORMULA.search(formula)
                    or _other_letters(formula, variable, parameters=True)
                    or not _mentions(formula, variable)
                    or re.search(rf"(?<![A-Za-z]){re.escape(name)}(?![A-Za-z])", formula)
                    or re.search(rf"(?<![A-Za-z]){variable}\s*_", formula)
                ):
                    # not a formula of its variable (a constant is a statement), or circular
                    # (f(x) = f(x - 1) + 1), piecewise, with a condition or an entry of the variable
                    formula = ""
                found.append((name, variable, formula, line))
    return found


_SENTENCE_END = re.compile(r"[.!?;]\s|\n\s*\n")
# words before a formula that make it an equation or a claim, not a definition
_CLAIM_BEFORE = re.compile(
    r"\b(?:solve[sd]?|solving|satisf(?:y|ies|ied|ying)|such\s+that|so\s+that|find|finding|check|verify"
    r"|show|prove|claim|whenever|iff|suppose|assume|hence|thus|therefore|so|get|have|gives?|yields?|obtain"
    r"|equation|implies|roots?|zeros?|fixed\s+points?|holds?|true|false|equals?)\b"
    r"(?:\s+that)?(?:\s+[A-Za-z]+){0,2}[\s,:]*$",  # just before the formula: "we solve $f(x) = 2x$"
    re.IGNORECASE,
)
# words that (re)define a name
_DEFINING_BEFORE = re.compile(
    r"\b(?:let|define[sd]?|defining|set|take|now|redefine[sd]?|denote[sd]?|choose|put|instead|new|consider"
    r"|recall)\b",
    re.IGNORECASE,
)
_DEFINING_SIGN = re.compile(r":=|\\coloneqq|\\triangleq|\\equiv|\\stackrel|\\overset")

_EXPLANATORY = re.compile(r"\b(?:where|with|here|in\s+which|whereby|i\.e\.|that\s+is)\b", re.IGNORECASE)


def _after_a_use(text: str, start: int, name: str, clause: str) -> int:
    """1 where a definition at ``start`` follows an application of its name on the same line
    and is not an explanation of it ("$f(2) = 4$, and now let $f(x) = x^3$": from the next line
    on; "$g(2) = 4$ where $g(x) = x^2$" explains the use before it); else 0."""
    before = text[text.rfind("\n", 0, start) + 1 : start]
    spelled = rf"\\{name}" if len(name) > 1 else rf"(?<![A-Za-z\\]){name}"
    used = re.search(rf"{spelled}(?![A-Za-z])\s*(?:\\left\s*)?\(", before)
    return 1 if used and not _EXPLANATORY.search(clause) else 0


# commands, Euler's number and the d of dx: never the name of a function the write-up defines
_NOT_FUNCTION_NAMES = frozenset({"frac", "left", "mathrm", "e", "d"})


def _mentions(formula: str, variable: str) -> bool:
    """Does the formula use the variable (a letter among single-letter symbols, or ``\\theta``)?"""
    if len(variable) > 1:
        return re.search(rf"\\{variable}(?![A-Za-z])", formula) is not None
    return variable in re.sub(r"\\[A-Za-z]+", " ", formula)


# what a definition's formula may not hold: a case distinction, words, a condition, a set,
# an operator over an index, a derivative (such a definition is not read: the name stays undefined)
_NOT_A_FORMULA = re.compile(
    r"\\(?:begin|text|mathrm\s*\{\s*[a-z]{2}|forall|in\b|mathbb|sum|prod|lim|int|partial|nabla|dots|cdots|ldots|quad"
    r"|mathbf|boldsymbol|operatorname)|'"
)
_CONDITION_BEFORE = re.compile(
    r"\b(?:for|if|when|whenever|unless|since|because|case)\s*\$*\s*$", re.IGNORECASE
)

# "where $\sigma$ is the logistic function", "When ϕ is ReLU": a standard function named in
# prose for a name; read only where the write-up says so, never guessed from the letter
_STANDARD = {
    "logistic": "\\frac{1}{1+e^{-x}}",
    "sigmoid": "\\frac{1}{1+e^{-x}}",
    "relu": "\\max\\{0, x\\}",
    "rectified linear": "\\max\\{0, x\\}",
    "softplus": "\\log(1+e^{x})",
    "tanh": "\\tanh(x)",
    "hyperbolic tangent": "\\tanh(x)",
}
_UNICODE_NAMES = {"σ": "sigma", "ϕ": "phi", "φ": "phi", "ρ": "rho", "ψ": "psi", "θ": "theta"}
_NAMED = re.compile(
    r"(?:\$\s*\\([A-Za-z]{2,})\s*(?:\(\s*\\?[A-Za-z]+\s*\))?\s*\$|(?<![A-Za-z\\])([σϕφρψθ]))\s*"
    r"(?:is|denotes?|be|means|stands for)\s+(?:the\s+|a\s+)?(?:standard\s+)?(?:\$\s*\\text\{)?"
    r"(logistic|sigmoid|relu|rectified linear|softplus|tanh|hyperbolic tangent)"
    # the function word ends the phrase (a class noun at most): not "tanh-like", "ReLU-ish",
    # "the sigmoid's inverse", "the softplus derivative", "the sigmoid or tanh", "the logistic
    # with slope k", "the sigmoid of z"
    r"(?:\s+(?:function|activation(?:\s+function)?|non-?linearity|unit|map))?\s*\}?\s*\$?"
    r"(?:\s+(?:applied\s+)?(?:element-?wise|entry-?wise|component-?wise|pointwise))?"
    r"(?=\s*(?:[.;:!?)]|,(?!\s*(?:or|and/or|resp)\b)|\n|$)"
    r"|\s+(?:and|so|then|we)\b(?![^.\n]*\b(?:logistic|sigmoid|relu|rectified|softplus|tanh|hyperbolic)))",
    re.IGNORECASE,
)
# "the derivative of $\sigma$ is the sigmoid": the name is not the subject of the sentence
_NOT_SUBJECT = re.compile(
    r"\b(?:of|to|than|like|unlike|by|from|at|on|under|over|via|into|about|between|versus|vs\.?)\s*$",
    re.IGNORECASE,
)
# "$\sigma^2$ denotes the variance", "let $\sigma_1$ be": the name with an index or a power
_DECORATION = r"(?:[\^_]\s*(?:\{[^{}$]*\}|\\?\w+)\s*)?"
# "now let $f$ be any linear function", "$f$ denotes ...": the name introduced anew in prose;
# a definition before it no longer applies
_REINTRODUCED = re.compile(
    r"\b(?:let|suppose|assume|consider|take|fix|given|for\s+(?:any|all|every|each|some))\s+"
    r"(?:[A-Za-z-]+\s+){0,4}?\$\s*(\\?[A-Za-z]+)\s*" + _DECORATION + r"(?::[^$]*)?\$"
    r"|\$\s*(\\?[A-Za-z]+)\s*" + _DECORATION + r"(?::[^$]*)?\$\s*(?:be|denotes?|stands\s+for|means"
    r"|is\s+(?:now|any|some|arbitrary|another|instead|the|an?))\b",
    re.IGNORECASE,
)


def _reintroduced(text: str) -> list[tuple[str, str, str, int]]:
    """(name, "", "", line) for each name introduced anew in prose ("let $f$ be linear"): an
    empty definition, which ends the reach of the definitions of that name before it."""
    found = []
    for m in _REINTRODUCED.finditer(text):
        group = 1 if m.group(1) else 2
        if _NAMED.match(text, text.rfind("$", 0, m.start(group))):
            continue  # "let $\sigma$ be the sigmoid": a definition, read by _named_functions
        name = m.group(group).lstrip("\\")
        spelled = rf"\$\s*{re.escape(m.group(group))}\s*\(\s*\\?[A-Za-z]+\s*\)\s*(?::=|=|\\coloneqq)"
        if re.search(spelled, text[m.end() : m.end() + 120].split("\n")[0]):
            continue  # "let $f$ be given by $f(x) = x^2$": the definition follows
        found.append((name, "", "", text.count("\n", 0, m.start()) + 1))
    return found


def _named_functions(text: str, pieces: list[_Piece]) -> list[tuple[str, str, str, int]]:
    """(name, "x", formula, line) for each standard function a name is said to be in prose
    ("where $\\sigma$ is the sigmoid", "When ϕ is ReLU"): the logistic sigmoid, ReLU,
    softplus, tanh. Nothing is guessed from the letter alone; only a Greek or a long name
    (a single Latin letter is more often a value: "$a$ is the sigmoid of $z$", and "the
    sigmoid of", "... output" name a value, not the function)."""
    found = []
    for m in _NAMED.finditer(text):
        name = m.group(1) or _UNICODE_NAMES.get(m.group(2), m.group(2))
        if name in BUILTIN_NAMES or name.lower() in ("e", "x", "is", "the"):
            continue
        if _NOT_SUBJECT.search(text[max(0, m.start() - 40) : m.start()]):
            continue  # "the derivative of $\\sigma$ is the sigmoid"
        formula = _STANDARD[m.group(3).lower()]
        clause = _SENTENCE_END.split(text[max(0, m.start() - 80) : m.start()])[-1]
        line = text.count("\n", 0, m.start()) + 1 + _after_a_use(text, m.start(), name, clause)
        found.append((name, "x", formula, line))
        if _HYPOTHETICAL.search(text[max(0, m.start() - 40) : m.start()]):
            # "If $\\sigma$ is the sigmoid, ...": a case, which ends where a line opens another
            # ("Otherwise, ...", "If ...", "Now ...")
            other = _OTHER_CASE.search(text, m.end())
            if other is not None:
                found.append((name, "", "", text.count("\n", 0, other.start()) + 1))
    return found


_OTHER_CASE = re.compile(
    r"^[ \t>*#_-]*(?:\*\*)?(?:\(?[a-h0-9ivx]{1,3}[.)]\s*)?"
    r"(?:otherwise|else|elsewhere|if|when|whenever|suppose|assume"
    r"|in\s+(?:the\s+)?(?:other|second|latter)\s+case|case|now|alternatively|conversely|instead"
    r"|on\s+the\s+other\s+hand)\b",
    re.IGNORECASE | re.MULTILINE,
)
_HYPOTHETICAL = re.compile(
    r"\b(?:if|when|whenever|suppose|supposing|assume|assuming|in\s+case|case|for|say)\s*$", re.IGNORECASE
)


DEFINITION_REACH = 40  # lines after a definition that it applies to
# a line that starts an item: "3.", "(b)", "5.(c)", "Answer 1. 1.", "b)"; its last label names the part
_ITEM = re.compile(
    r"^[\s>*#_-]*(?:\*\*)?(?:answer\s*\d+\s*[.:]?\s*)?(?:(\d+)\s*\.(?!\d)\s*)?"
    r"(?:\(?([a-h])\)|([a-h])\.(?=\s)|\((i{1,3}|iv|v)\))?",
    re.IGNORECASE,
)
_NEW_QUESTION = re.compile(
    r"^[\s>*#_-]*(?:\*\*)?(?:question|problem|exercise|task|part\s+\d|q\s*\d+\b|#)", re.IGNORECASE
)


def _part_labels(lines: list[str]) -> list[tuple[int, str]]:
    """For each line, (question number, item label): a question heading starts a new number."""
    out, question, label = [], 0, ""
    for text in lines:
        if _NEW_QUESTION.match(text):
            question, label = question + 1, ""
        m = _ITEM.match(text)
        if m is not None and (m.group(1) or m.group(2) or m.group(3) or m.group(4)):
            label = (m.group(2) or m.group(3) or m.group(4) or m.group(1) or "").lower()
        out.append((question, label))
    return out


_ARRAY_NAME = (
    r"(?<![A-Za-z\\])(?:\\(?:mathbf|boldsymbol|bm|vec)\s*\{\s*\\?[A-Za-z]+\s*\}|\\[A-Za-z]+|[A-Za-z])"
    r"(?:\s*_\s*(?:\{[^{}]*\}|\w))?"
)
_DECLARED = re.compile(
    rf"((?:{_ARRAY_NAME}\s*,\s*)*{_ARRAY_NAME})\s*\\in\s*\\mathbb\s*\{{?\s*R\s*\}}?\s*\^\s*(\{{[^{{}}]*\}}|\w)"
)
_DIM = re.compile(r"^\s*(\d+|[A-Za-z](?:_\{?[A-Za-z0-9]\}?)?)\s*$")
SHAPE_AFTER = 2  # lines after a chain's last one whose declarations still apply to it ("where W ...")
DECLARATION_REACH = 30  # lines after a declaration that it applies to (a later question may reuse a letter)


def _declared_shapes(text: str, pieces: list[_Piece]) -> list[tuple[int, str, tuple[str, ...]]]:
    """(line, name, dimensions) of every ``x \\in \\mathbb{R}^{n}``, ``W, V \\in \\mathbb{R}^{m \\times n}``
    in the write-up's math (dimensions whole numbers or single names, at most two)."""
    found = []
    for piece in pieces:
        for m in _DECLARED.finditer(piece.math):
            line = text.count("\n", 0, piece.start + m.start()) + 1
            raw = m.group(2).strip("{}")
            dims = tuple(d.strip() for d in re.split(r"\\times|\\cdot", raw))
            if not 1 <= len(dims) <= 2 or not all(_DIM.match(d) for d in dims):
                continue
            for name in re.split(r"\s*,\s*", m.group(1).strip()):
                found.append((line, name, dims))
    return found


def _shapes_before(
    shapes: list[tuple[int, str, tuple[str, ...]]], chain: Chain
) -> tuple[tuple[str, tuple[str, ...]], ...]:
    last = max([chain.line, *(s.line for s in chain.steps)])
    latest: dict[str, tuple[str, tuple[str, ...]]] = {}
    for line, name, dims in shapes:
        if chain.line - DECLARATION_REACH <= line <= last + SHAPE_AFTER:
            latest[re.sub(r"\s+", "", name)] = (name, dims)
    return tuple(latest.values())


_ARRAY_PROPERTY = re.compile(
    r"\b(?:symmetric|orthogonal|orthonormal|invertible|diagonal|unit|normali[sz]ed|idempotent|"
    r"positive (?:semi-?)?definite|commut\w*|triangular|identity|permutation|one-hot|rank|"
    r"probabilit\w*|distribution|softmax|simplex|stochastic|sums? to (?:one|1|zero|0)|add up to|"
    r"mean|average|cent(?:er|re)d)\b",
    re.IGNORECASE,
)


# an identity matrix, an inverse or orthogonality written in math: a property of arrays may be stated there
_ARRAY_PROPERTY_MATH = re.compile(
    r"(?<![A-Za-z\\])I(?:_\w|_\{[^{}]*\})?(?![A-Za-z])|\\(?:mathbf|mathbb|boldsymbol)\s*\{\s*[I1]\s*\}"
    r"|\^\s*\{\s*-\s*1\s*\}|\^\s*-\s*1|\\perp\b|\\delta_\{?ij"
)


def _array_property_words(text: str, pieces: list[_Piece]) -> list[tuple[int, str]]:
    """(line, words) where a property of arrays is stated in prose (symmetric, orthogonal, a
    unit vector, ...) or may be stated in math (an identity matrix, an inverse)."""
    found = [(text.count("\n", 0, m.start()) + 1, m.group(0)) for m in _ARRAY_PROPERTY.finditer(text)]
    for piece in pieces:
        for m in _ARRAY_PROPERTY_MATH.finditer(piece.math):
            found.append((text.count("\n", 0, piece.start + m.start()) + 1, m.group(0).strip()))
    return found


def _words_near(words: list[tuple[int, str]], chain: Chain) -> tuple[str, ...]:
    last = max([chain.line, *(s.line for s in chain.steps)])
    return tuple(
        dict.fromkeys(w for line, w in words if chain.line - CONDITION_REACH <= line <= last + SHAPE_AFTER)
    )


_CONDITION_AFTER = re.compile(
    r"^[\s$\\)\]]*(?:,\s*)?(?:whenever|if|when|for|unless|provided|on|at|as|except|near)\b", re.IGNORECASE
)


def _other_letters(formula: str, variable: str, parameters: bool = False) -> bool:
    """Does the formula name a letter other than the variable (outside LaTeX commands and e)?
    With ``parameters``, other single letters and Greek letters are parameters (the same
    symbols as in the steps: ``\\sigma(x) = \\frac{1}{1+e^{-kx}}``), only words are not."""
    plain = re.sub(r"\\[A-Za-z]+", " ", formula)
    if parameters:
        named = set(re.findall(r"\\([A-Za-z]+)", formula)) - _FORMULA_COMMANDS - GREEK_NAMES
        words = re.sub(r"(?<![A-Za-z])(?:exp|log|ln|tanh|max|min|sqrt)(?![A-Za-z])", " ", plain)
        return bool(named) or bool(re.search(r"[A-Za-z]{3,}", words)) or ("x" in plain and variable != "x")
    letters = set(re.findall(r"[A-Za-z]", plain)) - {"e"}
    named = {w for w in re.findall(r"\\([A-Za-z]+)", formula)} - {
        "frac",
        "left",
        "right",
        "exp",
        "log",
        "ln",
        "tanh",
        "max",
        "min",
        "sqrt",
        "cdot",
        "mathrm",
        "dfrac",
        "tfrac",
    }
    return bool(letters - {variable}) or bool(named - {variable})


_FORMULA_COMMANDS = frozenset(
    {"frac", "left", "right", "exp", "log", "ln", "tanh", "max", "min", "sqrt", "cdot", "dfrac", "tfrac"}
)


def _defined_before(
    definitions: list[tuple[str, str, str, int]], line: int, parts: list[tuple[int, str]] | None = None
) -> tuple[tuple[str, str, str, int], ...]:
    """The latest definition of each name before ``line``, within its reach: at most
    DEFINITION_REACH lines before, in the same question, and in the same item ("3." of a
    question and "3." of its answer; "(a)" and "(b)" are items apart). Its formula is "" where
    it is no formula of its variable, or the name was written anew (an equation about it, "let
    $f$ be linear"): the name is a function there, one no step is decided under."""
    latest: dict[str, tuple[str, str, str, int]] = {}
    for definition in definitions:
        if definition[3] <= line:
            latest[definition[0]] = definition
    out = []
    for d in latest.values():
        if line - d[3] > DEFINITION_REACH:
            continue
        if parts is not None and 0 < d[3] <= len(parts) and 0 < line <= len(parts):
            there, here = parts[d[3] - 1], parts[line - 1]
            if there[0] != here[0] or there[1] != here[1]:
                continue
        out.append(d)
    return tuple(out)


def _entry_definitions(text: str, pieces: list[_Piece]) -> list[EntryDefinition]:
    """The vector functions the write-up defines entry by entry (grader.steps.entries), in order."""
    found = []
    for piece in pieces:
        definition = definition_in(piece.math, text.count("\n", 0, piece.start) + 1)
        if definition is not None:
            found.append(definition)
    return found


def _without_entry_definition(chain: Chain, definitions: list[EntryDefinition]) -> Chain:
    """The chain without its first step when that step is a definition of a vector function
    entry by entry (``S(\\mathbf{x})_i = ...``, "recall the definition"): a definition, not a claim."""
    first = chain.steps[0]
    if first.relation == "=" and any(
        d[4] == first.line and definition_in(f"{first.left} = {first.right}", d[4]) == d for d in definitions
    ):
        return chain.model_copy(update={"steps": chain.steps[1:]})
    return chain


def _entries_before(
    definitions: list[EntryDefinition], line: int, parts: list[tuple[int, str]]
) -> tuple[EntryDefinition, ...]:
    """The latest definition of each name before ``line`` in the same question (any of its
    items: a question defines the softmax or the sigmoid in one item, its answer uses it in the
    others; a later definition replaces it): the whole question under a heading ("Question 3."),
    at most DEFINITION_REACH lines before where the write-up has no heading."""
    latest: dict[str, EntryDefinition] = {}
    for d in definitions:
        if d[4] <= line:
            latest[d[0]] = d
    out = []
    for d in latest.values():
        if not (0 < d[4] <= len(parts) and 0 < line <= len(parts)):
            continue
        there, here = parts[d[4] - 1], parts[line - 1]
        if there[0] == here[0] and (there[0] > 0 or line - d[4] <= DEFINITION_REACH):
            out.append(d)
    return tuple(out)


def _row_groups(text: str, pieces: list[_Piece]) -> list[list[_Row]]:
    """Rows grouped into chains: a row that starts with a relation continues the open group."""
    groups: list[list[_Row]] = []
    conditions_start = {start for start, _ in _condition_pieces(text, pieces)}
    open_group = False
    last_line = -100
    for piece in pieces:
        if piece.start in conditions_start or _denied(text, piece):
            continue  # "for $x > 0$": a condition, not a step; "$x = 1$ does not hold": no claim
        line = text.count("\n", 0, piece.start) + 1
        cases = _case_rows(piece, line)
        for row in cases:
            row.start = piece.start
        if cases:
            groups += [[row] for row in cases]
            open_group = False
        continued = False
        for row in _rows(piece, line):
            row.start = piece.start
            if row.continues and open_group and row.line - last_line <= 3:
                groups[-1].append(row)
                continued = True
            else:
                groups.append([row])
            open_group, last_line = True, row.line
        if not piece.display and not continued:
            # inline math ends its chain, unless it continued one ("$\\iff ...$" lines)
            open_group = False
    return groups


def _case_rows(piece: _Piece, line: int) -> list[_Row]:
    """Each row of a case distinction that states a relation, with its condition."""
    rows = []
    for case in _CASES.finditer(piece.math):
        case_line = line + piece.math.count("\n", 0, case.start())
        for raw in _split_rows(case.group(1)):
            if "&" in raw and not _top_level_relations(raw.split("&", 1)[0]):
                continue  # "x & x > 0": a value and its case, no claim (x x > 0 is none)
            row = _read_row(raw, case_line)
            if row is not None and not row.continues:
                rows.append(row)
    return rows


_DEFINING = re.compile(r"^\s*(.+?)\s*(?::=|=:|\\coloneqq|\\doteq|\\equiv|\\triangleq|=)")


def _defined_names(pieces: list[_Piece]) -> tuple[str, ...]:
    """The base names (``v`` of ``v_t``, ``f`` of ``f(x)``) every piece of math defines."""
    found: set[str] = set()
    for piece in pieces:
        for raw in _split_rows(piece.math):
            for part in _comma_parts(raw):
                text = _DROP.sub(" ", part.replace("&", " "))
                cuts = _top_level_relations(text)
                if not cuts or cuts[0][2] not in ("=", None) or any(c[2] in ("iff", "implies") for c in cuts):
                    continue
                left = text[: cuts[0][0]].strip()
                if _DECLARED.search(text):
                    continue  # W \in \mathbb{R}^{m \times n}: a shape declared, read as such (Chain.arrays)
                if left and names_a_definition(left):  # h(0) = 0 is a claim: h stays free
                    found |= base_names(left)
    return tuple(sorted(found))


def base_names(name: str) -> set[str]:
    """The names in a name written as a student writes it, without subscripts or arguments."""
    name = re.sub(r"_\{[^{}]*\}|_\\?\w+|\([^()]*\)|\^\{[^{}]*\}|\^\w", " ", name)
    words = {w.lstrip("\\") for w in re.findall(r"\\?[A-Za-z]+", name)}
    return words - {
        "mathbf",
        "boldsymbol",
        "bm",
        "hat",
        "tilde",
        "bar",
        "vec",
        "mathcal",
        "mathrm",
        "operatorname",
        "left",
        "right",
    }


def notebook_text(text: str) -> str:
    """The markdown cells of a notebook, one after another (lines count in that text)."""
    try:
        data = json.loads(text)
    except ValueError:
        return ""
    cells = data.get("cells", []) if isinstance(data, dict) else []
    parts = []
    for cell in cells:
        if isinstance(cell, dict) and cell.get("cell_type") == "markdown":
            source = cell.get("source", "")
            parts.append("".join(source) if isinstance(source, list) else str(source))
    return "\n\n".join(parts)


def _without_comments(text: str, kind: str) -> str:
    if kind == "latex":
        return re.sub(r"(?<!\\)%[^\n]*", "", text)
    return re.sub(r"<!--.*?-->", lambda m: "\n" * m.group(0).count("\n"), text, flags=re.DOTALL)


def _math_pieces(text: str) -> list[_Piece]:
    pieces: list[_Piece] = []
    taken = list(text)
    for m in _DISPLAY.finditer(text):
        body = m.group("a") or m.group("b") or m.group("c") or ""
        start = m.start("a") if m.group("a") else m.start("b") if m.group("b") else m.start("c")
        pieces.append(_Piece(body, start, True))
        for i in range(m.start(), m.end()):
            if taken[i] != "\n":
                taken[i] = " "
    rest = "".join(taken)
    for m in _INLINE.finditer(rest):
        body = m.group("a") or m.group("b") or ""
        start = m.start("a") if m.group("a") else m.start("b")
        pieces.append(_Piece(body, start, False))
    return _implications(text, sorted(pieces, key=lambda p: p.start))


# "$x^2 = 1$ implies $x^3 = x$": one claimed implication, neither of its sides a claim alone
_IMPLIES_WORD = re.compile(
    r"^\$\)?\s*(?:implies|gives|yields|leads\s+to|entails|forces)(?:\s+that)?\s*(?:\$|\\\()$", re.IGNORECASE
)
_IMPLIES = "\\implies "


def _implications(text: str, pieces: list[_Piece]) -> list[_Piece]:
    """Two inline relations joined by "implies" or "gives" read as ``A \\implies B`` (a step
    compared by solution sets), the joined piece spanning the same text as the two."""
    out: list[_Piece] = []
    for piece in pieces:
        last = out[-1] if out else None
        if last is not None and not last.display and not piece.display:
            end = last.start + len(last.math)
            between = text[end : piece.start]
            one = [len(_top_level_relations(m)) == 1 for m in (last.math, piece.math)]
            if _IMPLIES_WORD.match(between) and all(one) and len(between) >= len(_IMPLIES):
                joined = last.math + _IMPLIES.rjust(len(between)) + piece.math
                out[-1] = _Piece(joined, last.start, False)
                continue
        out.append(piece)
    return out


def _rows(piece: _Piece, line: int) -> list[_Row]:
    rows: list[_Row] = []
    offset = 0
    for raw in _split_rows(piece.math):
        row_line = line + piece.math.count("\n", 0, offset)
        offset += len(raw) + 2
        for part in _comma_parts(raw):
            row = _read_row(part, row_line)
            if row is not None:
                rows.append(row)
    return rows


def _comma_parts(raw: str) -> list[str]:
    """``a = b, c = d``: two statements, when every piece between top-level commas has a relation."""
    cuts = [m.start() for m in re.finditer(",", raw) if _depth_at(raw, m.start()) == 0]
    if not cuts:
        return [raw]
    parts, start = [], 0
    for cut in cuts:
        parts.append(raw[start:cut])
        start = cut + 1
    parts.append(raw[start:])
    commented = any(  # "a = b, \quad x > 0": a condition after it (not "\quad b = 0": a statement)
        (_SPACERS.match(p.strip()) or _COMMENT_TEXT.match(p.strip()))
        and all(r not in ("=", None) for _, _, r in _top_level_relations(p))
        for p in parts[1:]
    )
    if all(_top_level_relations(p) for p in parts) and not commented:
        return parts
    return [raw]


def _split_rows(math: str) -> list[str]:
    """Rows at top-level ``\\\\`` (inside aligned environments as well, not inside cases or matrices)."""
    math = re.sub(r"\\(?:begin|end)\{(?:" + _ENV + r")\*?\}(?:\{[^}]*\})?", " ", math)
    rows, depth, start, i = [], 0, 0, 0
    while i < len(math):
        if math.startswith("\\begin{", i):
            depth += 1
        elif math.startswith("\\end{", i):
            depth -= 1
        elif math.startswith("\\\\", i) and depth == 0:
            rows.append(math[start:i])
            i += 2
            start = i
            continue
        i += 1
    rows.append(math[start:])
    return rows


# a part's label leading a row: "(a)\ x^2 - 1 = ..." (a label), "(a) x^2 - 1 = ..." (a label or a factor)
_PART_LABEL = re.compile(r"^\s*\((?:[a-h]|i{1,3}|iv|vi{0,3}|ix)\)(?=\s*[A-Za-z0-9\\(~])")
_LABEL_SPACE = re.compile(r"\s*(?:\\[ ,;:]|\\q?quad\b|~)")


def _read_row(raw: str, line: int) -> _Row | None:
    if (label := _PART_LABEL.match(raw)) is not None:
        if (space := _LABEL_SPACE.match(raw, label.end())) is None:
            return None  # which it is is not read: no step, never a product's witness
        raw = raw[space.end() :]
    text = _DROP.sub(" ", _without_alignment(raw))
    text = re.sub(r"\\(?:left|right|big|Big|bigg|Bigg)\s*\.", " ", text)  # invisible delimiters
    text, comment, conditions = _cut_comment(text)
    if re.search(r"\bsubject\s+to\b|\bs\.\s*t\.", comment, re.IGNORECASE):
        return None  # "x^2 = 4 \quad \text{subject to } x > 0": a problem to solve, not a claim
    cuts = _top_level_relations(text)
    items: list[_Item] = []
    previous: Relation | None = None
    start = 0
    ended = restarted = False
    for pos, end, relation in cuts:
        if text.startswith((r"\xrightarrow", r"\xleftarrow"), pos):
            items, previous, start = [], None, end  # a labelled arrow between stages: read afresh after it
            restarted = True
            continue
        items.append(_Item(text[start:pos].strip(), previous))
        if relation is None:
            ended = True
            break
        previous = relation
        start = end
    if not ended:
        items.append(_Item(text[start:].strip(), previous))
    items = [_Item(_tidy(i.text), i.relation) for i in items]
    if not cuts:
        return None
    continues = items[0].text == "" and items[0].relation is None and len(items) > 1
    if continues:
        items = items[1:]
    elif (ended or restarted) and len(items) == 1:
        return None
    return _Row(items, line, continues, conditions, comment, unread=said.comment_words(comment))


_MATRIX_ENV = re.compile(r"\\(begin|end)\s*\{\s*[bpvBV]?matrix\s*\}")


def _without_alignment(text: str) -> str:
    """``&`` dropped (alignment), but kept inside a matrix, where it separates columns."""
    out, depth, at = [], 0, 0
    for m in _MATRIX_ENV.finditer(text):
        chunk = text[at : m.start()]
        out.append(chunk if depth > 0 else chunk.replace("&", " "))
        out.append(m.group(0))
        depth = depth + 1 if m.group(1) == "begin" else max(0, depth - 1)
        at = m.end()
    out.append(text[at:] if depth > 0 else text[at:].replace("&", " "))
    return "".join(out)


def _tidy(text: str) -> str:
    return text.strip().rstrip(".,;:").strip()


def _cut_comment(text: str) -> tuple[str, str, list[str]]:
    """The formula part of a row, the words after it, and the conditions those words state."""
    cut = len(text)
    for pattern in (_COMMENT_TEXT, _SPACERS):
        m = pattern.search(text)
        if m and _depth_at(text, m.start()) == 0:
            cut = min(cut, m.start())
    comma = _top_level_comma_before_condition(text)
    if comma is not None:
        cut = min(cut, comma)
    comment = text[cut:]
    return text[:cut], comment, _conditions_in_comment(comment)


def _top_level_comma_before_condition(text: str) -> int | None:
    for m in re.finditer(r",", text):
        if _depth_at(text, m.start()) == 0 and re.match(
            r",\s*(?:\\forall|\\text\s*\{|for\b|if\b|x\s*\\in|[A-Za-z](?:_\w)?\s*\\in)", text[m.start() :]
        ):
            return m.start()
    return None


def _conditions_in_comment(comment: str) -> list[str]:
    if not comment.strip():
        return []
    body = re.sub(r"\\(?:text|textrm|mbox|textnormal|mathrm)\s*\{([^}]*)\}", r" \1 ", comment)
    body = _SPACERS.sub(" , ", body.replace("\\forall", " , "))
    body = re.sub(r"\(\s*\\because\b([^()]*)\)", r" , \1 , ", body)  # (\because x > 0): since
    body = re.sub(
        r"\b(?:if|for|all|since|where|when|whenever|and|with|otherwise|any|every|each|subject\s+to"
        r"|such\s+that|given|assuming|provided)\b|\bs\.\s*t\.",
        " , ",
        body,
    )
    found = []
    for piece in body.split(","):
        piece = piece.strip().rstrip(".;:").strip()
        if re.fullmatch(r"\([^()]*\)", piece):  # "\quad (x > 0)"
            piece = piece[1:-1].strip()
        if piece and _top_level_relations(piece):
            found.append(piece)
    return found


def _depth_at(text: str, index: int) -> int:
    depth = 0
    i = 0
    while i < index:
        c = text[i]
        if text.startswith("\\begin{", i) or text.startswith("\\end{", i):
            depth += 1 if text[i + 1] == "b" else -1
            close = text.find("}", i)
            i = index if close < 0 else close + 1
            continue
        if text.startswith("\\{", i) or text.startswith("\\}", i):
            depth += 1 if text[i + 1] == "{" else -1
            i += 2
            continue
        elif c in "{([":
            depth += 1
        elif c in "})]":
            depth -= 1
        i += 1
    return depth


def _relation_at(text: str, i: int) -> tuple[int, Relation | None] | None:
    """The relation word that starts at ``i``: its end and the relation."""
    if text[i] not in _RELATION_FIRST:  # most characters start no relation: a set lookup
        return None
    for word, relation in _RELATIONS:
        if text.startswith(word, i):
            end = i + len(word)
            if word.startswith("\\") and end < len(text) and _WORD_END.match(text[end]):
                continue  # \le is not \left, \in is not \int
            if word in (r"\xrightarrow", r"\xleftarrow"):
                end = _arguments_end(text, end)  # \xrightarrow[below]{above}: labels, not math
            return end, relation
    return None


_RELATION_FIRST = frozenset(word[0] for word, _ in _RELATIONS)


def _arguments_end(text: str, at: int) -> int:
    """Past the optional ``[...]`` and the ``{...}`` that follow a command at ``at``."""
    for opening in "[{":
        m = re.match(r"\s*" + re.escape(opening), text[at:])
        if m is not None:
            end = closing(text, at + m.end() - 1)
            if end is not None:
                at = end
    return at


def _top_level_relations(text: str) -> list[tuple[int, int, Relation | None]]:
    """(start, end, relation) of every relation outside braces, brackets and environments."""
    found: list[tuple[int, int, Relation | None]] = []
    depth = 0
    i = 0
    while i < len(text):
        c = text[i]
        if text.startswith("\\begin{", i) or text.startswith("\\end{", i):
            depth += 1 if text[i + 1] == "b" else -1
            close = text.find("}", i)
            i = len(text) if close < 0 else close + 1
            continue
        if text.startswith("\\{", i) or text.startswith("\\}", i) or text.startswith("\\|", i):
            if text[i + 1] != "|":
                depth += 1 if text[i + 1] == "{" else -1
            i += 2
            continue
        if c in "{([":
            depth += 1
        elif c in "})]":
            depth -= 1
        elif depth <= 0:
            at = _relation_at(text, i)
            if at is not None:
                found.append((i, at[0], at[1]))
                i = at[0]
            else:
                i += 1
            continue
        i += 1
    return found


def _stated_conditions(text: str, pieces: list[_Piece]) -> list[tuple[int, str, int]]:
    """(line, condition, offset) for each inline piece of math that words before it mark as a
    condition; the offset is that of the first piece of math listed with it (one statement)."""
    found = []
    leader, end = -1, -100
    for start, piece in _condition_pieces(text, pieces):
        if end < 0 or not reach.listed(text[end:start]):
            leader = start  # listed with the one before ("for $x > 0$ and $x < 1$"): one statement
        end = start + len(piece.math)
        for condition in _conditions_in_math(piece.math):
            found.append((text.count("\n", 0, start) + 1, condition, leader))
    return found


# "let $k$ be an integer", "for every integer $k$", "natural numbers $m, n$": a number set in words
_SET_WORD = r"(?:(positive|non-?negative)\s+)?(integer|natural\s+number|whole\s+number)s?"
_SET_AFTER = re.compile(
    r"^\$?\)?\s*(?:is|be|are)\s+(?:an?\s+|some\s+|any\s+)?"
    + _SET_WORD
    # "an integer multiple of $\\pi$", "the integer part": not the number set
    + r"(?![\w-]|\s+(?:multiples?|parts?|powers?|combinations?|coefficients?|valued|roots?|values?)\b)",
    re.IGNORECASE,
)
_SET_BEFORE = re.compile(r"\b" + _SET_WORD + r"\s*(?:\$|\\\()?$", re.IGNORECASE)


def _number_words(text: str, pieces: list[_Piece]) -> list[tuple[int, str, int]]:
    """(line, condition, offset) of each number set a name is given in words: ``k \\in
    \\mathbb{Z}`` for an integer, ``k \\in \\mathbb{N}`` for a natural or positive integer (and
    ``k \\ge 0`` for a non-negative one), with any bound written in the math (``integers $k > 0$``)."""
    found = []
    for piece in pieces:
        if piece.display:
            continue
        before = text[max(0, piece.start - 60) : piece.start]
        m = _SET_AFTER.match(_after(text, piece)) or _SET_BEFORE.search(before)
        if m is None:
            continue
        sign, word = (m.group(1) or "").lower(), m.group(2).lower()
        natural = word.startswith("natural")  # N: shown only where it holds with 0 too
        line = text.count("\n", 0, piece.start) + 1
        bounds = _conditions_in_math(piece.math)
        names = [n.strip() for n in _tidy(piece.math).split(",")] if not bounds else []
        names += [b[: _top_level_relations(b)[0][0]].strip() for b in bounds]
        for name in names:
            if not re.fullmatch(r"[A-Za-z]", name):
                continue
            number_set = " \\in \\mathbb{N}" if natural else " \\in \\mathbb{Z}"
            found.append((line, name + number_set, piece.start))
            if sign:  # a positive integer is at least 1, a non-negative one at least 0
                found.append((line, name + (" \\ge 0" if sign.startswith("non") else " \\ge 1"), piece.start))
        found += [(line, b, piece.start) for b in bounds]
    return found


# words that turn to another case than the conditions stated before them ("If $x > 0$, ... .
# Otherwise, $$|x| = -x$$"): those conditions do not hold there, and the case is not read
# ("Else", "If not", "On the other hand", "In all other cases", "Outside this region", a later
# case's label: "Case 2", "the second case"); "for the rest of the proof" keeps the case
_OTHERWISE = re.compile(
    r"\b(?:otherwise|(?<!thing\s)(?<!one\s)(?<!body\s)(?<!what\s)else(?:wise)?|elsewhere|if\s+not|on\s+the\s+other\s+hand"
    r"|in\s+(?:the\s+|all\s+|any\s+)?(?:other|second|third|latter|remaining|opposite)\s+cases?"
    r"|(?:second|third|fourth|next|last|final|other|remaining)\s+(?:sub)?cases?"
    r"|(?:sub)?case\s*(?:[2-9]|ii|iii|iv|two|three|four)"
    r"|outside\s+(?:of\s+)?(?:this|that|the|these|those)\s+(?:region|range|interval|set|case|domain)s?"
    r"|for\s+the\s+(?:rest|remaining|others?)(?!\s+of\s+the\s+(?:proof|derivation|question|problem|section|answer)))\b",
    re.IGNORECASE,
)


def _prose(text: str, pieces: list[_Piece]) -> str:
    """The text with its math blanked (lines kept): words inside math are no prose."""
    masked = list(text)
    for piece in pieces:
        for i in range(piece.start, min(len(text), piece.start + len(piece.math))):
            if masked[i] != "\n":
                masked[i] = " "
    return "".join(masked)


# words that end every condition stated before them ("For $x > 0$ ... . In general, ...")
_GENERAL = re.compile(
    r"\b(?:in\s+general|in\s+the\s+general\s+case|in\s+every\s+case|regardless\s+of|arbitrar(?:y|ily)"
    r"|(?:without|drop(?:ping)?|remov(?:e|ing))\s+(?:this|the|that|these|those|any|all)\s+"
    r"(?:assumptions?|conditions?|hypothes[ie]s|restrictions?))\b",
    re.IGNORECASE,
)


def _condition_pieces(text: str, pieces: list[_Piece]) -> list[tuple[int, _Piece]]:
    """Inline math that the words before it mark as a condition ("for $x > 0$", "if $z < 0$")."""
    found = []
    last_end = -100
    for piece in pieces:
        if piece.display:
            continue
        before = text[max(0, piece.start - 40) : piece.start].rstrip("$( \\").rstrip()
        # "for $x > 0$ and $y < 1$", "given $a = 1$, $b = 2$": the next pieces too
        # ... but "for $x > 0$, $\\sqrt{x^2} = x$" is a condition and then a claim: a listed
        # piece is a condition only when it names or bounds something (``b = 2``, ``y < 1``)
        listed = (
            piece.start - last_end < 16
            and re.search(r"(?:\band|,|\bor)\s*$", before)
            and _bounds_a_name(piece.math)
        )
        relations = _top_level_relations(piece.math)
        # a statement with an implication in it is a derivation, not a condition ("If $z > 0$,
        # $\\sigma(z) = z \\Rightarrow \\sigma(\\sigma(z)) = \\sigma(z)$")
        stated = relations and not any(r in ("iff", "implies") for _, _, r in relations)
        worded = _CONDITION_WORDS.search(before) and not _ONLY_IF.search(before)
        worded = worded or bool(re.match(r"\s*\\because\b", piece.math))  # "$\because x > 0$": since
        if (worded or listed or _premise_after(text, piece) or _premise_sentence(text, piece)) and stated:
            found.append((piece.start, piece))
            last_end = piece.start + len(piece.math)
    return found


def _bounds_a_name(math: str) -> bool:
    """``b = 2x + 1``, ``y < 1``, ``-x_2 > 0``: a bound, or an equation with a name or a
    number on its left (an equation of two formulas after a condition is a claim)."""
    relations = _top_level_relations(math)
    if not relations:
        return False
    if not _is_equation(math):
        return True
    first = _tidy(_DROP.sub(" ", math[: relations[0][0]]))
    normed = NORM_OF.fullmatch(first.strip())
    if normed is not None:  # ||k_i|| = 1: a bound on the name; |x| = x after "x > 0" is a claim
        rest = _tidy(_DROP.sub(" ", math[relations[0][1] :]))
        return is_name(normed.group(1)) and bool(NUMBER.match(rest.strip()))
    return is_name(first) or bool(NUMBER.match(first.strip()))


def _after(text: str, piece: _Piece) -> str:
    return text[piece.start + len(piece.math) : piece.start + len(piece.math) + 60].lstrip("$)")


def _sentence_before(text: str, piece: _Piece) -> str:
    before = text[max(0, piece.start - 200) : piece.start]
    return re.split(r"[.!?;:](?:\*+|_+)?\s|\n\s*\n|^\s*[-*+]\s|\n\s*[-*+]\s", before)[-1]


def _premise_after(text: str, piece: _Piece) -> bool:
    """ "$x^2 + y^2 = 1$ holds", "... is given": a premise, unless the sentence concludes it."""
    return bool(_PREMISE_AFTER.match(_after(text, piece))) and not _CLAIM_WORDS.search(
        _sentence_before(text, piece)
    )


def _premise_sentence(text: str, piece: _Piece) -> bool:
    """ "Assume, for the rest of the proof, that $u^2 = v$": the word far before the math;
    "When $\\phi$ is ReLU, and $b = 1 - a$": one more hypothesis bounding a name (session 29)."""
    sentence = _sentence_before(text, piece)
    lead = said.PREMISE_LEAD.match(sentence) and not _past_the_premise(sentence, piece.math)
    lead = lead or (said.JOINED.match(sentence) and _bounds_a_name(piece.math))
    return bool(lead) and not _CLAIM_WORDS.search(sentence)


def _past_the_premise(sentence: str, math: str) -> bool:
    """Whether math follows the premise's clause, in the main one: "Given $x \\ge 0$, the claim is
    $|x| = x$", "Given $x \\ge 0$, $|x| = x$" (a bare comma lists one more premise only where it
    bounds a name: "Let $a = 1$, $b = 2$")."""
    sentence = sentence.rstrip("$( \\")
    last_math = max(sentence.rfind("$"), sentence.rfind("\\)"))
    between = sentence[last_math + 1 :] if last_math >= 0 else ""
    if "," not in between:
        return False
    words = between.rsplit(",", 1)[1].strip()
    if not words:
        return not _bounds_a_name(math)
    return re.fullmatch(r"(?:(?:and|or)\s+)?(?:that|also)?", words, re.IGNORECASE) is None


def _denied(text: str, piece: _Piece) -> bool:
    """ "$x^2 = 1$ does not hold": neither a premise nor a claimed step."""
    return not piece.display and bool(_DENIED_AFTER.match(_after(text, piece)))


def _conditions_in_math(math: str) -> list[str]:
    math = _DROP.sub(" ", math)
    out = []
    math = re.sub(r"\\text\s*\{[^}]*\}|\\quad|\\forall|\\because\b", ",", math)
    cuts = [m.start() for m in re.finditer(",", math) if _depth_at(math, m.start()) == 0]
    parts = [math[a + 1 if a >= 0 else 0 : b] for a, b in zip([-1, *cuts], [*cuts, len(math)], strict=True)]
    listed: list[str] = []  # "m, n \\in \\mathbb{N}", "x, y > 0": names the next relation bounds too
    for part in parts:
        part = _tidy(part)
        relations = _top_level_relations(part)
        if not relations and part.strip() and is_name(part):
            listed.append(part.strip())
            continue
        if relations and all(r in ("<", "<=", ">", ">=", "=", None) for _, _, r in relations):
            first = part[: relations[0][0]]
            if is_name(first.strip()):
                out += [name + " " + part[relations[0][0] :] for name in listed]
            out.append(part)
        listed = []
    return out


def _unread_condition_words(text: str, pieces: list[_Piece]) -> list[tuple[int, str, int]]:
    """(line, words, offset) where words state a condition grader does not read ("such that")."""
    found = []
    plain = _prose(text, pieces)
    read = [start for start, _ in _condition_pieces(text, pieces)]
    words = (
        r"\b(?:such that|provided|unless|only if|as long as|assum(?:e|es|ed|ing)|suppose"
        # a set stated in words that is not read: "$x$ is an integer multiple of $\\pi$"
        r"|multiples? of|divisible by|(?:is|are|be) (?:an? )?(?:even|odd)"
        r"|(?:even|odd) (?:integer|number)s?|mod(?:ulo)?|congruent|almost (?:everywhere|surely)"
        r"|asymptotically|approximately|roughly|up to)\b"
    )
    for m in re.finditer(words, plain, re.I):
        between = [plain[m.end() : start] for start in read if 0 <= start - m.end() <= 120]
        if m.group(0).lower() != "only if" and any(not re.search(r"[.!?;]\s|\n\s*\n", b) for b in between):
            continue  # the words lead a condition that is read ("suppose $c - d = 1$")
        found.append((text.count("\n", 0, m.start()) + 1, m.group(0), m.start()))
    for at, word in premise.sign_words(plain):
        found.append((text.count("\n", 0, at) + 1, word, at))
    return found


class _Steps:
    """The steps of a group of rows: arithmetic steps inside statements, and iff / implies
    steps between statements (a statement of one relation joined by them is not a step, nor
    are the pieces of a range joined by them: ``0 < x < 1 \\implies x^2 < x`` states no ``0 < x``)."""

    def __init__(self, logical: bool):
        self.logical = logical
        self.steps: list[Step] = []
        self.owner: list[int] = []  # the statement each step is inside (-1: an iff / implies step)
        self.count = 0  # statements started so far; the current one is ``count``
        self.operands: set[int] = set()  # statements with an order relation joined by iff / implies
        self.ranged: set[int] = set()  # statements with an order relation (<, \le, ...) in them
        self.statement: list[tuple[str, Relation | None]] = []
        self.previous: list[tuple[str, Relation | None]] | None = None
        self.pending: tuple[Relation, int] | None = None
        self.last_item: str | None = None

    def start(self, text: str) -> None:
        self.count += 1
        self.statement = [(text, None)] if text else []
        self.last_item = text or None

    def close(self) -> None:
        statement, steps = self.statement, self.steps
        single = self.logical and len(statement) == 2 and steps
        if single and (steps[-1].left, steps[-1].right) == (statement[0][0], statement[1][0]):
            steps.pop()  # one equation or inequality joined to others by iff / implies
            self.owner.pop()
        if self.pending is not None and self.previous and statement:
            relation, line = self.pending
            left, right = _statement_text(self.previous), _statement_text(statement)
            steps.append(Step(left=left, right=right, relation=relation, line=line))
            self.owner.append(-1)
            self.operands |= {self.count - 1, self.count} & self.ranged
        self.pending = None
        if statement:
            self.previous = statement
        self.statement = []

    def add(self, item: _Item, line: int) -> None:
        if item.relation in ("iff", "implies"):
            if not self.statement and self.previous is None and self.last_item is not None:
                self.statement = [(self.last_item, None)]
            self.close()
            self.pending = (item.relation, line)
            self.start(item.text)
        elif item.relation is None:
            if self.statement or self.last_item is not None:
                self.close()  # a row that starts afresh inside a continued group: a new statement
            self.start(item.text)
        else:
            left = self.last_item
            if not self.statement and left is not None:
                self.statement = [(left, None)]
            if left and item.text:
                self.steps.append(Step(left=left, right=item.text, relation=item.relation, line=line))
                self.owner.append(self.count)
            if item.relation in _ORDER:
                self.ranged.add(self.count)
            self.statement.append((item.text, item.relation))
            self.last_item = item.text or None


_ORDER = ("<", "<=", ">", ">=")
_BULLET = re.compile(r"^(\s*)(?:[-*+]|\d+[.)]|\(?[a-h]\)|\((?:i{1,3}|iv|v)\))\s")


class _Items:
    """Where a stated equation (a premise) stops applying: at the next item of the same or an
    outer level (a bullet, "(b)", "2.") or a new question; nested items inside it keep it."""

    def __init__(self, lines: list[str]):
        self.lines = lines
        self.parts = _part_labels(lines)

    def _indent(self, line: int) -> int | None:
        """The indentation of the item a line opens or belongs to (None: outside every item)."""
        for i in range(line - 1, -1, -1):
            m = _BULLET.match(self.lines[i])
            if m is not None:
                return len(m.group(1))
            if not self.lines[i].strip() and i < line - 1 and not self.lines[i + 1].startswith(" "):
                return None  # a paragraph break before an unindented line: outside the item
        return None

    def same_part(self, at: int, line: int) -> bool:
        """Does a condition stated on line ``at`` reach a chain on ``line``: not out of a part
        labelled by a letter ("(a)", "b.", "(ii)") into another one; one stated before the
        parts reaches them all, and numbered steps ("1. ... 2. ...") are one derivation."""
        if not (0 < at <= len(self.lines) and 0 < line <= len(self.lines)):
            return True
        label, other = self.parts[at - 1][1], self.parts[line - 1][1]
        lettered = label and other and not label.isdigit() and not other.isdigit()
        return not lettered or label == other

    def same(self, at: int, line: int) -> bool:
        """Does a premise stated on line ``at`` reach a chain starting on ``line``."""
        if not (0 < at <= len(self.lines) and 0 < line <= len(self.lines)):
            return True
        if at < line and self.parts[at - 1] != self.parts[line - 1]:
            return False
        own = self._indent(at)
        if own is None:
            return True
        for i in range(at, line):  # the lines after the premise's, up to the chain's own
            m = _BULLET.match(self.lines[i])
            if m is not None and len(m.group(1)) <= own:
                return False
        return True


def _is_equation(condition: str) -> bool:
    relations = _top_level_relations(condition)
    return bool(relations) and all(r in ("=", None) for _, _, r in relations)


def _as_chain(
    rows: list[_Row],
    conditions_at: list[tuple[int, str, int]],
    unread_at: list[tuple[int, str, int]],
    claims: Claims,
    items: _Items | None = None,
    resets: tuple[int, ...] = (),
    turning: tuple[tuple[int, ...], frozenset[int]] = ((), frozenset()),
    around: tuple[str, tuple[tuple[int, str], ...], tuple[tuple[str, tuple[str, ...]], ...]] = ("", (), ()),
) -> Chain | None:
    """A chain of rows, with the conditions stated near it: those before a word that ends them
    (``resets``: "in general", "without this assumption") do not reach it, nor those before a
    word of another case (``turns``: "otherwise"), which leave the chain a condition not read;
    nor those on a symbol made general again before it, those of another labelled part, and
    those after it in another clause (``around``: the prose, the resets and the sizes declared,
    :mod:`reach`)."""
    found = _Steps(logical=any(item.relation in ("iff", "implies") for row in rows for item in row.items))
    conditions: list[str] = []
    for row in rows:
        conditions += row.conditions
        for item in row.items:
            found.add(item, row.line)
    found.close()
    claimed = [s for s, at in zip(found.steps, found.owner, strict=True) if at not in found.operands]
    steps = [_without_lead_word(s) for s in _without_definitions(claimed, claims)]
    if not steps:
        return None
    recurrence = None
    if len(steps) == len(claimed) - 1 and claimed[0].relation == "=":
        rule = recurrence_of(claimed[0].left, claimed[0].right)
        recurrence = (*rule, claimed[0].line) if rule is not None else None
    line, last = rows[0].line, max(s.line for s in steps)
    reaching = [
        (at, c, start)
        for at, c, start in conditions_at
        if ((at <= line and line - at <= CONDITION_REACH) or line <= at <= last)
        and (items is None or not _is_equation(c) or items.same(at, line))
        and (items is None or items.same_part(at, line))
        and (start <= rows[-1].start or reach.own_clause(around[0], rows[-1].start, start))
    ]

    # a condition words made general again ("for all $x$", "in general"), or under another
    # question heading ("**Part 1.**"), may still be meant: not read (no witness, no proof)
    questions = [q for q, _ in items.parts] if items is not None else []
    crossed = reach.crossed(around[0], rows[0].start, reaching)
    reaching = reach.not_replaced(reaching, crossed)
    was_reset = [
        any(st < r <= rows[0].start for r in resets)
        or reach.reset(around[1], c, st, rows[0].start)
        or (at, c, st) in crossed
        or (0 < at <= len(questions) and questions[at - 1] != questions[line - 1])
        for at, c, st in reaching
    ]
    near = [found for found, reset in zip(reaching, was_reset, strict=True) if not reset]
    unread_resets = [c for (_, c, _), reset in zip(reaching, was_reset, strict=True) if reset]
    steps_text = reach.with_sizes(" ".join(f"{s.left} {s.right}" for s in steps), around[2])
    reset_conditions = reach.restricting(unread_resets, [*conditions, *(c for _, c, _ in near)], steps_text)
    turns, turns_after = turning  # words of another case; math they follow directly
    other_case = [
        c
        for _, c, start in near
        if rows[-1].start in turns_after or any(start < t <= rows[0].start for t in turns)
    ]
    conditions += reach.latest_per_symbol(
        [(start, c, reach.standing(around[0], start)) for at, c, start in near if c not in other_case]
    )
    unread = (
        tuple(  # as far as a condition read reaches: a premise in words is one too
            word
            for at, word, start in unread_at
            if not any(start < r <= rows[0].start for r in resets)
            and ((at <= line and line - at <= CONDITION_REACH) or line <= at <= last)
        )
        + tuple(w for row in rows for w in row.unread)
        + reset_conditions
        + (("otherwise",) if other_case else ())
    )
    return Chain(
        line=line,
        steps=tuple(steps),
        conditions=tuple(dict.fromkeys(conditions)),
        unread_conditions=said.about_steps(unread, " ".join(f"{s.left} {s.right}" for s in steps)),
        recurrence=recurrence,
    )


# a word that leads a row's math, not part of its formula: "\therefore A = B", "\text{Also, } A = B"
_LEAD_WORD = re.compile(
    r"^\s*(?:\\therefore|\\because|\\text\s*\{\s*(?:Here|Also|Thus|Hence|So|Then|Therefore|Finally)\s*,?\s*\}"
    r"|\d{1,2}\.\s+(?=\\))\s*"  # or an item's number before a command: "3. \frac{d}{dx_i} ..."
)


def _without_lead_word(step: Step) -> Step:
    """The step with a word that leads its first formula dropped (``\\therefore``, ``\\because``,
    ``\\text{Here, }``): a reason or a connective, not math. Kept where the formula left is a
    name (``\\therefore k' = 2``, ``\\because \\epsilon > 0``): a conclusion drawn from what
    came before, or a reason, which is neither a definition nor an identity to refute."""
    rest = _LEAD_WORD.sub("", step.left, count=1)
    if not rest.strip() or rest == step.left or is_name(rest):
        return step
    return step.model_copy(update={"left": rest})


def _statement_text(items: list[tuple[str, Relation | None]]) -> str:
    out = items[0][0]
    for text, relation in items[1:]:
        out += f" {_SHOWN.get(relation or '=', relation)} {text}"
    return out


_SHOWN = {"=": "=", "<": "<", ">": ">", "<=": "\\le", ">=": "\\ge", "approx": "\\approx"}


def _without_definitions(steps: list[Step], claims: Claims) -> list[Step]:
    """Steps of a derivation: not a definition (``y = ...``, ``f(x) = ...`` as its first
    step, names.defines) nor a condition (``x > 0``, ``0 \\le x \\le 1``: names and numbers only)."""
    order = {"<", "<=", ">", ">="}
    if steps and all(
        s.relation in order
        and all(
            (is_name(t) and not applies_declared(t, claims.declared)) or NUMBER.match(t.strip())
            for t in (s.left, s.right)
        )
        for s in steps
    ):
        return []
    if steps and steps[0].relation == "=" and defines(steps[0].left, claims):
        return steps[1:]
    return steps
