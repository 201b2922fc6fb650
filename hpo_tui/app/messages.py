"""Typed messages that thread workers post to the screens (workers never touch widgets)."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from hpo_tui.backends.base import Backend
from hpo_tui.views import LogChunk, Snapshot, TuningJobView


@dataclass
class SnapshotPolled(Message):
    """A poll of the watched tuning job succeeded."""

    snapshot: Snapshot
    interval: float  # seconds until the next poll (backend default, --interval, or throttled)


@dataclass
class DetailPolled(Message):
    """New data for the job detail screen: a snapshot (maybe None) and new log lines."""

    snapshot: Snapshot | None
    log: LogChunk | None
    interval: float  # seconds until the next poll


@dataclass
class TuningJobsListed(Message):
    jobs: list[TuningJobView]


@dataclass
class TuningJobLaunched(Message):
    name: str
    backend: Backend


@dataclass
class ExportWritten(Message):
    path: str
    count: int
