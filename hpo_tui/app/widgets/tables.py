"""Row tables with the keys k9s, lazygit and htop users expect: j/k, g/G, and a `/` filter line."""

from __future__ import annotations

from typing import Sequence

from rich.text import Text
from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable, Input


def fill_table(table: DataTable, columns: Sequence[tuple[str, str | Text]],
               rows: Sequence[tuple[str, Sequence[Text]]]) -> None:
    """Replace a table's columns ((key, label), ...) and rows ((key, cells), ...), each column
    as wide as its label or its widest cell.

    The widths are set here rather than left to DataTable's auto width, which measures new
    rows only when the table is next idle: a frame drawn before then shows every cell cut to
    its header's width, and Textual 8.2 could keep showing it (the compare table read "best
    tra" for "best training job" in the browser, once in a full run of the suite)."""
    labels = [label if isinstance(label, Text) else Text(label) for _, label in columns]
    widths = [max([label.cell_len, *(cells[i].cell_len for _, cells in rows)]) for i, label in enumerate(labels)]
    table.clear(columns=True)
    for (key, _), label, width in zip(columns, labels, widths):
        table.add_column(label, key=key, width=width)
    for key, cells in rows:
        table.add_row(*cells, key=key)


class KeyedTable(DataTable):
    """Row tables of hpo-tui: vi-style moves on top of DataTable's own keys."""

    BINDINGS = [
        Binding("j", "cursor_down", "Down", id="table.down", show=False),
        Binding("k", "cursor_up", "Up", id="table.up", show=False),
        Binding("g", "scroll_top", "Top", id="table.top", show=False),
        Binding("G", "scroll_bottom", "Bottom", id="table.bottom", show=False),
    ]


class FilterInput(Input):
    """The `/` filter line under a table: enter keeps the filter, escape clears it.

    Its screen provides close_text_filter(), which hides the line and shows every row.
    """

    DEFAULT_CSS = """
    FilterInput {
        display: none;
        height: 3;
    }
    """
    BINDINGS = [Binding("escape", "clear_filter", "Clear filter", id="filter.clear")]

    def open(self) -> None:
        """Show the line and type into it (what `/` does)."""
        self.display = True
        self.focus()

    def close(self) -> None:
        self.display = False

    class Cleared(Message):
        """The filter was emptied with escape: its screen hides the line and shows every row."""

    def action_clear_filter(self) -> None:
        self.value = ""
        self.post_message(self.Cleared())
