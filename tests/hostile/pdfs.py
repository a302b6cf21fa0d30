"""Hostile PDFs (issue 62): each must be refused with a message that says what to fix, in a
process that can be killed, nothing in it run. Made with pypdf and reportlab at test time."""

from __future__ import annotations

import io
import zlib
from collections.abc import Callable

from pypdf import PdfWriter
from pypdf.generic import (
    ArrayObject,
    DecodedStreamObject,
    DictionaryObject,
    NameObject,
    NumberObject,
    RectangleObject,
    StreamObject,
    TextStringObject,
)
from reportlab.pdfgen import canvas


def plain(text: str = "Question 1\n(a) Answer: 3") -> bytes:
    """A readable one-page PDF with a text layer."""
    buffer = io.BytesIO()
    page = canvas.Canvas(buffer)
    y = 750
    for line in text.splitlines():
        page.drawString(72, y, line)
        y -= 20
    page.showPage()
    page.save()
    return buffer.getvalue()


def _writer(data: bytes | None = None) -> PdfWriter:
    return PdfWriter(clone_from=io.BytesIO(data or plain()))


def _bytes(writer: PdfWriter) -> bytes:
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def page_bomb() -> bytes:
    """One page, its page tree claiming a million."""
    writer = _writer()
    writer._root_object["/Pages"].get_object()[NameObject("/Count")] = NumberObject(1_000_000)
    return _bytes(writer)


def many_pages(count: int = 200) -> bytes:
    writer = PdfWriter()
    for _ in range(count):
        writer.add_blank_page(612, 792)
    return _bytes(writer)


def decompression_bomb(megabytes: int = 100) -> bytes:
    """A page whose content stream inflates from a few hundred KiB to ``megabytes`` MiB."""
    compressor = zlib.compressobj(9)
    chunk = b"0 0 m\n" * (1 << 17)
    body = b"".join(compressor.compress(chunk) for _ in range(megabytes * (1 << 20) // len(chunk)))
    body += compressor.flush()
    writer = _writer()
    stream = StreamObject()
    stream._data = body
    stream[NameObject("/Filter")] = NameObject("/FlateDecode")
    writer.pages[0][NameObject("/Contents")] = writer._add_object(stream)
    return _bytes(writer)


def huge_image() -> bytes:
    """An image that declares 100,000 x 100,000 pixels (ten gigapixels)."""
    writer = _writer()
    image = DecodedStreamObject()
    image.set_data(b"\x00" * 16)
    image.update(
        {
            NameObject("/Type"): NameObject("/XObject"),
            NameObject("/Subtype"): NameObject("/Image"),
            NameObject("/Width"): NumberObject(100_000),
            NameObject("/Height"): NumberObject(100_000),
            NameObject("/ColorSpace"): NameObject("/DeviceGray"),
            NameObject("/BitsPerComponent"): NumberObject(8),
        }
    )
    resources = writer.pages[0].setdefault(NameObject("/Resources"), DictionaryObject())
    resources[NameObject("/XObject")] = DictionaryObject({NameObject("/Im0"): writer._add_object(image)})
    return _bytes(writer)


def javascript() -> bytes:
    writer = _writer()
    script = DictionaryObject(
        {
            NameObject("/S"): NameObject("/JavaScript"),
            NameObject("/JS"): TextStringObject("app.alert('grader ran me');"),
        }
    )
    tree = DictionaryObject(
        {NameObject("/Names"): ArrayObject([TextStringObject("x"), writer._add_object(script)])}
    )
    writer._root_object[NameObject("/Names")] = DictionaryObject({NameObject("/JavaScript"): tree})
    return _bytes(writer)


def open_action() -> bytes:
    writer = _writer()
    action = DictionaryObject(
        {NameObject("/S"): NameObject("/JavaScript"), NameObject("/JS"): TextStringObject("app.alert(1)")}
    )
    writer._root_object[NameObject("/OpenAction")] = writer._add_object(action)
    return _bytes(writer)


def form() -> bytes:
    writer = _writer()
    field = DictionaryObject(
        {
            NameObject("/FT"): NameObject("/Tx"),
            NameObject("/T"): TextStringObject("answer"),
            NameObject("/V"): TextStringObject("42"),
        }
    )
    writer._root_object[NameObject("/AcroForm")] = DictionaryObject(
        {NameObject("/Fields"): ArrayObject([writer._add_object(field)])}
    )
    return _bytes(writer)


def encrypted() -> bytes:
    writer = _writer()
    writer.encrypt(user_password="", owner_password="owner")
    return _bytes(writer)


def broken_xref() -> bytes:
    data = plain()
    at = data.rfind(b"startxref")
    return data[:at] + b"startxref\n999999\n%%EOF\n"


def embedded_file() -> bytes:
    writer = _writer()
    writer.add_attachment("payload.exe", b"MZ\x90\x00 not for grader")
    return _bytes(writer)


def huge_page() -> bytes:
    writer = _writer()
    writer.pages[0].mediabox = RectangleObject([0, 0, 5_000_000, 5_000_000])
    return _bytes(writer)


def png_bomb() -> bytes:
    """A PNG that declares 100,000 x 100,000 pixels: refused before it is decoded."""
    import struct

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 0, 0, 0, 0)
    body = zlib.compress(b"\x00" * 100_001 * 4)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")


def not_a_pdf() -> bytes:
    return b"<html><script>alert(1)</script></html>"


# name -> (PDF maker, what its refusal says)
HOSTILE_PDFS: dict[str, tuple[Callable[[], bytes], str]] = {
    "pdf-page-bomb": (page_bomb, "1000000 pages"),
    "pdf-many-pages": (many_pages, "200 pages"),
    "pdf-decompression-bomb": (decompression_bomb, "decompression bomb"),
    "pdf-huge-image": (huge_image, "megapixels"),
    "pdf-javascript": (javascript, "JavaScript"),
    "pdf-open-action": (open_action, "JavaScript"),
    "pdf-form": (form, "form fields"),
    "pdf-encrypted": (encrypted, "encrypted"),
    "pdf-broken-xref": (broken_xref, "cross-reference table is broken"),
    "pdf-embedded-file": (embedded_file, "embedded files (payload.exe)"),
    "pdf-huge-page": (huge_page, "inches"),
    "pdf-not-a-pdf": (not_a_pdf, "not a PDF"),
}
