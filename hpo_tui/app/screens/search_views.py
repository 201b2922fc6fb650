"""Views that explain a search, from the dashboard's last poll (either backend): slice plots,
parameter importance, parallel coordinates and the objective over wall-clock time.

Keys: 1-4 pick a view, z zooms to the top jobs and back, r polls again, escape goes back
to the dashboard. The objective's axis is robust (hpo_tui.scales): a diverged job does not
stretch it, and a value off it is drawn at its edge as ▼ or ▲. What each view
computes lives in hpo_tui.analysis; this module only draws it.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.color import Color
from textual.containers import Grid
from textual.widgets import Static, TabbedContent, TabPane
from textual.worker import Worker, WorkerState
from textual_plotext import PlotextPlot

from hpo_tui import analysis, scales
from hpo_tui.app.format import strip_escapes
from hpo_tui.app.typed import HpoScreen
from hpo_tui.app.widgets.footer import KeyFooter
from hpo_tui.report import fmt_value
from hpo_tui.views import Snapshot

TABS = (("slice", "Slice"), ("importance", "Importance"), ("parallel", "Parallel coordinates"),
        ("time", "Over time"))
BAR_WIDTH = 50
MAX_SLICE_PLOTS = 6  # 2 rows of 3 fit 120x40 readably


def _rich(rgb: tuple[int, int, int]) -> str:
    return f"rgb({rgb[0]},{rgb[1]},{rgb[2]})"


def _blend(a: tuple[int, int, int], b: tuple[int, int, int], t: float) -> tuple[int, int, int]:
    t = min(1.0, max(0.0, t))
    return tuple(round(x + (y - x) * t) for x, y in zip(a, b))  # type: ignore[return-value]


def _short(text: str, width: int = 1000) -> str:
    """A name or value from the spec, AWS or a log: no escape sequences, at most `width` long."""
    text = strip_escapes(text)
    return text if len(text) <= width else text[: width - 1] + "…"


class SearchViewsScreen(HpoScreen[None]):
    """Slice, importance, parallel coordinates and objective over time for one tuning job."""

    DEFAULT_CSS = """
    SearchViewsScreen #search-title { height: 1; padding: 0 1; text-style: bold; }
    SearchViewsScreen #search-summary { height: 1; padding: 0 1; color: $text-muted; }
    SearchViewsScreen TabbedContent { height: 1fr; }
    SearchViewsScreen TabPane { padding: 0; height: 1fr; }
    SearchViewsScreen #slice-grid { grid-size: 3; grid-gutter: 0 1; height: 1fr; }
    SearchViewsScreen #slice-grid PlotextPlot { height: 1fr; min-height: 10; }
    SearchViewsScreen .view-legend { height: auto; padding: 0 1; }
    SearchViewsScreen #parallel-plot, SearchViewsScreen #time-plot { height: 1fr; }
    SearchViewsScreen #importance-body { padding: 1 2; height: 1fr; }
    SearchViewsScreen .view-empty { padding: 1 2; color: $text-muted; }
    """

    BINDINGS = [
        Binding("1", "show('slice')", "Slice", id="search.slice",
                tooltip="Slice plots: the objective against each hyperparameter"),
        Binding("2", "show('importance')", "Importance", id="search.importance",
                tooltip="Parameter importance: pED-ANOVA importance of each hyperparameter"),
        Binding("3", "show('parallel')", "Parallel", id="search.parallel",
                tooltip="Parallel coordinates: one line per job across hyperparameters and objective"),
        Binding("4", "show('time')", "Over time", id="search.time",
                tooltip="Objective over time: each job's objective when it ended, best so far"),
        Binding("z", "zoom", "Zoom", id="search.zoom",
                tooltip="Zoom to the top jobs: scale the objective to the best jobs, or back"),
        Binding("r", "refresh", "Refresh", id="search.refresh",
                tooltip="Refresh now: poll the backend now"),
        Binding("escape", "back", "Back", id="search.back",
                tooltip="Back to the dashboard: close the search views"),
    ]

    def __init__(self, snapshot: Snapshot, *, backend_name: str | None = None, cursor: Any = None,
                 interval: float | None = None, initial: str = "slice") -> None:
        """`interval`: poll again this often while the tuning job runs (None: only on r)."""
        super().__init__()
        self.snapshot = snapshot
        self.backend_name = backend_name
        self.cursor = cursor
        self.interval = interval
        self.initial = initial
        self._signature: tuple | None = None
        self.zoomed = False

    # --- layout --------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Static("", id="search-title")
        yield Static("", id="search-summary")
        with TabbedContent(initial=self.initial, id="search-tabs"):
            with TabPane("1 Slice", id="slice"):
                yield Grid(id="slice-grid")
                yield Static("", id="slice-legend", classes="view-legend")
            with TabPane("2 Importance", id="importance"):
                yield Static("", id="importance-body")
            with TabPane("3 Parallel coordinates", id="parallel"):
                yield PlotextPlot(id="parallel-plot")
                yield Static("", id="parallel-legend", classes="view-legend")
            with TabPane("4 Over time", id="time"):
                yield PlotextPlot(id="time-plot")
                yield Static("", id="time-legend", classes="view-legend")
        yield KeyFooter()

    async def on_mount(self) -> None:
        theme = self.app.theme_variables
        rgb = lambda name: Color.parse(theme[name]).rgb  # noqa: E731
        self.colours = [rgb(n) for n in ("primary", "warning", "accent", "secondary", "foreground")]
        self.best_colour = rgb("success")
        self.low_colour, self.mid_colour = rgb("error"), rgb("warning")
        await self._draw()
        if self.interval and not self.snapshot.tuning_job.is_terminal:
            # Live while the tuning job runs (the dashboard below does not poll meanwhile).
            self._timer = self.set_interval(self.interval, self._poll_if_running)

    # --- actions --------------------------------------------------------------------

    def action_show(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_refresh(self) -> None:
        self._poll()

    async def action_zoom(self) -> None:
        self.zoomed = not self.zoomed
        await self._draw()

    def _poll_if_running(self) -> None:
        if self.snapshot.tuning_job.is_terminal and all(j.is_terminal for j in self.snapshot.training_jobs):
            self._timer.stop()
        elif not any(w.group == "search-poll" and w.is_running for w in self.workers):
            self._poll()

    @work(thread=True, exclusive=True, group="search-poll", exit_on_error=False)
    def _poll(self) -> Snapshot:
        backend = self.app.backend_for(self.backend_name)
        return backend.poll(self.snapshot.tuning_job.name, self.cursor)

    @work(thread=True, exclusive=True, group="importance", exit_on_error=False)
    def _importance_worker(self, snap: Snapshot) -> analysis.Importance:
        # PED-ANOVA's first run imports scipy and more (~1.5 s): never on the UI thread.
        return analysis.importance(snap)

    @on(Worker.StateChanged)
    async def _worker_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group == "importance":
            if event.state == WorkerState.SUCCESS:
                self._show_importance(event.worker.result)
            elif event.state == WorkerState.ERROR:
                self.query_one("#importance-body", Static).update(
                    Text(f"Could not compute the importance: {_short(str(event.worker.error), 300)}", style="dim"))
            return
        if event.worker.group != "search-poll":
            return
        if event.state == WorkerState.SUCCESS:
            snap = event.worker.result
            self.cursor = snap.cursor
            self.snapshot = snap
            if self._data_signature(snap) != self._signature:
                await self._draw()
        elif event.state == WorkerState.ERROR:
            self.notify(f"Could not refresh: {event.worker.error}", severity="warning", markup=False)

    # --- drawing --------------------------------------------------------------------

    @staticmethod
    def _data_signature(snap: Snapshot) -> tuple:
        """What the views draw from: redraw only when it changed."""
        jobs = tuple((j.name, j.status, j.final_objective, j.ended_at, tuple(j.hyperparameters.items()))
                     for j in snap.training_jobs)
        return snap.tuning_job, jobs

    async def _draw(self) -> None:
        snap = self.snapshot
        self._signature = self._data_signature(snap)
        t = snap.tuning_job
        scored = analysis.scored_jobs(snap)
        best = analysis.best_job(snap, scored)
        self.query_one("#search-title", Static).update(Text(
            f"Search of {_short(t.name)}  ({t.backend}, {_short(t.strategy)}, {t.objective_type} "
            f"{_short(t.objective_name)})"))
        summary = f"{len(scored)} of {len(snap.training_jobs)} training jobs finished with an objective"
        if best is not None:
            summary += f"; best {_short(best.job.name)} = {fmt_value(best.value)}"
        self.query_one("#search-summary", Static).update(Text(summary))
        axes = analysis.axes(snap)
        self._scale = self._objective_scale(snap, scored)
        await self._draw_slices(snap, axes, scored, best)
        self._draw_importance(snap)
        self._draw_parallel(snap, axes, scored, best)
        self._draw_time(snap)

    def _objective_scale(self, snap: Snapshot, scored: list[analysis.ScoredJob]) -> scales.Scale | None:
        """The objective's axis: the finished jobs that did not diverge (or the top ones, z),
        padded, never past the metric's bounds (an accuracy stays within 0..1)."""
        job_scales = scales.job_scales(snap)
        values = [s.value for s in scored]
        scale = job_scales.objective_scale(values, zoom=self.zoomed,
                                           least=scales.least_span(job_scales.bounds, values))
        return scale.padded(0.05, bounds=job_scales.bounds) if scale is not None else None

    def _off_scale(self, plt: Any, points: list[tuple[float, float]]) -> list[tuple[float, float]]:
        """Draw the points off the objective's axis at its edge (▼ below, ▲ above); return the others."""
        scale = self._scale
        if scale is None:
            return points
        inside = [(x, y) for x, y in points if scale.where(y) == 0]
        for side, marker in ((-1, "▼"), (1, "▲")):
            off = [(x, scale.clamp(y)) for x, y in points if scale.where(y) == side]
            if off:
                plt.scatter([p[0] for p in off], [p[1] for p in off], marker=marker, color=self.low_colour)
        return inside

    def _off_scale_note(self, values: list[float]) -> str:
        scale = self._scale
        off = sum(1 for v in values if scale is not None and scale.where(v) != 0)
        note = f"   ▼▲ {off} off the scale" if off else ""
        return note + ("   zoomed to the top jobs (z)" if self.zoomed else "")

    def _colour_by(self, axes: list[analysis.Axis]) -> analysis.Axis | None:
        """The categorical hyperparameter that colours the points (the first one)."""
        return next((a for a in axes if a.categorical and len(a.values) > 1), None)

    def _category_colour(self, axis: analysis.Axis | None, value: str | None) -> tuple[int, int, int]:
        if axis is None or value not in axis.values:
            return self.colours[0]
        return self.colours[axis.values.index(value) % len(self.colours)]

    async def _draw_slices(self, snap: Snapshot, axes: list[analysis.Axis],
                           scored: list[analysis.ScoredJob], best: analysis.ScoredJob | None) -> None:
        grid = self.query_one("#slice-grid", Grid)
        await grid.remove_children()
        legend = self.query_one("#slice-legend", Static)
        if not scored:
            legend.update(Text("No training job has finished with an objective yet.", style="dim"))
            return
        colour_axis = self._colour_by(axes)
        shown = axes[:MAX_SLICE_PLOTS]
        plots = [PlotextPlot(id=f"slice-{i}") for i in range(len(shown))]
        await grid.mount_all(plots)
        objective = _short(snap.tuning_job.objective_name, 30)
        for plot, axis in zip(plots, shown):
            plt = plot.plt
            plt.clear_figure()
            plt.title(f"{objective} vs {_short(axis.name, 24)}" + ("  (log)" if axis.log else ""))
            if self._scale is not None:
                plt.ylim(self._scale.low, self._scale.high)
            if axis.categorical:
                labels = list(axis.values)
                plt.xticks(list(range(len(labels))), [_short(v, 10) for v in labels])
                plt.xlim(-0.6, len(labels) - 0.4)
            elif axis.log:
                plt.xscale("log")
            elif axis.integer and axis.high - axis.low <= 12:
                ticks = list(range(int(axis.low), int(axis.high) + 1))
                plt.xticks(ticks, [str(v) for v in ticks])
                plt.xlim(axis.low - 0.3, axis.high + 0.3)
            groups: dict[str | None, list[tuple[float, float]]] = {}
            rank: dict[float, int] = {}
            for s in scored:
                x = axis.number(s.job.hyperparameters.get(axis.name))
                if x is None:
                    continue
                if axis.categorical:
                    # Spread the points of one value across its column, so they don't hide each other.
                    k = rank.get(x, 0)
                    rank[x] = k + 1
                    x += ((k % 7) - 3) * 0.07
                key = s.job.hyperparameters.get(colour_axis.name) if colour_axis else None
                groups.setdefault(key, []).append((x, s.value))
            for key in (colour_axis.values if colour_axis else (None,)):
                pts = self._off_scale(plt, groups.get(key) or [])
                if pts:
                    plt.scatter([p[0] for p in pts], [p[1] for p in pts], marker="●",
                                color=self._category_colour(colour_axis, key))
            if best is not None:
                bx = axis.number(best.job.hyperparameters.get(axis.name))
                if bx is not None:
                    plt.scatter([bx], [best.value], marker="★", color=self.best_colour)
            plot.refresh()
        text = Text()
        if colour_axis is not None:
            text.append(f"colour = {_short(colour_axis.name, 30)}: ")
            for value in colour_axis.values:
                text.append("● ", style=_rich(self._category_colour(colour_axis, value)))
                text.append(f"{_short(value, 20)}   ")
        text.append("★ ", style=_rich(self.best_colour))
        text.append("best job")
        text.append(self._off_scale_note([s.value for s in scored]), style=_rich(self.low_colour))
        if len(axes) > len(shown):
            text.append(f"   ({len(axes) - len(shown)} more hyperparameters not shown)", style="dim")
        legend.update(text)

    def _draw_importance(self, snap: Snapshot) -> None:
        body = self.query_one("#importance-body", Static)
        if not str(body.render()).strip():
            body.update(Text("Computing parameter importance…", style="dim"))
        self._importance_worker(snap)

    def _show_importance(self, result: analysis.Importance) -> None:
        body = self.query_one("#importance-body", Static)
        if result.needed:
            body.update(Text(
                f"Parameter importance needs {analysis.MIN_IMPORTANCE_JOBS} completed training jobs "
                f"with an objective; {result.jobs} so far. {result.needed} more, and it will show "
                f"which hyperparameters decide the best results (with fewer, the bars would be noise).",
                style="dim"))
            return
        text = Text()
        text.append(f"Which hyperparameters decide whether a job reaches the top {result.top_jobs} of "
                    f"{result.jobs} completed jobs (PED-ANOVA, Optuna; sums to 1)\n\n")
        names = {name: _short(name, 30) for name in result.values}
        width = max(len(n) for n in names.values())
        top = max(result.values.values()) or 1.0
        for name, value in result.values.items():
            bar = round(BAR_WIDTH * value / top)
            text.append(f"{names[name]:<{width}}  ")
            text.append("█" * bar, style=_rich(self.colours[0]))
            text.append(" " * (BAR_WIDTH - bar) + f"  {value:.2f}\n")
        body.update(text)

    def _objective_colour(self, t: float) -> tuple[int, int, int]:
        """Worst objective red, middle yellow, best in the success colour."""
        return _blend(self.low_colour, self.mid_colour, t * 2) if t < 0.5 else \
            _blend(self.mid_colour, self.best_colour, (t - 0.5) * 2)

    def _draw_parallel(self, snap: Snapshot, axes: list[analysis.Axis],
                       scored: list[analysis.ScoredJob], best: analysis.ScoredJob | None) -> None:
        plot = self.query_one("#parallel-plot", PlotextPlot)
        legend = self.query_one("#parallel-legend", Static)
        plt = plot.plt
        plt.clear_figure()
        if not scored:
            plot.refresh()
            legend.update(Text("No training job has finished with an objective yet.", style="dim"))
            return
        t = snap.tuning_job
        maximize = t.objective_type != "Minimize"
        values = [s.value for s in scored]
        scale = self._scale
        low, high = (scale.low, scale.high) if scale is not None else (min(values), max(values))
        names = [a.name for a in axes] + [t.objective_name]
        plt.title("one line per finished job, coloured by its objective; ★ marks the best job")
        plt.xticks(list(range(len(names))), [_short(n, 20) for n in names])
        plt.xlim(-0.3, len(names) - 0.7)
        plt.ylim(-0.12, 1.12)
        plt.yticks([])

        def quality(v: float) -> float:
            q = 0.5 if high <= low else min(1.0, max(0.0, (v - low) / (high - low)))
            return q if maximize else 1 - q

        # Worst first, so the best lines are drawn on top.
        for s in sorted(scored, key=lambda s: quality(s.value)):
            if best is not None and s.job.name == best.job.name:
                continue
            xs, ys = self._line(axes, s, low, high)
            plt.plot(xs, ys, marker="braille", color=self._objective_colour(quality(s.value)))
        if best is not None:
            xs, ys = self._line(axes, best, low, high)
            plt.plot(xs, ys, marker="braille", color=self.best_colour)
            plt.scatter(xs, ys, marker="★", color=self.best_colour)
        # Each axis's ends (categorical: every value) as text at their height.
        for i, axis in enumerate(axes):
            if axis.categorical:
                for value in axis.values:
                    pos = axis.position(value)
                    plt.text(_short(value, 12), i, pos, color="white", alignment="left")
            else:
                plt.text(_fmt_axis(axis.low), i, -0.08, alignment="left")
                plt.text(_fmt_axis(axis.high), i, 1.08, alignment="left")
        plt.text(fmt_value(low), len(axes), -0.08, alignment="left")
        plt.text(fmt_value(high), len(axes), 1.08, alignment="left")
        plot.refresh()
        text = Text()
        for label, q in (("worst", 0.0), ("middle", 0.5), ("best", 1.0)):
            text.append("━ ", style=_rich(self._objective_colour(q)))
            text.append(f"{label}  ")
        text.append(f" {_short(t.objective_name, 30)} {fmt_value(low)}-{fmt_value(high)}; axes: range min (bottom) "
                    "to max (top)", style="dim")
        text.append(self._off_scale_note(values), style=_rich(self.low_colour))
        if any(a.log for a in axes):
            text.append(", log ranges in log space", style="dim")
        legend.update(text)

    def _line(self, axes: list[analysis.Axis], s: analysis.ScoredJob, low: float,
              high: float) -> tuple[list[float], list[float]]:
        xs, ys = [], []
        for i, axis in enumerate(axes):
            pos = axis.position(s.job.hyperparameters.get(axis.name))
            if pos is not None:
                xs.append(float(i))
                ys.append(pos)
        xs.append(float(len(axes)))
        # Clamped to the axis: a diverged job's line ends at the bottom, not below the plot.
        ys.append(0.5 if high <= low else min(1.0, max(0.0, (s.value - low) / (high - low))))
        return xs, ys

    def _draw_time(self, snap: Snapshot) -> None:
        plot = self.query_one("#time-plot", PlotextPlot)
        legend = self.query_one("#time-legend", Static)
        plt = plot.plt
        plt.clear_figure()
        points = analysis.objective_over_time(snap)
        if not points:
            plot.refresh()
            legend.update(Text("No training job has finished with an objective yet.", style="dim"))
            return
        span = max(p.seconds for p in points)
        unit, scale = ("min", 60.0) if span >= 180 else ("s", 1.0)
        t = snap.tuning_job
        plt.title(f"{_short(t.objective_name, 40)} of each job when it ended, and the best so far")
        plt.xlabel(f"wall-clock time since the tuning job started ({unit})")
        xs = [p.seconds / scale for p in points]
        # Best so far as a step line: flat until the job that improved it ends.
        sx, sy = [xs[0]], [points[0].best_so_far]
        for p, x in zip(points[1:], xs[1:]):
            if p.best_so_far != sy[-1]:
                sx.append(x)
                sy.append(sy[-1])
            sx.append(x)
            sy.append(p.best_so_far)
        if self._scale is not None:
            plt.ylim(self._scale.low, self._scale.high)
            sy = [self._scale.clamp(y) for y in sy]
        plt.plot(sx, sy, marker="braille", color=self.best_colour)
        inside = self._off_scale(plt, [(x, p.value) for p, x in zip(points, xs)])
        plt.scatter([x for x, _ in inside], [y for _, y in inside], marker="●", color=self.colours[0])
        clamp = self._scale.clamp if self._scale is not None else (lambda v: v)
        better = [(x, clamp(p.value)) for p, x in zip(points, xs) if p.improved]
        plt.scatter([b[0] for b in better], [b[1] for b in better], marker="★", color=self.best_colour)
        plot.refresh()
        text = Text()
        text.append("● ", style=_rich(self.colours[0]))
        text.append("job's objective   ")
        text.append("━ ", style=_rich(self.best_colour))
        text.append("best so far   ")
        text.append("★ ", style=_rich(self.best_colour))
        text.append(f"new best ({sum(1 for p in points if p.improved)} times)   ")
        last = max((p for p in points if p.improved), key=lambda p: p.seconds)
        text.append(f"last new best at {last.seconds / scale:.1f} {unit}, of {span / scale:.1f} {unit}",
                    style="dim")
        text.append(self._off_scale_note([p.value for p in points]), style=_rich(self.low_colour))
        legend.update(text)


def _fmt_axis(value: float) -> str:
    return f"{value:g}"
