"""The limits a PDF is read and rendered under: every one a refusal that says what to fix."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["GRADER_SOURCE", "IMAGE_SUFFIXES", "PdfLimits", "PdfRefused"]

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")  # photos of pages, handed in instead of a PDF
# The one embedded file a PDF may hold: grader.sty's copy of the write-up's LaTeX source.
GRADER_SOURCE = "grader-source.tex"
# Named destinations grader.sty writes: where each part's answer starts and ends.
PART_START = "grader:part:"
PART_END = "grader:end:"


@dataclass(frozen=True)
class PdfLimits:
    """How much one PDF may cost. The defaults fit a 60-page homework with photos of each page."""

    max_bytes: int = 50 << 20  # the file itself
    max_pages: int = 60
    seconds: float = 30.0  # CPU time of the process that reads (or renders) one PDF
    wall_seconds: float = 60.0  # and its wall-clock time, on a loaded machine
    mebibytes: int = 1024  # address space of that process
    max_image_pixels: int = 60_000_000  # one image in the PDF (a 12 MP phone photo is 12 M)
    max_page_points: float = 200.0 * 72  # a page's side, in points (200 inches)
    max_stream_bytes: int = 64 << 20  # one stream once decompressed
    max_content_bytes: int = 128 << 20  # all pages' content streams once decompressed
    max_render_pixels: int = 8_000_000  # one rendered page image

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class PdfRefused(ValueError):
    """A PDF grader will not read, with the reason in words a student can act on."""
