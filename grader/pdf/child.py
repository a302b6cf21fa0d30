"""The process that opens a PDF: ``python -m grader.pdf.child`` with one JSON request on stdin.

It sets its own CPU-time and address-space limits before it imports a PDF library, reads or
renders one PDF, and prints one JSON answer. The parent (:mod:`grader.pdf.isolated`) kills it
at a wall-clock limit, so a PDF that hangs a parser costs one refusal, never a stuck batch.
Nothing in a PDF is run: pypdf only parses, and PDFium renders without forms or JavaScript
(their environment is never initialised).
"""

from __future__ import annotations

import json
import resource
import sys
from typing import Any

__all__ = ["main"]


def _limit(seconds: float, mebibytes: int) -> None:
    cpu = max(1, int(seconds + 0.999))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    size = mebibytes << 20
    resource.setrlimit(resource.RLIMIT_AS, (size, size))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def main() -> None:
    request = json.loads(sys.stdin.read())
    limits = request["limits"]
    _limit(limits["seconds"], limits["mebibytes"])
    try:
        if request["op"] == "read":
            from grader.pdf.inspect import read_document

            answer: dict[str, Any] = read_document(request["path"], limits)
            render = request.get("render")
            if render and not answer.get("refused"):  # read and rendered in one process (a batch)
                from grader.pdf.render import render_pages

                pages = list(range(1, int(answer["pages"]) + 1))
                out, width = render["out"], render["width"]
                answer["rendered"] = render_pages(request["path"], out, pages, width, limits)
        elif request["op"] == "images":
            from grader.pdf.images import images_to_pdf

            answer = images_to_pdf(request["paths"], request["out"], limits)
        elif request["op"] == "stamp":
            from grader.pdf.stamp import stamp_pdf

            answer = stamp_pdf(request["path"], request["out"], request["cover"], request["stamps"], limits)
        else:
            from grader.pdf.render import render_pages

            answer = render_pages(request["path"], request["out"], request["pages"], request["width"], limits)
    except MemoryError:
        answer = {"refused": f"reading the PDF needed more than {limits['mebibytes']} MiB of memory"}
    except RecursionError:
        answer = {"refused": "the PDF's objects nest too deeply to be read: print it to a new PDF"}
    sys.stdout.write(json.dumps(answer))


if __name__ == "__main__":
    main()
