"""Compact (borderless) Input, Select and Button, without restyling them before or as they mount.

`Input(compact=True)` sets its `compact` reactive in the constructor, and the reactive's
class toggle makes Textual apply the whole stylesheet to the widget (and its children) right
away, though the widget is styled again when it mounts. Here the reactive takes its value
without its watchers and the class is added without a style update; the widget is styled
once, as it mounts, with the same `-textual-compact` class Textual's own `compact=True` gives.

As they mount, these widgets also give themselves classes from their reactives' first values
(an Input validates its value: -valid; a Button: -style-default and its variant; a Select
with a value: -has-value), and each class added then styles the widget and its children
again. `prestyled` gives them those classes beforehand, so adding them changes nothing.
"""

from __future__ import annotations

from typing import TypeVar

from textual.widgets import Button, Input, Select

CompactWidget = TypeVar("CompactWidget", Input, Select, Button)

COMPACT_CLASS = "-textual-compact"


def prestyled(widget: CompactWidget) -> CompactWidget:
    """``widget`` with the classes it would give itself as it mounts (call before it is)."""
    if isinstance(widget, Input):
        if not widget.validators:  # no validator: Input.validate finds every value valid
            widget.add_class("-valid", update=False)
    elif isinstance(widget, Button):
        widget.add_class("-style-flat" if widget.flat else "-style-default", f"-{widget.variant}", update=False)
    elif widget.selection is not None:  # a Select with a value
        widget.add_class("-has-value", update=False)
    return widget


class CompactSelect(Select):
    """A Select whose parts, too, take beforehand the classes they get as they mount: the
    overlay is compact as its Select is, and the current value's line shows a value."""

    def compose(self):
        # By name: the parts' classes are not public (textual.widgets._select).
        for part in super().compose():
            if type(part).__name__ == "SelectOverlay" and self.compact:
                part.add_class(COMPACT_CLASS, update=False)
            elif type(part).__name__ == "SelectCurrent" and self.selection is not None:
                part.add_class("-has-value", update=False)
            yield part


def compact(widget: CompactWidget) -> CompactWidget:
    """``widget`` made compact, as ``compact=True`` does (call before it is mounted)."""
    widget.set_reactive(type(widget).compact, True)
    widget.add_class(COMPACT_CLASS, update=False)
    return prestyled(widget)
