"""The dashboard's two one-line bars, as text: the filter bar (what the table hides) and the
status bar (how fresh the data is, the sort, and what went wrong)."""

from __future__ import annotations

from rich.style import Style
from rich.text import Text

from hpo_tui.app import format as fmt
from hpo_tui.app.widgets.dashboard_charts import MIN_ROWS_FOR_CHARTS
from hpo_tui.views import Snapshot


def filter_text(words: list[str], shown: int, total: int, styles: dict[str, Style]) -> Text:
    """The filter bar: the filter's words and how many jobs it lets through."""
    text = Text("filter: ", style=styles.get("warning", ""))
    text.append(" · ".join(words))
    text.append(f"   {shown} of {total} jobs shown   (/ edits, f statuses)", style="dim")
    return text


def no_match_text(words: list[str]) -> Text:
    """Said in place of a table the filter left empty."""
    return Text(f"No training jobs match {' · '.join(words)}.\n"
                "Press / to change the text filter, f to change the statuses.", justify="center")


def status_text(snapshot: Snapshot | None, now: float, *, interval: float | None, sort_summary: str,
                zoomed: bool, charts_hidden: bool, last_error: str | None, error_count: int,
                styles: dict[str, Style]) -> Text:
    """The status bar: the data's age, the poll interval, the sort, and any warning or error."""
    text = Text()
    if snapshot is None:
        text.append("connecting…" if not last_error else "no data yet")
    else:
        age = max(0.0, now - snapshot.fetched_at) + snapshot.data_age
        text.append(f"refreshed {fmt.fmt_age(age)}")
    if interval:
        text.append(f" (every {interval:g}s)")
    text.append(f" · {sort_summary}")
    if zoomed:
        text.append(" · zoomed to the top jobs (z)")
    if charts_hidden:
        text.append(f" · charts hidden under {MIN_ROWS_FOR_CHARTS} rows")
    if snapshot is not None and snapshot.throttle_count:
        text.append(f" · throttled {snapshot.throttle_count}×", style=styles.get("warning", ""))
    if snapshot is not None and snapshot.warning:
        text.append(f" · ⚠ {fmt.shorten(snapshot.warning, 60)}", style=styles.get("warning", ""))
    if last_error:
        text.append(f" · ⚠ poll failed ({error_count}×): {last_error}", style=styles.get("error", ""))
        if snapshot is not None:
            text.append(" · showing stale data", style=styles.get("error", ""))
    return text
