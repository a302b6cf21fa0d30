"""A PDF hand-in's parts: their pages, their answers where the PDF gives them, and what a TA grades.

- A PDF made from grader's template carries its LaTeX source: its answers were read from it
  as from the ``.tex`` (:mod:`grader.pdf.intake`); its marks give each part's pages.
- Another typeset PDF: parts are found by their headings (:mod:`grader.pdf.headings`); a part
  is graded from the text layer only where its region holds exactly one ``Answer: <value>``
  line whose value is plain numbers, on one baseline with nothing raised or lowered near it
  (an exponent or a fraction would be read wrong). Every other part goes to a TA with its pages.
- A scan: pages are tagged by the student (or a TA); every part goes to a TA with its pages.
No verdict is ever guessed: a part not found is graded by a TA from the whole PDF.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from grader.core.submission import Submission
from grader.pdf.headings import Outline, Region, find_regions, normalise

__all__ = ["map_submission", "pages_text", "text_answer"]

_NUMBER = r"-?\d+(?:\.\d+)?"
_VALUE = re.compile(
    rf"^(?:{_NUMBER}|\[\s*{_NUMBER}(?:\s*,\s*{_NUMBER})*\s*\]|\(\s*{_NUMBER}(?:\s*,\s*{_NUMBER})+\s*\))$"
)
# A heading may open the line: "(a) Answer: 4", "3(a) Answer: 4", "Question 1 (b) Answer: 2".
_HEADING = r"(?:(?:question|problem|exercise|task|part)\s+)?(?:[\w.]*\d[\w.]*\s*)?(?:\(?[a-z]{1,4}\)\s*)?"
_ANSWER = re.compile(
    rf"^{_HEADING}(?:final\s+)?answer(?:\s+to)?(?:\s+(?P<id>[\w.]+|\([a-z]\)))?\s*[:=]\s*(?P<value>.+?)\.?$"
)


def pages_text(pages: list[int]) -> str:
    if not pages:
        return "no page"
    if len(pages) == 1:
        return f"page {pages[0]}"
    if pages == list(range(pages[0], pages[-1] + 1)):
        return f"pages {pages[0]}-{pages[-1]}"
    return "pages " + ", ".join(map(str, pages))


def map_submission(spec: Any, submission: Submission) -> Submission:
    """``submission`` (a PDF hand-in: :attr:`Submission.pdf` set) with each part's pages, the
    answers its text layer gives unambiguously, and the parts a TA grades from the pages."""
    pdf = submission.pdf or {}
    outline = Outline.of(spec)
    addresses = outline.addresses()
    name = pdf.get("name", "the PDF")
    pages: dict[str, list[int]] = {}
    tags = _tags_by_part(outline, pdf.get("tags", {}))
    if pdf.get("template"):
        pages.update({a: p for a, p in pdf.get("marks", {}).items() if a in addresses})
        pages.update(tags)
        return dataclasses.replace(submission, pages=pages)
    answers = dict(submission.answers)
    by_hand: dict[str, str] = {}
    regions: dict[str, Region] = {} if pdf.get("scan") else find_regions(outline, pdf.get("lines", []))
    for address in addresses:
        region = regions.get(address)
        if address in tags:
            pages[address] = tags[address]
        elif region is not None:
            pages[address] = region.pages
        if address in pages and region is not None and region.own and address not in tags:
            value = text_answer(region, address)
            if value is not None:
                answers[address] = value
                continue
        by_hand[address] = _why_by_hand(name, pages.get(address), bool(pdf.get("scan")))
    return dataclasses.replace(submission, answers=answers, pages=pages, by_hand=by_hand)


def _why_by_hand(name: str, pages: list[int] | None, scan: bool) -> str:
    if pages is None:
        where = f"its pages in {name} were not found (not tagged, no heading found)"
        return f"graded by a TA from {name}: {where}; tag its pages to show them beside the rubric"
    if scan:
        return f"graded by a TA from {pages_text(pages)} of {name} (a scan: no answer is read from it)"
    return (
        f"graded by a TA from {pages_text(pages)} of {name} (its text gives no single plain answer "
        "line to check)"
    )


def text_answer(region: Region, address: str) -> str | None:
    """The one plain ``Answer: <numbers>`` line in the part's region, or None."""
    found: list[str] = []
    for line in region.lines:
        text = normalise(str(line[2]))
        match = _ANSWER.match(text)
        if match is None:
            continue
        named = match.group("id")
        if named is not None and named.strip("()") != address.lower() and not named.startswith("("):
            return None  # an answer to another part inside this one's pages
        value = match.group("value").strip()
        if line[3] or not _VALUE.match(value):
            return None  # something raised or lowered near it, or no plain number: a TA reads it
        found.append(value)
    return found[0] if len(found) == 1 else None


def _tags_by_part(outline: Outline, tags: dict[str, list[int]]) -> dict[str, list[int]]:
    """Tags by part address: a question's tag is every one of its parts' pages."""
    by_part: dict[str, list[int]] = {}
    for qid, _, parts in outline.questions:
        for address, _, _ in parts:
            pages = tags.get(address) or tags.get(qid)
            if pages:
                by_part[address] = list(pages)
    return by_part
