"""A DataTable with the keys k9s, lazygit and htop users expect: j/k, g/G."""

from __future__ import annotations

from textual.binding import Binding
from textual.widgets import DataTable


class KeyedTable(DataTable):
    """Row tables of hpo-tui: vi-style moves on top of DataTable's own keys."""

    BINDINGS = [
        Binding("j", "cursor_down", "Down", id="table.down", show=False),
        Binding("k", "cursor_up", "Up", id="table.up", show=False),
        Binding("g", "scroll_top", "Top", id="table.top", show=False),
        Binding("G", "scroll_bottom", "Bottom", id="table.bottom", show=False),
    ]
