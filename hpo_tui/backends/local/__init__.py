"""The local backend: launches the engine's runner and reads the engine's SQLite store.

Its modules, one job each: reader (the cached read connection), views (rows into views),
logs (the log tail), control (stop, a dead runner's repair), launch (launch and resume),
locks (the control and runner locks) and backend (LocalBackend, which joins them).

Who writes a local tuning job's rows: its runner, while it lives. Besides it, each in a
short IMMEDIATE transaction: launch (the new row, and the runner's pid as it starts it),
resume (clears stop_requested, records the new runner), stop (sets stop_requested), and
the repair of a dead runner (control: the tuning job and its unfinished training jobs end
Failed, or Stopped after a stop). Deleting a tuning job (backends.local_housekeeping)
holds its runner lock, so no runner lives meanwhile.
"""

from __future__ import annotations

from hpo_tui.backends.local.backend import LocalBackend
from hpo_tui.backends.local.reader import StoreBusy
from hpo_tui.backends.local.views import LocalCursor

__all__ = ["LocalBackend", "LocalCursor", "StoreBusy"]
