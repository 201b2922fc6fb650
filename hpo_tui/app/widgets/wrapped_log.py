"""A Log whose long lines wrap at its width (Textual's Log cuts them at the right edge and
scrolls sideways): a traceback line or a long hyperparameter dump is read whole.

The lines as written are kept (raw_lines, for the pager); what is shown is them wrapped,
continuation lines indented, and wrapped again when the width changes.
"""

from __future__ import annotations

import textwrap
from collections import deque
from typing import Iterable

from textual import events
from textual.widgets import Log

CONTINUATION = "  ↪ "


def wrap_line(line: str, width: int) -> list[str]:
    """One log line as display lines of at most `width` characters (at spaces when it can)."""
    if width <= len(CONTINUATION) + 1 or len(line) <= width:
        return [line]
    return textwrap.wrap(line, width, subsequent_indent=CONTINUATION, break_on_hyphens=False,
                         drop_whitespace=False, replace_whitespace=False, expand_tabs=False) or [line]


class WrappedLog(Log):
    """Log with wrapping: write_raw_lines() instead of write_lines()."""

    def __init__(self, *args, max_lines: int | None = None, **kwargs) -> None:
        super().__init__(*args, max_lines=max_lines, **kwargs)
        self.raw_lines: deque[str] = deque(maxlen=max_lines)
        self._wrapped_at = 0

    def _wrap_width(self) -> int:
        return self.scrollable_content_region.width

    def write_raw_lines(self, lines: Iterable[str]) -> None:
        new = list(lines)
        self.raw_lines.extend(new)
        width = self._wrap_width()
        self._wrapped_at = width
        self.write_lines(part for line in new for part in wrap_line(line, width))

    def on_resize(self, event: events.Resize) -> None:
        width = self._wrap_width()
        if width != self._wrapped_at and self.raw_lines:
            self._wrapped_at = width
            follow = self.auto_scroll
            self.clear()
            self.write_lines(part for line in self.raw_lines for part in wrap_line(line, width))
            if follow:
                self.scroll_end(animate=False)
