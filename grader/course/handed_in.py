"""A stored hand-in read as at hand-in (a PDF read once per content), and a PDF hand-in as its
pages are shown (issue 62, docs/pdf.md): the questions they are tagged to, each part's pages (as
the grading maps them) and the text read from them, and the PDF kept on disk for its pages."""

from __future__ import annotations

import copy
import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

from grader.core.folder import Folder
from grader.core.submission import Submission
from grader.course.files import LoadedAssignment
from grader.course.variant_key import student_spec
from grader.loading import load_submission
from grader.pdf.document import cache_folder
from grader.pdf.headings import Outline, find_regions
from grader.pdf.mapping import map_submission, pages_text
from grader.pdf.tags import tags_in, with_tags

PDF_READS_KEPT = 64  # the PDF hand-ins last read, by content
_PDF_READS: OrderedDict[tuple[str, str, str], Submission] = OrderedDict()
_PDF_READS_LOCK = threading.Lock()


def read_handed_in(filename: str, content: bytes, student: str) -> Submission:
    """A stored hand-in read as at hand-in, named from ``student``. A PDF (read in a child
    process under the PDF limits) is kept by content: a reload of its page does not read it again."""
    if not filename.lower().endswith(".pdf"):
        return load_submission(Folder.from_files({filename: content}, student))
    key = (filename, hashlib.sha256(content).hexdigest(), student)
    with _PDF_READS_LOCK:
        kept = _PDF_READS.get(key)
        if kept is not None:
            _PDF_READS.move_to_end(key)
            return copy.deepcopy(kept)
    submission = load_submission(Folder.from_files({filename: content}, student))
    with _PDF_READS_LOCK:
        _PDF_READS[key] = submission
        while len(_PDF_READS) > PDF_READS_KEPT:
            _PDF_READS.popitem(last=False)
    return copy.deepcopy(submission)


TEXT_SHOWN = 4000  # characters of a part's text shown beside its pages


def is_pdf(filename: str) -> bool:
    return filename.lower().endswith(".pdf")


@dataclass(frozen=True)
class Question:
    """A question (or a part) pages are tagged to, as the tagging page lists it."""

    id: str
    title: str
    parts: tuple[str, ...] = ()


@dataclass
class PdfHandIn:
    pages: int
    scan: bool
    template: bool
    tags: dict[str, list[int]]  # as the student (or a TA) tagged them
    part_pages: dict[str, list[int]] = field(default_factory=dict)  # as the grading maps them
    texts: dict[str, str] = field(default_factory=dict)  # each part's text, read from its pages

    @property
    def kind(self) -> str:
        if self.template:
            return "made from grader's template"
        return "a scan" if self.scan else "a typeset PDF"

    def where(self, address: str) -> str:
        return pages_text(self.part_pages.get(address, []))


def questions_of(loaded: LoadedAssignment) -> list[Question]:
    """The assignment's questions, each with its parts' addresses."""
    outline = Outline.of(loaded.spec)
    return [
        Question(qid, title or "", tuple(address for address, _, _ in parts))
        for qid, title, parts in outline.questions
    ]


def pdf_hand_in(
    loaded: LoadedAssignment, filename: str, content: bytes, student: str, read: Submission | None = None
) -> PdfHandIn | None:
    """The PDF hand-in as read (``read``: already) and mapped for ``student``'s own variant; None
    for a hand-in that is not a PDF, or a PDF that could not be read."""
    if not is_pdf(filename):
        return None
    read = read or read_handed_in(filename, content, student)
    if read.load_error or read.pdf is None:
        return None
    pdf = read.pdf
    spec = student_spec(loaded.spec, student)
    mapped = map_submission(spec, read)
    texts: dict[str, str] = {}
    if not pdf.get("scan") and not pdf.get("template"):
        regions = find_regions(Outline.of(spec), pdf.get("lines", []))
        for address, region in regions.items():
            text = "\n".join(str(line[2]) for line in region.lines).strip()
            texts[address] = text[:TEXT_SHOWN]
    return PdfHandIn(
        pages=int(pdf.get("pages", 0)),
        scan=bool(pdf.get("scan")),
        template=bool(pdf.get("template")),
        tags={k: list(v) for k, v in pdf.get("tags", {}).items()},
        part_pages=dict(mapped.pages),
        texts=texts,
    )


def stored_tags(content: bytes) -> dict[str, list[int]]:
    return tags_in(content[-8192:])


def cached_source(root: Path, content: bytes) -> Path:
    """The PDF (without its tags: a new tagging keeps the rendered pages) on disk under
    ``root``, in the folder its rendered pages are kept in; files 0600."""
    import uuid

    pdf = with_tags(content, {})
    folder = cache_folder(root, pdf)
    source = folder / "source.pdf"
    if not source.exists():
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        partial = folder / f"source.{uuid.uuid4().hex}.part"  # two first views at once: each its own
        partial.write_bytes(pdf)
        partial.chmod(0o600)
        partial.replace(source)
    return source
