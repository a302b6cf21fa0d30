"""``choice``: one option key, or a list of keys for select-all.

Students write the key (``B``), ``(B)``, ``(B) piecewise-linear``, ``B)``, the
option's text (typeset or not: ``\\theta_{small}`` for ``theta_small``),
``yes``/``no``, or for select-all a list or ``A, C``. Keys match
case-insensitively when that is unambiguous. A single choice may be followed by a
reason (``Yes, it is possible``, ``No, because ...``, ``(B) since ...``), but an
answer that names two different options (``yes or no``, ``(B), not (C)``, ``C, D``)
is never read as one of them: it cannot be read.

Answers that name a set of options are read as that set: ``None``, ``none of them``,
``neither`` (no option), ``both`` (the two options), ``all of the above``, ``(i) and (ii)``,
``only (ii)``. In a select-all part that is the set chosen; in a one-choice part whose options
are themselves such sets (``only (i)``, ``both (i) and (ii)``, ``neither``) it is the option
that names the same set, and ``none`` where the options are not sets means no option.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import model_validator

from grader.core.parts import PartBase
from grader.core.verdict import AnswerError, Certificate, Verdict
from grader.types.base import AnswerType

_LEADING_KEY = re.compile(r"^\s*[\(\[]?\s*([A-Za-z0-9]{1,12})\s*[\)\].:]", re.S)
# The words of a select-all answer: what lies between separators (``,`` ``;`` ``&`` ``+``
# ``/`` ``and`` and spaces); an option's text of several words is matched across them.
_WORD = re.compile(r"[^\s,;&+/]+")
_MAX_WORDS = 400
# Words that make a list of options mean something else: ``not A``, ``A or B``, ``all except C``
_DOUBT = frozenset({"not", "or", "except", "but", "without", "neither", "nor", "wrong", "false", "incorrect"})
# Words before an option that say nothing about it (``Options A, B and D``, ``I choose A``)
_FILLER = frozenset(
    {"option", "options", "answer", "answers", "choice", "choices", "i", "choose", "pick", "select"}
)
# Words that hedge a choice (``A, B, maybe C``): an option named with one is not chosen or
# left out, it is open, and an answer is never read by guessing which.
_HEDGES = frozenset({"maybe", "perhaps", "possibly", "probably", "might", "unsure", "likely", "?"})
_HEDGED = re.compile(r"\b(?:" + "|".join(sorted(_HEDGES - {"?"})) + r")\b\W*(\S+)", re.I)
# A reason after a short key: ``B because ...``, ``B since ...``
_REASON = re.compile(r"\s+(?:because|since|as|so|given|due|for|from|by|which|it)\b", re.I)
# Another option joined to the first: ``yes or no``, ``A and B``, ``Yes/No``, ``B, not C``, ``C, D``
_JOINED = re.compile(r"(?:\s*(?:[,;/&+]|\bor\b|\band\b|\bnor\b|\bnot\b|\bvs\b\.?|\bversus\b))+\s*", re.I)
_AND = re.compile(r"\s+and\s+\S", re.I)  # ``B and D``: a key joined to the next one
# Words of an answer that names a set of options (``none of them``, ``both (i) and (ii)``).
_NO_OPTION = frozenset({"none", "neither", "nothing"})
_EVERY_OPTION = frozenset({"both", "all"})
_ONLY = frozenset({"only", "just"})
_SET_FILLERS = frozenset(
    {"of", "them", "the", "above", "these", "those", "two", "three", "listed", "given", "is", "are", "it"}
    | {"option", "options", "statement", "statements", "choice", "choices", "answer", "answers"}
    | {"correct", "true", "right", "apply", "applies", "hold", "holds", "one", "ones", "and", "nor"}
)
_OPTION_WORDS = frozenset({"option", "options", "statement", "statements", "choice", "choices", "answer"})
_LABEL = re.compile(r"[0-9]{1,2}|[a-z]|(?:x{0,1})(?:ix|iv|v?i{0,3})")
_TYPESETTING = re.compile(
    r"\\(?:mathrm|mathbf|mathit|mathsf|boldsymbol|bm|text|textbf|textit|textrm|operatorname|left|right)\s*"
)


class ChoicePart(PartBase):
    type: Literal["choice"]
    options: dict[str, str]
    answer: str | tuple[str, ...]
    # select-all: "partial" gives (right picks - wrong picks) / right keys, at least 0
    scoring: Literal["partial", "all_or_nothing"] = "partial"

    @model_validator(mode="after")
    def _answer_is_an_option(self) -> ChoicePart:
        keys = [self.answer] if isinstance(self.answer, str) else list(self.answer)
        unknown = [k for k in keys if k not in self.options]
        if unknown:
            raise ValueError(f"answer {unknown} is not among the options {list(self.options)}")
        return self


def check(part: ChoicePart, answer: Any) -> Verdict:
    expected = {part.answer} if isinstance(part.answer, str) else set(part.answer)
    select_all = not isinstance(part.answer, str)
    chosen, unread = _read(part.options, answer, allow_many=select_all)
    note = _unread_note(part.options, chosen, unread)
    if chosen == expected:
        return Verdict.correct(note)
    if not select_all and not chosen:
        return Verdict.incorrect("you chose none of the options")
    if not select_all:
        (key,) = chosen
        return Verdict.incorrect(f"you chose {describe(part.options, key)}")
    return _select_all_verdict(part, chosen, expected, note)


def _unread_note(options: dict[str, str], chosen: set[str], unread: list[str]) -> str:
    """Words of a select-all answer that name no option: said, so nothing is lost silently."""
    if not unread:
        return ""
    keys = ", ".join(k for k in options if k in chosen)
    words = " ".join(unread)
    shown = words if len(words) <= 60 else words[:60] + "…"
    return f"read as {keys}; not read: {shown!r}"


def _select_all_verdict(part: ChoicePart, chosen: set[str], expected: set[str], note: str = "") -> Verdict:
    right = chosen & expected
    wrong = chosen - expected
    missed = expected - chosen
    parts = [note] if note else []
    if wrong:
        parts.append(f"{len(wrong)} of your choices should not be selected")
    if missed:
        parts.append(f"{len(missed)} correct option(s) missing")
    feedback = "; ".join(parts)
    if part.scoring == "all_or_nothing" or not expected:
        return Verdict.incorrect(feedback)
    return Verdict.partial((len(right) - len(wrong)) / len(expected), feedback)


def describe(options: dict[str, str], key: str) -> str:
    text = options[key]
    return key if text.strip().lower() == key.lower() else f"{key} ({text})"


def read_choices(options: dict[str, str], answer: Any, allow_many: bool) -> set[str]:
    """The option keys an answer names (AnswerError when it cannot be read)."""
    return _read(options, answer, allow_many)[0]


def _read(options: dict[str, str], answer: Any, allow_many: bool) -> tuple[set[str], list[str]]:
    """(the keys chosen, the words of a select-all answer that name no option)."""
    if isinstance(answer, bool):  # YAML true/false for a yes/no question
        answer = "yes" if answer else "no"
    if isinstance(answer, (int, float)):
        answer = str(answer)
    if isinstance(answer, (list, tuple)):  # a YAML list, or a part's own select-all reference
        items = [str(item) for item in answer]
    elif isinstance(answer, str):
        items = [answer]
    else:
        raise AnswerError(f"expected an option such as {next(iter(options))}, got a {type(answer).__name__}")
    keys: list[str] = []
    unread: list[str] = []
    named_none = False
    for item in items:
        found, missed, none = _read_item(options, item, allow_many)
        keys += found
        unread += missed
        named_none = named_none or none
    if named_none and keys:
        raise AnswerError("your answer says no option and names options too: give one")
    if not keys and not named_none:
        raise AnswerError("no option chosen")
    if len(keys) > 1 and not allow_many:
        raise AnswerError(f"choose one option; you gave {len(keys)}")
    return set(keys), unread


def _read_item(options: dict[str, str], item: str, allow_many: bool) -> tuple[list[str], list[str], bool]:
    """(the keys one item names, its words that name none, whether it says "no option")."""
    named = _named_options(options, item, allow_many)
    if named is not None:
        return named, [], not named
    if allow_many:
        found, missed = _read_many(options, item)
        return found, missed, False
    return [_match_or_fail(options, item)], [], False


def _named_options(options: dict[str, str], text: str, allow_many: bool) -> list[str] | None:
    """The options an answer names as a set (``none of them``: [], ``both``, ``(i) and (ii)``),
    or None when it is not such a phrase (then it is read option by option). An option written
    whole (an option whose text is ``None``) is that option."""
    if _exact_option(options, text) is not None:
        return None
    if not allow_many:
        statements = _statement_sets(options)
        if statements:
            return _option_naming(options, statements, text)
    by_label = {key.lower(): key for key in options}
    named = _named_set(text, by_label, frozenset(options))
    if named is None:
        return None
    keys = [key for key in options if key in named]
    if allow_many or not keys:
        return keys
    if _quantifier(_words(text))[0] is None:
        return None  # options named by their keys: read as usual (with its reasons, its doubts)
    raise TwoOptions(f"your answer names {len(keys)} options, {' and '.join(keys)}: give one")


def _option_naming(
    options: dict[str, str], statements: dict[str, frozenset[str]], text: str
) -> list[str] | None:
    """In a one-choice part whose options are sets of statements (``only (i)``, ``both``,
    ``neither``): the option naming the set the answer names."""
    labels = frozenset().union(*statements.values())
    named = _named_set(text, {label: label for label in labels}, labels)
    if named is None:
        return None
    same = [key for key, said in statements.items() if said == named]
    if len(same) == 1:
        return same
    shown = ", ".join(f"({label})" for label in sorted(named)) or "none of the statements"
    raise AnswerError(f"no option says {shown}: choose one of the options")


def _statement_sets(options: dict[str, str]) -> dict[str, frozenset[str]]:
    """The options that name sets of statements (``only (i)``, ``(i) and (ii)``, ``neither``),
    when some option does so with a word (``both``, ``none``, ``only``) or two labels."""
    candidates = {
        word for text in options.values() for word in _words(text) if _LABEL.fullmatch(word) and word
    }
    found = {}
    for key, text in options.items():
        named = _named_set(text, {label: label for label in candidates}, None)
        if named is not None:
            found[key] = named
    sets_by_words = any(
        len(named) > 1 or _words(options[key])[:1] in ([w] for w in _NO_OPTION | _EVERY_OPTION | _ONLY)
        for key, named in found.items()
    )
    if not sets_by_words:
        return {}
    labels = frozenset().union(*found.values())
    by_label = {label: label for label in labels}
    return {
        key: named
        for key, text in options.items()
        if (named := _named_set(text, by_label, labels)) is not None
    }


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", _plain(text).lower())


def _named_set(text: str, labels: dict[str, str], every: frozenset[str] | None) -> frozenset[str] | None:
    """The labels a phrase names: ``none of them`` -> {}, ``both`` -> ``every`` (when it holds
    two), ``all of the above`` -> ``every``, ``(i) and (ii)``, ``only (ii)``; None for anything
    else (``or`` leaves the choice open: not a set; so does a question mark, ``C?``)."""
    if "?" in text:
        return None
    quantifier, words = _quantifier(_words(text))
    named: list[str] = []
    for word in words:
        if word in labels:
            named.append(labels[word])
        elif word not in _SET_FILLERS:
            return None
    if quantifier == "none":
        return frozenset()
    if quantifier in ("both", "all") and not named:
        if every is None or (quantifier == "both" and len(every) != 2):
            return None
        return every
    if quantifier == "both" and len(set(named)) != 2:
        return None
    return frozenset(named) if named else None


def _quantifier(words: list[str]) -> tuple[str | None, list[str]]:
    """(``none``, ``both``, ``all``, ``only`` or None, the other words)."""
    if not words:
        return None, words
    if words[0] in _NO_OPTION or (words[0] == "no" and words[1:2] and words[1] in _OPTION_WORDS):
        return "none", words[1:]
    if words[0] in _EVERY_OPTION:
        return words[0], words[1:]
    if words[0] in _ONLY:
        return "only", words[1:]
    if words[-1] in _ONLY:
        return "only", words[:-1]
    return None, words


def _read_many(options: dict[str, str], text: str) -> tuple[list[str], list[str]]:
    """The options a select-all answer lists, in every form students use (``A, B and D``,
    ``A,B & D``, ``A; D``, ``A B D``, ``(A) relu, (D) leaky relu``, the options' texts), and
    the words that name none. An answer that names one option whole is that option."""
    whole = _exact_option(options, text)
    if whole is not None:
        return [whole], []
    words = [(m.start(), m.end()) for m in _WORD.finditer(text) if m.group().lower() != "and"]
    if not words:
        return [], []
    if len(words) > _MAX_WORDS:
        raise AnswerError(f"too long to read as a list of options ({len(words)} words)")
    longest = max(len(_WORD.findall(written)) for k, v in options.items() for written in (k, v)) + 1
    keys: list[str] = []
    unread: list[str] = []
    before_a_key: list[str] = []  # unread words an option follows: they may qualify it
    start = 0
    while start < len(words):
        for end in range(min(len(words), start + longest), start, -1):
            span = text[words[start][0] : words[end - 1][1]]
            key = next(
                (k for c in _candidates(_plain(span)) if (k := _key_for(options, c)) is not None), None
            )
            if key is not None:
                keys.append(key)
                before_a_key = [word for word in unread if word.strip("():.").lower() not in _FILLER]
                start = end
                break
        else:
            unread.append(text[words[start][0] : words[start][1]])
            start += 1
    if not keys:
        raise AnswerError(_unreadable(options, text))
    doubt = [word for word in unread if word.strip("()[].,!").lower() in _DOUBT | _HEDGES or "?" in word]
    if doubt:
        raise AnswerError(f"{doubt[0]!r} leaves it open which options you choose: list the ones that apply")
    if before_a_key:
        raise AnswerError(
            f"{before_a_key[0]!r} is not an option and may change what the option after it means: "
            "list only the options that apply"
        )
    return keys, unread


class TwoOptions(AnswerError):
    """The answer names two different options where one is asked for."""


def _match_or_fail(options: dict[str, str], text: str) -> str:
    key = _match_one(options, text)
    if key is None:
        raise AnswerError(_unreadable(options, text))
    return key


def _exact_option(options: dict[str, str], text: str) -> str | None:
    """The option ``text`` is, whole: its key or its text (``(B)``, ``$\\theta_{small}$``)."""
    return next((k for c in _candidates(_plain(text)) if (k := _key_for(options, c)) is not None), None)


def _unreadable(options: dict[str, str], text: str) -> str:
    listing = ", ".join(describe(options, k) for k in options)
    shown = text if len(text) <= 60 else text[:60] + "…"
    return f"could not tell which option {shown!r} means; the options are {listing}"


def _match_one(options: dict[str, str], text: str) -> str | None:
    """The option ``text`` names: the whole of it, or its start followed by a reason
    (``Yes, it is possible``, ``(B) since ...``). TwoOptions when it names another one too."""
    cleaned = _plain(text)
    for candidate in _candidates(cleaned):
        key = _key_for(options, candidate)
        if key is not None:
            return key
    leading = _leading_option(options, cleaned)
    if leading is None:
        return None
    key, reason = leading
    other = _other_option(options, key, reason)
    if other is not None:
        raise TwoOptions(f"your answer names two options, {key} and {other}: give one")
    return key


def _candidates(text: str) -> list[str]:
    bare = text.strip("()[]. ").strip()
    return [text, bare] if bare != text else [text]


def _key_for(options: dict[str, str], text: str) -> str | None:
    if text in options:
        return text
    folded = [k for k in options if k.lower() == text.lower()]
    if len(folded) == 1:
        return folded[0]
    by_text = [k for k, v in options.items() if _norm(v) == _norm(text)]
    if len(by_text) == 1:
        return by_text[0]
    return None


def _leading_option(options: dict[str, str], text: str) -> tuple[str, str] | None:
    """(key, the rest) when ``text`` starts with one option: ``(B) ...``, ``D) ...``,
    ``B. ...``, ``No, ...``, an option's text and more, ``B because ...``."""
    marked = _LEADING_KEY.match(text)
    if marked:
        key = _key_for(options, marked.group(1))
        if key is not None:
            return key, text[marked.end() :]
    found: list[tuple[int, str]] = []  # (length of the match, key)
    for key, option_text in options.items():
        for written in {key, option_text}:
            end = _prefix_end(written, text)
            if end is not None:
                found.append((end, key))
    if not found:
        return None
    end, key = max(found)
    if len({k for e, k in found if e == end}) > 1:
        return None
    return key, text[end:]


def _prefix_end(written: str, text: str) -> int | None:
    """Where ``written`` (an option's key or text) ends when ``text`` starts with it and goes
    on with a reason: a mark (``,`` ``.`` ``;`` ``:`` ``/`` ``—``), or a word after a word
    longer than a letter or two (``No because``, not ``A ReLU``)."""
    words = re.split(r"[\s\-_]+", _plain(written).strip())
    if not any(words):
        return None
    pattern = r"[\s\-_]+".join(re.escape(word) for word in words if word)
    match = re.match(rf"({pattern})(?=\s*([,.;:/!—–)&+]|\s+\w|$))", text, re.I)
    if match is None:
        return None
    after = text[match.end() :]
    short_key = len(match.group(1)) <= 2
    if (
        short_key
        and not re.match(r"\s*[,.;:/!—–)&+]", after)
        and not _REASON.match(after)
        and not _AND.match(after)
    ):
        return None  # "A ReLU network ..." starts with an article, not with option A
    return match.end()


def _other_option(options: dict[str, str], key: str, reason: str) -> str | None:
    """Another option the reason names: ``or no``, ``/No``, ``and (C)``, ``option C``, ``(C)``."""
    joined = _JOINED.match(reason)
    rest = reason[joined.end() :] if joined else None
    for hedge in _HEDGED.finditer(reason):  # ``B, or maybe C``
        other_key = _key_for(options, hedge.group(1).strip("()[].,;:!?"))
        if other_key is not None and other_key != key:
            return other_key
    for other in (k for k in options if k != key):
        if rest is not None and _starts_with(options, other, rest):
            return other
        if re.search(_named(other), reason, re.I):
            return other
    return None


def _starts_with(options: dict[str, str], key: str, text: str) -> bool:
    if _key_for(options, text.strip(" ()[].")) == key:
        return True
    return any(_prefix_end(written, text) is not None for written in (key, options[key]))


def _named(key: str) -> str:
    """``(C)``, ``[C]``, ``option C``, ``answer C``: an option named as one."""
    k = re.escape(key)
    return rf"\(\s*{k}\s*\)|\[\s*{k}\s*\]|\b(?:option|answer|choice)\s+{k}\b"


def _plain(text: str) -> str:
    """The answer without math typesetting: ``$\\theta_{small}$`` -> ``theta_small``."""
    text = text.strip().replace("$", "")
    text = _TYPESETTING.sub("", text)
    text = re.sub(r"\\([A-Za-z]+)", r"\1", text)  # \theta -> theta
    return text.replace("{", "").replace("}", "").strip()


def _norm(text: str) -> str:
    return re.sub(r"[\s\-_]+", " ", _plain(text).lower()).strip(" .")


def template_hint(part: ChoicePart) -> str:
    options = "; ".join(
        f"{k} = {v}" if str(v).lower() != str(k).lower() else str(k) for k, v in part.options.items()
    )
    many = isinstance(part.answer, tuple)
    return ("a list of all options that apply: " if many else "one option: ") + options


ANSWER_TYPE = AnswerType(
    name="choice",
    part=ChoicePart,
    check=check,
    hint=template_hint,
    decided=Certificate.EXACT,
    one_answer=False,
    value_after_label=False,
)
