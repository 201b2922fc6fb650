"""Compare: 2-4 training jobs of one tuning job (a chart per metric with their curves
overlaid, and a table whose differing hyperparameters are marked), or 2-4 tuning jobs (best
so far against finished jobs and against wall time, each one's best job and its values, the
warm-start lineage). What is compared comes from hpo_tui.compare, shared with
`hpo-tui compare`; this module only draws it.

Keys: r reads again, escape goes back.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.style import Style
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.color import Color
from textual.containers import Grid
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Static
from textual.worker import Worker, WorkerState
from textual_plotext import PlotextPlot

from hpo_tui import compare
from hpo_tui.app.format import strip_escapes
from hpo_tui.app.typed import HpoScreen
from hpo_tui.app.widgets.footer import KeyFooter
from hpo_tui.app.widgets.tables import fill_table
from hpo_tui.estimate import ended_of

MAX_PLOTS = 4  # metrics charted (every metric is in the table)
# One marker per compared job, so the lines stay apart without colour (NO_COLOR).
MARKERS = ("dot", "+", "x", "o")


def _short(text: str, width: int = 60) -> str:
    text = strip_escapes(text)
    return text if len(text) <= width else text[: width - 1] + "…"


def _rich(rgb: tuple[int, int, int]) -> str:
    return f"rgb({rgb[0]},{rgb[1]},{rgb[2]})"


@dataclass
class Compared(Message):
    """What a compare worker read: the comparison, or why there is none."""

    comparison: compare.TrainingJobsComparison | compare.TuningJobsComparison | None
    error: str | None = None


class CompareScreen(HpoScreen[None]):
    """Training jobs of one tuning job (tuning_job given), or tuning jobs, side by side."""

    HELP_TITLE = "Compare keys"
    DEFAULT_CSS = """
    CompareScreen #compare-title { height: 1; padding: 0 1; text-style: bold; }
    CompareScreen #compare-summary { height: auto; max-height: 4; padding: 0 1; color: $text-muted; }
    CompareScreen #compare-plots { grid-size: 2; grid-gutter: 0 1; height: 2fr; min-height: 8; }
    CompareScreen #compare-plots PlotextPlot { height: 1fr; min-height: 6; }
    CompareScreen #compare-table { height: 1fr; min-height: 5; }
    """
    BINDINGS = [
        Binding("r", "refresh", "Refresh", id="compare.refresh",
                tooltip="Refresh the comparison: read the compared jobs again"),
        Binding("escape", "back", "Back", id="compare.back",
                tooltip="Close the comparison"),
    ]

    def __init__(self, names: list[str], *, tuning_job: str | None = None,
                 backend_name: str | None = None) -> None:
        super().__init__()
        self.names = list(names)
        self.tuning_job = tuning_job
        self.backend_name = backend_name
        self.comparison: compare.TrainingJobsComparison | compare.TuningJobsComparison | None = None

    @property
    def of_training_jobs(self) -> bool:
        return self.tuning_job is not None

    def compose(self) -> ComposeResult:
        what = f"training jobs of {self.tuning_job}" if self.of_training_jobs else "tuning jobs"
        yield Static(Text(f"Compare {len(self.names)} {_short(what)}"), id="compare-title")
        yield Static("reading…", id="compare-summary")
        yield Grid(id="compare-plots")
        yield DataTable(id="compare-table", cursor_type="row", zebra_stripes=True)
        yield KeyFooter()

    def on_mount(self) -> None:
        theme = self.app.theme_variables
        self.colours = [Color.parse(theme[n]).rgb for n in ("primary", "warning", "success", "error")]
        self.load()

    # --- reading (a thread worker: the backends block) ------------------------------------

    @work(thread=True, exclusive=True, group="compare", exit_on_error=False)
    def load(self) -> None:
        backend = self.app.backend_for(self.backend_name)
        try:
            if self.of_training_jobs:
                result = compare.load_training_jobs(backend, self.tuning_job, self.names)
            else:
                result = compare.load_tuning_jobs(backend, self.names)
        except compare.CompareError as err:
            self.post_message(Compared(None, str(err)))
            return
        self.post_message(Compared(result))

    @on(Worker.StateChanged)
    def _worker_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group == "compare" and event.state == WorkerState.ERROR:
            self._show_error(str(event.worker.error))

    def _show_error(self, message: str) -> None:
        self.query_one("#compare-summary", Static).update(
            Text(f"⚠ could not compare: {_short(message, 300)}",
                 style=Style(color=self.app.theme_variables["error"])))

    @on(Compared)
    async def _compared(self, message: Compared) -> None:
        if message.comparison is None:
            self._show_error(message.error or "unknown error")
            return
        self.comparison = message.comparison
        if isinstance(message.comparison, compare.TrainingJobsComparison):
            await self._draw_training(message.comparison)
        else:
            await self._draw_tuning(message.comparison)

    # --- drawing ---------------------------------------------------------------------------

    async def _plots(self, count: int) -> list[PlotextPlot]:
        grid = self.query_one("#compare-plots", Grid)
        await grid.remove_children()
        plots = [PlotextPlot(classes="compare-plot", id=f"compare-plot-{i}") for i in range(count)]
        await grid.mount_all(plots)
        grid.styles.grid_size_columns = 2 if count > 1 else 1
        return plots

    def _legend(self, labels: list[str]) -> Text:
        text = Text()
        for i, label in enumerate(labels):
            text.append(f"{'•+xo'[i]} ", style=_rich(self.colours[i % len(self.colours)]))
            text.append(f"{_short(label, 40)}   ")
        return text

    def _table(self, header: list[str], rows: list[tuple[list[str], bool]]) -> None:
        marked = Style(color=self.app.theme_variables["warning"], bold=True)
        body = []
        for n, (cells, differs) in enumerate(rows):
            first = Text(("≠ " if differs else "  ") + _short(cells[0], 40), style=marked if differs else "")
            body.append((f"r{n}", [first, *(Text(_short(c, 40), style=marked if differs else "") for c in cells[1:])]))
        fill_table(self.query_one("#compare-table", DataTable),
                   [(f"c{i}", Text(_short(label, 40))) for i, label in enumerate(header)], body)

    async def _draw_training(self, c: compare.TrainingJobsComparison) -> None:
        t = c.tuning_job
        labels = [compare.short_name(j.name, t.name) for j in c.jobs]
        charted = c.metrics[:MAX_PLOTS]
        for plot, metric in zip(await self._plots(len(charted)), charted):
            plt = plot.plt
            plt.clear_figure()
            plt.title(_short(metric, 50))
            plt.xlabel("epoch")
            for i, job in enumerate(c.jobs):
                curve = c.curves.get(metric, {}).get(job.name, ())
                if curve:
                    plt.plot([e for e, _ in curve], [v for _, v in curve], marker=MARKERS[i],
                             color=self.colours[i % len(self.colours)])
            plot.refresh()
        summary = self._legend(labels)
        differing = sum(1 for r in c.hyperparameters if r.differs)
        summary.append(f"\n{len(c.metrics)} metrics · {differing} of {len(c.hyperparameters)} hyperparameters "
                       "differ (≠)", style="dim")
        if len(c.metrics) > MAX_PLOTS:
            summary.append(f" · charted: the first {MAX_PLOTS}; every metric's last value is in the table",
                           style="dim")
        self.query_one("#compare-summary", Static).update(summary)
        rows: list[tuple[list[str], bool]] = [
            (["status"] + [j.status for j in c.jobs], False),
            (["final objective"] + [compare.fmt_number(j.final_objective) for j in c.jobs], False),
        ]
        rows += [([f"last {m}"] + [compare.fmt_number(c.last(m, j.name)) for j in c.jobs], False) for m in c.metrics]
        rows += [([r.name] + [compare.fmt_value(v) for v in r.values], r.differs) for r in c.hyperparameters]
        self._table(["training job"] + labels, rows)

    async def _draw_tuning(self, c: compare.TuningJobsComparison) -> None:
        by_jobs, by_time = await self._plots(2)
        names = list(c.names)
        span = max((s.wall_seconds or 0.0 for s in c.summaries), default=0.0)
        unit, scale = ("min", 60.0) if span >= 180 else ("s", 1.0)
        for plot, title, xlabel, series in (
                (by_jobs, "best so far against finished jobs", "launch number",
                 [s.by_index for s in c.summaries]),
                (by_time, "best so far against wall time", f"since the tuning job started ({unit})",
                 [tuple((x / scale, v) for x, v in s.by_time) for s in c.summaries])):
            plt = plot.plt
            plt.clear_figure()
            plt.title(title)
            plt.xlabel(xlabel)
            for i, points in enumerate(series):
                if points:
                    xs, ys = _steps(points)
                    plt.plot(xs, ys, marker=MARKERS[i], color=self.colours[i % len(self.colours)])
            plot.refresh()
        summary = self._legend(names)
        for line in c.lineage:
            summary.append(f"\n{_short(line, 200)}", style="dim")
        if not c.lineage:
            summary.append("\nnone of these tuning jobs warm-started", style="dim")
        if c.note:
            summary.append(f"\n⚠ {c.note}", style=Style(color=self.app.theme_variables["warning"]))
        self.query_one("#compare-summary", Static).update(summary)
        s = c.summaries
        rows: list[tuple[list[str], bool]] = [
            (["status"] + [x.view.status for x in s], False),
            (["strategy"] + [x.view.strategy for x in s], False),
            (["finished / max jobs"] + [f"{ended_of(x.view)}/{x.view.max_jobs}" for x in s], False),  # as `jobs` counts
            (["best objective"] + [compare.fmt_number(x.best_value) for x in s], False),
            (["best training job"] + [x.best_job.name if x.best_job else compare.DASH for x in s], False),
            (["best found at job"] + [str(x.best_job.launch_index + 1) if x.best_job else compare.DASH for x in s],
             False),
            (["best found after"] + [compare.fmt_seconds(x.seconds_to_best) for x in s], False),
            (["wall time"] + [compare.fmt_seconds(x.wall_seconds) for x in s], False),
            (["warm start from"] + [", ".join(x.view.warm_start_parents) or compare.DASH for x in s], False),
        ]
        rows += [([f"best's {r.name}"] + [compare.fmt_value(v) for v in r.values], r.differs) for r in c.best_values]
        self._table(["tuning job"] + names, rows)

    # --- actions -------------------------------------------------------------------------------

    def action_refresh(self) -> None:
        self.query_one("#compare-summary", Static).update("reading…")
        self.load()

    def action_back(self) -> None:
        self.app.pop_screen()


def mark_for_compare(screen: Screen, table, name: str | None, what: str) -> None:
    """space on a list: mark `name` for compare (at most MAX_COMPARED), or unmark it."""
    if name is None:
        screen.notify(f"No {what} selected", severity="warning")
        return
    if name not in table.marked and len(table.marked) >= compare.MAX_COMPARED:
        screen.notify(f"At most {compare.MAX_COMPARED} {what}s compare at once: unmark one first (space)",
                      severity="warning")
        return
    table.toggle_mark(name)
    count = len(table.marked)
    screen.notify(f"{count} {what}{'s' if count != 1 else ''} marked"
                  + (": m compares them" if count >= compare.MIN_COMPARED else ": mark one more to compare"),
                  timeout=3)


def can_compare(screen: Screen, marked: list[str], what: str) -> bool:
    if len(marked) < compare.MIN_COMPARED:
        screen.notify(f"Mark {compare.MIN_COMPARED} to {compare.MAX_COMPARED} {what} with space first, "
                      "then m compares them", severity="warning")
        return False
    return True


def _steps(points) -> tuple[list[float], list[float]]:
    """Best so far as a step line: flat until the next improvement."""
    xs, ys = [float(points[0][0])], [float(points[0][1])]
    for x, y in points[1:]:
        if y != ys[-1]:
            xs.append(float(x))
            ys.append(ys[-1])
        xs.append(float(x))
        ys.append(float(y))
    return xs, ys
