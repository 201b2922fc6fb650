"""The dashboard's two charts: the objective of finished jobs in launch order (with the
best so far), and per-epoch curves of the top jobs plus the selected one.

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

if TYPE_CHECKING:
    from hpo_tui.app.widgets.background_plot import BackgroundPlot, Call

TOP_CURVES = 5  # at most views.LEADERS (the jobs a Snapshot keeps ranked)
# Below this many terminal rows the charts hide themselves: the table needs the room.
MIN_ROWS_FOR_CHARTS = 30


def chart_height(rows: int) -> int:
    """Rows the charts get in a terminal `rows` high (0: hidden)."""
    if rows < MIN_ROWS_FOR_CHARTS:
        return 0
    return max(10, min(28, round(rows * 0.35)))


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
        objective_name, objective_type, objective, curves, selected = data
        if (objective_name, objective_type, objective) != self._objective_signature:
            self._objective_signature = (objective_name, objective_type, objective)
            self._show_objective(objective_name, objective_type, objective)
        if (objective_name, curves, selected) != self._curves_signature:
            self._curves_signature = (objective_name, curves, selected)
            self._show_curves(objective_name, curves, selected, short_name)

    def _show_objective(self, objective_name: str, objective_type: str, objective: tuple) -> None:
        plot = self._plots["objective"]
        plt = PlotCalls()  # made on the figure by the plot's build thread
        plt.clear_data()  # clear_figure rebuilds the whole figure: 10x slower
        plt.title(f"{objective_name} of finished jobs (launch order)")
        legend = Text()
        if objective:
            xs = [x for x, _ in objective]
            ys = [y for _, y in objective]
            plt.xticks(whole_ticks(xs[0], xs[-1]))  # job numbers, not 2.2 or 3.5
            point_colour, best_colour = SERIES_COLOURS[0], SERIES_COLOURS[2]
            point_marker = "●"
            best_marker = "braille" if not self.app.no_color else "·"
            # Drawn at the plot's width: the running best is a step line (its steps are
            # kept), the points keep each column's lowest and highest.
            width = self._plot_width(plot)
            best = decimate(list(zip(xs, running_best(ys, objective_type == "Maximize"))), width)
            shown = decimate(list(objective), width)
            plt.plot([x for x, _ in best], [y for _, y in best], marker=best_marker, color=best_colour)
            plt.scatter([x for x, _ in shown], [y for _, y in shown], marker=point_marker, color=point_colour)
            legend.append(f"{point_marker} ", style=rgb_style(point_colour))
            legend.append("objective   ")
            legend.append("━ " if best_marker == "braille" else "··· ", style=rgb_style(best_colour))
            legend.append("best so far")
        else:
            legend = Text("no finished job yet", style="dim")
        set_line(self.query_one("#objective-legend", Static), legend)  # one line: no layout pass
        plot.draw(plt.calls)

    def _show_curves(self, objective_name: str, curves: tuple, selected: str | None, short_name) -> None:
        plot = self._plots["curves"]
        plt = PlotCalls()  # made on the figure by the plot's build thread
        plt.clear_data()
        plt.title(f"{objective_name} per epoch: top {TOP_CURVES} + selected")
        legend = Text()
        drawn = [(name, curve) for name, curve in curves if curve]
        for index, (name, curve) in enumerate(drawn):
            colour = SERIES_COLOURS[index % len(SERIES_COLOURS)]
            marker = self._marker(index)
            curve = decimate([(epoch + 1, value) for epoch, value in curve], self._plot_width(plot))
            xs = [epoch for epoch, _ in curve]  # people count epochs from 1
            ys = [value for _, value in curve]
            if len(xs) == 1:  # one epoch: a line needs two points, so show the point
                plt.scatter(xs, ys, marker="●" if marker == "braille" else marker, color=colour)
            else:
                plt.plot(xs, ys, marker=marker, color=colour)
            legend.append("━ " if marker == "braille" else f"{marker} ", style=rgb_style(colour))
            legend.append(short_name(name), style="bold" if name == selected else "")
            legend.append("* " if name == selected else " ")
        if drawn:
            plt.xticks(whole_ticks(min(curve[0][0] for _, curve in drawn) + 1,
                                   max(curve[-1][0] for _, curve in drawn) + 1))
            if selected in dict(drawn):
                legend.append("(* selected)", style="dim")
        else:
            legend = Text("no epoch reported yet", style="dim")
        set_line(self.query_one("#curves-legend", Static), legend)
        plot.draw(plt.calls)
