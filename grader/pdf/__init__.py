"""PDF hand-ins: a PDF (or photos of pages) read under limits, its parts found, a graded copy.

- :mod:`grader.pdf.document`: reading and rendering a PDF in a separate, limited process
  (:mod:`grader.pdf.child`); a PDF refused says what to fix (:class:`PdfRefused`).
- :mod:`grader.pdf.intake`: a submission folder's PDF read into a Submission.
- :mod:`grader.pdf.mapping` and :mod:`grader.pdf.headings`: each part's pages, and what a TA grades.
- :mod:`grader.pdf.tags`: pages tagged by the student (``q1=1-2,q3=4``).
- :mod:`grader.pdf.stamp`: the graded PDF (a cover page, the rubric on each question's pages).

docs/pdf.md tells the whole story.
"""

from grader.pdf.limits import PdfLimits, PdfRefused

__all__ = ["PdfLimits", "PdfRefused"]
