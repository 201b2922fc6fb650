"""Typed messages that thread workers post to the screens (workers never touch widgets)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from textual.message import Message

if TYPE_CHECKING:  # for the types only: the configure screen's first frame needs none of them
    from hpo_tui.backends.base import Backend
    from hpo_tui.views import LogChunk, MetricPoint, Snapshot, TuningJobView


@dataclass
class SnapshotPolled(Message):
    """A poll of the watched tuning job succeeded."""

    snapshot: Snapshot
    interval: float  # seconds until the next poll (backend default, --interval, or throttled)


@dataclass
class CurvesLoaded(Message):
    """Every metric point of some training jobs, loaded for the rows and charts shown."""

    jobs: tuple[str, ...]
    points: tuple[MetricPoint, ...]


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


@dataclass
class SpecFetched(Message):
    """The spec a tuning job was launched with, to open a configure screen pre-filled."""

    source: str  # the tuning job's name
    spec: Any
    warm_start: bool = False  # the new tuning job warm-starts from the source


@dataclass
class BestHyperparametersFound(Message):
    """The best training job's hyperparameters, to copy to the clipboard."""

    tuning_job: str
    training_job: str | None  # None: no training job has an objective yet
    hyperparameters: dict[str, str]
    static_known: bool  # False when only the tuned ones are known (no spec from the backend)
    as_toml: bool
    text: str = ""  # what is copied
    copied_by: str | None = None  # the clipboard tool that took it (None: none did, or none was tried)
