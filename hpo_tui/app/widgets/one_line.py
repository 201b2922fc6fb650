"""One-line Statics (header lines, status bar, chart legends) rewritten cheaply."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static


def _line_signature(text: Text) -> tuple:
    return (text.plain, str(text.style), tuple(text.spans))


def set_line(widget: Static, text: Text) -> None:
    """Rewrite a one-line Static only when its text changed, and without a layout pass (its
    height is fixed): a layout pass repaints the whole screen, a clock tick need not."""
    signature = _line_signature(text)
    if getattr(widget, "_hpo_line", None) == signature:
        return
    widget._hpo_line = signature  # type: ignore[attr-defined]
    widget.update(text, layout=False)
