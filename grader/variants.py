"""Parameters of a problem set and the variant each student is given (issue 51).

A problem set, or one of its questions, may declare ``parameters:`` (a name and a domain
each) and ``where:`` constraints between them. A question's names are its own: put into that
question only, and known to the set as ``question.name`` (``q2.k``) in a variant's id and in
``pinned``; a question's name that is also the set's is refused. A *variant* is one value
per parameter. It is put into the set's questions before they are read: ``{a}`` in
prompts and other prose becomes the value, and a parameter's name inside a formula (a
reference, a listed mistake, a network's target, a shape, a domain, a code part's cases)
is replaced in the formula's parse tree by the exact value, and the tree written back as
text. Nothing is evaluated with Python: formulas and constraints go through :mod:`grader.mathlang`.

A student's variant is drawn from an HMAC of the assignment and the student id under
a secret key, so a re-run, a regrade and a TA see the same one; a TA can pin one.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Annotated, Any

from pydantic import Field, ValidationError, field_validator, model_validator

from grader.core.parts import Strict
from grader.mathlang import ast
from grader.mathlang.errors import MathError
from grader.mathlang.parser import dump, parse
from grader.mathlang.render import to_text

NAME = re.compile(r"^[A-Za-z][A-Za-z0-9]*$")
SCOPED_NAME = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z][A-Za-z0-9]*$")  # q2.k: a question's parameter
MAX_PARAMETERS = 12
MAX_CHOICES = 1000
MAX_MAGNITUDE = 10**6  # the ends of an integer range, numerators and denominators
MAX_CONSTRAINT_CHARS = 500
# Up to this many combinations the domain is enumerated: validate tries every variant and a
# student's is picked among the ones the constraints allow; past it, a variant is drawn.
ENUMERATED_VARIANTS = 5000
DRAW_ATTEMPTS = 500
WHERE_FUNCTIONS = ("gcd", "abs", "min", "max", "mod", "floor")
# Keys whose strings are prose: only ``{a}`` is replaced. Keys whose strings are kept as written.
TEXT_KEYS = frozenset({"prompt", "title", "feedback", "note", "ta_note", "text", "signature", "options"})
VERBATIM_KEYS = frozenset(
    {"id", "type", "mode", "framework", "scoring", "proof", "dtype", "entry", "given", "harness", "input"}
)
VERBATIM_OF_TYPE = {"code": frozenset({"answer"}), "choice": frozenset({"answer"}), "text": frozenset()}
TEXT_OF_TYPE = {"text": frozenset({"answer"})}
FLOAT_KEYS = frozenset({"rtol", "atol", "points", "time_limit", "epsilon"})
DIMENSION_KEYS = frozenset({"params", "arrays", "shape", "sizes"})
QUESTION_BLOCK = ("parameters", "where")  # a question's own parameters: read, then dropped
PLACEHOLDER = re.compile(r"\{([A-Za-z][A-Za-z0-9]*)\}")

Value = Fraction | str  # a number, or a symbol's name (symbol domains)
Bound = Annotated[int, Field(ge=-MAX_MAGNITUDE, le=MAX_MAGNITUDE)]


class VariantError(ValueError):
    """A parameter block that cannot be used, or a variant that cannot be built."""


class IntegerDomain(Strict):
    """``{integer: [2, 9]}``: every whole number from the first to the last."""

    integer: tuple[Bound, Bound]

    @field_validator("integer")
    @classmethod
    def _ordered(cls, ends: tuple[int, int]) -> tuple[int, int]:
        if ends[0] > ends[1]:
            raise ValueError(f"[{ends[0]}, {ends[1]}] is empty: give the lower end first")
        return ends

    def values(self) -> list[Value]:
        return [Fraction(n) for n in range(self.integer[0], self.integer[1] + 1)]

    def size(self) -> int:
        return self.integer[1] - self.integer[0] + 1


class ChoiceDomain(Strict):
    """``{choice: [1/2, 1/3, 2/3]}``: exact numbers, each read by the math language."""

    choice: tuple[int | str, ...] = Field(min_length=1, max_length=MAX_CHOICES)

    @field_validator("choice")
    @classmethod
    def _numbers(cls, items: tuple[int | str, ...]) -> tuple[int | str, ...]:
        values = [exact_number(str(item)) for item in items]
        if len(set(values)) != len(values):
            raise ValueError("a value is listed twice")
        return items

    def values(self) -> list[Value]:
        return [exact_number(str(item)) for item in self.choice]

    def size(self) -> int:
        return len(self.choice)


class RationalRange(Strict):
    numerator: tuple[Bound, Bound]
    denominator: tuple[Annotated[int, Field(ge=1, le=MAX_MAGNITUDE)], Annotated[int, Field(ge=1, le=1000)]]


class RationalDomain(Strict):
    """``{rational: {numerator: [1, 5], denominator: [2, 6]}}``: every p/q in lowest terms."""

    rational: RationalRange

    def values(self) -> list[Value]:
        (p0, p1), (q0, q1) = self.rational.numerator, self.rational.denominator
        return sorted({Fraction(p, q) for p in range(p0, p1 + 1) for q in range(q0, q1 + 1)})

    def size(self) -> int:
        (p0, p1), (q0, q1) = self.rational.numerator, self.rational.denominator
        return max(0, p1 - p0 + 1) * max(0, q1 - q0 + 1)


class SymbolListDomain(Strict):
    """``{symbol: [n, m, k]}``: a name, for shapes and formulas written in symbols."""

    symbol: tuple[str, ...] = Field(min_length=1, max_length=MAX_CHOICES)

    @field_validator("symbol")
    @classmethod
    def _names(cls, names: tuple[str, ...]) -> tuple[str, ...]:
        for name in names:
            if not NAME.match(name):
                raise ValueError(f"{name!r} is not a symbol's name (letters, then letters or digits)")
        if len(set(names)) != len(names):
            raise ValueError("a symbol is listed twice")
        return names

    def values(self) -> list[Value]:
        return list(self.symbol)

    def size(self) -> int:
        return len(self.symbol)


Domain = IntegerDomain | ChoiceDomain | RationalDomain | SymbolListDomain


class Parameters(Strict):
    """The ``parameters:``, ``where:`` and ``pinned:`` of a problem set, with its questions'
    own (``q2.k``, and each question's ``where`` in ``scoped_where``)."""

    parameters: dict[str, Domain] = Field(min_length=1, max_length=MAX_PARAMETERS)
    where: tuple[Annotated[str, Field(max_length=MAX_CONSTRAINT_CHARS)], ...] = ()
    pinned: dict[str, dict[str, int | str]] = Field(default_factory=dict)
    scoped_where: dict[str, tuple[Annotated[str, Field(max_length=MAX_CONSTRAINT_CHARS)], ...]] = Field(
        default_factory=dict
    )

    @field_validator("parameters")
    @classmethod
    def _names(cls, domains: dict[str, Domain]) -> dict[str, Domain]:
        for name in domains:
            if not NAME.match(name) and not SCOPED_NAME.match(name):
                raise ValueError(f"parameter {name!r}: a name is letters, then letters or digits")
        return domains

    @model_validator(mode="after")
    def _constraints_read(self) -> Parameters:
        for text in self.where:
            tree = _parse_constraint(text)
            unknown = sorted(ast.free_names(tree) - set(self.parameters))
            if unknown:
                raise ValueError(f"where {text!r}: {', '.join(unknown)} is not a parameter")
        for question, texts in self.scoped_where.items():
            known = set(Variant(dict.fromkeys(self.parameters, Fraction(0))).within(question).values)
            for text in texts:
                unknown = sorted(ast.free_names(_parse_constraint(text)) - known)
                if unknown:
                    raise ValueError(f"{question}: where {text!r}: {', '.join(unknown)} is not a parameter")
        for student, values in self.pinned.items():
            self.variant_of(values, f"pinned variant of {student}")
        return self

    def names(self) -> list[str]:
        return list(self.parameters)

    def size(self) -> int:
        return math.prod(domain.size() for domain in self.parameters.values())

    def enumerable(self) -> bool:
        return self.size() <= ENUMERATED_VARIANTS

    def allowed(self, values: Mapping[str, Value]) -> str | None:
        """None when the values meet every ``where``; else the constraint they break."""
        for text in self.where:
            if not _holds(_parse_constraint(text), values):
                return text
        for question, texts in self.scoped_where.items():
            own = Variant(values).within(question).values
            for text in texts:
                if not _holds(_parse_constraint(text), own):
                    return f"{question}: {text}"
        return None

    def all_variants(self) -> list[Variant]:
        """Every variant the constraints allow, in domain order (an enumerable domain only)."""
        names = self.names()
        found = []
        for combination in itertools.product(*(d.values() for d in self.parameters.values())):
            values = dict(zip(names, combination, strict=True))
            if self.allowed(values) is None:
                found.append(Variant(values))
        return found

    def extremes(self) -> list[Variant]:
        """The variants at the ends of every domain (each combination of first and last
        values) that the constraints allow."""
        # the first and the last value (-1 picks the last), a range of integers not built
        ends = [sorted({_pick(d, 0)[0], _pick(d, -1)[0]}, key=str) for d in self.parameters.values()]
        names = self.names()
        found = []
        for combination in itertools.product(*ends):
            values = dict(zip(names, combination, strict=True))
            if self.allowed(values) is None:
                found.append(Variant(values))
        return found

    def variant_of(self, given: Mapping[str, int | str], what: str = "variant") -> Variant:
        """The variant a TA wrote (``{a: 3, b: 1/2}``), checked against domains and constraints."""
        missing = sorted(set(self.parameters) - set(given))
        extra = sorted(set(given) - set(self.parameters))
        if missing or extra:
            raise VariantError(f"{what}: give exactly the parameters {', '.join(self.names())}")
        values: dict[str, Value] = {}
        for name, domain in self.parameters.items():
            text = str(given[name]).strip()
            value: Value = text if isinstance(domain, SymbolListDomain) else exact_number(text)
            if value not in domain.values():
                raise VariantError(f"{what}: {name} = {text} is outside its domain")
            values[name] = value
        broken = self.allowed(values)
        if broken is not None:
            raise VariantError(f"{what}: breaks where {broken!r}")
        return Variant(values)

    def draw(self, key: bytes, assignment: str, student: str) -> Variant:
        """The student's variant: pinned, else picked by an HMAC of the assignment and the id."""
        if student in self.pinned:
            return self.variant_of(self.pinned[student], f"pinned variant of {student}")
        if self.enumerable():
            variants = self.all_variants()
            if not variants:
                raise VariantError("no variant meets every where constraint")
            return variants[_digest(key, assignment, student, 0) % len(variants)]
        names = self.names()
        for attempt in range(DRAW_ATTEMPTS):
            stream = _digest(key, assignment, student, attempt)
            values: dict[str, Value] = {}
            for name in names:
                values[name], stream = _pick(self.parameters[name], stream)
            if self.allowed(values) is None:
                return Variant(values)
        raise VariantError(f"no variant met every where constraint in {DRAW_ATTEMPTS} draws")


def _pick(domain: Domain, stream: int) -> tuple[Value, int]:
    """The value of ``domain`` that ``stream`` picks (``values()[stream % count]``) and what is
    left of the stream (``stream // count``), without building a range of integers: a draw
    from [1, 100000] makes one Fraction, not a hundred thousand."""
    if isinstance(domain, IntegerDomain):
        count = domain.size()
        return Fraction(domain.integer[0] + stream % count), stream // count
    choices = domain.values()
    return choices[stream % len(choices)], stream // len(choices)


@dataclass(frozen=True)
class Variant:
    """One value per parameter."""

    values: Mapping[str, Value]

    @property
    def id(self) -> str:
        """``a=3,b=1/2``: readable, stable, and the same for the same values."""
        return ",".join(f"{name}={value}" for name, value in self.values.items())

    def text(self, name: str) -> str:
        return str(self.values[name])

    def within(self, question: str) -> Variant:
        """The values a question sees: the set's, and its own by their short names."""
        prefix = f"{question}."
        values = {name: value for name, value in self.values.items() if "." not in name}
        values |= {name[len(prefix) :]: v for name, v in self.values.items() if name.startswith(prefix)}
        return Variant(values)


def _digest(key: bytes, assignment: str, student: str, attempt: int) -> int:
    import hashlib  # here: grader check starts without hashlib (tests/test_cli.py)
    import hmac

    message = f"{assignment}\x00{student}\x00{attempt}".encode()
    return int.from_bytes(hmac.new(key, message, hashlib.sha256).digest(), "big")


def exact_number(text: str) -> Fraction:
    """An exact rational written by a TA (``3``, ``-1/2``, ``0.25``), read by the math language."""
    try:
        tree = parse(text)
        value = _exact(tree, {})
    except (MathError, VariantError) as exc:
        raise VariantError(f"{text!r} is not an exact number: {exc}") from None
    return value


# -- constraints: a small exact evaluator over the math language's tree ---------


def _parse_constraint(text: str) -> ast.Node:
    try:
        return parse(text.replace("==", "="), functions=WHERE_FUNCTIONS)
    except MathError as exc:
        raise VariantError(f"where {text!r} cannot be read: {exc}") from None


def _holds(tree: ast.Node, values: Mapping[str, Value]) -> bool:
    match tree:
        case ast.Relation(op=op, left=left, right=right):
            one, other = _exact(left, values), _exact(right, values)
            return {
                "=": one == other,
                "!=": one != other,
                "<": one < other,
                "<=": one <= other,
                ">": one > other,
                ">=": one >= other,
            }[op]
        case ast.Logic(op="and", operands=operands):
            return all(_holds(o, values) for o in operands)
        case ast.Logic(op="or", operands=operands):
            return any(_holds(o, values) for o in operands)
        case ast.Logic(op="not", operands=(operand,)):
            return not _holds(operand, values)
    raise VariantError(f"{to_text(tree)} is not a condition (write a comparison such as a < b)")


def _exact(tree: ast.Node, values: Mapping[str, Value]) -> Fraction:
    match tree:
        case ast.Num(value=value):
            return value
        case ast.Sym(name=name) if name in values:
            given = values[name]
            if isinstance(given, str):
                raise VariantError(f"{name} is a symbol, not a number")
            return given
        case ast.Neg(operand=operand):
            return -_exact(operand, values)
        case ast.BinOp(op="+", left=left, right=right):
            return _exact(left, values) + _exact(right, values)
        case ast.BinOp(op="-", left=left, right=right):
            return _exact(left, values) - _exact(right, values)
        case ast.BinOp(op="/", left=left, right=right):
            divisor = _exact(right, values)
            if divisor == 0:
                raise VariantError("division by zero")
            return _exact(left, values) / divisor
        case ast.BinOp(op="^", left=left, right=right):
            return _power(_exact(left, values), _exact(right, values))
        case ast.BinOp(op=op, left=left, right=right) if op in ast.PRODUCT_KINDS:
            return _exact(left, values) * _exact(right, values)
        case ast.Call(name=name, args=args) if name in WHERE_FUNCTIONS:
            return _call(name, [_exact(arg, values) for arg in args])
    raise VariantError(f"{to_text(tree)} has no exact value here")


def _power(base: Fraction, exponent: Fraction) -> Fraction:
    if exponent.denominator != 1 or abs(exponent) > 64 or (base == 0 and exponent < 0):
        raise VariantError("a power is a whole exponent from -64 to 64 of a nonzero base")
    return base ** int(exponent)


def _call(name: str, args: list[Fraction]) -> Fraction:
    if name in ("abs", "floor") and len(args) == 1:
        return abs(args[0]) if name == "abs" else Fraction(math.floor(args[0]))
    if name in ("min", "max") and args:
        return min(args) if name == "min" else max(args)
    if len(args) == 2 and all(a.denominator == 1 for a in args):
        one, other = int(args[0]), int(args[1])
        if name == "gcd":
            return Fraction(math.gcd(one, other))
        if name == "mod" and other != 0:
            return Fraction(one % other)
    raise VariantError(f"{name} of {', '.join(map(str, args))} is not defined here")


# -- putting a variant into the questions ---------------------------------------


def substitute_questions(questions: Any, variant: Variant, *, prose: bool = True) -> Any:
    """The raw ``questions`` of a problem file with the variant put in (see the module doc);
    with ``prose=False`` only into formulas, the prose keeping its ``{a}``."""
    return _put(questions, variant, prose)[0]


def degenerate(questions: Any, variant: Variant) -> list[str]:
    """Why the variant is not well posed: a zero denominator, coinciding breakpoints, a
    dimension below 1 (found in its formulas); empty when none is found."""
    return _put(questions, variant, True)[1]


def _put(questions: Any, variant: Variant, prose: bool) -> tuple[Any, list[str]]:
    if not isinstance(questions, list):
        return questions, []
    put = _Putting(variant, prose)
    return [put.question(q) if isinstance(q, dict) else q for q in questions], put.problems


@dataclass
class _Putting:
    variant: Variant
    prose: bool
    problems: list[str] = field(default_factory=list)
    where: str = ""  # the part being filled, for problems

    def question(self, question: dict[str, Any]) -> dict[str, Any]:
        whole = self.variant
        self.variant = whole.within(str(question.get("id")))
        try:
            question = {k: v for k, v in question.items() if k not in QUESTION_BLOCK}
            parts = question.get("parts")
            if not isinstance(parts, list):
                return self.part(question, str(question.get("id")))
            out = {k: self.value(k, v, None, {}) for k, v in question.items() if k != "parts"}
            out["parts"] = [
                self.part(p, f"{question.get('id')}.{p.get('id')}") if isinstance(p, dict) else p
                for p in parts
            ]
            return out
        finally:
            self.variant = whole

    def part(self, part: dict[str, Any], where: str) -> dict[str, Any]:
        part_type = str(part.get("type"))
        context = _formula_context(part)
        self.where = where
        out = {}
        for key, value in part.items():
            if key in VERBATIM_KEYS or key in VERBATIM_OF_TYPE.get(part_type, ()):
                out[key] = value
            elif key in TEXT_OF_TYPE.get(part_type, ()):
                out[key] = self.value("text", value, None, context)
            else:
                out[key] = self.value(key, value, key, context)
        return out

    def value(self, key: str, value: Any, top_key: str | None, context: Mapping[str, tuple[str, ...]]) -> Any:
        if isinstance(value, dict):
            if key in VERBATIM_KEYS:
                return value
            inner = (lambda k: "text") if key in TEXT_KEYS else (lambda k: k)
            return {k: self.value(inner(k), v, top_key, context) for k, v in value.items()}
        if isinstance(value, list):
            return [self.value(key, item, top_key, context) for item in value]
        if not isinstance(value, str) or key in VERBATIM_KEYS:
            return value
        if key in TEXT_KEYS:
            return substitute_text(value, self.variant) if self.prose else value
        put, problems = _substitute_formula(value, self.variant, top_key, context)
        if top_key in DIMENSION_KEYS and isinstance(put, int) and put < 1:
            problems.append(f"a dimension ({value}) is {put}: the shape does not fit")
        self.problems += [f"{self.where}: {problem}" for problem in problems]
        return put


def _formula_context(part: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
    """The names a part declares, so its formulas are read as the checker reads them."""
    symbols: tuple[str, ...] = ()
    functions: tuple[str, ...] = ()
    for key in ("symbols", "arrays", "params", "functions", "let", "constants"):
        names = part.get(key)
        if isinstance(names, dict):
            if key == "functions":
                functions += tuple(str(n) for n in names)
            else:
                symbols += tuple(str(n) for n in names)
    for key in ("variables", "input"):
        names = part.get(key)
        if isinstance(names, str):
            symbols += (names,)
        elif isinstance(names, list):
            symbols += tuple(str(n) for n in names)
    return {"symbols": symbols, "functions": functions}


def substitute_text(text: str, variant: Variant) -> str:
    """``{a}`` replaced by a's value; other braces (LaTeX's) are left alone."""

    def value_of(match: re.Match[str]) -> str:
        name = match.group(1)
        return variant.text(name) if name in variant.values else match.group(0)

    return PLACEHOLDER.sub(value_of, text)


def _substitute_formula(
    text: str, variant: Variant, top_key: str | None, context: Mapping[str, tuple[str, ...]]
) -> tuple[Any, list[str]]:
    """The formula with the variant put in (as text, or a number when it is one), and what
    makes it degenerate."""
    names = set(variant.values)
    symbols = (*context.get("symbols", ()), *names)
    functions = context.get("functions", ())
    try:
        tree = parse(text, symbols=symbols, functions=functions)
    except MathError:
        return text, []  # not a formula: words, code; nothing to put in
    if not ast.free_names(tree) & names:
        return text, []
    replaced = _replace(tree, variant)
    written = _written(replaced)
    try:
        same = dump(parse(written, symbols=symbols, functions=functions)) == dump(replaced)
    except MathError:
        same = False
    if not same:
        raise VariantError(f"the parameters cannot be put into {text!r} (variant {variant.id})")
    problems = _zero_denominators(replaced, text) + _coinciding_breakpoints(tree, variant, text)
    if ast.free_names(replaced):
        return written, problems
    try:
        value = _exact(replaced, {})
    except VariantError:
        return written, problems
    if top_key in FLOAT_KEYS:
        return float(value), problems
    return (int(value) if value.denominator == 1 else str(value)), problems


def _written(tree: ast.Node) -> str:
    """The tree as text the parser reads back to it (a shape's tuple keeps its parentheses)."""
    if isinstance(tree, ast.TupleLit):
        return "(" + ", ".join(to_text(item) for item in tree.items) + ")"
    return to_text(tree)


def _zero_denominators(tree: ast.Node, text: str) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.BinOp) and node.op == "/" and not ast.free_names(node.right):
            with contextlib.suppress(VariantError):
                if _exact(node.right, {}) == 0:
                    found.append(f"{text!r} divides by zero ({to_text(node.right)} = 0)")
    return found


def _coinciding_breakpoints(tree: ast.Node, variant: Variant, text: str) -> list[str]:
    """Breakpoints of a piecewise formula written apart (``-a``, ``a``) that the values make equal."""
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Piecewise):
            continue
        seen: dict[Fraction, str] = {}
        for bound in _breakpoints(node, set(variant.values)):
            try:
                value = _exact(_replace(bound, variant), {})
            except VariantError:
                continue
            first = seen.setdefault(value, to_text(bound))
            if first != to_text(bound):
                found.append(f"{text!r}: the breakpoints {first} and {to_text(bound)} coincide at {value}")
    return found


def _breakpoints(tree: ast.Piecewise, parameters: set[str]) -> list[ast.Node]:
    """The sides of the piecewise's conditions written in numbers and parameters only."""
    sides = []
    for _, condition in tree.cases:
        for node in ast.walk(condition):
            if isinstance(node, ast.Relation):
                sides += [side for side in (node.left, node.right) if ast.free_names(side) <= parameters]
    return sides


def _replace(tree: ast.Node, variant: Variant) -> ast.Node:
    """The tree with every parameter's symbol replaced by its value."""
    if isinstance(tree, ast.Sym) and tree.name in variant.values:
        return value_node(variant.values[tree.name], tree.pos)
    fields = {}
    for name, current in vars(tree).items():
        fields[name] = _replace_field(current, variant)
    return type(tree)(**fields)


def _replace_field(current: Any, variant: Variant) -> Any:
    if isinstance(current, ast.Node):
        return _replace(current, variant)
    if isinstance(current, tuple):
        return tuple(_replace_field(item, variant) for item in current)
    return current


def value_node(value: Value, pos: int = 0) -> ast.Node:
    """The tree of an exact value: ``3``, ``-(3)``, ``1/2``, or a symbol."""
    if isinstance(value, str):
        return ast.Sym(pos, value)
    magnitude = abs(value)
    node: ast.Node = ast.Num(pos, Fraction(magnitude.numerator))
    if magnitude.denominator != 1:
        node = ast.BinOp(pos, "/", node, ast.Num(pos, Fraction(magnitude.denominator)))
    return ast.Neg(pos, node) if value < 0 else node


def variants_to_check(parameters: Parameters, sample: int, key: bytes = b"validate") -> list[Variant]:
    """Every variant of an enumerable domain; else every extreme and a drawn sample."""
    if parameters.enumerable():
        return parameters.all_variants()
    chosen = {v.id: v for v in parameters.extremes()}
    for index in range(sample * 4):
        if len(chosen) >= sample + len(parameters.extremes()):
            break
        try:
            drawn = parameters.draw(key, "validate", f"sample-{index}")
        except VariantError:
            break
        chosen.setdefault(drawn.id, drawn)
    return list(chosen.values())


def read_parameters(data: Mapping[str, Any]) -> Parameters:
    """The parameter block of a raw problem file (``parameters``, ``where``, ``pinned``), with
    its questions' own parameters as ``question.name``."""
    block = {k: data[k] for k in ("parameters", "where", "pinned") if k in data}
    scoped = question_parameters(data.get("questions"), block.get("parameters"))
    if scoped:
        block["parameters"] = {**(block.get("parameters") or {}), **scoped[0]}
        block["scoped_where"] = scoped[1]
    try:
        return Parameters.model_validate(block)
    except ValidationError as exc:
        raise VariantError("; ".join(_one_error(e) for e in exc.errors())) from None


def has_question_parameters(data: Mapping[str, Any]) -> bool:
    questions = data.get("questions")
    return isinstance(questions, list) and any(
        isinstance(q, dict) and any(k in q for k in QUESTION_BLOCK) for q in questions
    )


def question_parameters(questions: Any, shared: Any) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """The questions' own ``parameters`` (as ``question.name``) and ``where`` of a raw file;
    None when no question declares any. A name the set declares too is refused."""
    domains: dict[str, Any] = {}
    where: dict[str, Any] = {}
    for question in questions if isinstance(questions, list) else []:
        if not isinstance(question, dict) or not any(k in question for k in QUESTION_BLOCK):
            continue
        qid = str(question.get("id"))
        own = question.get("parameters")
        if not isinstance(own, dict) or not own:
            raise VariantError(f"{qid}: a question's where needs its parameters: (a name and a domain each)")
        for name, domain in own.items():
            if isinstance(shared, dict) and name in shared:
                raise VariantError(
                    f"{qid}: parameter {name!r} is also the set's: rename one "
                    "(a question's names are its own)"
                )
            domains[f"{qid}.{name}"] = domain
        texts = question.get("where", ())
        where[qid] = tuple(texts) if isinstance(texts, list | tuple) else (texts,)
    return (domains, where) if domains else None


def _one_error(error: Any) -> str:
    where = ".".join(str(step) for step in error["loc"] if not str(step).endswith("Domain"))
    return f"{where}: {error['msg'].removeprefix('Value error, ')}"


def parameter_values(variants: Sequence[Variant], name: str) -> Iterator[Value]:
    for variant in variants:
        yield variant.values[name]


def roster_students(text: str) -> list[str]:
    """The student ids of a roster CSV: its ``student``, ``folder`` or ``id`` column, else its first."""
    import csv

    rows = [row for row in csv.reader(text.splitlines()) if any(cell.strip() for cell in row)]
    if not rows:
        raise ValueError("the roster is empty")
    header = [cell.strip().lower() for cell in rows[0]]
    column = next((header.index(name) for name in ("student", "folder", "id") if name in header), None)
    body = rows[1:] if column is not None else rows
    column = column or 0
    return [row[column].strip() for row in body if len(row) > column and row[column].strip()]
