"""Pictures drawn from plot data alone (grader/reporting/plots.py): valid SVG whatever the
values, with a title and a description."""

from __future__ import annotations

import math
from xml.etree import ElementTree

import pytest

from grader.core.plotdata import CurvePlot, PlanePlot, PlotData
from grader.reporting.plots import describe_plot, nice_ticks, render_plot_svg

NS = "{http://www.w3.org/2000/svg}"


def _svg(plot: PlotData) -> ElementTree.Element:
    return ElementTree.fromstring(render_plot_svg(plot))


def _drawn(root: ElementTree.Element, group: str) -> list[ElementTree.Element]:
    """The rectangles of a group of the picture (the map, the condition's spans)."""
    return root.findall(f".//{NS}g[@class='{group}']/{NS}rect")


def test_a_curve_is_broken_where_it_is_undefined() -> None:
    xs = (-2.0, -1.0, 0.0, 1.0, 2.0)
    plot = CurvePlot("x", xs, (1.0, 0.0, math.nan, 0.0, 1.0), target=(1.0, 1.0, 1.0, 1.0, 1.0))
    lines = list(_svg(plot).iter(f"{NS}polyline"))
    assert len(lines) == 3  # the target, and the network in two runs
    assert [len(line.get("points", "").split()) for line in lines[1:]] == [2, 2]


@pytest.mark.parametrize(
    "values",
    [
        (0.0, 0.0, 0.0),  # a flat line: the y range is widened
        (math.inf, 1.0, -math.inf),
        (1e300, -1e300, 0.0),
        (math.nan, math.nan, math.nan),
    ],
)
def test_any_values_give_a_valid_picture(values: tuple[float, ...]) -> None:
    root = _svg(CurvePlot("t", (0.0, 1.0, 2.0), values, witness=1.0))
    assert root.findtext(f"{NS}title") == "Your network against the target"
    assert root.get("role") == "img"


def test_classify_curve_shades_where_the_condition_holds() -> None:
    plot = CurvePlot(
        "x",
        (-2.0, -1.0, 0.0, 1.0, 2.0),
        (1.0, 0.0, 0.0, 0.0, 1.0),
        condition=(True, False, False, False, True),
        condition_label="x < -1 or x > 1",
        witness=-1.0,
    )
    root = _svg(plot)
    assert len(_drawn(root, "condition")) == 2
    assert root.findtext(f"{NS}title") == "Where your network is positive"
    assert "x < -1 or x > 1 holds" in "".join(t.text or "" for t in root.iter(f"{NS}text"))


def test_a_map_merges_runs_of_one_colour() -> None:
    grid = (-1.0, 0.0, 1.0)
    plot = PlanePlot(
        ("x1", "x2"),
        grid,
        grid,
        ((0.0, 0.0, 0.0), (1.0, 1.0, 1.0), (1.0, 1.0, 1.0)),
        difference=((0.0, 0.0, 0.0), (0.0, 0.0, 0.0), (0.0, 0.0, 0.0)),
        witness=(0.0, 0.0),
    )
    cells = _drawn(_svg(plot), "map")
    assert len(cells) == 3 and {c.get("fill") for c in cells} == {"#fff5f0"}  # one rectangle per row
    assert "the cross marks (x1, x2) = (0, 0)" in describe_plot(plot)


def test_ids_are_unique_to_the_data() -> None:
    one = render_plot_svg(CurvePlot("x", (0.0, 1.0), (0.0, 1.0)))
    other = render_plot_svg(CurvePlot("x", (0.0, 1.0), (0.0, 2.0)))
    ids = [ElementTree.fromstring(svg).findtext(f"{NS}title") for svg in (one, other)]
    assert ids[0] == ids[1]
    assert one.split('id="', 1)[1][:12] != other.split('id="', 1)[1][:12]
    assert render_plot_svg(CurvePlot("x", (0.0, 1.0), (0.0, 1.0))) == one


def test_symbols_of_the_draw_are_in_the_title() -> None:
    plot = CurvePlot("x", (0.0, 1.0), (0.0, 1.0), target=(1.0, 1.0), symbols=(("m", 0.0), ("b", 1.0)))
    assert _svg(plot).findtext(f"{NS}title") == "Your network against the target (m = 0, b = 1)"


@pytest.mark.parametrize(("lo", "hi"), [(-3.0, 3.0), (0.0, 1.0), (-1e6, 2e6), (0.001, 0.002)])
def test_ticks_are_round_and_cover_the_range(lo: float, hi: float) -> None:
    ticks = nice_ticks(lo, hi)
    assert 3 <= len(ticks) <= 11
    step = ticks[1] - ticks[0]
    assert ticks[0] >= lo - 1e-9 * abs(step) and ticks[-1] <= hi + 1e-9 * abs(step)
    mantissa = step / 10 ** math.floor(math.log10(step))
    assert any(math.isclose(mantissa, m) for m in (1, 2, 5))
