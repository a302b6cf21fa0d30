"""JUnit XML: one test case per part, so GitLab, Jenkins and any CI that reads JUnit show
per-part results.

One ``<testsuite>`` per student (named ``<assignment> · <student>``), one
``<testcase>`` per part (``classname`` ``<assignment>.<student>``, ``name`` the part
id). A wrong, partial, missing or unreadable answer is a ``<failure>`` whose
``type`` is the status and whose text is the feedback; a part grader could not
decide is an ``<error>``; a hand-graded part is ``<skipped>``. Scores are
``<properties>`` of the suite.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence

from grader.core.report import PartResult, Report, points_value
from grader.core.verdict import Status
from grader.reporting.escape import xml_text
from grader.reporting.withhold import shown_report

FAILED = (Status.INCORRECT, Status.PARTIAL, Status.MISSING, Status.INVALID)


class JunitReporter:
    """JUnit XML (the common Ant/Jenkins layout); a batch is one ``<testsuites>`` of all students."""

    def render(self, report: Report, *, show_expected: bool = False, color: bool = False) -> str:
        return self.render_batch([report], show_expected=show_expected)

    def render_batch(
        self, reports: Sequence[Report], *, show_expected: bool = False, color: bool = False
    ) -> str:
        suites = [testsuite(report, show_expected) for report in reports]
        root = ET.Element("testsuites", name="grader")
        for name in ("tests", "failures", "errors"):
            root.set(name, str(sum(int(suite.get(name, "0")) for suite in suites)))
        root.extend(suites)
        ET.indent(root)
        return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def testsuite(report: Report, show_expected: bool = False) -> ET.Element:
    report = shown_report(report, show_expected)  # a CI job's test report: the student reads it
    classname = f"{report.assignment}.{report.student}"
    cases = [testcase(part, classname, show_expected) for part in report.parts]
    suite = ET.Element("testsuite", name=_xml(f"{report.assignment} · {report.student}"))
    suite.set("tests", str(len(cases)))
    suite.set("failures", str(sum(1 for p in report.parts if p.status in FAILED)))
    suite.set("errors", str(sum(1 for p in report.parts if p.status is Status.ERROR)))
    suite.set("skipped", str(sum(1 for p in report.parts if p.status is Status.MANUAL)))
    suite.append(_properties(report))
    suite.extend(cases)
    if report.error or report.warnings:
        lines = ([f"error: {report.error}"] if report.error else []) + [
            f"warning: {w}" for w in report.warnings
        ]
        ET.SubElement(suite, "system-out").text = _xml("\n".join(lines))
    return suite


def _properties(report: Report) -> ET.Element:
    properties = ET.Element("properties")
    values = {
        "assignment": report.assignment,
        "student": report.student,
        "score": points_value(report.score),
        "max_score": points_value(report.max_score),
        "pending": points_value(report.pending),
    }
    for name, value in values.items():
        ET.SubElement(properties, "property", name=name, value=_xml(str(value)))
    return properties


def testcase(part: PartResult, classname: str, show_expected: bool = False) -> ET.Element:
    case = ET.Element("testcase", name=_xml(part.id), classname=_xml(classname))
    score = f"{points_value(part.score)}/{points_value(part.max_score)}"
    message = _xml(f"{part.status.value} ({score})")
    if part.status in FAILED:
        ET.SubElement(case, "failure", message=message, type=part.status.value).text = _body(
            part, show_expected
        )
    elif part.status is Status.ERROR:
        ET.SubElement(case, "error", message=message, type="error").text = _body(part, show_expected)
    elif part.status is Status.MANUAL:
        ET.SubElement(case, "skipped", message=_xml(f"graded by hand ({score} pending)"))
    return case


def _body(part: PartResult, show_expected: bool) -> str:
    lines = [part.feedback or part.status.value]
    if part.received is not None:
        lines.append(f"received: {part.received}")
    if show_expected and part.expected is not None:
        lines.append(f"expected: {part.expected}")
    if part.note:
        lines.append(f"note: {part.note}")
    return _xml("\n".join(lines))


def _xml(text: str) -> str:
    return xml_text(text)
