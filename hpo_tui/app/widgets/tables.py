"""Row tables with the keys k9s, lazygit and htop users expect: j/k, g/G, and a `/` filter line."""

from __future__ import annotations

from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable, Input


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
