"""The dashboard's two charts: the objective of finished jobs in launch order (with the
best so far), and per-epoch curves of the top jobs plus the selected one.

Both draw on a robust scale (hpo_tui.scales): from the finished jobs that did not diverge,
never past the metric's bounds; a value off the scale is drawn at its edge as ▼ or ▲.

Each series has its own colour, one apart from the others in every colour system, and
with NO_COLOR its own marker; the legend under each plot says which is which.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Static

from hpo_tui.app.styles import SERIES_COLOURS, SERIES_MARKERS, rgb_style
from hpo_tui.app.widgets.one_line import set_line
from hpo_tui.scales import JobScales, Scale, least_span, robust_scale

if TYPE_CHECKING:
    from hpo_tui.app.widgets.background_plot import BackgroundPlot, Call

TOP_CURVES = 5  # at most views.LEADERS (the jobs a Snapshot keeps ranked)
# Below this many terminal rows the charts hide themselves: the table needs the room.
MIN_ROWS_FOR_CHARTS = 24
COMPACT_BELOW = 30  # from MIN_ROWS_FOR_CHARTS up to here the charts are compact
COMPACT_HEIGHT = 6  # a compact chart: a few rows of plot and its legend
BELOW_MARKER, ABOVE_MARKER = "▼", "▲"  # a value off the scale, drawn at its edge
OFF_SCALE_COLOUR = SERIES_COLOURS[3]


def chart_height(rows: int) -> int:
    """Rows the charts get in a terminal `rows` high (0: hidden)."""
    if rows < MIN_ROWS_FOR_CHARTS:
        return 0
    if rows < COMPACT_BELOW:
        return COMPACT_HEIGHT
    return max(10, min(28, round(rows * 0.35)))


def split_by_scale(points: list[tuple[float, float]], scale: Scale) -> tuple[list, list, list]:
    """The points inside the scale, and those below and above it moved to its edge."""
    inside, below, above = [], [], []
    for x, y in points:
        where = scale.where(y)
        (inside if where == 0 else below if where < 0 else above).append((x, scale.clamp(y)))
    return inside, below, above


def whole_ticks(low: int, high: int, most: int = 8) -> list[int]:
    """At most `most` evenly spread whole numbers from low to high (chart ticks for counts)."""
    if high <= low:
        return [low]
    step = max(1, -(-(high - low) // (most - 1)))
    return list(range(low, high + 1, step))


def running_best(values: list[float], maximize: bool) -> list[float]:
    best: list[float] = []
    for y in values:
        if not best or (y > best[-1] if maximize else y < best[-1]):
            best.append(y)
        else:
            best.append(best[-1])
    return best


def decimate(points: list[tuple[float, float]], buckets: int) -> list[tuple[float, float]]:
    """At most about 2 x buckets points of an x-ordered series, drawn the same at a plot
    `buckets` cells wide: each run of consecutive points keeps its lowest and highest (in
    x order), so no peak, dip or outlier is lost. 10,000 jobs draw as fast as 200."""
    if buckets <= 0 or len(points) <= 2 * buckets:
        return list(points)
    out: list[tuple[float, float]] = []
    size = len(points) / buckets
    for b in range(buckets):
        chunk = points[int(b * size):int((b + 1) * size)]
        if not chunk:
            continue
        low = min(chunk, key=lambda p: p[1])
        high = max(chunk, key=lambda p: p[1])
        out.extend(sorted({low, high}, key=lambda p: p[0]))
    return out


class PlotCalls:
    """Stands in for a plot's `plt`: records the plotext calls made on it (plt.plot(...),
    plt.title(...)) for BackgroundPlot.draw, whose build thread makes them on the figure."""

    def __init__(self) -> None:
        self.calls: list[Call] = []

    def __getattr__(self, name: str):
        def record(*args, **kwargs) -> None:
            self.calls.append((name, args, kwargs))

        return record


class DashboardCharts(Horizontal):
    """`show(data)` redraws the plots whose data changed; `data` is plain values, so each
    plot compares its own part (a top job's new epoch redraws the curves, not the objective
    plot: a plotext render is about 20 ms)."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._objective_signature: tuple | None = None
        self._curves_signature: tuple | None = None
        self._plots: dict[str, BackgroundPlot] = {}  # mounted after the first frame
        self._waiting: tuple | None = None  # what show() was given before the plots were there
        self.compact = False  # a short terminal: plots without title and x axis (set_compact)

    def compose(self) -> ComposeResult:
        # Legends live under the plots: plotext draws its own over the data.
        with Vertical(classes="chart", id="objective-box"):
            yield Static("", id="objective-legend", classes="chart-legend")
        with Vertical(classes="chart", id="curves-box"):
            yield Static("", id="curves-legend", classes="chart-legend")

    def on_mount(self) -> None:
        # The plots join after the first frame: importing plotext and styling two more
        # widgets (~0.1 s) is not what a dashboard's first rows should wait for, and a
        # first frame has nothing to plot yet (the curves are read after it).
        self.call_after_refresh(self._mount_plots)

    async def _mount_plots(self) -> None:
        from hpo_tui.app.widgets.background_plot import BackgroundPlot

        plots = {which: BackgroundPlot(id=f"{which}-chart") for which in ("objective", "curves")}
        for which, plot in plots.items():
            await self.query_one(f"#{which}-box").mount(plot, before=0)
        self._plots = plots
        if self._waiting is not None:
            self.show(*self._waiting)

    @property
    def is_current(self) -> bool:
        """The plots are there and show what they were last given (they are built on a
        worker thread, after a frame)."""
        return bool(self._plots) and all(plot.is_current for plot in self._plots.values())

    def set_compact(self, compact: bool) -> None:
        """Compact plots (a terminal under COMPACT_BELOW rows): every row of the plot is data."""
        if compact != self.compact:
            self.compact = compact
            self.invalidate()

    def _frame(self, plt: PlotCalls, title: str, axis: Scale | None) -> None:
        """The plot's title, or in compact plots none, no x axis and the y range's ends only."""
        if not self.compact:
            plt.title(title)
            return
        plt.xaxes(False, False)
        plt.xticks([])
        if axis is not None:
            plt.yticks([axis.low, axis.high], [_tick(axis.low), _tick(axis.high)])

    def invalidate(self) -> None:
        """Redraw on the next show (new theme, shown again)."""
        self._objective_signature = self._curves_signature = None

    def _marker(self, index: int) -> str:
        # Braille lines read best in colour; without colour only the marker tells series apart.
        return SERIES_MARKERS[index % len(SERIES_MARKERS)] if self.app.no_color else "braille"

    @staticmethod
    def _plot_width(plot: BackgroundPlot) -> int:
        """Columns of data in a plot (braille draws two points per cell): 2 x its width."""
        return 2 * max(40, plot.size.width or 0)

    def show(self, data: tuple, short_name) -> None:
        if not self._plots:
            self._waiting = (data, short_name)
            return
        self._waiting = None
        if not self.display or not data:
            return
        objective_name, objective_type, objective, curves, selected, scales, zoom = data
        if (objective_name, objective_type, objective, scales, zoom) != self._objective_signature:
            self._objective_signature = (objective_name, objective_type, objective, scales, zoom)
            self._show_objective(objective_name, objective_type, objective, scales, zoom)
        if (objective_name, curves, selected, scales, zoom) != self._curves_signature:
            self._curves_signature = (objective_name, curves, selected, scales, zoom)
            self._show_curves(objective_name, curves, selected, short_name, scales, zoom)

    @staticmethod
    def _axis(scale: Scale | None, scales: JobScales | None) -> Scale | None:
        """The y axis for a scale: a little room around it, within the metric's bounds."""
        if scale is None or scales is None:
            return None
        return scale.padded(0.05, bounds=scales.bounds)

    def _off_scale(self, plt: PlotCalls, legend: Text, below: list, above: list) -> None:
        """Points off the scale, drawn at its edge, and the legend's word on them."""
        for points, marker in ((below, BELOW_MARKER), (above, ABOVE_MARKER)):
            if points:
                plt.scatter([x for x, _ in points], [y for _, y in points], marker=marker, color=OFF_SCALE_COLOUR)
        if below or above:
            legend.append(f"   {BELOW_MARKER if below else ABOVE_MARKER} ", style=rgb_style(OFF_SCALE_COLOUR))
            legend.append(f"{len(below) + len(above)} off the scale")

    def _show_objective(self, objective_name: str, objective_type: str, objective: tuple,
                        scales: JobScales | None = None, zoom: bool = False) -> None:
        plot = self._plots["objective"]
        plt = PlotCalls()  # made on the figure by the plot's build thread
        plt.clear_data()  # clear_figure rebuilds the whole figure: 10x slower
        title = f"{objective_name} of finished jobs (launch order)" + (" · zoomed to the top (z)" if zoom else "")
        legend = Text()
        axis = None
        if objective:
            xs = [x for x, _ in objective]
            ys = [y for _, y in objective]
            if not self.compact:
                plt.xticks(whole_ticks(xs[0], xs[-1]))  # job numbers, not 2.2 or 3.5
            point_colour, best_colour = SERIES_COLOURS[0], SERIES_COLOURS[2]
            point_marker = "●"
            best_marker = "braille" if not self.app.no_color else "·"
            # Drawn at the plot's width: the running best is a step line (its steps are
            # kept), the points keep each column's lowest and highest.
            width = self._plot_width(plot)
            best = decimate(list(zip(xs, running_best(ys, objective_type == "Maximize"))), width)
            shown = decimate(list(objective), width)
            below: list = []
            above: list = []
            axis = self._axis(scales.objective_scale(ys, zoom=zoom, least=least_span(scales.bounds, ys))
                              if scales is not None else None, scales)
            if axis is not None:
                plt.ylim(axis.low, axis.high)
                best = [(x, axis.clamp(y)) for x, y in best]
                shown, below, above = split_by_scale(shown, axis)
            plt.plot([x for x, _ in best], [y for _, y in best], marker=best_marker, color=best_colour)
            if shown:
                plt.scatter([x for x, _ in shown], [y for _, y in shown], marker=point_marker, color=point_colour)
            legend.append(f"{point_marker} ", style=rgb_style(point_colour))
            legend.append("objective   ")
            legend.append("━ " if best_marker == "braille" else "··· ", style=rgb_style(best_colour))
            legend.append("best so far")
            self._off_scale(plt, legend, below, above)
        else:
            legend = Text("no finished job yet", style="dim")
        self._frame(plt, title, axis)
        set_line(self.query_one("#objective-legend", Static), legend)  # one line: no layout pass
        plot.draw(plt.calls)

    def _curves_axis(self, drawn: list, scales: JobScales | None, zoom: bool) -> Scale | None:
        """The per-epoch chart's axis: the values of the curves drawn, the diverged ones left out."""
        if scales is None:
            return None
        values = [v for name, curve in drawn if name not in scales.diverged for _, v in curve]
        values = values or [v for _, curve in drawn for _, v in curve]
        scale = robust_scale(values, bounds=scales.bounds, zoom_to=scales.top, zoom=zoom,
                             maximize=scales.maximize, least=least_span(scales.bounds, values))
        return self._axis(scale, scales)

    def _show_curves(self, objective_name: str, curves: tuple, selected: str | None, short_name,
                     scales: JobScales | None = None, zoom: bool = False) -> None:
        plot = self._plots["curves"]
        plt = PlotCalls()  # made on the figure by the plot's build thread
        plt.clear_data()
        legend = Text()
        drawn = [(name, curve) for name, curve in curves if curve]
        axis = self._curves_axis(drawn, scales, zoom)
        self._frame(plt, f"{objective_name} per epoch: top {TOP_CURVES} + selected" + (" · zoomed (z)" if zoom else ""),
                    axis)
        if axis is not None:
            plt.ylim(axis.low, axis.high)
        below: list = []
        above: list = []
        for index, (name, curve) in enumerate(drawn):
            colour = SERIES_COLOURS[index % len(SERIES_COLOURS)]
            marker = self._marker(index)
            curve = decimate([(epoch + 1, value) for epoch, value in curve], self._plot_width(plot))
            if axis is not None:
                inside, low, high = split_by_scale(curve, axis)
                below += low
                above += high
                curve = sorted(inside + low + high)  # the line runs along the edge where it leaves the scale
            xs = [epoch for epoch, _ in curve]  # people count epochs from 1
            ys = [value for _, value in curve]
            if len(xs) == 1:  # one epoch: a line needs two points, so show the point
                plt.scatter(xs, ys, marker="●" if marker == "braille" else marker, color=colour)
            else:
                plt.plot(xs, ys, marker=marker, color=colour)
            legend.append("━ " if marker == "braille" else f"{marker} ", style=rgb_style(colour))
            legend.append(short_name(name), style="bold" if name == selected else "")
            if scales is not None and name in scales.diverged:
                legend.append(" diverged", style=rgb_style(OFF_SCALE_COLOUR))
            legend.append("* " if name == selected else " ")
        if drawn and not self.compact:
            plt.xticks(whole_ticks(min(curve[0][0] for _, curve in drawn) + 1,
                                   max(curve[-1][0] for _, curve in drawn) + 1))
        if drawn:
            if selected in dict(drawn):
                legend.append("(* selected)", style="dim")
            self._off_scale(plt, legend, below, above)
        else:
            legend = Text("no epoch reported yet", style="dim")
        set_line(self.query_one("#curves-legend", Static), legend)
        plot.draw(plt.calls)


def _tick(value: float) -> str:
    """A compact plot's y tick: four significant digits."""
    return f"{value:.4g}"
