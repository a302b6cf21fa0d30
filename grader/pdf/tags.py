"""Pages tagged to questions or parts: ``q1=1-2,q3=4`` (``grader submit --pages``, the API, pages.txt)."""

from __future__ import annotations

import re

__all__ = ["TAGS_FILE", "format_tags", "parse_tags", "tags_in", "with_tags"]

TAGS_FILE = (
    "pages.txt"  # beside a PDF in a submission folder: its tags, one "q1=1-2" a line or comma-separated
)
_RANGE = re.compile(r"^\s*(\d+)\s*(?:-\s*(\d+))?\s*$")
_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,100}$")
MAX_TAGGED_PAGE = 10_000
MAX_TAGS = 100_000  # (part, page) pairs in one tagging: a hostile one must not fill the memory
# Tags handed in with a PDF (grader submit --pages, the service's API) travel with it: a comment
# line after the PDF's end, which every PDF reader skips.
TAGS_COMMENT = b"%grader-pages "
_TAIL = 8192


def parse_tags(text: str) -> dict[str, list[int]]:
    """``q1=1-2,q3=4;6`` -> ``{"q1": [1, 2], "q3": [4, 6]}``; ValueError says what is wrong."""
    tags: dict[str, list[int]] = {}
    listed = 0
    items = [item for line in text.splitlines() for item in line.split(",")] if text.strip() else []
    current: str | None = None
    for raw in items:
        item = raw.split("#", 1)[0].strip()
        if not item:
            continue
        if "=" not in item and ":" in item and not item[0].isdigit():
            item = item.replace(":", "=", 1)  # q1: 1-2, as in a YAML file
        if "=" in item:
            key, _, value = item.partition("=")
            current = key.strip()
            if not _ID.match(current):
                raise ValueError(f"{current!r} is not a question or part id")
        elif current is None:
            raise ValueError(f"{item!r}: write <question or part id>=<pages>, e.g. q1=1-2")
        else:
            value = item
        for piece in value.split(";"):
            pages = _pages(piece)
            listed += len(pages)
            if listed > MAX_TAGS:  # counted as read: a hostile tagging must not fill the memory or a core
                raise ValueError(f"more than {MAX_TAGS:,} tagged pages: tag each page once")
            tags.setdefault(current, []).extend(pages)
    return {key: sorted(set(pages)) for key, pages in tags.items()}


def _pages(text: str) -> list[int]:
    match = _RANGE.match(text)
    if match is None:
        raise ValueError(f"{text.strip()!r} is not a page or a range of pages (like 3 or 1-2)")
    first = int(match.group(1))
    last = int(match.group(2) or first)
    if not 1 <= first <= last <= MAX_TAGGED_PAGE:
        raise ValueError(f"{text.strip()!r}: pages count from 1, the first before the last")
    return list(range(first, last + 1))


def format_tags(tags: dict[str, list[int]]) -> str:
    """The inverse of :func:`parse_tags`, ranges joined: ``q1=1-2,q3=4``."""
    out = []
    for key, pages in tags.items():
        runs: list[str] = []
        for page in sorted(set(pages)):
            if runs and runs[-1].split("-")[-1] == str(page - 1):
                runs[-1] = f"{runs[-1].split('-')[0]}-{page}"
            else:
                runs.append(str(page))
        out.append(f"{key}={';'.join(runs)}")
    return ",".join(out)


def with_tags(pdf: bytes, tags: dict[str, list[int]]) -> bytes:
    """The PDF with ``tags`` in a comment after its end (tags it held before replaced)."""
    at = pdf.rfind(b"\n" + TAGS_COMMENT, max(0, len(pdf) - _TAIL))
    body = pdf[:at] if at >= 0 else pdf
    if not tags:
        return body
    return body + b"\n" + TAGS_COMMENT + format_tags(tags).encode("ascii") + b"\n"


def tags_in(pdf_tail: bytes) -> dict[str, list[int]]:
    """The tags :func:`with_tags` left at the end of a PDF (its last few KiB are enough)."""
    at = pdf_tail.rfind(b"\n" + TAGS_COMMENT, max(0, len(pdf_tail) - _TAIL))
    if at < 0:
        return {}
    line = pdf_tail[at + 1 + len(TAGS_COMMENT) :].split(b"\n", 1)[0]
    return parse_tags(line.decode("ascii", errors="replace"))
