"""What a PDF holds, read with pypdf inside the limited child process (:mod:`grader.pdf.child`).

Refused, each with what to fix: a file that is no PDF, encryption, a broken cross-reference
table, too many pages, a page too large, an image with too many pixels, a stream that
decompresses past the limit, JavaScript or other actions run on opening, fill-in forms,
embedded files other than grader.sty's own copy of the LaTeX source.
"""

from __future__ import annotations

import bisect
import logging
from typing import Any

import pypdf
from pypdf.errors import LimitReachedError, PdfReadError
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, NameObject

from grader.pdf.limits import GRADER_SOURCE, PdfRefused

__all__ = ["read_document"]

COLUMN_JUMP = 12  # runs drawn between two runs of one line, at most (its exponents, fractions)
PRINT_AGAIN = "print it to a new PDF (File > Print > Save as PDF) and hand that in"


class _Warnings(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def read_document(path: str, limits: dict[str, Any]) -> dict[str, Any]:
    """``{"pages", "texts", "dests", "source", "images", "warnings"}``, or ``{"refused": why}``."""
    handler = _Warnings()
    logging.getLogger("pypdf").addHandler(handler)
    try:
        return _read(path, limits, handler)
    except PdfRefused as exc:
        return {"refused": str(exc)}
    except LimitReachedError:
        return {
            "refused": f"a stream in the PDF decompresses past pypdf's limit (a decompression bomb?): "
            f"{PRINT_AGAIN}"
        }
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, IndexError, OSError) as exc:
        return {"refused": f"the PDF cannot be read ({type(exc).__name__}: {str(exc)[:200]}): {PRINT_AGAIN}"}


def _read(path: str, limits: dict[str, Any], handler: _Warnings) -> dict[str, Any]:
    with open(path, "rb") as stream:
        head = stream.read(1024)
    if b"%PDF-" not in head:
        raise PdfRefused("this file is not a PDF (it does not start with %PDF-)")
    reader = pypdf.PdfReader(path, strict=False)
    if reader.is_encrypted:
        raise PdfRefused(
            f"the PDF is encrypted or password-protected: remove the protection, or {PRINT_AGAIN}"
        )
    broken = [m for m in handler.messages if "xref" in m.lower()]
    if broken:
        raise PdfRefused(f"the PDF's cross-reference table is broken ({broken[0]}): {PRINT_AGAIN}")
    root = reader.trailer["/Root"].get_object()
    if not isinstance(root, DictionaryObject):
        raise PdfRefused(f"the PDF has no document catalogue: {PRINT_AGAIN}")
    _refuse_active_content(root)
    source = _grader_source(root, limits)
    declared = _declared_pages(root)
    if declared > limits["max_pages"]:
        raise PdfRefused(
            f"the PDF has {declared} pages; at most {limits['max_pages']} are read: hand in only your answers"
        )
    pages = reader.pages
    if len(pages) > limits["max_pages"]:
        raise PdfRefused(
            f"the PDF has {len(pages)} pages; at most {limits['max_pages']} are read: hand in "
            "only your answers"
        )
    texts: list[str] = []
    lines: list[list[list[Any]]] = []
    images: list[int] = []
    content = 0
    for number, page in enumerate(pages, 1):
        _check_page(page, number, limits)
        _refuse_page_actions(page, number)
        data = page.get_contents()
        content += len(data.get_data()) if data is not None else 0
        if content > limits["max_content_bytes"]:
            raise PdfRefused(
                f"the PDF's pages decompress to more than {limits['max_content_bytes'] >> 20} MiB "
                f"(a decompression bomb?): {PRINT_AGAIN}"
            )
        images.append(_count_images(page, number, limits))
        if source is not None:  # grader's template: the answers and pages come from its marks
            texts.append("")
            lines.append([])
            continue
        runs: list[list[Any]] = []
        texts.append(page.extract_text(visitor_text=_collect(runs)) or "")
        lines.append(_lines(runs))
    return {
        "pages": len(pages),
        "texts": texts,
        "images": images,
        "lines": lines,
        "dests": _destinations(reader),
        "source": source,
        "warnings": sorted(set(handler.messages))[:5],
    }


def _collect(runs: list[list[Any]]) -> Any:
    """A pypdf text visitor keeping each run of text with its baseline, left edge and size."""

    def visit(text: str, cm: list[float], tm: list[float], font: Any, size: float) -> None:
        if not text.strip():
            return
        x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
        y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
        scale = abs(tm[3] * cm[3]) or 1.0
        runs.append([round(y, 2), round(x, 2), round(float(size) * scale, 2), text, len(runs)])

    return visit


def _lines(runs: list[list[Any]]) -> list[list[Any]]:
    """The runs grouped by exact baseline and size, in the order the page draws them (reading
    order: a two-column page draws its left column first): ``[y, size, text, [y of the runs
    near it], order]``. A superscript or a fraction has another baseline: a line with one near
    it is not plain."""
    grouped: dict[tuple[float, float], list[list[Any]]] = {}
    for run in runs:
        grouped.setdefault((round(run[0], 1), round(run[2], 1)), []).append(run)
    by_height = _ByHeight(runs)
    found = []
    for (y, size), group in grouped.items():
        for piece in _pieces(sorted(group, key=lambda run: run[4])):
            piece.sort(key=lambda run: run[1])
            text = " ".join(str(run[3]).strip() for run in piece)
            span = (piece[0][1] - size, piece[-1][1] + 0.5 * size * len(str(piece[-1][3])) + size)
            found.append([y, size, text, by_height.near(y, size, span), min(run[4] for run in piece)])
    return sorted(found, key=lambda line: line[4])


def _pieces(group: list[list[Any]]) -> list[list[list[Any]]]:
    """Runs of one baseline in drawing order, cut where the drawing jumps far (the other column:
    a line's own runs come together, its exponents and fractions between them)."""
    pieces: list[list[list[Any]]] = []
    for run in group:
        if not pieces or run[4] - pieces[-1][-1][4] > COLUMN_JUMP:
            pieces.append([])
        pieces[-1].append(run)
    return pieces


class _ByHeight:
    """A page's runs sorted by baseline, to find those near a line without looking at every run
    of the page for every line (a page of text has hundreds of each)."""

    def __init__(self, runs: list[list[Any]]):
        self.runs = sorted(runs, key=lambda run: run[0])
        self.heights = [run[0] for run in self.runs]
        self.rounded = [round(run[0], 1) for run in self.runs]
        self.largest = max((run[2] for run in runs), default=0.0)

    def near(self, y: float, size: float, span: tuple[float, float]) -> list[float]:
        """Baselines of runs raised or lowered from this line's (an exponent, an index, an inline
        fraction: within 0.6 em) over its width; the next line's exponents are farther (a line
        is 1.2 em), and so is the other column's text."""
        reach = 0.6 * max(size, self.largest)
        first = bisect.bisect_left(self.heights, y - reach)
        last = bisect.bisect_right(self.heights, y + reach)
        found = set()
        for index in range(first, last):
            run, rounded = self.runs[index], self.rounded[index]
            if rounded != y and abs(run[0] - y) < 0.6 * max(size, run[2]) and span[0] <= run[1] <= span[1]:
                found.add(rounded)
        return sorted(found)


def _declared_pages(root: DictionaryObject) -> int:
    tree = root.get("/Pages")
    count = tree.get_object().get("/Count", 0) if tree is not None else 0
    return int(count) if isinstance(count, int) else 0


def _refuse_active_content(root: DictionaryObject) -> None:
    names = _get(root, "/Names")
    if names is not None and "/JavaScript" in names:
        raise PdfRefused(f"the PDF holds JavaScript, which grader never runs: {PRINT_AGAIN}")
    for key in ("/OpenAction", "/AA"):
        action = _get(root, key)
        if action is not None and _is_script(action):
            raise PdfRefused(f"the PDF runs JavaScript or another action when opened: {PRINT_AGAIN}")
    form = _get(root, "/AcroForm")
    if form is not None and (_get(form, "/Fields") or "/XFA" in form):
        raise PdfRefused(
            f"the PDF has fill-in form fields, which are not read: {PRINT_AGAIN} (this "
            "flattens the form into the page)"
        )


def _is_script(action: Any) -> bool:
    """An action (or a dictionary of them) that runs JavaScript or launches something."""
    if isinstance(action, DictionaryObject):
        kind = action.get("/S")
        if kind in ("/JavaScript", "/Launch", "/ImportData", "/SubmitForm", "/ResetForm") or "/JS" in action:
            return True
        return any(_is_script(_get(action, key)) for key in action if key not in ("/Parent", "/P", "/D"))
    if isinstance(action, ArrayObject):
        return False  # a destination (page and place), nothing run
    return False


def _refuse_page_actions(page: DictionaryObject, number: int) -> None:
    if _is_script(_get(page, "/AA")):
        raise PdfRefused(f"page {number} runs JavaScript or another action when shown: {PRINT_AGAIN}")
    for annotation in _get(page, "/Annots") or []:
        annotation = annotation.get_object()
        if not isinstance(annotation, DictionaryObject):
            continue
        if annotation.get("/Subtype") == "/FileAttachment":
            raise PdfRefused(
                f"page {number} has an attached file; grader reads only the pages: {PRINT_AGAIN}"
            )
        if annotation.get("/Subtype") == "/Widget":
            raise PdfRefused(f"page {number} has fill-in form fields, which are not read: {PRINT_AGAIN}")
        if _is_script(_get(annotation, "/A")) or _is_script(_get(annotation, "/AA")):
            raise PdfRefused(f"a link on page {number} runs JavaScript or another action: {PRINT_AGAIN}")


def _grader_source(root: DictionaryObject, limits: dict[str, Any]) -> str | None:
    """grader.sty's embedded copy of the LaTeX source; any other embedded file is refused."""
    names = _get(root, "/Names")
    tree = _get(names, "/EmbeddedFiles") if names is not None else None
    if tree is None:
        return None
    entries = _name_tree(tree)
    others = [name for name, _ in entries if name != GRADER_SOURCE]
    if others:
        raise PdfRefused(
            f"the PDF has embedded files ({', '.join(others[:3])}); grader reads only the "
            f"pages: remove them, or {PRINT_AGAIN}"
        )
    spec = entries[0][1] if entries else None
    stream = _get(_get(spec, "/EF"), "/F") if spec is not None else None
    if stream is None:
        return None
    data = stream.get_data()
    if len(data) > limits["max_stream_bytes"]:
        raise PdfRefused("the embedded LaTeX source is too large")
    return data.decode("utf-8", errors="replace")


def _name_tree(tree: DictionaryObject, depth: int = 0) -> list[tuple[str, Any]]:
    if depth > 8:
        raise PdfRefused(f"the PDF's name tree nests too deeply: {PRINT_AGAIN}")
    found: list[tuple[str, Any]] = []
    pairs = _get(tree, "/Names") or []
    for index in range(0, len(pairs) - 1, 2):
        found.append((str(pairs[index]), pairs[index + 1].get_object()))
    for kid in _get(tree, "/Kids") or []:
        found += _name_tree(kid.get_object(), depth + 1)
    return found


def _check_page(page: pypdf.PageObject, number: int, limits: dict[str, Any]) -> None:
    box = page.mediabox
    if max(float(box.width), float(box.height)) > limits["max_page_points"]:
        raise PdfRefused(
            f"page {number} is {float(box.width) / 72:.0f} x {float(box.height) / 72:.0f} inches; "
            f"pages up to {limits['max_page_points'] / 72:.0f} inches are read: {PRINT_AGAIN}"
        )


def _count_images(page: pypdf.PageObject, number: int, limits: dict[str, Any]) -> int:
    """The page's images (forms' images included, a few levels deep), each under the pixel limit."""
    count = 0
    stack: list[tuple[Any, int]] = [(_get(page, "/Resources"), 0)]
    seen: set[int] = set()
    while stack:
        resources, depth = stack.pop()
        objects = _get(resources, "/XObject") if resources is not None else None
        for value in (objects or {}).values():
            if isinstance(value, IndirectObject):
                if value.idnum in seen:
                    continue
                seen.add(value.idnum)
            xobject = value.get_object()
            if xobject.get("/Subtype") == "/Image":
                count += 1
                pixels = int(xobject.get("/Width", 0)) * int(xobject.get("/Height", 0))
                if pixels > limits["max_image_pixels"]:
                    raise PdfRefused(
                        f"page {number} has an image of {pixels / 1e6:.0f} megapixels; at most "
                        f"{limits['max_image_pixels'] / 1e6:.0f} are read: scan at a lower "
                        "resolution (300 dpi is plenty)"
                    )
            elif xobject.get("/Subtype") == "/Form" and depth < 8:
                stack.append((_get(xobject, "/Resources"), depth + 1))
    return count


def _destinations(reader: pypdf.PdfReader) -> dict[str, int]:
    """grader.sty's named destinations, by name, with their page (counted from 1)."""
    found: dict[str, int] = {}
    for name, destination in reader.named_destinations.items():
        if not str(name).startswith("grader:"):
            continue
        try:
            page = reader.get_destination_page_number(destination)
        except (PdfReadError, ValueError, KeyError, AttributeError, IndexError):
            continue
        if page is not None:
            found[str(name)] = page + 1
    return found


def _get(dictionary: Any, key: str) -> Any:
    if not isinstance(dictionary, DictionaryObject):
        return None
    value = dictionary.get(NameObject(key))
    return value.get_object() if value is not None else None
