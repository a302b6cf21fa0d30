"""The similarity report as a CSV and an HTML page (Jinja2, every student text escaped).

The page lists the ranked pairs and, for the highest ones, the two sheets side by side,
part by part, with the passages they share highlighted. Student text reaches the page
only through the template's autoescape: it is cut into plain and highlighted pieces here,
never marked safe.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from grader.reporting.escape import csv_cell
from grader.similarity.compare import Sheet
from grader.similarity.models import SIGNALS, Pair

SHOWN_PAIRS = 50  # pairs shown side by side on the page
LISTED_PAIRS = 500  # pairs in the page's table


def pairs_csv(pairs: Sequence[Pair]) -> str:
    """One row per pair: the students, the score, each signal's score, and why."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["a", "b", "score", *SIGNALS, "strongest", "parts"])
    for pair in pairs:
        strongest = pair.strongest
        writer.writerow(
            [
                csv_cell(pair.a),
                csv_cell(pair.b),
                f"{pair.score:.3f}",
                *(f"{pair.signals[s].score:.3f}" if s in pair.signals else "" for s in SIGNALS),
                strongest if pair.score else "",
                csv_cell(" ".join(pair.signals[strongest].parts)),
            ]
        )
    return out.getvalue()


def pairs_json(pairs: Sequence[Pair]) -> list[dict[str, Any]]:
    return [pair.model_dump(mode="json") for pair in pairs]


@dataclass
class Piece:
    text: str
    shared: bool


def pieces(text: str, spans: Sequence[tuple[int, int]]) -> list[Piece]:
    """``text`` cut into pieces, those inside one of ``spans`` marked shared."""
    found: list[Piece] = []
    at = 0
    for start, end in sorted(spans):
        start = max(start, at)
        if end <= start:
            continue
        if start > at:
            found.append(Piece(text[at:start], False))
        found.append(Piece(text[start:end], True))
        at = end
    if at < len(text):
        found.append(Piece(text[at:], False))
    return found


def side_by_side(pair: Pair, sheets: dict[str, Sheet]) -> list[dict[str, Any]]:
    one, other = sheets[pair.a], sheets[pair.b]
    spans_a: dict[str, list[tuple[int, int]]] = {}
    spans_b: dict[str, list[tuple[int, int]]] = {}
    why: dict[str, list[str]] = {}
    for name, signal in pair.signals.items():
        for passage in signal.passages:
            spans_a.setdefault(passage.part, []).append(passage.a_span)
            spans_b.setdefault(passage.part, []).append(passage.b_span)
        for part in signal.parts:
            why.setdefault(part, []).append(name)
        for shared in signal.answers:
            why.setdefault(shared.part, []).append(f"the same wrong answer as {shared.students - 2} others")
    rows = []
    for part in sorted(why, key=lambda p: list(one.texts).index(p) if p in one.texts else 0):
        rows.append(
            {
                "part": part,
                "why": ", ".join(dict.fromkeys(why[part])),
                "a": pieces(one.texts.get(part, ""), spans_a.get(part, [])),
                "b": pieces(other.texts.get(part, ""), spans_b.get(part, [])),
            }
        )
    return rows


def render_page(
    title: str,
    pairs: Sequence[Pair],
    sheets: dict[str, Sheet],
    students: int,
    template: str = "similarity.html",
    embedded: bool = False,
) -> str:
    """The page (``similarity_body.html``: its body; ``embedded``: without its heading, as the
    service's page shows it below its own): the ranked pairs, then the highest side by side."""
    import jinja2

    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("grader.similarity", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    shown = [p for p in pairs[:SHOWN_PAIRS] if p.score > 0]
    return environment.get_template(template).render(
        title=title,
        embedded=embedded,
        students=students,
        signals=SIGNALS,
        pairs=list(pairs[:LISTED_PAIRS]),
        listed_all=len(pairs) <= LISTED_PAIRS,
        total=len(pairs),
        shown=[{"pair": p, "number": n, "rows": side_by_side(p, sheets)} for n, p in enumerate(shown, 1)],
    )
