"""The answers loader under hostile input: whatever the text of an answers file, reading it
gives a submission (its answers, or one clear ``load_error``), never an exception, and
quickly; the limits on nesting, anchors, tags and number size hold wherever they are hit.

A longer run of the same properties (10^6 inputs) is ``python tests/hostile/fuzz.py``."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_budget import examples

from grader.core.submission import Submission
from grader.core.yamlio import ANSWERS_FILE, MAX_NESTING, PROBLEM_FILE, YamlError, load_with_positions
from grader.loading import load_submission, read_answers_text

TIME_BOUND = 2.0  # seconds of CPU per file, as much on a loaded machine: a typical one takes 1 ms

YAML_BITS = [
    "answers:",
    "\n",
    "  ",
    "- ",
    ": ",
    "q1",
    "q2.a",
    "[",
    "]",
    "{",
    "}",
    ", ",
    "&a ",
    "*a",
    "<<: ",
    "!!python/object/apply:os.system ",
    "!!binary ",
    "!foo ",
    "? ",
    "|",
    ">-",
    "'",
    '"',
    "\\",
    '"\\frac{1}{2}"',
    "'\\sigma'",
    "#",
    "---",
    "...",
    "%YAML 1.2",
    "1e999",
    "9" * 50,
    "-.inf",
    ".nan",
    "yes",
    "no",
    "null",
    "~",
    "2001-12-14",
    "0x1F",
    "\t",
    "\x00",
    "\ufeff",
    "é",
]
JSON_BITS = [
    '{"answers": ',
    "{",
    "}",
    "[",
    "]",
    '"q1"',
    ": ",
    ", ",
    '"\\"',
    "1e999",
    "NaN",
    "-Infinity",
    "9" * 30,
    "\\u0000",
    "null",
]


def _read(text: str, filename: str) -> Submission:
    submission = Submission(student="fuzz", folder="")
    started = time.process_time()
    read_answers_text(submission, text, Path(filename))
    assert time.process_time() - started < TIME_BOUND
    return submission


def _holds(submission: Submission) -> None:
    if submission.load_error:
        assert submission.answers == {}
        assert "Traceback" not in submission.load_error
    else:
        assert isinstance(submission.answers, dict)
        assert all(isinstance(key, str) for key in submission.answers)
        json.dumps(submission.answers, default=str)  # nothing nested past what a walk can take


FUZZ = settings(max_examples=examples(400), deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(text=st.text(max_size=300))
def test_any_text_as_yaml(text: str) -> None:
    _holds(_read(text, "answers.yaml"))


@FUZZ
@given(bits=st.lists(st.sampled_from(YAML_BITS), max_size=60))
def test_yaml_token_soup(bits: list[str]) -> None:
    _holds(_read("".join(bits), "answers.yaml"))


@FUZZ
@given(bits=st.lists(st.sampled_from(JSON_BITS), max_size=60))
def test_json_token_soup(bits: list[str]) -> None:
    _holds(_read("".join(bits), "answers.json"))


# opener -> (closer, levels it adds), per format
OPENERS = {
    "answers.yaml": {"[": ("]", 1), "{a: ": ("}", 1), "- ": ("", 1), "[{a: ": ("}]", 2)},
    "answers.json": {"[": ("]", 1), '{"a": ': ("}", 1)},
}


@settings(max_examples=examples(60), deadline=None)
@given(
    suffix_and_opener=st.sampled_from([(suffix, opener) for suffix in OPENERS for opener in OPENERS[suffix]]),
    depth=st.integers(min_value=0, max_value=20_000),
)
def test_nesting_past_the_limit_is_one_error(suffix_and_opener: tuple[str, str], depth: int) -> None:
    suffix, opener = suffix_and_opener
    closer, levels = OPENERS[suffix][opener]
    body = opener * depth + "1" + closer * depth
    text = (
        f"answers:\n  q1:\n    {body}\n" if suffix == "answers.yaml" else '{"answers": {"q1": ' + body + "}}"
    )
    submission = _read(text, suffix)
    _holds(submission)
    if 2 + depth * levels > MAX_NESTING:  # the file's mapping and 'answers' are two levels
        assert "nested deeper than" in (submission.load_error or "")
    else:
        assert submission.load_error is None


# What a student types: no control characters or special spaces (YAML writers escape those
# in double quotes, where grader reads backslashes as typed LaTeX).
TYPED = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cs", "Zs", "Zl", "Zp"), whitelist_characters=" "),
    max_size=20,
)
JSON_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), TYPED),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(TYPED, inner, max_size=4)),
    max_leaves=30,
)


@settings(max_examples=examples(100), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(answers=st.dictionaries(TYPED.filter(bool), JSON_VALUES, max_size=6))
def test_well_formed_files_keep_every_answer(answers: dict[str, Any]) -> None:
    """What a student writes correctly is read back unchanged, from JSON and from YAML."""
    as_json = _read(json.dumps({"answers": answers}), "answers.json")
    assert as_json.load_error is None and as_json.answers == answers
    as_yaml = _read(yaml.dump({"answers": answers}, Dumper=yaml.CSafeDumper), "answers.yaml")
    assert as_yaml.load_error is None and set(as_yaml.answers) == set(answers)


def _laughs(levels: int) -> str:
    text = "answers:\n  a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
    for level in range(1, levels + 1):
        text += f"  a{level}: &a{level} [" + ", ".join([f"*a{level - 1}"] * 9) + "]\n"
    return text


def test_anchors_are_refused_in_answers_files_with_their_position() -> None:
    submission = _read("answers:\n  q2: &v [1, 2]\n  q3: *v\n", "answers.yaml")
    assert "anchors and aliases" in (submission.load_error or "")
    assert submission.error_position is not None and submission.error_position.line == 2


def test_alias_expansion_in_a_problem_file_is_bounded() -> None:
    started = time.process_time()
    with pytest.raises(YamlError, match="aliases expand this file past") as caught:
        load_with_positions(_laughs(9).replace("answers:\n", "").replace("  a", "a"), limits=PROBLEM_FILE)
    assert caught.value.line is not None and time.process_time() - started < TIME_BOUND


def test_a_few_aliases_in_a_problem_file_are_fine() -> None:
    data, _ = load_with_positions("base: &b {rtol: 0.1}\nx: *b\ny: *b\n", limits=PROBLEM_FILE)
    assert data["x"] == data["y"] == {"rtol": 0.1}


def test_an_alias_inside_its_own_anchor_is_refused() -> None:
    with pytest.raises(YamlError, match="inside the value it names"):
        load_with_positions("questions: &q [{answer: *q}]\n", limits=PROBLEM_FILE)


@pytest.mark.parametrize(
    "tag",
    [
        "!!python/object/apply:os.system [ls]",
        "!!python/name:os.system ''",
        "!!binary aGk=",
        "!!set {a}",
        "!x 1",
    ],
)
def test_tags_other_than_plain_values_are_refused(tag: str) -> None:
    for limits in (ANSWERS_FILE, PROBLEM_FILE):
        with pytest.raises(YamlError, match=r"tag .* is not accepted") as caught:
            load_with_positions(f"a:\n  b: {tag}\n", limits=limits)
        assert (caught.value.line, caught.value.column) == (2, 6)


def test_a_value_its_tag_cannot_read_is_an_error_with_its_line() -> None:
    with pytest.raises(YamlError, match="cannot be read as int") as caught:
        load_with_positions("a: 1\nb: !!int abc\n")
    assert caught.value.line == 2


def test_integers_past_the_number_size_limit_stay_text() -> None:
    digits = "9" * 5000
    assert _read(f"answers: {{q1: {digits}}}", "answers.yaml").answers == {"q1": digits}
    assert _read(f'{{"answers": {{"q1": {digits}}}}}', "answers.json").answers == {"q1": digits}


def test_duplicate_keys_in_json_are_refused() -> None:
    submission = _read('{"answers": {"q1": 1, "q1": 2}}', "answers.json")
    assert "duplicate key 'q1'" in (submission.load_error or "")


def test_json_positions_of_many_answers_are_found_in_one_pass() -> None:
    answers = {f"q{i}": i for i in range(20_000)}
    submission = _read(json.dumps({"answers": answers}, indent=1), "answers.json")
    assert submission.positions["q19999"].line == 20_002


def _link(folder: Path, target: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "answers.yaml").symlink_to(target)
    return folder


def test_an_answers_file_linked_out_of_its_folder_is_not_graded(tmp_path: Path) -> None:
    bob = tmp_path / "bob"
    bob.mkdir()
    (bob / "answers.yaml").write_text("answers: {q1: 42}\n")
    alice = load_submission(_link(tmp_path / "alice", Path("..") / "bob" / "answers.yaml"))
    assert alice.answers == {} and "outside this submission folder" in (alice.load_error or "")
    mallory = load_submission(_link(tmp_path / "mallory", Path("/etc/passwd")))
    assert "outside this submission folder" in (mallory.load_error or "")


def test_a_link_within_the_folder_is_read(tmp_path: Path) -> None:
    folder = tmp_path / "carol"
    folder.mkdir()
    (folder / "final.yaml").write_text("answers: {q1: 42}\n")
    (folder / "answers.yaml").symlink_to("final.yaml")
    assert load_submission(folder).answers == {"q1": 42}


def test_a_pipe_as_answers_file_does_not_block(tmp_path: Path) -> None:
    import os

    folder = tmp_path / "dave"
    folder.mkdir()
    os.mkfifo(folder / "pipe")
    (folder / "answers.yaml").symlink_to("pipe")
    assert "not a regular file" in (load_submission(folder).load_error or "")


def test_scalars_that_only_look_numeric_stay_text() -> None:
    """Found by the fuzz: "._" matched the float pattern and then failed to read as one."""
    data, _ = load_with_positions("answers: {'._': 1, q1: ._, q2: 1_000, q3: 1e-3}")
    assert data == {"answers": {"._": 1, "q1": "._", "q2": "1_000", "q3": 0.001}}


def test_integers_are_decimal_as_yaml_1_2_reads_them_and_keys_keep_their_spelling() -> None:
    # Found by the fuzz: YAML 1.1's octal reading refused 0123456789 as a value, so a
    # well-formed answers file lost every answer.
    data, _ = load_with_positions("q1: 0123456789\nq2: -007\n'0123': x\n0456: y\n", limits=ANSWERS_FILE)
    assert data["q1"] == 123456789 and data["q2"] == -7
    assert data["0123"] == "x" and "0456" in data
