"""``choice``: one option key, or a list of keys for select-all.

Students write the key (``B``), ``(B)``, ``(B) piecewise-linear``, ``B)``, the
option's text, ``yes``/``no``, or for select-all a list or ``A, C``. Keys
match case-insensitively when that is unambiguous.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import model_validator

from grader.core.parts import PartBase
from grader.core.verdict import AnswerError, Verdict
from grader.types.base import AnswerType

_LEADING_KEY = re.compile(r"^\s*[\(\[]?\s*([A-Za-z0-9]{1,12})\s*[\)\].:]", re.S)
_SPLIT = re.compile(r"\s*(?:,|;|\band\b|&|\+)\s*", re.I)


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
    chosen = read_choices(part.options, answer, allow_many=select_all)
    if chosen == expected:
        return Verdict.correct()
    if not select_all:
        (key,) = chosen
        return Verdict.incorrect(f"you chose {describe(part.options, key)}")
    return _select_all_verdict(part, chosen, expected)


def _select_all_verdict(part: ChoicePart, chosen: set[str], expected: set[str]) -> Verdict:
    right = chosen & expected
    wrong = chosen - expected
    missed = expected - chosen
    parts = []
    if wrong:
        parts.append(f"{len(wrong)} of your choices should not be selected")
    if missed:
        parts.append(f"{len(missed)} correct option(s) missing")
    feedback = "; ".join(parts)
    if part.scoring == "all_or_nothing":
        return Verdict.incorrect(feedback)
    return Verdict.partial((len(right) - len(wrong)) / len(expected), feedback)


def describe(options: dict[str, str], key: str) -> str:
    text = options[key]
    return key if text.strip().lower() == key.lower() else f"{key} ({text})"


def read_choices(options: dict[str, str], answer: Any, allow_many: bool) -> set[str]:
    if isinstance(answer, bool):  # YAML true/false for a yes/no question
        answer = "yes" if answer else "no"
    if isinstance(answer, (int, float)):
        answer = str(answer)
    if isinstance(answer, list):
        items = [str(item) for item in answer]
    elif isinstance(answer, str):
        items = [answer]
        if allow_many and _match_one(options, answer) is None:
            items = [piece for piece in _SPLIT.split(answer) if piece.strip()]
    else:
        raise AnswerError(f"expected an option such as {next(iter(options))}, got a {type(answer).__name__}")
    keys = [_match_or_fail(options, item) for item in items]
    if not keys:
        raise AnswerError("no option chosen")
    if len(keys) > 1 and not allow_many:
        raise AnswerError(f"choose one option; you gave {len(keys)}")
    return set(keys)


def _match_or_fail(options: dict[str, str], text: str) -> str:
    key = _match_one(options, text)
    if key is None:
        listing = ", ".join(describe(options, k) for k in options)
        shown = text if len(text) <= 60 else text[:60] + "…"
        raise AnswerError(f"could not tell which option {shown!r} means; the options are {listing}")
    return key


def _match_one(options: dict[str, str], text: str) -> str | None:
    cleaned = text.strip().strip("$").strip()
    for candidate in _candidates(cleaned):
        key = _key_for(options, candidate)
        if key is not None:
            return key
    leading = _LEADING_KEY.match(cleaned)
    if leading:  # "(B) piecewise-linear", "D) exponential in l, because ..."
        key = _key_for(options, leading.group(1))
        if key is not None:
            return key
    return _by_text_prefix(options, cleaned)


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


def _by_text_prefix(options: dict[str, str], text: str) -> str | None:
    norm = _norm(text)
    hits = [k for k, v in options.items() if _norm(v) and norm.startswith(_norm(v) + " ")]
    return hits[0] if len(hits) == 1 else None


def _norm(text: str) -> str:
    return re.sub(r"[\s\-_]+", " ", text.strip().lower()).strip(" .")


def template_hint(part: ChoicePart) -> str:
    options = "; ".join(
        f"{k} = {v}" if str(v).lower() != str(k).lower() else str(k) for k, v in part.options.items()
    )
    many = isinstance(part.answer, tuple)
    return ("a list of all options that apply: " if many else "one option: ") + options


ANSWER_TYPE = AnswerType(name="choice", part=ChoicePart, check=check, hint=template_hint)
