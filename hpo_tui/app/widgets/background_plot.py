"""A plotext plot built on a worker thread: the dashboard's charts redraw while it polls,
and the UI thread only shows lines that are ready."""

from __future__ import annotations

import io
import threading

from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.geometry import Region
from textual.message import Message
from textual.strip import Strip
from textual_plotext import PlotextPlot

Call = tuple[str, tuple, dict]

_PLAIN = Style()  # Textual's filters (NO_COLOR, dimming) need a style on every segment
# One plotext build at a time, whichever plot: plotext keeps its themes in a module dict.
_BUILD_LOCK = threading.Lock()


class BackgroundPlot(PlotextPlot):
    """PlotextPlot builds its chart in render(), on the UI thread: plotext's build and the
    parsing of its ANSI output cost 12-25 ms per redraw of a dashboard chart, on every poll
    where a top job reported an epoch. Here draw(calls) hands the plotext calls over; a
    worker thread makes them on the figure, builds it and turns it into lines, and the UI
    thread shows those lines. Until a build is back the last lines stay (cropped or padded to
    a new size); before the first, the plot is blank."""

    class Built(Message):
        """A build is back (strips None: it failed, and the last lines stay)."""

        def __init__(self, key: tuple, strips: list[Strip] | None) -> None:
            super().__init__()
            self.key, self.strips = key, strips

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._calls: list[Call] = []
        self._version = 0
        self._strips: list[Strip] = []
        self._built_key: tuple | None = None
        self._building = False

    def draw(self, calls: list[Call]) -> None:
        """Show a plot made of these plotext calls: (method name, args, kwargs) of plt, in
        order (dashboard_charts.PlotCalls records them)."""
        self._calls = calls
        self._version += 1
        self.refresh()

    def _key(self) -> tuple:
        return (self.size, self._get_plotext_theme_name(self.app.theme), self._version)

    @property
    def is_current(self) -> bool:
        """The lines shown are those of the last drawing, at this size and theme (or the plot
        shows nothing to be current about)."""
        return not self.display or not self.size.area or self._built_key == self._key()

    def render_lines(self, crop: Region) -> list[Strip]:
        # Once a frame: a new size, theme or drawing starts a build (one at a time per plot).
        key = self._key()
        if key != self._built_key and not self._building and self.size.area:
            self._building = True
            calls = self._calls
            self.run_worker(lambda: self._build(key, calls), thread=True, group="plot-build",
                            exit_on_error=False)
        return super().render_lines(crop)

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        if y < len(self._strips):
            strip = self._strips[y]
            return strip if strip.cell_length == width else strip.crop_extend(0, width, _PLAIN)
        return Strip.blank(width, _PLAIN)

    def _build(self, key: tuple, calls: list[Call]) -> None:
        """On the worker thread: the figure, its build, and its lines."""
        size, theme, _ = key
        plt = self.plt  # touched by this thread only (one build at a time per plot)
        strips: list[Strip] | None = None
        try:
            with _BUILD_LOCK:
                for name, args, kwargs in calls:
                    getattr(plt, name)(*args, **kwargs)
                plt.plotsize(size.width, size.height)
                plt._set_size(size.width, size.height)  # as PlotextPlot.render does (textual-plotext #5)
                plt.theme(theme)
                text = Text.from_ansi(plt.build())
            console = Console(file=io.StringIO(), width=size.width, color_system="truecolor", legacy_windows=False)
            strips = [Strip([Segment(t, style or _PLAIN) for t, style, _ in line.render(console, end="")],
                            line.cell_len).crop_extend(0, size.width, _PLAIN)
                      for line in text.split("\n", allow_blank=True)[:size.height]]
        except Exception:  # noqa: BLE001 -- a chart that cannot be drawn keeps its last lines
            pass
        self.post_message(self.Built(key, strips))

    def on_background_plot_built(self, message: Built) -> None:
        message.stop()
        self._building = False
        self._built_key = message.key
        if message.strips is not None:
            self._strips = message.strips
        self.refresh()  # shows these lines, or starts the build that is due now

