"""The graded PDF a student gets back: a cover page with the score of each question, and on
each question's first page its parts' points, rubric items and comments, stamped in the margin
of the student's own page.

:func:`graded_pdf` lays out what to write from the report (the student's own feedback, as their
report shows it: never the expected answer); the stamping itself (pypdf merges, reportlab draws)
runs in the limited child process (:func:`stamp_pdf`), as every other opening of a student's PDF.
"""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path
from typing import Any

from grader.core.report import PartResult, Report
from grader.core.verdict import Status
from grader.pdf.isolated import run_child
from grader.pdf.limits import PdfLimits

__all__ = ["graded_pdf", "graded_pdf_file", "stamp_lines", "stamp_pdf"]

MAX_LINE = 95  # characters of a stamped line
MAX_LINES = 40  # lines of one page's stamp
_SIGN = {
    Status.CORRECT: "+",
    Status.PARTIAL: "~",
    Status.INCORRECT: "x",
    Status.MANUAL: "?",
    Status.MISSING: "-",
}


def _points(value: float) -> str:
    return f"{value:g}"


def _part_lines(part: PartResult) -> list[str]:
    points = f"{_points(part.score)}/{_points(part.max_score)}"
    lines = [f"{_SIGN.get(part.status, '!')} {part.id}: {points} ({part.status})"]
    if part.hand is not None:
        lines += [f"    [{_points(mark.points)}] {mark.text or mark.id}" for mark in part.hand.rubric]
        if part.hand.comment:
            lines += [f"    {line}" for line in part.hand.comment.splitlines()[:6]]
    elif part.feedback and part.status is not Status.CORRECT:
        lines += [f"    {line}" for line in part.feedback.splitlines()[:4]]
    return [line[:MAX_LINE] for line in lines]


def _question(part_id: str) -> str:
    return part_id.split(".", 1)[0]


def stamp_lines(report: Report) -> tuple[list[str], dict[int, list[str]]]:
    """(cover lines, stamp lines by page): each question's parts on its first page."""
    questions: dict[str, list[PartResult]] = {}
    for part in report.parts:
        questions.setdefault(_question(part.id), []).append(part)
    cover = [
        f"{report.assignment}: {report.student}",
        f"Score: {_points(report.score)} / {_points(report.max_score)}",
        "",
    ]
    stamps: dict[int, list[str]] = {}
    for question, parts in questions.items():
        got = sum(p.score for p in parts)
        out_of = sum(p.max_score for p in parts)
        pages = sorted({page for p in parts for page in report.pages.get(p.id, [])})
        where = f"  (page {pages[0]})" if pages else "  (no page found)"
        waiting = any(p.status is Status.MANUAL for p in parts)
        cover.append(
            f"{question}: {_points(got)}/{_points(out_of)}{' (to be graded)' if waiting else ''}{where}"
        )
        if pages:
            lines = stamps.setdefault(pages[0], [])
            lines.append(f"{question}: {_points(got)}/{_points(out_of)}")
            for part in parts:
                lines += _part_lines(part)
    return cover, {page: lines[:MAX_LINES] for page, lines in stamps.items()}


def graded_pdf(report: Report, pdf: Path, limits: PdfLimits | None = None) -> bytes:
    """The student's PDF with a cover page and the stamps (see :func:`stamp_lines`)."""
    cover, stamps = stamp_lines(report)
    fd, out = tempfile.mkstemp(suffix=".pdf", prefix="grader-graded-")
    os.close(fd)
    try:
        run_child(
            {
                "op": "stamp",
                "path": str(pdf.resolve()),
                "out": out,
                "cover": cover,
                "stamps": {str(k): v for k, v in stamps.items()},
            },
            limits or PdfLimits(),
        )
        return Path(out).read_bytes()
    finally:
        os.unlink(out)


def graded_pdf_file(report: Report, pdf: dict[str, Any] | None, stem: str) -> dict[str, bytes]:
    """``{"<stem>.graded.pdf": bytes}`` for a PDF hand-in read from disk (the batch's ``--out``),
    else nothing; a PDF that cannot be stamped gets no graded copy (its report says the rest)."""
    from grader.pdf.limits import PdfRefused

    if not pdf or not pdf.get("path") or report.error:
        return {}
    try:
        return {f"{stem}.graded.pdf": graded_pdf(report, Path(pdf["path"]))}
    except (PdfRefused, OSError):
        return {}


def _latin(text: str) -> str:
    """reportlab's standard fonts draw Latin-1: anything else as '?' (no font file is loaded)."""
    return text.encode("latin-1", "replace").decode("latin-1")


def _cover(lines: list[str], width: float, height: float) -> bytes:
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    page = canvas.Canvas(buffer, pagesize=(width, height))
    page.setFont("Helvetica-Bold", 16)
    page.drawString(54, height - 72, _latin(lines[0]))
    page.setFont("Helvetica", 12)
    y = height - 100
    for line in lines[1:]:
        page.drawString(54, y, _latin(line))
        y -= 16
        if y < 54:
            page.showPage()
            page.setFont("Helvetica", 12)
            y = height - 72
    page.showPage()
    page.save()
    return buffer.getvalue()


def _overlay(lines: list[str], width: float, height: float) -> bytes:
    from reportlab.lib.colors import Color
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    page = canvas.Canvas(buffer, pagesize=(width, height))
    size = 7.5
    box_width = min(width * 0.62, 6.2 * size * 0.55 * MAX_LINE / 6)
    box_height = size * 1.25 * len(lines) + 8
    x, y = width - box_width - 12, height - box_height - 12
    page.setFillColor(Color(1, 1, 0.85, alpha=0.92))
    page.setStrokeColor(Color(0.75, 0.2, 0.1))
    page.rect(x, y, box_width, box_height, fill=1, stroke=1)
    page.setFillColor(Color(0.6, 0.05, 0.05))
    text = page.beginText(x + 4, y + box_height - size - 3)
    text.setFont("Helvetica", size)
    for line in lines:
        text.textLine(_latin(line))
    page.drawText(text)
    page.showPage()
    page.save()
    return buffer.getvalue()


def stamp_pdf(
    path: str, out: str, cover: list[str], stamps: dict[str, list[str]], limits: dict[str, Any]
) -> dict[str, Any]:
    """In the child: the cover page, then the student's pages with their stamps, written to ``out``."""
    from pypdf import PdfReader, PdfWriter

    reader = PdfReader(path)
    if len(reader.pages) > limits["max_pages"]:
        return {"refused": f"the PDF has {len(reader.pages)} pages; at most {limits['max_pages']} are read"}
    writer = PdfWriter()
    first = reader.pages[0]
    width, height = float(first.mediabox.width), float(first.mediabox.height)
    for page in PdfReader(io.BytesIO(_cover(cover, width, height))).pages:
        writer.add_page(page)
    for page in reader.pages:
        writer.add_page(page)
    covered = len(writer.pages) - len(reader.pages)
    for number in range(1, len(reader.pages) + 1):
        lines = stamps.get(str(number))
        if lines:
            page = writer.pages[covered + number - 1]
            box = page.mediabox
            overlay = PdfReader(io.BytesIO(_overlay(lines, float(box.width), float(box.height)))).pages[0]
            page.merge_translated_page(overlay, float(box.left), float(box.bottom))
    with open(out, "wb") as stream:
        writer.write(stream)
    return {"written": [out]}
