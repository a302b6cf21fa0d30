"""A PDF hand-in as grader sees it: its pages' text, grader.sty's marks, and its rendered pages.

:func:`read_pdf` and :func:`render_pages` open the file in a separate, limited process
(:mod:`grader.pdf.child`); a PDF they refuse raises :class:`PdfRefused` with what to fix.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader.pdf.isolated import run_child
from grader.pdf.limits import IMAGE_SUFFIXES, PART_END, PART_START, PdfLimits, PdfRefused

__all__ = ["IMAGE_SUFFIXES", "PdfDocument", "cache_folder", "images_to_pdf", "read_pdf", "render_pages"]

SCAN_TEXT_CHARS = 16  # a page with less text than this is read as a picture of handwriting


@dataclass
class PdfDocument:
    """What was read of one PDF."""

    pages: int
    texts: list[str]  # each page's text layer (empty for a scanned page)
    images: list[int] = field(default_factory=list)  # images on each page
    dests: dict[str, int] = field(default_factory=dict)  # grader.sty's named destinations -> page
    # Each page's lines of one baseline and size: [y, size, text, baselines of text near it].
    lines: list[list[list[Any]]] = field(default_factory=list)
    source: str | None = None  # grader.sty's embedded copy of the LaTeX source
    warnings: list[str] = field(default_factory=list)

    @property
    def is_template(self) -> bool:
        """Made from grader's template: it carries its LaTeX source."""
        return self.source is not None

    @property
    def is_scan(self) -> bool:
        """Most pages have no text layer: photos or a scan of handwriting."""
        blank = sum(1 for text in self.texts if len(text.strip()) < SCAN_TEXT_CHARS)
        return self.pages > 0 and blank * 2 > self.pages

    def part_pages(self) -> dict[str, list[int]]:
        """Each part grader.sty marked, with the pages its answer is on."""
        found: dict[str, list[int]] = {}
        for name, page in self.dests.items():
            if name.startswith(PART_START):
                part_id = name.removeprefix(PART_START)
                end = self.dests.get(PART_END + part_id, page)
                found[part_id] = list(range(page, max(page, end) + 1))
        return found


def read_pdf(
    path: Path | str, limits: PdfLimits | None = None, render: tuple[Path, int] | None = None
) -> PdfDocument:
    """The PDF at ``path``, read in a limited process; :class:`PdfRefused` says why not. With
    ``render`` (a cache folder, a width), every page is rendered there by the same process."""
    limits = limits or PdfLimits()
    path = Path(path)
    size = path.stat().st_size
    if size > limits.max_bytes:
        raise PdfRefused(
            f"the PDF is {size / 2**20:.1f} MiB; at most {limits.max_bytes >> 20} MiB are read: "
            "scan at a lower resolution or compress the images"
        )
    request: dict[str, Any] = {"op": "read", "path": str(path.resolve())}
    if render is not None:
        render[0].mkdir(parents=True, exist_ok=True, mode=0o700)
        request["render"] = {"out": str(render[0]), "width": render[1]}
    answer = run_child(request, limits)
    return PdfDocument(
        pages=int(answer["pages"]),
        texts=[str(text) for text in answer["texts"]],
        images=[int(n) for n in answer.get("images", [])],
        lines=answer.get("lines", []),
        dests={str(k): int(v) for k, v in answer.get("dests", {}).items()},
        source=answer.get("source"),
        warnings=[str(w) for w in answer.get("warnings", [])],
    )


def render_pages(
    path: Path | str, pages: list[int], width: int, cache: Path, limits: PdfLimits | None = None
) -> dict[int, Path]:
    """Pages (from 1) as PNG images ``width`` pixels wide, rendered once into ``cache`` (a folder
    of this PDF's own, by its content: see :func:`cache_folder`)."""
    limits = limits or PdfLimits()
    cache.mkdir(parents=True, exist_ok=True, mode=0o700)
    wanted = {n: cache / f"page-{n}-{width}.png" for n in pages}
    missing = [n for n, target in wanted.items() if not target.exists()]
    if missing:
        run_child(
            {
                "op": "render",
                "path": str(Path(path).resolve()),
                "out": str(cache),
                "pages": missing,
                "width": width,
            },
            limits,
        )
    return {n: target for n, target in wanted.items() if target.exists()}


def cache_folder(root: Path, data: bytes) -> Path:
    """Where one PDF's rendered pages are kept: by the digest of its bytes."""
    return root / hashlib.sha256(data).hexdigest()[:32]


def images_to_pdf(images: list[Path], out: Path, limits: PdfLimits | None = None) -> Path:
    """JPEG or PNG pages (in this order) as one PDF at ``out``, converted in a limited process."""
    limits = limits or PdfLimits()
    for image in images:
        if image.stat().st_size > limits.max_bytes:
            raise PdfRefused(f"{image.name} is larger than {limits.max_bytes >> 20} MiB")
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, partial = tempfile.mkstemp(dir=out.parent, suffix=".part")
    os.close(fd)
    try:
        run_child({"op": "images", "paths": [str(p.resolve()) for p in images], "out": partial}, limits)
        os.replace(partial, out)
    finally:
        if os.path.exists(partial):
            os.unlink(partial)
    return out


def photos_to_pdf(names: list[str], contents: list[bytes], limits: PdfLimits) -> bytes:
    """The photos as the pages of one PDF, converted in the limited child process."""
    with tempfile.TemporaryDirectory(prefix="grader-photos-") as scratch:
        paths = [
            Path(scratch) / f"{index:03d}{Path(name).suffix.lower()}" for index, name in enumerate(names)
        ]
        for path, content in zip(paths, contents, strict=True):
            path.write_bytes(content)
        return images_to_pdf(paths, Path(scratch) / "pages.pdf", limits).read_bytes()
