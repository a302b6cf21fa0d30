"""Where each part of a problem set is in a typeset PDF: found by its headings.

Read from the text layer, line by line (a line: text on one baseline in one size): ``Question 3``,
``Problem 2.b``, ``3(a)``, ``Q2 (b)``, ``(c)`` under a question, a part's id (``q3.limit``), a
question's or part's title. Questions are matched by the number in their id (``q3`` is question
3) or else by their order; parts by letter (``(b)`` is the second part), roman numeral or id.
A part's pages run from its heading to the next heading found.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Anchor", "Outline", "Region", "find_regions", "normalise"]

_ROMAN = ["i", "ii", "iii", "iv", "v", "vi", "vii", "viii", "ix", "x", "xi", "xii"]
_WORD = r"(?:question|problem|exercise|task|aufgabe|q)"
# Question 3 / Problem 2.b / Q2 (b) / Exercise 4, part (c) / 3(a) / 3.b)
_NUMBERED = re.compile(
    rf"^(?P<word>{_WORD})?\s*\.?\s*(?P<num>\d{{1,2}})"
    r"(?:\s*[.,:]?\s*(?:part\s*)?(?:\((?P<p1>[a-z]|[ivx]{1,4})\)|(?P<p2>[a-z]|[ivx]{1,4})\)|\.(?P<p3>[a-z])\b))?"
    r"(?=$|[\s.:)\-–—])"
)
_LETTER = re.compile(
    r"^(?:part\s+)?(?:\((?P<p1>[a-z]|[ivx]{1,4})\)|(?P<p2>[a-z])\))(?=$|\s)|^part\s+(?P<p3>[a-z])\b"
)


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).replace("\u2212", "-").replace("\u00a0", " ")
    text = re.sub(r"\s+", " ", text).strip().lower()
    return re.sub(r"\(\s+", "(", re.sub(r"\s+\)", ")", text))  # "(f )": an italic letter's own spacing


@dataclass(frozen=True)
class Outline:
    """The problem set as headings name it: questions in order, each with its parts."""

    questions: list[tuple[str, str | None, list[tuple[str, str, str | None]]]]  # (id, title, parts)

    @classmethod
    def of(cls, spec: Any) -> Outline:
        questions = []
        for question in spec.questions:
            parts = [
                (question.id if question.single else f"{question.id}.{part.id}", part.id, part.title)
                for part in question.parts
            ]
            questions.append((question.id, question.title, parts))
        return cls(questions)

    def addresses(self) -> list[str]:
        return [address for _, _, parts in self.questions for address, _, _ in parts]


@dataclass(frozen=True)
class Anchor:
    page: int
    order: int  # the heading line's place in its page's reading order
    question: int
    part: int | None  # None: the question's heading


@dataclass
class Region:
    """Where one part is: its pages, and the lines between its heading and the next (each line
    ``[y, size, text, baselines near it, order on its page]``)."""

    pages: list[int]
    lines: list[list[Any]] = field(default_factory=list)
    own: bool = True  # found by its own heading (False: by its question's)


def find_regions(outline: Outline, lines: list[list[list[Any]]]) -> dict[str, Region]:
    """Each part found, by address, with its pages and lines (pages counted from 1)."""
    anchors = _anchors(outline, lines)
    regions: dict[str, Region] = {}
    questions: dict[int, Region] = {}
    for index, anchor in enumerate(anchors):
        if index and (anchors[index - 1].question, anchors[index - 1].part) == (anchor.question, anchor.part):
            continue  # "q4: <title>" then "q4": one heading, the region runs on from the first
        following = next(
            (a for a in anchors[index + 1 :] if (a.question, a.part) != (anchor.question, anchor.part)), None
        )
        region = _region(anchor, following, lines)
        if anchor.part is None:
            questions.setdefault(anchor.question, region)
            continue
        address = outline.questions[anchor.question][2][anchor.part][0]
        regions.setdefault(address, region)
    for number, region in questions.items():
        for address, _, _ in outline.questions[number][2]:
            if address not in regions:
                parts = outline.questions[number][2]
                regions[address] = Region(
                    region.pages, region.lines if len(parts) == 1 else [], own=len(parts) == 1
                )
    return regions


def _region(anchor: Anchor, following: Anchor | None, lines: list[list[list[Any]]]) -> Region:
    last_page = following.page if following is not None else len(lines)
    inside: list[list[Any]] = []
    pages: list[int] = []
    for page in range(anchor.page, last_page + 1):
        found = [
            line
            for line in lines[page - 1]
            if (page > anchor.page or line[4] >= anchor.order)  # the heading's line: "(a) Answer: 4"
            and (following is None or page < following.page or line[4] < following.order)
        ]
        if found or page == anchor.page:
            pages.append(page)
        inside += found
    return Region(pages, inside)


def _anchors(outline: Outline, lines: list[list[list[Any]]]) -> list[Anchor]:
    numbers = _question_numbers(outline)
    found: list[Anchor] = []
    current: tuple[int, int] | None = None  # the question read, and its last part found (-1: none yet)
    for page, page_lines in enumerate(lines, 1):
        for line in page_lines:
            hit = _heading(outline, numbers, normalise(str(line[2])), current)
            if hit is None:
                continue
            current = (hit[0], -1 if hit[1] is None else hit[1])
            found.append(Anchor(page, int(line[4]), hit[0], hit[1]))
    return found


def _question_numbers(outline: Outline) -> dict[int, int]:
    """Question number as written in a heading -> question index: the digits of the ids when
    they tell the questions apart (q3 is question 3), else their order."""
    digits = [re.findall(r"\d+", qid) for qid, _, _ in outline.questions]
    numbers = [int(d[-1]) for d in digits if d]
    if len(numbers) == len(outline.questions) and len(set(numbers)) == len(numbers):
        return {number: index for index, number in enumerate(numbers)}
    return {index + 1: index for index in range(len(outline.questions))}


def _heading(
    outline: Outline, numbers: dict[int, int], text: str, current: tuple[int, int] | None
) -> tuple[int, int | None] | None:
    """(question index, part index or None) a line is the heading of, or None."""
    ids = [
        (qi, pi, address)
        for qi, (_, _, parts) in enumerate(outline.questions)
        for pi, (address, _, _) in enumerate(parts)
    ]
    for qindex, pindex, address in sorted(ids, key=lambda found: -len(found[2])):  # q1.a_b before q1.a
        if re.match(rf"^(?:\W{{0,3}}|(?:{_WORD}|part)\s*){_id_pattern(address)}(?![\w.])", text):
            return qindex, pindex
    match = _NUMBERED.match(text)
    if match is not None and int(match.group("num")) in numbers:
        qindex = numbers[int(match.group("num"))]
        letter = match.group("p1") or match.group("p2") or match.group("p3")
        if letter is None and match.group("word") is None and not _bare_heading(outline, qindex, text, match):
            return None  # a bare "3." is a numbered list as often as a heading
        if letter is None:
            return qindex, _named_part(outline, qindex, text[match.end() :])
        part = _letter_part(outline, qindex, letter)
        return (qindex, part) if part is not None else None
    match = _LETTER.match(text)
    if match is not None and current is not None:
        # "(c)" alone is trusted as the next part of the question read (a "d)" a title wrapped
        # onto a line of its own is not); "(i)" then reads as a roman numeral or a letter, which fits
        letter = match.group("p1") or match.group("p2") or match.group("p3")
        question, last = current
        if last + 1 in _letter_candidates(outline, question, letter):
            return question, last + 1
        return None
    return _titled(outline, text)


def _id_pattern(address: str) -> str:
    """A part id as a text layer may give it: ``q1.via_h_1``, ``q1.via h 1`` (an underscore drawn
    as a rule), ``q1. via_h_1``."""
    pieces = [re.escape(piece) for piece in re.split(r"[_.]", address.lower())]
    seps = re.findall(r"[_.]", address)
    out = pieces[0]
    for sep, piece in zip(seps, pieces[1:], strict=True):
        out += (r"\.\s?" if sep == "." else r"[_\s]?") + piece
    return out


_POINTS = re.compile(r"^\s*[.:)]?\s*[(\[]\s*\d+(?:\.\d+)?\s*(?:points?|pts?|marks?)\s*[)\]]")


def _bare_heading(outline: Outline, qindex: int, text: str, match: re.Match[str]) -> bool:
    """``3. (10 points) ...`` or ``3. <the question's title>``: a heading with no word before it."""
    rest = text[match.end() :]
    if _POINTS.match(rest):
        return True
    title = outline.questions[qindex][1]
    stripped = rest.lstrip(" .:)")
    return bool(title) and len(stripped) >= 6 and normalise(title or "").startswith(stripped[:40])


def _letter_candidates(outline: Outline, qindex: int, letter: str) -> set[int]:
    parts = outline.questions[qindex][2]
    ids = [pid.lower() for _, pid, _ in parts]
    found = {ids.index(letter)} if letter in ids else set()
    if len(letter) == 1:
        found.add(ord(letter) - ord("a"))
    if letter in _ROMAN:
        found.add(_ROMAN.index(letter))
    return {index for index in found if 0 <= index < len(parts)}


def _letter_part(outline: Outline, qindex: int, letter: str) -> int | None:
    parts = outline.questions[qindex][2]
    ids = [pid.lower() for _, pid, _ in parts]
    if letter in ids:
        return ids.index(letter)
    # (i) and (v) are letters in a list of nine parts or more, roman numerals otherwise
    if len(letter) == 1 and (letter not in "ivx" or len(parts) > ord(letter) - ord("a")):
        index = ord(letter) - ord("a")
    else:
        index = _ROMAN.index(letter) if letter in _ROMAN else -1
    return index if 0 <= index < len(parts) else None


def _named_part(outline: Outline, qindex: int, rest: str) -> int | None:
    """``Question 3 (limit)``, ``Question 3: The limit``: a part named after the number."""
    first = re.match(r"^[\s.:(\-–—]*([a-z0-9_]+)", rest)  # the word right after the number
    for pindex, (_, pid, title) in enumerate(outline.questions[qindex][2]):
        if first is not None and first.group(1) == pid.lower() and len(pid) > 1:
            return pindex
        if title and len(title) >= 6 and normalise(title) in rest:
            return pindex
    return None


def _titled(outline: Outline, text: str) -> tuple[int, int | None] | None:
    """A line that starts with a part's or a question's title (six letters or more)."""
    stripped = re.sub(r"^[\d.()\s]*", "", text)
    for qindex, (_, qtitle, parts) in enumerate(outline.questions):
        for pindex, (_, _, title) in enumerate(parts):
            if title and len(title) >= 6 and stripped.startswith(normalise(title)):
                return qindex, pindex
        if qtitle and len(qtitle) >= 6 and stripped.startswith(normalise(qtitle)):
            return qindex, None
    return None
