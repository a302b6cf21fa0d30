"""Pictures of a wrong network as SVG, drawn only from the data its verdict carries.

``render_plot_svg(plot)`` turns a :class:`~grader.core.plotdata.CurvePlot` or
:class:`~grader.core.plotdata.PlanePlot` (``PartResult.plot``) into a
self-contained SVG document: no compiling, no reading answers, no checking
again, and no plotting library.

* one input: the target (black), the band target ± epsilon (approx), where
  the condition holds (green, classify), the network (blue) and the witness
  (a red dashed line), with axes, ticks and a legend;
* two inputs: a heat map of |network - target| (exact), or of where the
  network is positive against where the condition holds (classify), and the
  witness (a red cross).

Every image has a title and a description (``<title>``, ``<desc>``) that say
what it shows, for screen readers and as alt text (:func:`describe_plot`).
"""

from __future__ import annotations

import itertools
import math
import zlib
from collections.abc import Iterable, Sequence

from grader.core.plotdata import CurvePlot, PlanePlot, PlotData, plot_text
from grader.reporting.escape import html_text as escape

WIDTH, HEIGHT = 720, 420
LEFT, RIGHT, TOP, BOTTOM = 64, 250, 44, 48  # the legend is in the right margin
NETWORK_COLOR = "#1f77b4"
TARGET_COLOR = "#777777"
BAND_COLOR = "#999999"
CONDITION_COLOR = "#2ca02c"
WITNESS_COLOR = "#d62728"
WITNESS_MARK = "#000000"  # on a map, where red means wrong
AXIS_COLOR = "#444444"
GRID_COLOR = "#e5e5e5"
# classify heat map: (network positive, condition holds) -> colour, legend text
AGREEMENT = {
    (True, True): ("#9ecae1", "positive, the condition holds"),
    (False, False): ("#ffffff", "not positive, it does not hold"),
    (True, False): ("#d62728", "positive, it does not hold"),
    (False, True): ("#fd8d3c", "not positive, it holds"),
}
HEAT_LEVELS = ("#fff5f0", "#fee0d2", "#fcbba1", "#fc9272", "#fb6a4a", "#ef3b2c", "#cb181d", "#99000d")


# Pictures drawn lately, by their title and data's text (a picture is drawn for its file and
# again in its page; students who gave the same wrong answer share its verdict's plot).
_DRAWN: dict[tuple[str, str], str] = {}
_DRAWN_SIZE = 32
_DRAWN_CHARS = 8_000_000  # and at most about this many characters of keys and pictures
_held = [0]


def render_plot_svg(plot: PlotData, title: str = "") -> str:
    """The picture as an SVG document (text). Its ids are unique to its data, so
    several pictures can be embedded in one HTML page."""
    key = (title, plot_text(plot))  # the data's text: every field, floats to the last bit
    svg = _DRAWN.get(key)
    if svg is None:
        svg = _render(plot, title, key[1])
        if len(_DRAWN) >= _DRAWN_SIZE or _held[0] > _DRAWN_CHARS:
            _DRAWN.clear()
            _held[0] = 0
        _DRAWN[key] = svg
        _held[0] += len(title) + len(key[1]) + len(svg)
    return svg


def _render(plot: PlotData, title: str, text: str) -> str:
    heading = title or _default_title(plot)
    uid = f"plot{zlib.crc32(f'({heading!r}, {text})'.encode()):08x}"  # of repr((heading, plot))
    body = _curve(plot, uid) if isinstance(plot, CurvePlot) else _plane(plot)
    return "\n".join(
        [
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
            f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="{uid}-title {uid}-desc" '
            'font-family="sans-serif" font-size="12">',
            f'<title id="{uid}-title">{escape(heading)}</title>',
            f'<desc id="{uid}-desc">{escape(describe_plot(plot))}</desc>',
            f'<rect width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>',
            f'<text x="{WIDTH / 2:g}" y="24" text-anchor="middle" font-size="15">{escape(heading)}</text>',
            *body,
            "</svg>",
            "",
        ]
    )


def describe_plot(plot: PlotData) -> str:
    """What the picture shows, in one sentence (alt text)."""
    if isinstance(plot, CurvePlot):
        x = plot.input
        what = f"the condition {plot.condition_label}" if plot.condition is not None else plot.target_label
        text = f"Your network and {what} for {x} from {_number(plot.xs[0])} to {_number(plot.xs[-1])}"
        if plot.witness is not None:
            text += f"; they differ at {x} = {_number(plot.witness)}"
        return text + "."
    x, y = plot.inputs
    if plot.condition is not None:
        what = f"where your network is positive against where {plot.condition_label} holds"
    elif plot.difference is not None:
        what = f"|your network - {plot.target_label}|"
    else:
        what = "where your network is positive"
    text = f"A map of {what}, for {x} and {y} from {_number(plot.xs[0])} to {_number(plot.xs[-1])}"
    if plot.witness is not None:
        text += f"; the cross marks ({x}, {y}) = ({_number(plot.witness[0])}, {_number(plot.witness[1])})"
    return text + "."


def _default_title(plot: PlotData) -> str:
    if plot.condition is not None:
        title = "Where your network is positive"
    else:
        title = f"Your network against {plot.target_label}"
    if plot.symbols:
        title += " (" + ", ".join(f"{name} = {_number(value)}" for name, value in plot.symbols) + ")"
    return title


# ---- axes -------------------------------------------------------------------------------------


class _Frame:
    """Maps data coordinates to the plotting area."""

    def __init__(self, x_range: tuple[float, float], y_range: tuple[float, float]):
        self.x0, self.x1 = _widened(*x_range)
        self.y0, self.y1 = _widened(*y_range)

    def px(self, x: float) -> float:
        return LEFT + (x - self.x0) / (self.x1 - self.x0) * (WIDTH - LEFT - RIGHT)

    def py(self, y: float) -> float:
        return HEIGHT - BOTTOM - (y - self.y0) / (self.y1 - self.y0) * (HEIGHT - TOP - BOTTOM)


def _widened(lo: float, hi: float) -> tuple[float, float]:
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return -1.0, 1.0
    if hi - lo < 1e-12 * max(1.0, abs(lo), abs(hi)):
        return lo - 1.0, hi + 1.0
    return lo, hi


def nice_ticks(lo: float, hi: float, count: int = 6) -> list[float]:
    """Round tick values (1, 2 or 5 times a power of ten) covering [lo, hi]."""
    span = hi - lo
    if not (math.isfinite(span) and span > 0):
        return [lo]
    raw = span / max(count - 1, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.ceil(lo / step - 1e-9)
    ticks = []
    k = first
    while k * step <= hi + step * 1e-9:
        ticks.append(k * step)
        k += 1
    return ticks


def _number(v: float) -> str:
    if v == 0:
        return "0"
    if abs(v) >= 1e5 or abs(v) < 1e-3:
        return f"{v:.3g}"
    return f"{v:.6g}"


def _axes(frame: _Frame, x_label: str, y_label: str) -> list[str]:
    left, right = LEFT, WIDTH - RIGHT
    top, bottom = TOP, HEIGHT - BOTTOM
    out = [f'<g stroke="{GRID_COLOR}" stroke-width="1">']
    xticks, yticks = nice_ticks(frame.x0, frame.x1), nice_ticks(frame.y0, frame.y1)
    out += [f'<line x1="{frame.px(t):.1f}" y1="{top}" x2="{frame.px(t):.1f}" y2="{bottom}"/>' for t in xticks]
    out += [f'<line x1="{left}" y1="{frame.py(t):.1f}" x2="{right}" y2="{frame.py(t):.1f}"/>' for t in yticks]
    out.append("</g>")
    out.append(
        f'<rect x="{left}" y="{top}" width="{right - left}" height="{bottom - top}" '
        f'fill="none" stroke="{AXIS_COLOR}"/>'
    )
    out += [
        f'<text x="{frame.px(t):.1f}" y="{bottom + 16}" text-anchor="middle">{_number(t)}</text>'
        for t in xticks
    ]
    out += [
        f'<text x="{left - 6}" y="{frame.py(t) + 4:.1f}" text-anchor="end">{_number(t)}</text>'
        for t in yticks
    ]
    out.append(
        f'<text x="{(left + right) / 2:g}" y="{HEIGHT - 10}" text-anchor="middle">{escape(x_label)}</text>'
    )
    if y_label:
        middle = (top + bottom) / 2
        out.append(
            f'<text x="14" y="{middle:g}" text-anchor="middle" '
            f'transform="rotate(-90 14 {middle:g})">{escape(y_label)}</text>'
        )
    return out


def _legend(entries: Sequence[tuple[str, str]]) -> list[str]:
    """The legend right of the plotting area: (svg of a 16×10 swatch at 0,0, text) per line;
    long texts are wrapped."""
    out = [f'<g transform="translate({WIDTH - RIGHT + 16},{TOP + 4})">']
    y = 0
    for swatch, text in entries:
        out.append(f'<g transform="translate(0,{y})">{swatch}')
        for k, line in enumerate(_wrapped(text, 30)):
            out.append(f'<text x="22" y="{10 + 15 * k}">{escape(line)}</text>')
        out.append("</g>")
        y += 8 + 15 * len(_wrapped(text, 30))
    out.append("</g>")
    return out


def _wrapped(text: str, width: int) -> list[str]:
    lines = [""]
    for word in text.split(" "):
        if lines[-1] and len(lines[-1]) + 1 + len(word) > width:
            lines.append(word)
        else:
            lines[-1] = f"{lines[-1]} {word}".strip()
    return lines


def _line_swatch(color: str, dash: str = "") -> str:
    dashes = f' stroke-dasharray="{dash}"' if dash else ""
    return f'<line x1="0" y1="5" x2="16" y2="5" stroke="{color}" stroke-width="2"{dashes}/>'


def _box_swatch(color: str, opacity: float = 1.0) -> str:
    return f'<rect width="16" height="10" fill="{color}" fill-opacity="{opacity:g}" stroke="{AXIS_COLOR}"/>'


# ---- one input --------------------------------------------------------------------------------


def _finite(values: Iterable[float]) -> list[float]:
    return [v for v in values if math.isfinite(v)]


def _y_range(plot: CurvePlot) -> tuple[float, float]:
    ys = _finite(plot.network)
    if plot.target is not None:
        eps = plot.epsilon or 0.0
        ys += [v + s * eps for v in _finite(plot.target) for s in (-1, 1)]
    if plot.condition is not None:
        ys.append(0.0)
    if not ys:
        return -1.0, 1.0
    lo, hi = min(ys), max(ys)
    pad = 0.06 * (hi - lo) if hi > lo else 1.0
    return lo - pad, hi + pad


def _runs(points: Sequence[tuple[float, float]]) -> list[list[tuple[float, float]]]:
    """Consecutive points with finite values (a curve is broken where it is undefined)."""
    runs: list[list[tuple[float, float]]] = [[]]
    for x, y in points:
        if math.isfinite(y):
            runs[-1].append((x, y))
        elif runs[-1]:
            runs.append([])
    return [r for r in runs if r]


def _polyline(frame: _Frame, xs: Sequence[float], ys: Sequence[float], color: str, width: float) -> list[str]:
    out = []
    # frame.px, frame.py and _clip inlined (the same arithmetic, so the same figures): a curve
    # has hundreds of points and a class hundreds of curves
    x0, x_span, x_scale = frame.x0, frame.x1 - frame.x0, WIDTH - LEFT - RIGHT
    y0, y_span, y_scale, y_base = frame.y0, frame.y1 - frame.y0, HEIGHT - TOP - BOTTOM, HEIGHT - BOTTOM
    low, high = frame.y0 - y_span, frame.y1 + y_span
    for run in _runs(list(zip(xs, ys, strict=True))):
        coords = " ".join(
            f"{LEFT + (x - x0) / x_span * x_scale:.2f},"
            f"{y_base - (min(max(y, low), high) - y0) / y_span * y_scale:.2f}"
            for x, y in run
        )
        out.append(f'<polyline points="{coords}" fill="none" stroke="{color}" stroke-width="{width:g}"/>')
    return out


def _clip(frame: _Frame, y: float) -> float:
    span = frame.y1 - frame.y0
    return min(max(y, frame.y0 - span), frame.y1 + span)


def _band(frame: _Frame, xs: Sequence[float], ys: Sequence[float], eps: float) -> list[str]:
    out = []
    for run in _runs(list(zip(xs, ys, strict=True))):
        upper = [f"{frame.px(x):.2f},{frame.py(_clip(frame, y + eps)):.2f}" for x, y in run]
        lower = [f"{frame.px(x):.2f},{frame.py(_clip(frame, y - eps)):.2f}" for x, y in reversed(run)]
        out.append(f'<polygon points="{" ".join(upper + lower)}" fill="{BAND_COLOR}" fill-opacity="0.3"/>')
    return out


def _condition_spans(frame: _Frame, xs: Sequence[float], truth: Sequence[bool]) -> list[str]:
    out = []
    start: float | None = None
    for i, (x, holds) in enumerate(zip(xs, truth, strict=True)):
        if holds and start is None:
            start = x if i == 0 else (xs[i - 1] + x) / 2
        if start is not None and (not holds or i == len(xs) - 1):
            end = x if holds else (xs[i - 1] + x) / 2
            left, right = frame.px(start), frame.px(end)
            out.append(
                f'<rect x="{left:.2f}" y="{TOP}" width="{max(right - left, 1):.2f}" '
                f'height="{HEIGHT - TOP - BOTTOM}" fill="{CONDITION_COLOR}" fill-opacity="0.15"/>'
            )
            start = None
    return out


def _curve(plot: CurvePlot, uid: str) -> list[str]:
    frame = _Frame((plot.xs[0], plot.xs[-1]), _y_range(plot))
    out = _axes(frame, plot.input, "")
    legend: list[tuple[str, str]] = []
    out += [
        f'<clipPath id="{uid}-area"><rect x="{LEFT}" y="{TOP}" width="{WIDTH - LEFT - RIGHT}" '
        f'height="{HEIGHT - TOP - BOTTOM}"/></clipPath>',
        f'<g clip-path="url(#{uid}-area)">',
    ]
    if plot.condition is not None:
        out += ['<g class="condition">', *_condition_spans(frame, plot.xs, plot.condition), "</g>"]
        legend.append((_box_swatch(CONDITION_COLOR, 0.15), f"{plot.condition_label} holds"))
    if frame.y0 < 0 < frame.y1:
        out.append(
            f'<line x1="{LEFT}" y1="{frame.py(0):.2f}" x2="{WIDTH - RIGHT}" y2="{frame.py(0):.2f}" '
            f'stroke="{BAND_COLOR}" stroke-width="1"/>'
        )
    if plot.target is not None:
        if plot.epsilon:
            out += _band(frame, plot.xs, plot.target, plot.epsilon)
            legend.append((_box_swatch(BAND_COLOR, 0.3), f"{plot.target_label} ± {_number(plot.epsilon)}"))
        out += _polyline(frame, plot.xs, plot.target, TARGET_COLOR, 3.5)
        legend.append((_line_swatch(TARGET_COLOR), plot.target_label))
    out += _polyline(frame, plot.xs, plot.network, NETWORK_COLOR, 1.8)
    legend.append((_line_swatch(NETWORK_COLOR), "your network"))
    if plot.witness is not None:
        x = frame.px(plot.witness)
        out.append(
            f'<line x1="{x:.2f}" y1="{TOP}" x2="{x:.2f}" y2="{HEIGHT - BOTTOM}" stroke="{WITNESS_COLOR}" '
            'stroke-width="1.5" stroke-dasharray="5,4"/>'
        )
        legend.append((_line_swatch(WITNESS_COLOR, "5,4"), f"{plot.input} = {_number(plot.witness)}"))
    out.append("</g>")
    return out + _legend(legend)


# ---- two inputs -------------------------------------------------------------------------------


def _cell_edges(values: Sequence[float]) -> list[float]:
    """Edges of cells centred on the grid values."""
    mids = [(a + b) / 2 for a, b in itertools.pairwise(values)]
    first = values[0] - (mids[0] - values[0]) if mids else values[0] - 0.5
    last = values[-1] + (values[-1] - mids[-1]) if mids else values[-1] + 0.5
    return [first, *mids, last]


def _colours(plot: PlanePlot) -> tuple[list[list[str]], list[tuple[str, str]]]:
    """A colour per grid point, and the legend."""
    if plot.condition is not None:
        grid = [
            [AGREEMENT[(v > 0, holds)][0] for v, holds in zip(row, truth, strict=True)]
            for row, truth in zip(plot.network, plot.condition, strict=True)
        ]
        legend = [(_box_swatch(colour), f"your network {text}") for colour, text in AGREEMENT.values()]
        if plot.condition_label:
            legend.append(("", f"(the condition: {plot.condition_label})"))
        return grid, legend
    if plot.difference is not None:
        top = max(_finite(v for row in plot.difference for v in row), default=0.0)
        grid = [[_heat(v, top) for v in row] for row in plot.difference]
        bar = "".join(
            f'<rect x="{12 * k}" y="0" width="12" height="10" fill="{colour}" stroke="{AXIS_COLOR}" '
            'stroke-width="0.5"/>'
            for k, colour in enumerate(HEAT_LEVELS)
        )
        legend = [
            ("", f"|your network - {plot.target_label}|"),
            (f'<g transform="translate(22,0)">{bar}</g>', ""),
            ("", f"from 0 (white) to {_number(top)} (dark red)"),
        ]
        return grid, legend
    grid = [[AGREEMENT[(v > 0, True)][0] if v > 0 else "#ffffff" for v in row] for row in plot.network]
    return grid, [(_box_swatch(AGREEMENT[(True, True)][0]), "your network is positive")]


def _heat(value: float, top: float) -> str:
    if not math.isfinite(value):
        return HEAT_LEVELS[-1]
    if top <= 0 or value <= 0:
        return HEAT_LEVELS[0]
    level = 1 + int((len(HEAT_LEVELS) - 2) * min(value / top, 1.0) + 0.5)
    return HEAT_LEVELS[min(level, len(HEAT_LEVELS) - 1)]


def _cross(x: float, y: float, size: float = 6) -> list[str]:
    """The witness: a dark cross with a white halo, visible on any colour."""
    path = (
        f"M{x - size:.2f},{y - size:.2f} L{x + size:.2f},{y + size:.2f} "
        f"M{x - size:.2f},{y + size:.2f} L{x + size:.2f},{y - size:.2f}"
    )
    return [
        f'<path d="{path}" stroke="#ffffff" stroke-width="5"/>',
        f'<path d="{path}" stroke="{WITNESS_MARK}" stroke-width="2.5"/>',
    ]


def _plane(plot: PlanePlot) -> list[str]:
    xe, ye = _cell_edges(plot.xs), _cell_edges(plot.ys)
    frame = _Frame((xe[0], xe[-1]), (ye[0], ye[-1]))
    colours, legend = _colours(plot)
    out = ['<g class="map" shape-rendering="crispEdges">']
    for i, row in enumerate(colours):
        j = 0
        while j < len(row):  # one rectangle per run of equal colour in a row
            k = j
            while k + 1 < len(row) and row[k + 1] == row[j]:
                k += 1
            left, right = frame.px(xe[j]), frame.px(xe[k + 1])
            top, bottom = frame.py(ye[i + 1]), frame.py(ye[i])
            out.append(
                f'<rect x="{left:.2f}" y="{top:.2f}" width="{right - left:.2f}" '
                f'height="{bottom - top:.2f}" fill="{row[j]}"/>'
            )
            j = k + 1
    out.append("</g>")
    out += _axes(frame, plot.inputs[0], plot.inputs[1])
    if plot.witness is not None:
        out += _cross(frame.px(plot.witness[0]), frame.py(plot.witness[1]))
        point = f"({_number(plot.witness[0])}, {_number(plot.witness[1])})"
        legend.append(("".join(_cross(8, 5, 4)), f"({plot.inputs[0]}, {plot.inputs[1]}) = {point}"))
    return out + _legend(legend)
