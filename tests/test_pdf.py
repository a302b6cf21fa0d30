"""PDF hand-ins (issue 62): tags, headings, plain answers from the text layer, scans, the
limited reader and renderer, the graded copy, and ``grader grade`` on a folder holding a PDF."""

from __future__ import annotations

import io
import json
import sys
import time
from pathlib import Path

import pypdf
import pytest
from click.testing import CliRunner
from PIL import Image

from grader.cli import main
from grader.core.verdict import Status
from grader.engine import grade
from grader.loading import is_submission_folder, load_problem_set, load_submission
from grader.pdf.document import images_to_pdf, read_pdf, render_pages
from grader.pdf.headings import Outline, Region, find_regions
from grader.pdf.limits import PdfLimits, PdfRefused
from grader.pdf.mapping import text_answer
from grader.pdf.tags import format_tags, parse_tags

sys.path.insert(0, str(Path(__file__).parent / "hostile"))
from pdfs import plain

SET = """assignment: pdf-test
questions:
  - id: q1
    title: Counting the linear regions
    parts:
      - {id: regions, type: expression, answer: "3", points: 2}
      - {id: slopes, type: expression, answer: "[1, 0, -1]", points: 2}
  - id: q2
    title: A proof by induction
    parts:
      - {id: proof, type: text, points: 5}
  - id: q3
    type: expression
    answer: "12"
    points: 1
"""


@pytest.fixture
def spec(tmp_path: Path):  # type: ignore[no-untyped-def]
    path = tmp_path / "set.yaml"
    path.write_text(SET, encoding="utf-8")
    return load_problem_set(path)


def _lines(*pages: list[str]) -> list[list[list[object]]]:
    """Text lines as the reader gives them: [y, size, text, baselines near it, order]."""
    return [[[700.0 - 20 * i, 10.0, text, [], i] for i, text in enumerate(page)] for page in pages]


# ---- tags --------------------------------------------------------------------------------------


def test_the_issues_tags_parse() -> None:
    assert parse_tags("q1=1-2,q3=4") == {"q1": [1, 2], "q3": [4]}
    assert format_tags({"q1": [1, 2], "q3": [4]}) == "q1=1-2,q3=4"


def test_tags_in_other_spellings() -> None:
    assert parse_tags("q1: 1-2\nq2=3;5-6, 8\n# a comment\n") == {"q1": [1, 2], "q2": [3, 5, 6, 8]}
    assert parse_tags("") == {}


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("q1=0", "count from 1"),
        ("q1=x", "not a page"),
        ("3-4", "write <question"),
        ("q 1=2", "not a question"),
    ],
)
def test_bad_tags_say_what_is_wrong(text: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        parse_tags(text)


# ---- headings ----------------------------------------------------------------------------------


OUTLINE = Outline(
    [
        (
            "q1",
            "Counting the linear regions",
            [("q1.regions", "regions", None), ("q1.slopes", "slopes", None)],
        ),
        ("q2", None, [("q2.a", "a", None), ("q2.b", "b", None)]),
        ("q3", None, [("q3.first", "first", None), ("q3.second", "second", "The second derivative")]),
    ]
)


@pytest.mark.parametrize(
    ("heading", "address", "own"),
    [
        ("Question 3", "q3.first", False),  # the question's pages, for each of its parts
        ("3(a)", "q3.first", True),
        ("Problem 2.b", "q2.b", True),
        ("Q1 (b)", "q1.slopes", True),
        ("q1.slopes", "q1.slopes", True),
        ("Exercise 1, part (a)", "q1.regions", True),
        ("2. (10 points) Show that", "q2.a", False),
        ("1. Counting the linear regions", "q1.regions", False),
        ("The second derivative", "q3.second", True),
        ("3 (ii)", "q3.second", True),
    ],
)
def test_the_issues_headings_are_found(heading: str, address: str, own: bool) -> None:
    regions = find_regions(OUTLINE, _lines(["Preamble", heading, "Some working", "Answer: 3"]))
    assert address in regions and regions[address].own is own
    assert regions[address].pages == [1]


def test_problem_2b_is_the_second_part_of_question_2() -> None:
    outline = Outline(
        [("q1", None, [("q1", "q1", None)]), ("q2", None, [("q2.a", "a", None), ("q2.b", "b", None)])]
    )
    regions = find_regions(outline, _lines(["Problem 2.b", "Answer: 4"], ["Problem 2.a", "x"]))
    assert regions["q2.b"].pages == [1] and regions["q2.a"].pages == [2]


def test_a_part_runs_to_the_next_heading_over_pages(spec) -> None:  # type: ignore[no-untyped-def]
    regions = find_regions(
        Outline.of(spec), _lines(["Question 1", "(a)", "work"], ["more work"], ["(b)", "x"])
    )
    assert regions["q1.regions"].pages == [1, 2]
    assert regions["q1.slopes"].pages == [3]


def test_a_numbered_list_is_no_heading(spec) -> None:  # type: ignore[no-untyped-def]
    regions = find_regions(Outline.of(spec), _lines(["1. We first note", "2. Then"]))
    assert regions == {}


# ---- answers from the text layer ---------------------------------------------------------------


def _region(*lines: tuple[str, list[float]]) -> Region:
    return Region([1], [[700.0, 10.0, text, near, i] for i, (text, near) in enumerate(lines)])


def test_one_plain_answer_line_is_read() -> None:
    assert text_answer(_region(("work", []), ("Answer: 42", [])), "q1.a") == "42"
    assert text_answer(_region(("Final answer: [1, 0, \u22121]", [])), "q1.a") == "[1, 0, -1]"


@pytest.mark.parametrize(
    "lines",
    [
        [("Answer: 103", [703.0])],  # an exponent beside it: 10^3 reads as 103
        [("Answer: 3", []), ("Answer: 4", [])],  # two answers
        [("Answer: x + 1", [])],  # not plain numbers: a formula's layout is lost in a text layer
        [("Answer q2.a: 3", [])],  # another part's answer
        [("no answer line", [])],
    ],
)
def test_no_guess_where_the_text_layer_is_ambiguous(lines: list[tuple[str, list[float]]]) -> None:
    assert text_answer(_region(*lines), "q1.a") is None


# ---- the reader, the renderer, the graded copy -----------------------------------------------------


def test_a_typeset_pdf_is_graded_from_its_headings(spec, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "alice"
    folder.mkdir()
    text = "Question 1\n(a) We count the pieces.\nAnswer: 3\n(b) Slopes\nAnswer: x - 1\n"
    text += "Question 2\nBy induction."
    (folder / "homework.pdf").write_bytes(plain(text))
    assert is_submission_folder(folder)
    report = grade(spec, load_submission(folder))
    parts = {part.id: part for part in report.parts}
    assert parts["q1.regions"].status is Status.CORRECT
    assert parts["q1.slopes"].status is Status.MANUAL and "page 1" in parts["q1.slopes"].feedback
    assert parts["q2.proof"].status is Status.MANUAL
    assert parts["q3"].status is Status.MANUAL and "not found" in parts["q3"].feedback
    assert report.pages["q1.regions"] == [1]


def test_a_scan_goes_to_a_ta_with_its_tagged_pages(spec, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "bob"
    folder.mkdir()
    for number in (1, 2, 3):
        Image.new("RGB", (300, 400), (255, 255, 255)).save(folder / f"page{number}.jpg")
    (folder / "pages.txt").write_text("q1=1-2,q3=3\n")
    report = grade(spec, load_submission(folder))
    assert {part.status for part in report.parts} == {Status.MANUAL}
    assert report.pages == {"q1.regions": [1, 2], "q1.slopes": [1, 2], "q3": [3]}
    q2 = next(part for part in report.parts if part.id == "q2.proof")
    assert "not found" in q2.feedback and "tag its pages" in q2.feedback
    assert "scan" in " ".join(report.notes)


def test_images_become_one_pdf(tmp_path: Path) -> None:
    images = []
    for number in (1, 2):
        images.append(tmp_path / f"p{number}.png")
        Image.new("L", (200, 300), 255).save(images[-1])
    pdf = images_to_pdf(images, tmp_path / "pages.pdf")
    assert len(pypdf.PdfReader(pdf).pages) == 2


def test_pages_render_once_at_the_width_asked(tmp_path: Path) -> None:
    path = tmp_path / "a.pdf"
    path.write_bytes(plain())
    cache = tmp_path / "cache"
    rendered = render_pages(path, [1, 2], 600, cache)
    assert list(rendered) == [1]  # there is no page 2
    with Image.open(rendered[1]) as image:
        assert image.width == 600
    stamp = rendered[1].stat().st_mtime_ns
    assert render_pages(path, [1], 600, cache)[1].stat().st_mtime_ns == stamp


def test_a_reader_that_takes_too_long_is_stopped(tmp_path: Path) -> None:
    path = tmp_path / "a.pdf"
    path.write_bytes(plain())
    with pytest.raises(PdfRefused, match="was stopped"):
        read_pdf(path, PdfLimits(wall_seconds=0.01))


def test_a_pdf_too_large_is_refused_before_it_is_opened(tmp_path: Path) -> None:
    path = tmp_path / "a.pdf"
    path.write_bytes(plain())
    with pytest.raises(PdfRefused, match="MiB"):
        read_pdf(path, PdfLimits(max_bytes=100))


def test_grade_out_writes_the_graded_pdf(spec, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    klass = tmp_path / "class"
    (klass / "alice").mkdir(parents=True)
    text = "Question 1\n(a) Answer: 4\n(b) Answer: 2\nQuestion 2\nproof\nQuestion 3\nAnswer: 12"
    (klass / "alice" / "homework.pdf").write_bytes(plain(text))
    (klass / "bob").mkdir()
    (klass / "bob" / "homework.pdf").write_bytes(b"not a pdf at all")
    spec_file = tmp_path / "set.yaml"
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["grade", str(klass), "-p", str(spec_file), "--out", str(out)])
    assert result.exit_code in (0, 1), result.output
    graded = pypdf.PdfReader(out / "alice.graded.pdf")
    assert len(graded.pages) == 2  # the cover, then the student's page
    cover = graded.pages[0].extract_text()
    assert "Score: 1 / 10" in cover and "q1: 0/4" in cover and "q3: 1/1" in cover
    stamped = graded.pages[1].extract_text()
    assert "q1.regions: 0/2 (incorrect)" in stamped and "Question 1" in stamped
    assert "12" not in cover.replace("q3: 1/1", "")  # the reference answer never shows
    bob = json.loads((out / "bob.json").read_text())
    assert "not a PDF" in bob["error"] and not (out / "bob.graded.pdf").exists()


def test_a_class_folder_with_a_handout_is_no_submission(tmp_path: Path) -> None:
    (tmp_path / "alice").mkdir()
    (tmp_path / "handout.pdf").write_bytes(plain())
    assert not is_submission_folder(tmp_path)


def test_reading_pdfs_leaves_no_image_decoder_open(tmp_path: Path) -> None:
    """Pillow is never asked to open a student's image in this process (only in the child)."""
    image = io.BytesIO()
    Image.new("RGB", (10, 10)).save(image, format="PNG")
    (tmp_path / "page.png").write_bytes(image.getvalue())
    assert load_submission(tmp_path).pdf is not None


def test_the_graded_pdf_withholds_feedback_that_states_the_key(tmp_path: Path) -> None:
    """The graded copy a student gets back stamps feedback as their report shows it: a TA's
    mistake text that quotes the reference is withheld (grader.reporting.withhold)."""
    spec_file = tmp_path / "set.yaml"
    spec_file.write_text(
        "assignment: pdf-key\nquestions:\n  - id: q1\n    title: A constant\n    parts:\n"
        '      - {id: c, type: number, answer: "0.73519", points: 2,'
        ' mistakes: [{answer: 0.7, feedback: "close: it is 0.73519"}]}\n',
        encoding="utf-8",
    )
    klass = tmp_path / "class"
    (klass / "alice").mkdir(parents=True)
    (klass / "alice" / "homework.pdf").write_bytes(plain("Question 1\n(a) Answer: 0.7\n"))
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["grade", str(klass), "-p", str(spec_file), "--out", str(out)])
    assert result.exit_code in (0, 1), result.output
    graded = pypdf.PdfReader(out / "alice.graded.pdf")
    text = "\n".join(page.extract_text() for page in graded.pages)
    assert "q1.c: 0/2" in text
    assert "0.73519" not in text


@pytest.mark.parametrize(
    "hostile",
    [
        "q1=1-10000," * 95_000,  # one range again and again: a hand-in form's field holds a megabyte
        ",".join(f"a{i}=1-10000" for i in range(90_000)),  # as many parts, each every page
        "q1=1," * 200_000,
    ],
    ids=["one-range-repeated", "many-parts", "many-items"],
)
def test_a_tagging_that_would_fill_the_memory_is_refused_as_it_is_read(hostile: str) -> None:
    from grader.pdf.tags import MAX_TAGS, parse_tags

    started = time.process_time()
    with pytest.raises(ValueError, match=f"more than {MAX_TAGS:,} tagged pages"):
        parse_tags(hostile)
    assert time.process_time() - started < 5  # refused as read, not after listing a billion pages
    assert parse_tags("q1=1-10000,q1=1-10000")["q1"] == list(range(1, 10_001))  # a whole range, once
