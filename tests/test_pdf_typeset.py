"""Typeset PDFs without grader's template (issue 62): a corpus of 60 PDFs in 10 styles over the
shipped problem sets (tests/pdf_corpus.py). At least 90% of parts are found by their headings,
every part found is found where it is, and no answer is read that the PDF does not give."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pdf_corpus import STYLES, build_corpus
from pdf_support import NEEDS_PDFLATEX, ROOT

from grader.loading import load_problem_set
from grader.pdf.document import read_pdf
from grader.pdf.headings import Outline, find_regions
from grader.pdf.mapping import text_answer

pytestmark = [
    pytest.mark.skipif(NEEDS_PDFLATEX, reason="needs pdflatex (apt-get install texlive-latex-base)"),
    pytest.mark.slow,  # 60 pdflatex runs
]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[str, Path]]:
    return build_corpus(tmp_path_factory.mktemp("typeset"))


def test_the_corpus_is_varied(corpus: list[tuple[str, Path]]) -> None:
    assert len(corpus) >= 30
    assert {path.parent.name.split("--")[1] for _, path in corpus} == {style.name for style in STYLES}


def test_at_least_90_percent_of_parts_are_found_where_they_are(corpus: list[tuple[str, Path]]) -> None:
    total = found = 0
    for problem_set, pdf in corpus:
        spec = load_problem_set(ROOT / "problems" / f"{problem_set}.yaml")
        outline = Outline.of(spec)
        regions = find_regions(outline, read_pdf(pdf).lines)
        for _, _, parts in outline.questions:
            for index, (address, _, _) in enumerate(parts):
                total += 1
                region = regions.get(address)
                if region is None or not region.own:
                    continue
                found += 1
                text = " ".join(str(line[2]) for line in region.lines)
                # each part's body says how many lines of algebra it took: index + 2
                said = {int(n) for n in re.findall(r"after (\d+) lines", text)}
                assert said == {index + 2}, (pdf.parent.name, address, said)
                value = text_answer(region, address)
                assert value in (None, str(index + 1)), (pdf.parent.name, address, value)
                if index % 3 == 0:
                    assert value == str(index + 1), (pdf.parent.name, address)
    assert found / total >= 0.9, f"{found}/{total} parts found"
