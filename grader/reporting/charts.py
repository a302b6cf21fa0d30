"""Class-level charts as SVG written by hand (no matplotlib): the score histogram and
the per-part difficulty chart of the dashboard.

Every chart carries a ``<title>`` and a ``<desc>`` (its alt text), every bar a
``<title>`` with its numbers, and the numbers are printed on the chart too, so
colour is never the only way to read it. Text is escaped.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from grader.core.report import points_value
from grader.core.verdict import Status
from grader.reporting.escape import html_text as escape
from grader.reporting.stats import PartStats

SVG_NS = "http://www.w3.org/2000/svg"
# Fill colours by status; the chart's legend and labels name them too.
STATUS_COLOURS = {
    Status.CORRECT: "#2da44e",
    Status.PARTIAL: "#d4a72c",
    Status.INCORRECT: "#cf222e",
    Status.MISSING: "#afb8c1",
    Status.INVALID: "#8250df",
    Status.MANUAL: "#54aeff",
    Status.ERROR: "#6e0b1a",
}
BAR_COLOUR = "#0969da"
TEXT_COLOUR = "#1f2328"
GRID_COLOUR = "#d0d7de"
FONT = "font-family='system-ui, sans-serif' font-size='12'"
MAX_BINS = 10


@dataclass(frozen=True)
class Bin:
    low: float
    high: float
    count: int

    def label(self) -> str:
        low, high = points_value(self.low), points_value(self.high)
        return str(low) if low == high else f"{low}–{high}"


def score_bins(scores: Sequence[float], max_score: float) -> list[Bin]:
    """One bin per point when there are few points, else bins of a round width
    (1, 2, 5, 10, 20...), half-open but for the last one, which ends at the maximum."""
    if max_score <= 0:
        return [Bin(0, 0, len(scores))]
    whole = all(float(s).is_integer() for s in scores) and float(max_score).is_integer()
    if whole and max_score < MAX_BINS:
        return [Bin(p, p, sum(1 for s in scores if round(s) == p)) for p in range(int(max_score) + 1)]
    width = round_width(max_score / MAX_BINS)
    count = max(1, math.ceil(max_score / width - 1e-9))
    counts = [0] * count
    for score in scores:
        counts[min(count - 1, max(0, math.floor(score / width + 1e-9)))] += 1
    return [Bin(i * width, min((i + 1) * width, max_score), counts[i]) for i in range(count)]


def round_width(least: float) -> float:
    """The smallest of 1, 2, 2.5, 5 times a power of ten that is at least ``least``."""
    power = 10.0 ** math.floor(math.log10(least))
    return next(power * step for step in (1, 2, 2.5, 5, 10) if power * step >= least - 1e-12)


def _svg(width: int, height: int, title: str, description: str, body: str, ident: str) -> str:
    return (
        f"<svg xmlns='{SVG_NS}' viewBox='0 0 {width} {height}' width='{width}' height='{height}' "
        f"role='img' aria-labelledby='{ident}-title {ident}-desc'>"
        f"<title id='{ident}-title'>{escape(title)}</title>"
        f"<desc id='{ident}-desc'>{escape(description)}</desc>"
        f"{body}</svg>"
    )


def _text(x: float, y: float, text: str, anchor: str = "middle", extra: str = "") -> str:
    return (
        f"<text x='{x:.1f}' y='{y:.1f}' text-anchor='{anchor}' fill='{TEXT_COLOUR}' {FONT} {extra}>"
        f"{escape(text)}</text>"
    )


def histogram_svg(scores: Sequence[float], max_score: float, *, ident: str = "histogram") -> str:
    """Students per score range, bars labelled with their counts."""
    bins = score_bins(scores, max_score)
    width, height, left, bottom, top = 640, 280, 48, 44, 20
    plot_w, plot_h = width - left - 16, height - bottom - top
    tallest = max((b.count for b in bins), default=0) or 1
    slot = plot_w / len(bins)
    body = [_axes(left, top, plot_w, plot_h, tallest)]
    for i, b in enumerate(bins):
        x = left + i * slot
        bar_h = plot_h * b.count / tallest
        y = top + plot_h - bar_h
        students = "student" if b.count == 1 else "students"
        body.append(
            f"<rect x='{x + 3:.1f}' y='{y:.1f}' width='{slot - 6:.1f}' height='{bar_h:.1f}' "
            f"fill='{BAR_COLOUR}'><title>{b.count} {students} scored {escape(b.label())}</title></rect>"
        )
        if b.count:
            body.append(_text(x + slot / 2, y - 4, str(b.count)))
        body.append(_text(x + slot / 2, top + plot_h + 16, b.label()))
    body.append(_text(left + plot_w / 2, height - 6, f"score (out of {points_value(max_score)})"))
    title = "Score histogram"
    description = f"{len(scores)} students; " + "; ".join(f"{b.label()}: {b.count}" for b in bins if b.count)
    return _svg(width, height, title, description, "".join(body), ident)


def _axes(left: float, top: float, plot_w: float, plot_h: float, tallest: int) -> str:
    step = max(1, math.ceil(tallest / 5))
    lines = []
    for value in range(0, tallest + 1, step):
        y = top + plot_h - plot_h * value / tallest
        lines.append(
            f"<line x1='{left}' x2='{left + plot_w:.1f}' y1='{y:.1f}' y2='{y:.1f}' stroke='{GRID_COLOUR}'/>"
        )
        lines.append(_text(left - 6, y + 4, str(value), "end"))
    lines.append(
        _text(14, top + plot_h / 2, "students", extra=f"transform='rotate(-90 14 {top + plot_h / 2})'")
    )
    return "".join(lines)


def difficulty_svg(parts: Sequence[PartStats], *, ident: str = "difficulty") -> str:
    """One stacked bar per part: the share of each status, with the mean score printed beside it."""
    row, label_w, bar_w, right_w, top = 22, 200, 380, 120, 34
    width, height = label_w + bar_w + right_w, top + row * len(parts) + 8
    body = [_legend(8, 14)]
    for i, part in enumerate(parts):
        y = top + i * row
        body.append(_text(label_w - 8, y + 14, _shorten(part.id), "end"))
        body.append(_stack(part, label_w, y, bar_w, row - 6))
        mean = "graded by hand" if part.by_hand else f"mean {part.mean_fraction:.0%}"
        mean += " ⚠ review" if part.needs_review else ""
        body.append(_text(label_w + bar_w + 8, y + 14, mean, "start"))
    description = "; ".join(
        f"{p.id}: {p.share(Status.CORRECT):.0%} correct, mean score {p.mean_fraction:.0%}" for p in parts
    )
    return _svg(width, height, "Difficulty of each part", description, "".join(body), ident)


def _stack(part: PartStats, x0: float, y: float, width: float, height: float) -> str:
    pieces, x = [], x0
    for status in Status:
        share = part.share(status)
        if share <= 0:
            continue
        w = width * share
        count = part.counts.get(status.value, 0)
        pieces.append(
            f"<rect x='{x:.1f}' y='{y:.1f}' width='{w:.1f}' height='{height:.1f}' "
            f"fill='{STATUS_COLOURS[status]}' stroke='white' stroke-width='1'>"
            f"<title>{escape(part.id)}: {count} {status.value} ({share:.0%})</title></rect>"
        )
        x += w
    return "".join(pieces)


def _legend(x0: float, y: float) -> str:
    items, x = [], x0
    for status in Status:
        items.append(
            f"<rect x='{x:.1f}' y='{y - 10}' width='12' height='12' fill='{STATUS_COLOURS[status]}'/>"
        )
        items.append(_text(x + 16, y, status.value, "start"))
        x += 22 + 7 * len(status.value)
    return "".join(items)


def _shorten(text: str, limit: int = 30) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
