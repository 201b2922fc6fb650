"""The driver of a tab served by `hpo-tui serve`: textual's WebDriver, with stdout kept for
textual-serve's packet protocol alone.

Anything else written to file descriptor 1 (a print, a library's warning, a child process
that inherits it) would corrupt the protocol stream and kill the tab. So the protocol gets a
private duplicate of the descriptor, and descriptor 1 itself is pointed at stderr, which
textual-serve collects apart from the protocol.
"""

from __future__ import annotations

import os
import sys
from functools import partial
from typing import Any

from textual.drivers.web_driver import WebDriver


class ServedDriver(WebDriver):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        sys.stdout.flush()
        self.fileno = os.dup(1)
        self._write = partial(os.write, self.fileno)
        os.dup2(2, 1)
