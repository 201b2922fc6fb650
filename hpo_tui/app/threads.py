"""The executor the app's thread workers run on: daemon threads that quitting never waits for.

Textual runs `@work(thread=True)` workers on asyncio's default executor, and `asyncio.run()`
joins that executor's threads with no timeout after the terminal is restored. A poll stuck in
a slow AWS call or a locked SQLite store would then keep the process alive behind a blank
screen. Workers only read and post messages, so abandoning one at exit loses nothing.
"""

from __future__ import annotations

import concurrent.futures
import threading
from typing import Any, Callable


class DaemonThreadExecutor(concurrent.futures.ThreadPoolExecutor):
    """Runs each call on its own daemon thread; shutdown() never waits for them.

    A ThreadPoolExecutor subclass because asyncio's set_default_executor() requires one; the
    pool itself is never used (its threads would be joined at interpreter exit).
    """

    def __init__(self, name: str = "hpo-tui-worker") -> None:
        super().__init__(max_workers=1, thread_name_prefix=name)
        self._name = name
        self._closed = False

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> concurrent.futures.Future:
        if self._closed:
            raise RuntimeError("cannot schedule new work after shutdown")
        future: concurrent.futures.Future = concurrent.futures.Future()

        def run() -> None:
            if not future.set_running_or_notify_cancel():
                return
            try:
                result = fn(*args, **kwargs)
            except BaseException as exc:  # handed to the awaiting worker, which reports it
                future.set_exception(exc)
            else:
                future.set_result(result)

        threading.Thread(target=run, name=self._name, daemon=True).start()
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        # Never wait: a blocked call is abandoned with its daemon thread when the process exits.
        self._closed = True
        super().shutdown(wait=False, cancel_futures=cancel_futures)
