"""Pages of a PDF as PNG images, rendered by PDFium (pypdfium2) in the limited child process.

PDFium renders the page only: forms and their JavaScript are never initialised. Each image is
at most ``max_render_pixels``: a page with a strange shape is rendered smaller, never larger.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

__all__ = ["render_pages"]


def render_pages(path: str, out: str, pages: list[int], width: int, limits: dict[str, Any]) -> dict[str, Any]:
    """Render ``pages`` (counted from 1) ``width`` pixels wide into ``out/page-N-W.png``."""
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(path)
    written: list[str] = []
    try:
        count = len(document)
        if count > limits["max_pages"]:
            return {"refused": f"the PDF has {count} pages; at most {limits['max_pages']} are read"}
        for number in pages:
            if not 1 <= number <= count:
                continue
            page = document[number - 1]
            points_wide, points_high = page.get_size()
            scale = width / max(points_wide, 1.0)
            most = math.sqrt(limits["max_render_pixels"] / max(points_wide * points_high, 1.0))
            bitmap = page.render(scale=min(scale, most))
            target = Path(out) / f"page-{number}-{width}.png"
            partial = target.with_suffix(f".{os.getpid()}.part")  # two renders of one page: each its own
            bitmap.to_pil().save(partial, format="PNG", optimize=False, compress_level=1)
            partial.replace(target)
            written.append(str(target))
            page.close()
    finally:
        document.close()
    return {"written": written}
