"""The dashboard's header: the tuning job's name, status, elapsed time and ETA, progress
by the budget (running jobs by their epochs), the job counters, and the best training job so far."""

from __future__ import annotations

from rich.style import Style
from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import ProgressBar, Static

from hpo_tui.app import format as fmt
from hpo_tui.app.fit import first_that_fits, fit_parts
from hpo_tui.app.styles import status_style
from hpo_tui.app.widgets.one_line import set_line
from hpo_tui.views import TuningJobView
from hpo_tui.estimate import ProgressEstimate, ended_at_text, ended_of, whole_percent

BEST_MARK = "★"
# Whole percents, floored: Textual's label rounds, so 99.6% of 1000 steps read "100%" while
# the last job still ran. 100% only once the tuning job is done.
PROGRESS_STEPS = 100
PROGRESS_WIDTH = 26  # the progress bar and its percentage, left of the counters


def fmt_eta(estimate: ProgressEstimate | None, view: TuningJobView, since_fetch: float = 0.0) -> str:
    """"ETA 4m10s" (counting down between polls), or why there is none yet."""
    if view.is_terminal:
        return ""
    if estimate is None or estimate.remaining_seconds is None:
        return "ETA after the first epoch"
    return f"ETA {fmt.fmt_duration(max(0.0, estimate.remaining_seconds - since_fetch))}"


class TuningJobHeader(Vertical):
    """Three lines over the table; `show` redraws them from the latest view."""

    def __init__(self, tuning_job: str = "", **kwargs: object) -> None:
        super().__init__(**kwargs)
        self._tuning_job = tuning_job
        self._shown: tuple | None = None  # show()'s arguments, to fit them again on a resize

    def compose(self) -> ComposeResult:
        # Before the first poll the name still says which tuning job this is.
        yield Static(Text(f"{self._tuning_job} · waiting for the first poll" if self._tuning_job else ""),
                     id="dash-title")
        with Horizontal(id="dash-progress-row"):
            yield ProgressBar(total=None, show_eta=False, id="dash-progress")
            yield Static("", id="dash-counters")
        yield Static("", id="dash-best")

    def on_resize(self, event: events.Resize) -> None:
        if self._shown is not None:
            self.show(*self._shown)

    def _width(self) -> int:
        """Columns for a header line (the header's padding left out)."""
        return max(20, self.size.width or self.app.size.width - 2)

    def _counters_width(self) -> int:
        """Columns beside the progress bar (before the first layout: what they will be)."""
        laid_out = self.query_one("#dash-counters", Static).content_region.width
        return laid_out or self._width() - PROGRESS_WIDTH

    def show(self, view: TuningJobView, estimate: ProgressEstimate | None, now: float,
             styles: dict[str, Style], fetched_at: float | None = None, cost: str | None = None) -> None:
        self._shown = (view, estimate, now, styles, fetched_at, cost)
        title = Text()
        title.append(view.name, style="bold")
        title.append(f" · {view.backend} · ")
        title.append(view.status, style=status_style(styles, view.status))
        title.append(f" · {view.strategy} · elapsed {fmt.fmt_duration(fmt.tuning_elapsed(view, now))}")
        if view.failure_reason:
            title.append(f"  {fmt.shorten(view.failure_reason, 50)}", style=styles.get("error", ""))
        elif view.completion_reason:
            title.append(f"  ({fmt.shorten(view.completion_reason, 50)})")
        set_line(self.query_one("#dash-title", Static), title)

        counters = view.status_counters
        progress = self.query_one("#dash-progress", ProgressBar)
        # Most telling first: a narrow terminal cuts the end of the line.
        eta = fmt_eta(estimate, view, max(0.0, now - fetched_at) if fetched_at is not None else 0.0)
        parts = [eta] if eta else []
        # The budget counted as the runner and `jobs` count it (a retried job is not).
        parts.append(ended_at_text(view.status, ended_of(view), view.max_jobs)
                     or f"{ended_of(view)}/{view.max_jobs} finished")
        if view.job_slots is not None and view.job_slots < view.max_parallel_jobs:
            # max_parallel_jobs is a cap; the local engine runs one job per core (or [local] concurrency).
            cores = f" ({view.cores} core{'s' if view.cores != 1 else ''})" if view.cores else ""
            parts.append(f"{view.max_parallel_jobs} allowed, {counters.in_progress} running{cores}")
        else:
            parts.append(f"{counters.in_progress} running")
        slots = view.slots_text()
        if slots:
            parts.append(f"machine slots {slots}")
        failed = counters.retryable_error + counters.non_retryable_error
        if failed:
            parts.append(f"{failed} failed")
        if counters.stopped:
            parts.append(f"{counters.stopped} stopped")
        parts.append(f"{counters.completed} completed")
        if estimate is not None:
            # By the budget, running jobs by their epochs: three jobs half-way through read 15%, not 0%.
            progress.update(total=PROGRESS_STEPS, progress=whole_percent(estimate.fraction))
            if estimate.epochs_total:
                parts.append(f"epochs {estimate.epochs_done}/{estimate.epochs_total}")
        else:
            progress.update(total=max(view.max_jobs, 1), progress=min(ended_of(view), view.max_jobs))
        if cost:  # SageMaker: billed time, instance-hours, dollars with [sagemaker] price_per_hour
            parts.append(cost)
        self._show_counters(parts)

        best = Text()
        best.append(f"best {view.objective_name} ({view.objective_type}): ")
        if view.best_objective is not None and view.best_training_job:
            best.append(f"{BEST_MARK} {fmt.fmt_number(view.best_objective)}", style=styles.get("best", ""))
            # The full name when it fits, else the part the table shows (the header has the rest).
            name = view.best_training_job
            short = name[len(view.name) + 1:] if name.startswith(view.name + "-") else name
            best.append("  " + first_that_fits([name, short], self._width() - len(best.plain) - 2))
        else:
            best.append(fmt.DASH)
        set_line(self.query_one("#dash-best", Static), best)

    def _show_counters(self, parts: list[str]) -> None:
        """The counters beside the progress bar, abbreviated or on two lines when they do not
        fit: a counter is never cut (the row grows to two lines only when it must)."""
        lines = fit_parts(parts, self._counters_width())
        row = self.query_one("#dash-progress-row")
        if row.styles.height is None or row.styles.height.value != len(lines):
            row.styles.height = len(lines)  # a layout pass, only when the line count changes
        set_line(self.query_one("#dash-counters", Static), Text("\n".join(lines)))
