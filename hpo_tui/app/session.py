"""The tuning jobs this app session launched or attached to: the way back to a running
dashboard after escape, and the reattach hints printed when quitting leaves jobs running."""

from __future__ import annotations

from dataclasses import dataclass


def attach_command(name: str, backend: str) -> str:
    return f"hpo-tui attach {name}" + (f" --backend {backend}" if backend != "local" else "")


def reattach_hint(name: str, backend: str) -> str:
    return f"Tuning job {name} keeps running. Reattach with: {attach_command(name, backend)}"


@dataclass
class WatchedJob:
    name: str
    backend: str
    status: str | None = None  # last seen; None before anything was heard of it

    @property
    def maybe_running(self) -> bool:
        from hpo_tui.views import TERMINAL_STATUSES  # here: the app's start does not import views

        return self.status not in TERMINAL_STATUSES

    def quit_note(self) -> str:
        """What quitting means for this job, with how to come back to it."""
        if self.status is None:
            return (f"Tuning job {self.name}: status not known yet (no poll has answered). "
                    f"Quitting never stops it; reattach with: {attach_command(self.name, self.backend)}")
        return reattach_hint(self.name, self.backend)


class WatchedJobs:
    """Most recently opened last. Statuses come from the dashboards' polls and the jobs list."""

    def __init__(self) -> None:
        self._jobs: dict[str, WatchedJob] = {}

    def add(self, name: str, backend: str, status: str | None = None) -> WatchedJob:
        job = self._jobs.pop(name, None) or WatchedJob(name, backend)
        job.backend = backend
        if status is not None:
            job.status = status
        self._jobs[name] = job
        return job

    def seen(self, name: str, status: str) -> None:
        """A newer status of a job this session watches (ignored for any other job)."""
        job = self._jobs.get(name)
        if job is not None:
            job.status = status

    def forget(self, name: str) -> None:
        self._jobs.pop(name, None)

    def get(self, name: str) -> WatchedJob | None:
        return self._jobs.get(name)

    def __iter__(self):
        return iter(list(self._jobs.values()))

    def __len__(self) -> int:
        return len(self._jobs)

    def maybe_running(self) -> list[WatchedJob]:
        return [job for job in self._jobs.values() if job.maybe_running]

    def latest(self) -> WatchedJob | None:
        """The dashboard to go back to: the latest job that may still run, else the latest."""
        running = self.maybe_running()
        if running:
            return running[-1]
        return next(reversed(self._jobs.values()), None)
