"""Compact (borderless) Input, Select and Button, without restyling them before they mount.

`Input(compact=True)` sets its `compact` reactive in the constructor, and the reactive's
class toggle makes Textual apply the whole stylesheet to the widget (and its children) right
away, though the widget is styled again when it mounts: on the configure screen that was
~30 wasted style applications before the first frame. Here the reactive takes its value
without its watchers and the class is added without a style update; the widget is styled
once, as it mounts, with the same `-textual-compact` class Textual's own `compact=True` gives.
"""

from __future__ import annotations

from typing import TypeVar

from textual.widgets import Button, Input, Select

CompactWidget = TypeVar("CompactWidget", Input, Select, Button)

COMPACT_CLASS = "-textual-compact"


def compact(widget: CompactWidget) -> CompactWidget:
    """``widget`` made compact, as ``compact=True`` does (call before it is mounted)."""
    widget.set_reactive(type(widget).compact, True)
    widget.add_class(COMPACT_CLASS, update=False)
    return widget
