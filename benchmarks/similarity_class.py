# ruff: noqa: E501  (tables of the students' phrasings and code choices, one a line)
"""A synthetic class for ``grader similar``: honest sheets, and copies planted with disguises.

The class answers 11 parts of the shipped set ``problems/approximation-backprop-cifar.yaml``:
six code parts (q10, q11), two formulas (q2, q8.gradient) and three write-ups (q4.kinks_bound,
q5.b, q12). An honest student writes each answer their own way: the code from a handful of
choices at every statement (API, intermediate names, order, checks), their own names; the
formulas right, or with a slip (common ones, and their own); the prose in their own words
(sentences from a pool of phrasings, words from pools of synonyms), in LaTeX or plain math.

A planted copy takes another student's sheet and disguises it: names renamed, statements and
functions reordered, comments and blank lines added, formulas re-typeset (``\\frac{a}{b}`` for
``a/b``, ``\\cdot`` for ``*``, ``\\mathbf{W}`` for ``W``), prose reworded (a third of its words
swapped for synonyms). A half copy copies every other part and writes the rest itself.
"""

from __future__ import annotations

import builtins
import functools
import keyword
import operator
import random
import re
from dataclasses import dataclass, field
from typing import Any

PROBLEM_SET = "problems/approximation-backprop-cifar.yaml"
CODE_PARTS = (
    "q10.linear_forward",
    "q10.linear_backward",
    "q10.relu_backward",
    "q10.cross_entropy_backward",
    "q11.sgd_step",
    "q11.evaluate",
)
FORMULA_PARTS = ("q2", "q8.gradient")
PROSE_PARTS = ("q4.kinks_bound", "q5.b", "q12")
PARTS = CODE_PARTS + FORMULA_PARTS + PROSE_PARTS

_NAMES = [
    "out", "res", "result", "y", "z", "tmp", "acc", "val", "h", "a", "g", "grad", "d", "delta", "w", "m",
    "total", "count", "n", "k", "s", "p", "q", "r", "u", "v", "buf", "step", "item", "cur",
]  # fmt: skip


_BUILTIN_NAMES = frozenset(dir(builtins))  # ``as``, ``vars``: no student's variable (``as = 0`` is no Python)


def _pick(rng: random.Random, *options: str) -> str:
    return rng.choice(options)


def _name(rng: random.Random, used: set[str]) -> str:
    while True:
        name = rng.choice(_NAMES) + rng.choice(["", "", "_", "2", "_val", "_t", "s"])
        name = name.rstrip("_")
        if name not in used and not keyword.iskeyword(name) and name not in _BUILTIN_NAMES:
            used.add(name)
            return name


# ---- code -------------------------------------------------------------------------------


def _matmul(rng: random.Random, a: str, b: str) -> str:
    return _pick(rng, f"torch.matmul({a}, {b})", f"{a} @ {b}", f"{a}.mm({b})", f"torch.mm({a}, {b})")


def _transpose(rng: random.Random, a: str) -> str:
    return _pick(rng, f"{a}.T", f"{a}.t()", f"{a}.transpose(0, 1)", f"torch.transpose({a}, 0, 1)")


def _own_lines(rng: random.Random, x: str, used: set[str]) -> list[str]:
    """Lines a student writes their own way: sizes unpacked, constants named, checks, views.
    Each student picks a few, in their own order."""
    a, b = _name(rng, used), _name(rng, used)
    pool = [
        f"{a}, {b} = {x}.shape[0], {x}.shape[-1]",
        f"{a} = {x}.shape[0]",
        f"{a} = {x}.size(0)",
        f"{a} = len({x})",
        f"{b} = {x}.numel() // max(1, len({x}))",
        f"{b} = 1e-12",
        f"{b} = 1.0",
        f"{b} = {x}.device",
        f"{b} = {x}.dtype",
        f"{x} = {x}.reshape({x}.shape[0], -1)",
        f"{x} = {x}.view(len({x}), -1)",
        f"{x} = {x}.to(torch.float32)",
        f"{x} = {x}.detach()",
        f"assert {x}.ndim >= 1, 'bad input'",
        f"assert isinstance({x}, torch.Tensor)",
        f"if {x}.dim() == 1:\n    {x} = {x}.unsqueeze(0)",
        f"if not {x}.is_contiguous():\n    {x} = {x}.contiguous()",
        f"{a} = {x}.shape\n{b} = {a}[0] if {a} else 0",
        f"print({x}.shape) if False else None",
        f"{a} = torch.zeros(1)",
        f"{a} = [{x}.shape[i] for i in range({x}.dim())]",
        f"{b} = sum([1 for _ in range(3)])",
        f"{a} = {x}.mean().item() if {x}.numel() else 0.0",
        f"{b} = torch.is_floating_point({x})",
    ]
    lines = []
    for chosen in rng.sample(pool, rng.randint(2, 4)):
        lines += chosen.split("\n")
    return lines


def _checks(rng: random.Random, x: str) -> list[str]:
    return rng.sample(
        [
            f"assert {x}.dim() == 2",
            f"assert {x}.shape[0] > 0",
            f"{x} = {x}.float()",
            f"{x} = {x}.contiguous()",
            f"assert not torch.isnan({x}).any()",
        ],
        rng.randint(0, 2),
    )


def linear_forward(rng: random.Random) -> str:
    used: set[str] = set()
    x = _pick(rng, "x", "inp", "batch", "X")
    lines = [f"def forward(self, {x}):"]
    body = _checks(rng, x)
    product = _matmul(rng, x, _transpose(rng, "self.weight"))
    if rng.random() < 0.5:
        o = _name(rng, used)
        body.append(f"{o} = {product}")
        body.append(
            _pick(rng, f"{o} = {o} + self.bias", f"{o} += self.bias", f"{o} = {o} + self.bias[None, :]")
        )
        body.append(f"return {o}")
    else:
        body.append(f"return {product} + self.bias")
    return "\n".join(lines + ["    " + b for b in body]) + "\n"


def linear_backward(rng: random.Random) -> str:
    used: set[str] = set()
    g = _pick(rng, "dLdout", "grad", "dout", "g", "upstream")
    x = _name(rng, used)
    body = [_pick(rng, f"{x} = self.inputs[0]", f"({x},) = self.inputs", f"{x} = self.inputs[-1]")]
    body += _checks(rng, g)
    w = f"self.weight.grad = {_matmul(rng, _transpose(rng, g), x)}"
    b = _pick(
        rng,
        f"self.bias.grad = {g}.sum(0)",
        f"self.bias.grad = {g}.sum(dim=0)",
        f"self.bias.grad = torch.sum({g}, 0)",
    )
    d = _name(rng, used)
    back = f"{d} = {_matmul(rng, g, 'self.weight')}"
    stmts = [w, b, back]
    rng.shuffle(stmts)
    body += stmts
    body.append(f"return {d}")
    return "\n".join([f"def backward(self, {g}):"] + ["    " + s for s in body]) + "\n"


def relu_backward(rng: random.Random) -> str:
    used: set[str] = set()
    g = _pick(rng, "dLdout", "grad", "dout", "g")
    x = _name(rng, used)
    mask = _name(rng, used)
    body = [_pick(rng, f"{x} = self.inputs[0]", f"({x},) = self.inputs")]
    body += _checks(rng, g)
    body.append(
        _pick(rng, f"{mask} = ({x} > 0).float()", f"{mask} = {x}.gt(0).to({g}.dtype)", f"{mask} = torch.where({x} > 0, 1.0, 0.0)",
              f"{mask} = ({x} > 0).type_as({g})", f"{mask} = torch.heaviside({x}, torch.tensor(0.0))")
    )  # fmt: skip
    body.append(_pick(rng, f"return {g} * {mask}", f"return {mask} * {g}", f"return torch.mul({g}, {mask})"))
    return "\n".join([f"def backward(self, {g}):"] + ["    " + s for s in body]) + "\n"


def cross_entropy_backward(rng: random.Random) -> str:
    used: set[str] = set()
    p, t, n = _name(rng, used), _name(rng, used), _name(rng, used)
    body = ["logits, target = self.inputs"]
    body.append(
        _pick(
            rng,
            f"{n} = logits.shape[0]",
            f"{n} = logits.size(0)",
            f"{n} = len(target)",
            f"{n} = target.numel()",
        )
    )
    soft = _pick(
        rng,
        f"{p} = logits.softmax(dim=-1)",
        f"{p} = torch.softmax(logits, dim=1)",
        f"{p} = torch.nn.functional.softmax(logits, dim=1)",
        f"{p} = torch.exp(logits - logits.logsumexp(dim=1, keepdim=True))",
        f"{p} = logits.exp() / logits.exp().sum(dim=1, keepdim=True)",
    )
    onehot = _pick(
        rng,
        f"{t} = torch.zeros_like({p})\n{t}[torch.arange({n}), target] = 1",
        f"{t} = torch.nn.functional.one_hot(target, {p}.shape[1]).to({p}.dtype)",
        f"{t} = torch.eye({p}.shape[1])[target]",
        f"{t} = torch.zeros_like({p}).scatter_(1, target.unsqueeze(1), 1.0)",
    )
    if rng.random() < 0.5:
        body += [soft, *onehot.split("\n")]
    else:
        body += [soft.replace(p, p), *onehot.split("\n")]
        body[-1], body[-2] = body[-2], body[-1]  # a different order
        if "[torch.arange" in body[-1] or "zeros_like" in body[-1]:
            body[-2:] = onehot.split("\n")
    if rng.random() < 0.5:
        body.append(
            _pick(
                rng,
                f"return ({p} - {t}) / {n}",
                f"return ({p} - {t}) / float({n})",
                f"return ({p} - {t}).div({n})",
            )
        )
    else:
        d = _name(rng, used)
        body.append(_pick(rng, f"{d} = {p} - {t}", f"{d} = {p}.clone()\n{d} -= {t}"))
        body.append(_pick(rng, f"{d} /= {n}", f"{d} = {d} / {n}", f"{d} = {d}.div({n})"))
        body.append(f"return {d}")
    lines = "\n".join(body).split("\n")
    return "\n".join(["def backward(self):"] + ["    " + s for s in lines]) + "\n"


def sgd_step(rng: random.Random) -> str:
    p = _pick(rng, "p", "param", "w", "prm", "theta")
    head = ["def sgd_step(model, lr):"]
    loop = _pick(
        rng,
        f"for {p} in model.parameters():",
        f"for _, {p} in model.named_parameters():",
        f"for {p} in list(model.parameters()):",
    )
    guard = _pick(rng, f"if {p}.grad is None:\n    continue", f"if {p}.grad is not None:", "")
    update = _pick(rng, f"{p}.data -= lr * {p}.grad", f"{p}.data.add_({p}.grad, alpha=-lr)", f"{p}.data = {p}.data - lr * {p}.grad",
                   f"{p}.data.sub_(lr * {p}.grad)")  # fmt: skip
    body = [loop]
    if guard.endswith(":") and "\n" not in guard:
        body += ["    " + guard, "        " + update]
    elif guard:
        body += ["    " + g for g in guard.split("\n")] + ["    " + update]
    else:
        body += ["    " + update]
    wrap = rng.random() < 0.4
    if wrap:
        body = ["with torch.no_grad():"] + ["    " + b for b in body]
    extra = rng.sample(["lr = float(lr)", "assert lr > 0", "model.train()"], rng.randint(0, 1))
    return "\n".join(head + ["    " + b for b in extra + body]) + "\n"


def evaluate(rng: random.Random) -> str:
    used: set[str] = set()
    c, t, x, y, o, pr = (_name(rng, used) for _ in range(6))
    body = []
    if rng.random() < 0.5:
        body.append("model.eval()")
    body += [f"{c} = 0"] + ([f"{t} = 0"] if rng.random() < 0.6 else [])
    count_total = f"{t} = 0" in body
    loop = [f"for {x}, {y} in loader:", f"    {o} = model({x})"]
    loop.append("    " + _pick(rng, f"{pr} = {o}.argmax(dim=1)", f"{pr} = torch.argmax({o}, dim=1)", f"{pr} = {o}.max(1)[1]",
                               f"_, {pr} = torch.max({o}, 1)", f"{pr} = {o}.max(dim=1).indices"))  # fmt: skip
    loop.append("    " + _pick(rng, f"{c} += ({pr} == {y}).sum().item()", f"{c} += {pr}.eq({y}).sum().item()",
                               f"{c} += int(({pr} == {y}).sum())", f"{c} += torch.sum({pr} == {y}).item()"))  # fmt: skip
    if count_total:
        loop.append("    " + _pick(rng, f"{t} += {y}.size(0)", f"{t} += {y}.shape[0]", f"{t} += len({y})"))
    if rng.random() < 0.5:
        loop = ["with torch.no_grad():"] + ["    " + s for s in loop]
    body += loop
    total = t if count_total else "len(loader.dataset)"
    body.append(
        _pick(rng, f"return {c} / {total}", f"return float({c}) / {total}", f"return {c} / float({total})")
    )
    helper = []
    if rng.random() < 0.3:
        helper = ["def _batches(loader):", "    yield from loader", ""]
    return (
        "\n".join(
            ["import torch", ""] + helper + ["def evaluate(model, loader):"] + ["    " + b for b in body]
        )
        + "\n"
    )


def _with_own_lines(make):  # type: ignore[no-untyped-def]
    """``make``'s answer with the student's own lines after its first statement."""

    def made(rng: random.Random) -> str:
        code = make(rng)
        lines = code.rstrip("\n").split("\n")
        at = next(i for i, line in enumerate(lines) if line.startswith("def ") and "_batches" not in line)
        head = re.match(r"def \w+\((?:self, )?(\w+)", lines[at])
        x = head.group(1) if head and head.group(1) not in ("model",) else "tmp"
        if x == "self" or lines[at].startswith("def backward(self):"):
            x = "logits"
        own = ["    " + line for line in _own_lines(rng, x, set())]
        place = at + 1 + (1 if lines[at].startswith("def backward(self):") else 0)
        return "\n".join(lines[:place] + own + lines[place:]) + "\n"

    return made


CODE = {
    "q10.linear_forward": linear_forward,
    "q10.linear_backward": linear_backward,
    "q10.relu_backward": relu_backward,
    "q10.cross_entropy_backward": cross_entropy_backward,
    "q11.sgd_step": sgd_step,
    "q11.evaluate": evaluate,
}
CODE = {part: _with_own_lines(make) for part, make in CODE.items()}

# ---- formulas and prose: segments ("p", words) and ("f", plain formula) -----------------

Segments = list[tuple[str, str]]

_Q2 = [
    "W_3 relu(W_2 relu(W_1 x + b_1) + b_2) + b_3",
    "b_3 + W_3 relu(W_2 relu(W_1 x + b_1) + b_2)",
    "W_3 relu(W_2 relu(b_1 + W_1 x) + b_2) + b_3",
    "W_3 relu(b_2 + W_2 relu(W_1 x + b_1)) + b_3",
]
_Q2_SLIPS = [
    "W_3 relu(W_2 relu(W_1 x + b_1) + b_2)",
    "W_3 relu(W_2 relu(W_1 x) + b_2) + b_3",
    "relu(W_3 relu(W_2 relu(W_1 x + b_1) + b_2) + b_3)",
]
_Q8 = [
    "outer(v, u) + outer(diag(Theta(y)) (I + W^T) v, x)",
    "outer(diag(Theta(y)) (I + W^T) v, x) + outer(v, u)",
]
_Q8_SLIPS = [
    "outer(v, u) + outer(diag(Theta(y)) (I + W) v, x)",
    "outer(v, u) + outer((I + W^T) v, x)",
    "outer(u, v) + outer(diag(Theta(y)) (I + W^T) v, x)",
]


def _own_slip(rng: random.Random, right: str) -> str:
    """A slip of the student's own: a coefficient or a term nobody else writes."""
    k = rng.randint(2, 400)
    return _pick(rng, f"{k} ({right})", f"{right} + {k} x", f"({right}) / {k}", f"{right} - {k}")


def formula_answer(rng: random.Random, part: str) -> Segments:
    right, slips = (_Q2, _Q2_SLIPS) if part == "q2" else (_Q8, _Q8_SLIPS)
    roll = rng.random()
    if roll < 0.55:
        text = rng.choice(right)
    elif roll < 0.8:
        text = rng.choice(slips)
    else:
        text = _own_slip(rng, rng.choice(right))
    return [("f", text)]


_SYNONYMS = [
    ["each", "every", "any"], ["layer", "level", "stage"], ["multiplies", "scales", "increases"],
    ["number", "count", "amount"], ["pieces", "segments", "regions", "parts"], ["linear", "affine"],
    ["at", "by"], ["most", "maximum"], ["so", "hence", "therefore", "thus"], ["kinks", "breakpoints", "corners"],
    ["without", "lacking", "absent"], ["bias", "offset", "intercept"], ["function", "map", "network"],
    ["origin", "zero"], ["target", "goal"], ["cannot", "can't", "could never"], ["match", "fit", "represent", "reproduce"],
    ["elsewhere", "away from zero", "somewhere else"], ["homogeneous", "scale invariant"], ["positive", "nonnegative"],
    ["training", "train"], ["accuracy", "performance", "score"], ["validation", "held-out", "test"],
    ["rises", "grows", "climbs", "increases"], ["plateaus", "stalls", "flattens", "saturates"], ["overfitting", "memorisation", "overfit"],
    ["loss", "objective", "error"], ["declines", "drops", "falls", "decreases"], ["gap", "difference", "spread"],
    ["shows", "indicates", "suggests", "means"], ["epochs", "iterations", "passes"], ["model", "net", "classifier"],
    ["quickly", "fast", "rapidly", "steadily"], ["while", "whereas", "but"], ["large", "big", "wide", "sizable"],
    ["because", "since", "as"], ["unit", "neuron", "node"], ["adds", "introduces", "contributes"],
]  # fmt: skip
_SYN = {w: group for group in _SYNONYMS for w in group}

_SENTENCES = {
    "q4.kinks_bound": [
        "each layer multiplies the number of linear pieces by at most {k1}",
        "a unit adds at most one kink per linear piece of its input",
        "the number of pieces after layer {l} is at most {f1}",
        "so the network has at most {f2} kinks",
        "by induction over the layers the count grows at most geometrically",
        "every neuron of the first layer contributes one breakpoint",
        "with width k a layer can split each segment into {k1} segments",
        "hence the bound on kinks is {f2} which is exponential in depth",
    ],
    "q5.b": [
        "without a bias every unit switches at the origin",
        "the function is positively homogeneous so f(c x) = c f(x) for positive c",
        "therefore all kinks of f sit at x = 0",
        "the target has a kink elsewhere so no weights can match it",
        "a network without offsets is a sum of terms {f3}",
        "each term is linear on both half lines",
        "so the model is linear on each side of zero",
        "this contradicts the breakpoint of the target away from the origin",
    ],
    "q12": [
        "the training loss declines quickly during the first epochs",
        "training accuracy rises to about {n1} percent",
        "validation accuracy plateaus near {n2} percent",
        "the large gap between training and validation shows overfitting",
        "after epoch {n3} the validation loss rises again",
        "the model memorises the training set while validation stalls",
        "learning is fast at first and then slows down",
        "the curves suggest the network needs regularisation",
    ],
}  # fmt: skip


def prose_answer(rng: random.Random, part: str) -> Segments:
    sentences = rng.sample(_SENTENCES[part], rng.randint(3, 5))
    segments: Segments = []
    for sentence in sentences:
        words = []
        for word in sentence.split():
            if word in _SYN and rng.random() < 0.8:
                word = rng.choice(_SYN[word])
            words.append(word)
        for chunk in re.split(r"(\{\w+\})", " ".join(words)):
            if chunk.startswith("{"):
                segments.append(("f", _fill(rng, chunk[1:-1])))
            elif chunk.strip():
                segments.append(("p", chunk.strip()))
        segments.append(("p", "."))
    return segments


def _fill(rng: random.Random, slot: str) -> str:
    a, b = rng.randint(1, 9), rng.randint(2, 9)
    return {
        "k1": _pick(rng, "k + 1", "(k + 1)", "2 k", f"k + {a}"),
        "l": _pick(rng, "l", "l - 1", "j"),
        "f1": _pick(rng, "(k + 1)^l", f"(k + {a})^l", "(2 k)^l", f"{b} k^l"),
        "f2": _pick(rng, "(k + 1)^l - 1", f"(k + 1)^l - {a}", "(2 k)^l", f"{b} k^l - {a}"),
        "f3": _pick(rng, "w_{2 i} relu(w_{1 i} x)", "c_i relu(a_i x)", f"v_i max(0, w_i x) + {a}"),
        "n1": str(rng.randint(70, 99)),
        "n2": str(rng.randint(40, 65)),
        "n3": str(rng.randint(3, 30)),
    }[slot]


# ---- rendering and disguises -----------------------------------------------------------


def latex(formula: str) -> str:
    """A plain formula typeset as LaTeX: fractions, \\cdot, bold matrices, \\operatorname."""
    text = re.sub(r"\b(W|I)(_\d)?\b", lambda m: rf"\mathbf{{{m.group(1)}}}{m.group(2) or ''}", formula)
    text = re.sub(r"\b(relu|outer|diag)\(", lambda m: rf"\operatorname{{{m.group(1)}}}(", text)
    text = text.replace("Theta", r"\Theta").replace("^T", r"^\top")
    text = re.sub(r"\(([^()]*)\) / (\d+)", r"\\frac{\1}{\2}", text)
    text = re.sub(r"(\d+) \(", r"\1 \\cdot (", text)
    return text


def render(segments: Segments, style: str) -> str:
    out = []
    for kind, text in segments:
        if kind == "f":
            out.append(f"${latex(text)}$" if style == "latex" else text)
        else:
            out.append(text)
    return " ".join(out).replace(" .", ".")


def reword(segments: Segments, rng: random.Random) -> Segments:
    """A third of the prose's words swapped for synonyms (the formulas kept)."""
    out: Segments = []
    for kind, text in segments:
        if kind == "p":
            words = [rng.choice([w for w in _SYN[word] if w != word]) if word in _SYN and rng.random() < 0.34 else word
                     for word in text.split()]  # fmt: skip
            text = " ".join(words)
        out.append((kind, text))
    return out


_IDENT = re.compile(r"(?<![.\w])([A-Za-z_]\w*)")
_KEEP = {"def", "return", "for", "in", "if", "is", "not", "None", "with", "import", "torch", "self", "continue",
         "float", "int", "len", "list", "assert", "and", "or", "yield", "from", "model", "loader", "lr", "True", "False",
         "logits", "target", "evaluate", "sgd_step", "forward", "backward", "_", "dim", "keepdim", "alpha",
         *dir(builtins), *keyword.kwlist}  # fmt: skip


def rename(code: str, rng: random.Random) -> str:
    """Every local name renamed (what the handout fixes kept: method names, arguments it names)."""
    names: dict[str, str] = {}

    def new(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in _KEEP:
            return name
        if name not in names:
            names[name] = f"{rng.choice(['tmp', 'var', 'my', 'the', 'x'])}_{rng.choice(_NAMES)}{len(names)}"
        return names[name]

    return "\n".join(
        line if line.lstrip().startswith("import") else _IDENT.sub(new, line) for line in code.split("\n")
    )


def reorder(code: str, rng: random.Random) -> str:
    """Top-level functions in the other order, or two adjacent statements of one block swapped."""
    lines = code.rstrip("\n").split("\n")
    defs = [i for i, line in enumerate(lines) if line.startswith("def ")]
    if len(defs) > 1:
        blocks, start = [], 0
        for i in [*defs[1:], len(lines)]:
            blocks.append(lines[start:i])
            start = i
        head, *rest = blocks
        return "\n".join(functools.reduce(operator.iadd, [*reversed(rest), head], [])) + "\n"
    for i in range(len(lines) - 2, 0, -1):
        one, two = lines[i], lines[i + 1]
        same = len(one) - len(one.lstrip()) == len(two) - len(two.lstrip())
        simple = all(
            " = " in s and not s.strip().startswith(("return", "for", "with", "if")) for s in (one, two)
        )
        if same and simple:
            lines[i], lines[i + 1] = two, one
            return "\n".join(lines) + "\n"
    return code


def comment(code: str, rng: random.Random) -> str:
    """Comments, blank lines and spaces added: none of it changes the program."""
    out = []
    for line in code.split("\n"):
        if line.strip() and rng.random() < 0.4:
            line = (
                line
                + "  # "
                + rng.choice(["compute it", "see lecture 4", "shape check", "TODO tidy", "works"])
            )
        out.append(line.replace(" = ", "  =  ") if rng.random() < 0.3 else line)
        if rng.random() < 0.2:
            out.append("")
    return "\n".join(out)


# ---- the class --------------------------------------------------------------------------


@dataclass
class Content:
    """A sheet before rendering: code as text, formulas and prose as segments."""

    code: dict[str, str] = field(default_factory=dict)
    segments: dict[str, Segments] = field(default_factory=dict)
    style: str = "plain"


def honest(rng: random.Random) -> Content:
    content = Content(style=rng.choice(["plain", "latex"]))
    for part in CODE_PARTS:
        content.code[part] = CODE[part](rng)
    for part in FORMULA_PARTS:
        content.segments[part] = formula_answer(rng, part)
    for part in PROSE_PARTS:
        content.segments[part] = prose_answer(rng, part)
    return content


def disguised(
    source: Content, rng: random.Random, disguises: tuple[str, ...], parts: tuple[str, ...] = PARTS
) -> Content:
    """A copy of ``source``'s ``parts`` with ``disguises``; the other parts the copier's own."""
    own = honest(rng)
    style = source.style
    if "retypeset" in disguises:
        style = "latex" if style == "plain" else "plain"
    copy = Content(style=style)
    for part in CODE_PARTS:
        code = source.code[part] if part in parts else own.code[part]
        if part in parts:
            if "rename" in disguises:
                code = rename(code, rng)
            if "reorder" in disguises:
                code = reorder(code, rng)
            if "comments" in disguises:
                code = comment(code, rng)
        copy.code[part] = code
    for part in FORMULA_PARTS + PROSE_PARTS:
        segments = source.segments[part] if part in parts else own.segments[part]
        if part in parts and "reword" in disguises:
            segments = reword(segments, rng)
        copy.segments[part] = segments
    return copy


def answers_of(content: Content) -> dict[str, Any]:
    found: dict[str, Any] = dict(content.code)
    for part, segments in content.segments.items():
        found[part] = render(segments, content.style)
    return found


DISGUISES = ("rename", "reorder", "comments", "retypeset", "reword")


@dataclass
class SyntheticClass:
    answers: dict[str, dict[str, Any]]  # student -> part -> answer
    copies: list[tuple[str, str, tuple[str, ...]]]  # (source, copier, disguises): a whole sheet
    halves: list[tuple[str, str, tuple[str, ...]]]  # (source, copier, disguises): every other part

    @property
    def planted(self) -> set[frozenset[str]]:
        return {frozenset((a, b)) for a, b, _ in self.copies + self.halves}


def make_class(
    students: int, seed: int = 0, copies: int | None = None, halves: int | None = None
) -> SyntheticClass:
    """``students`` sheets: honest ones, and copies (2% of the class, at least 4) and half
    copies (1%, at least 2), each copying a different honest sheet."""
    rng = random.Random(seed)
    copies = max(4, students // 50) if copies is None else copies
    halves = max(2, students // 100) if halves is None else halves
    honest_count = students - copies - halves
    contents = {f"s{i:05d}": honest(rng) for i in range(honest_count)}
    sources = rng.sample(sorted(contents), copies + halves)
    planted_copies, planted_halves = [], []
    for n, source in enumerate(sources):
        name = f"s{honest_count + n:05d}"
        disguises = (
            DISGUISES if n % 3 == 0 else tuple(d for d in DISGUISES if rng.random() < 0.6) or ("rename",)
        )
        if n < copies:
            contents[name] = disguised(contents[source], rng, disguises)
            planted_copies.append((source, name, disguises))
        else:
            half = PARTS[::2]
            contents[name] = disguised(contents[source], rng, disguises, half)
            planted_halves.append((source, name, disguises))
    return SyntheticClass({s: answers_of(c) for s, c in contents.items()}, planted_copies, planted_halves)
