"""Conditions stated after a display, in words, on parity and on all entries: the readings'
units (their table, tests/cases/steps/conditions.yaml, is read by test_steps_premises.py)."""

from __future__ import annotations

from grader.steps.stated import about_steps, entry_bounds


def test_a_condition_not_read_refuses_only_where_the_steps_write_its_name() -> None:
    unread = ["$k$ greater than one", "even $n$", "such that"]
    assert about_steps(unread, r"(-1)^n = 1") == ("even $n$", "such that")
    assert about_steps(unread, r"\sqrt{x^2} = x") == ("such that",)


def test_a_bound_on_a_generic_entry_covers_each_entry_written() -> None:
    from fractions import Fraction

    found = entry_bounds([(("x_i", ">", Fraction(0)), "x_i > 0")], r"x_1 + x_{k} = x_i")
    # x_k may be the entry the bound's i was not meant for: only entries written with a number
    assert sorted(r.left.name for r, _ in found) == ["x_1"]  # type: ignore[attr-defined]
    assert entry_bounds([(("x_1", ">", Fraction(0)), "x_1 > 0")], "x_2") == []
    vector = entry_bounds([(("x", ">=", Fraction(0)), r"\mathbf{x} \ge 0")], "x_2")
    assert [written for _, written in vector] == [r"\mathbf{x} \ge 0 (so x_2)"]
