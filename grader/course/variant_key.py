"""Each student's variant of a parameterised problem set (issue 51). The key is the course's
secret, never shown: ``GRADER_VARIANT_KEY`` when given (so that ``grader variants --variant-key``
lists the same variants), else one derived from the verdict store's key (a file of mode 0600). A
student's sheet: the prompts with their own variant's numbers."""

from __future__ import annotations

import functools
import os
from typing import Any

from grader.batch.worker import student_variant
from grader.core.integrity import derived_key
from grader.course.files import LoadedAssignment
from grader.reporting.template import render_template
from grader.spec import ProblemSet


@functools.cache
def course_variant_key() -> bytes:
    if given := os.environ.get("GRADER_VARIANT_KEY", ""):
        return given.encode("utf-8")
    return derived_key("the key of each student's variant")


def student_spec(spec: ProblemSet, student: str) -> ProblemSet:
    """``student``'s variant of ``spec`` (``spec`` itself when it has no parameters)."""
    return student_variant(spec, student, course_variant_key())


def sheet_of(loaded: LoadedAssignment, student: str) -> dict[str, Any]:
    """The assignment's text for ``student``: the answers template with every prompt, in
    their own variant's numbers (a parameterised set), and that variant's id."""
    spec = student_spec(loaded.spec, student)
    variant = spec.variant.id if spec.variant is not None else None
    return {"assignment": loaded.name, "title": spec.title, "variant": variant, "text": render_template(spec)}
