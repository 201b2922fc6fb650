"""The numbers users decide by, written once as checks: over one Snapshot, over a sequence
of them (a session), and over what the CLI and the TUI print from them.

Backend-agnostic: every check takes Snapshots (and, where a figure is compared with the
truth, that truth), never a backend. The state machines in tests/lifecycle call them after
every step; HPO_TUI_CHECK=1 runs them on every poll of a real session (`debug_check`) and
reports a violation as the snapshot's warning. Headless: imports only the views and the
estimate, below every layer that polls.

Each check returns a list of Violations (empty: all hold); `assert_holds` raises them.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
import sys
import threading
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

from hpo_tui.estimate import budget_jobs, ended_at_text, ended_of, job_slots, whole_percent
from hpo_tui.views import Snapshot, TuningJobView, is_better

CHECK_ENV = "HPO_TUI_CHECK"
TOLERANCE = 1e-9


@dataclass(frozen=True)
class Violation:
    rule: str  # one of RULES
    tuning_job: str
    message: str  # the figures that disagree

    def __str__(self) -> str:
        return f"{self.tuning_job}: [{self.rule}] {self.message}"


# What each rule promises (the message of a violation says how it was broken).
RULES = {
    "budget": "training jobs counted against the budget <= max_jobs",
    "slots": "running training jobs <= the slots that run at once",
    "ended-starts-nothing": "a tuning job that ended starts no training job and is not restarted silently",
    "jobs-keep": "a training job never disappears, and one that ended keeps its status and objective",
    "progress-range": "progress lies in [0, 1]",
    "progress-monotone": "progress never decreases while the budget is unchanged",
    "progress-done": "progress is 100% only when every job ended and the budget or a criterion was met",
    "eta": "the ETA is >= 0, absent when unknown, sized by the slots that really run",
    "best": "the best job is the max (min) of the final objectives that Succeeded",
    "shown": "status, export, the TUI header and the star show the same numbers as the snapshot",
    "billing": "billed time is the sum over every training job, or marked partial",
    "logs": "every event of every log stream is shown once, in order",
    "request": "the request shown is the request sent, modulo the job name",
}


class InvariantViolated(AssertionError):
    def __init__(self, violations: Sequence[Violation]) -> None:
        self.violations = list(violations)
        super().__init__("\n".join(str(v) for v in self.violations))


def assert_holds(violations: Iterable[Violation]) -> None:
    found = list(violations)
    if found:
        raise InvariantViolated(found)


# -- what the numbers should be ----------------------------------------------------------------


def slots_of(view: TuningJobView) -> int:
    """The training jobs that may run at once (the local engine's slots, else max_parallel_jobs)."""
    return job_slots(view)


def counted_jobs(snap: Snapshot) -> int:
    """Training jobs counted against max_jobs (a retryable failure is run again, not counted)."""
    return budget_jobs(snap.tuning_job, snap.training_jobs)[0]


def ended_jobs(snap: Snapshot) -> int:
    """Counted training jobs that ended: what "7/9" shows."""
    return budget_jobs(snap.tuning_job, snap.training_jobs)[1]


def expected_best(snap: Snapshot) -> tuple[set[str], float | None]:
    """The names of the jobs that may be called best (ties), and the best value: the max (or
    min) of the final objectives of the jobs whose ObjectiveStatus is Succeeded."""
    kind = snap.tuning_job.objective_type
    best: float | None = None
    for j in snap.training_jobs:
        if j.objective_status == "Succeeded" and _finite(j.final_objective):
            if is_better(j.final_objective, best, kind):  # type: ignore[arg-type]
                best = j.final_objective
    if best is None:
        return set(), None
    return {j.name for j in snap.training_jobs if j.objective_status == "Succeeded"
            and j.final_objective == best}, best


def is_done(snap: Snapshot) -> bool:
    """Every job ended and the budget or a completion criterion was met (100% allowed)."""
    t = snap.tuning_job
    if snap.running:
        return False
    # The runner records Completed a moment after the last job ended: 100% already holds.
    return t.status == "Completed" or ended_jobs(snap) >= t.max_jobs


def stopped_text(snap: Snapshot) -> str:
    """What a Stopped or Failed tuning job says instead of a percentage: "stopped at 7/9"."""
    t = snap.tuning_job
    return ended_at_text(t.status, ended_jobs(snap), t.max_jobs) or ""


def percent_text(fraction: float) -> str:
    """A fraction as the whole percent reached (floored: 99.9% is 99%, never 100%)."""
    return f"{whole_percent(fraction)}%"


def _finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


# -- one snapshot -------------------------------------------------------------------------------


def check_snapshot(snap: Snapshot, *, slots: int | None = None, max_jobs: int | None = None) -> list[Violation]:
    """Every rule that one snapshot can break alone. slots: the slots that really run (the
    snapshot's own job_slots, or max_parallel_jobs, when None); max_jobs: the budget the
    tuning job was created with, when the caller knows it (else the snapshot's)."""
    t = snap.tuning_job
    out: list[Violation] = []

    def bad(rule: str, message: str) -> None:
        out.append(Violation(rule, t.name, message))

    slots = slots_of(t) if slots is None else slots
    counted = counted_jobs(snap)
    if max_jobs is not None and t.max_jobs != max_jobs:
        bad("budget", f"the snapshot says max_jobs {t.max_jobs}, the tuning job was created with {max_jobs}")
    if counted > t.max_jobs:
        bad("budget", f"{counted} training jobs counted against a budget of {t.max_jobs}")
    running = len(snap.running)
    if running > slots:
        bad("slots", f"{running} training jobs running with {slots} slots")
    if t.is_terminal and running:
        bad("ended-starts-nothing", f"tuning job {t.status} with {running} training jobs still running: "
                                    + ", ".join(j.name for j in snap.running[:5]))

    e = snap.estimate
    if not (0.0 <= e.fraction <= 1.0) or math.isnan(e.fraction):
        bad("progress-range", f"progress {e.fraction!r}")
    if e.fraction >= 1.0 and not is_done(snap):
        bad("progress-done", f"progress 100% while {t.status} with {ended_jobs(snap)}/{t.max_jobs} ended "
                             f"and {running} running")
    if t.status == "Completed" and e.fraction < 1.0:
        bad("progress-done", f"Completed but progress {e.fraction:.4f}")
    if e.ended != ended_jobs(snap):
        bad("progress-done", f"the estimate counts {e.ended} ended jobs, the snapshot {ended_jobs(snap)}")

    eta = e.remaining_seconds
    if eta is not None:
        if math.isnan(eta) or eta < 0 or math.isinf(eta):
            bad("eta", f"ETA {eta!r} s")
        if e.slots != slots:
            bad("eta", f"ETA sized by {e.slots} slots, {slots} really run")
        if e.work_seconds is not None and not t.is_terminal:
            # The work left is shared by the slots: the ETA is at least work / slots, and
            # at most all of it.
            if eta + 1e-6 < e.work_seconds / max(1, slots) or eta > e.work_seconds + 1e-6:
                bad("eta", f"ETA {eta:.1f} s for {e.work_seconds:.1f} s of work on {slots} slots")

    names, value = expected_best(snap)
    if t.best_training_job is None:
        if names:
            bad("best", f"no best job, but {sorted(names)[0]} Succeeded with {value}")
    elif t.best_training_job not in names:
        bad("best", f"best job {t.best_training_job} ({t.best_objective}); expected one of "
                    f"{sorted(names)[:3]} ({value})")
    elif t.best_objective != value:
        bad("best", f"best objective {t.best_objective}, the job's final objective is {value}")
    return out


# -- two snapshots in a row ---------------------------------------------------------------------


def check_transition(before: Snapshot, after: Snapshot, *, resumed: bool = False) -> list[Violation]:
    """Rules between two polls of the same tuning job, `after` fetched later. resumed: the
    user explicitly resumed it in between (a Failed tuning job may then run again)."""
    t0, t1 = before.tuning_job, after.tuning_job
    out: list[Violation] = []

    def bad(rule: str, message: str) -> None:
        out.append(Violation(rule, t1.name, message))

    if t0.name != t1.name:
        return [Violation("jobs-keep", t1.name, f"compared with another tuning job, {t0.name}")]
    old = {j.name: j for j in before.training_jobs}
    new = {j.name: j for j in after.training_jobs}
    gone = [n for n in old if n not in new]
    if gone:
        bad("jobs-keep", f"training jobs disappeared: {', '.join(gone[:5])}")
    for name, j0 in old.items():
        j1 = new.get(name)
        if j1 is None or not j0.is_terminal:
            continue
        if (j1.status, j1.objective_status, j1.final_objective) != (j0.status, j0.objective_status,
                                                                     j0.final_objective):
            bad("jobs-keep", f"{name} ended {j0.status}/{j0.objective_status} {j0.final_objective}, "
                             f"now {j1.status}/{j1.objective_status} {j1.final_objective}")
    started = [n for n in new if n not in old]
    ended_before = t0.is_terminal
    may_run_again = resumed and t0.status == "Failed"
    if ended_before and not may_run_again:
        if started:
            bad("ended-starts-nothing", f"{t0.status} tuning job started {', '.join(started[:5])}")
        if t1.status != t0.status:
            bad("ended-starts-nothing", f"{t0.status} tuning job is now {t1.status}"
                                        + ("" if resumed else " without a resume"))
    if t0.status in ("Stopping", "Stopped") and started and not may_run_again:
        bad("ended-starts-nothing", f"{t0.status} tuning job started {', '.join(started[:5])}")

    same_budget = (t0.max_jobs == t1.max_jobs and not (resumed and t0.status == "Failed")
                   and t1.status_counters.retryable_error == t0.status_counters.retryable_error)
    # A retryable failure (the runner died under the job) gives its place in the budget
    # back: the work it did is lost and is redone, so its share leaves the progress.
    f0, f1 = before.estimate.fraction, after.estimate.fraction
    if same_budget and f1 + TOLERANCE < f0:
        bad("progress-monotone", f"progress went from {f0:.4f} to {f1:.4f} ({t0.status} -> {t1.status})")
    return out


def check_session(snaps: Sequence[Snapshot], *, slots: int | None = None, max_jobs: int | None = None,
                  resumed_before: Iterable[int] = ()) -> list[Violation]:
    """Every rule over a session's snapshots of one tuning job, in fetch order.
    resumed_before: indexes i such that the user resumed the job between snaps[i-1] and snaps[i]."""
    resumed = set(resumed_before)
    out: list[Violation] = []
    for i, snap in enumerate(snaps):
        out += check_snapshot(snap, slots=slots, max_jobs=max_jobs)
        if i:
            out += check_transition(snaps[i - 1], snap, resumed=i in resumed)
    return out


# -- what the CLI and the TUI show ----------------------------------------------------------------

_PROGRESS = re.compile(r"^progress\s+(.*)$", re.M)
_PERCENT = re.compile(r"(\d+)%")
_BEST = re.compile(r"^best job\s+(\S+) \(", re.M)


def check_status_text(snap: Snapshot, text: str) -> list[Violation]:
    """`hpo-tui status` (report.render_status) printed for this snapshot."""
    t = snap.tuning_job
    out: list[Violation] = []

    def bad(message: str) -> None:
        out.append(Violation("shown", t.name, f"status: {message}"))

    m = _PROGRESS.search(text)
    line = m.group(1) if m else ""
    if not m:
        bad("no progress line")
    elif t.status in ("Stopped", "Failed"):
        if stopped_text(snap) not in line:
            bad(f"progress line {line!r} does not say {stopped_text(snap)!r}")
        if "100%" in line and not is_done(snap):
            bad(f"progress line {line!r} says 100% for a {t.status} tuning job")
    else:
        percent = _PERCENT.search(line)
        if percent is None:
            if snap.estimate.fraction > 0:
                bad(f"progress line {line!r} has no percentage")
        elif f"{percent.group(1)}%" != percent_text(snap.estimate.fraction):
            bad(f"progress {percent.group(1)}%, the snapshot's is {percent_text(snap.estimate.fraction)}")
        if "ETA" in line and (snap.estimate.remaining_seconds is None or t.is_terminal):
            bad(f"an ETA is shown ({line!r}) where none is known")
    budget = f"{ended_jobs(snap)}/{t.max_jobs}"
    if m and budget not in line:
        bad(f"progress line {line!r} does not show {budget} ended")
    out += _best_shown(snap, "status", _first(_BEST, text),
                       [row.split()[0][1:] for row in text.splitlines() if row.startswith("*")])
    return out


def check_jobs_done(view: TuningJobView, done_cell: str, *, training_jobs: Sequence[Any] = ()) -> list[Violation]:
    """The DONE cell of `hpo-tui jobs` ("7/9"): ended counted jobs over max_jobs."""
    m = re.fullmatch(r"(\d+)/(\d+)", done_cell.strip())
    if m is None:
        return [Violation("shown", view.name, f"jobs: DONE cell {done_cell!r} is not N/M")]
    done, budget = int(m.group(1)), int(m.group(2))
    out = []
    if done > budget:
        out.append(Violation("budget", view.name, f"jobs shows {done_cell}: more ended than the budget"))
    if budget != view.max_jobs:
        out.append(Violation("shown", view.name, f"jobs shows a budget of {budget}, max_jobs is {view.max_jobs}"))
    expected = ended_of(view)
    if done != expected:
        out.append(Violation("shown", view.name, f"jobs shows {done} ended, the counters say {expected}"))
    return out


def check_export(snap: Snapshot, rows: Sequence[Mapping[str, Any]]) -> list[Violation]:
    """An export's rows (report.export_rows): one per training job, the best one marked."""
    t = snap.tuning_job
    out = []
    names = [r.get("name") for r in rows]
    if sorted(names) != sorted(j.name for j in snap.training_jobs):
        out.append(Violation("shown", t.name, f"export has {len(rows)} rows for {len(snap.training_jobs)} jobs"))
    marked = [r.get("name") for r in rows if r.get("is_best") in (True, "True", "true", 1)]
    out += _best_shown(snap, "export", marked[0] if len(marked) == 1 else None, marked)
    return out


def check_best_shown(snap: Snapshot, *, header: str | None, starred: Sequence[str], where: str = "TUI") -> list[Violation]:
    """The TUI: the best job the header names and the rows carrying the star."""
    return _best_shown(snap, where, header, starred)


def _best_shown(snap: Snapshot, where: str, named: str | None, marked: Sequence[str]) -> list[Violation]:
    t = snap.tuning_job
    out = []
    if named != t.best_training_job:
        out.append(Violation("shown", t.name, f"{where} names best job {named}, the snapshot {t.best_training_job}"))
    want = [t.best_training_job] if t.best_training_job else []
    if list(marked) != want:
        out.append(Violation("shown", t.name, f"{where} marks {list(marked)} as best, the snapshot {want}"))
    return out


def _first(pattern: re.Pattern[str], text: str) -> str | None:
    m = pattern.search(text)
    return m.group(1) if m else None


# -- SageMaker's bill, logs and request -------------------------------------------------------------


def check_billing(snap: Snapshot, *, true_seconds: float, text: str | None, relative: float = 0.01) -> list[Violation]:
    """The bill shown (cost text) against the true sum over every training job: within
    `relative` of it, or marked partial (the word "partial" in the text)."""
    billing = snap.billing
    shown = billing.seconds if billing is not None else 0.0
    if text is not None and "partial" in text:
        if shown > true_seconds * (1 + relative) + 1:
            return [Violation("billing", snap.tuning_job.name,
                              f"partial bill {shown:.0f} s exceeds the true {true_seconds:.0f} s")]
        return []
    if abs(shown - true_seconds) > relative * true_seconds + 1:
        return [Violation("billing", snap.tuning_job.name,
                          f"bill {shown:.0f} s, the jobs' sum is {true_seconds:.0f} s, not marked partial")]
    return []


def check_log_lines(shown: Sequence[str], streams: Mapping[str, Sequence[str]], *, tuning_job: str = "") -> list[Violation]:
    """Lines printed (logs --follow, the live log) against the events of every stream: each
    event exactly once, each stream's events in their order."""
    out = []
    expected = [line for events in streams.values() for line in events]
    if sorted(shown) != sorted(expected):
        missing = _multiset_minus(expected, shown)
        extra = _multiset_minus(shown, expected)
        out.append(Violation("logs", tuning_job, f"{len(missing)} events missing (first {missing[:2]}), "
                                                 f"{len(extra)} extra or repeated (first {extra[:2]})"))
    position = {line: i for i, line in enumerate(shown)}
    for stream, events in streams.items():
        places = [position.get(e, -1) for e in events]
        if any(b < a for a, b in zip(places, places[1:]) if a >= 0 and b >= 0):
            out.append(Violation("logs", tuning_job, f"stream {stream} shown out of order"))
    return out


def _multiset_minus(a: Sequence[str], b: Sequence[str]) -> list[str]:
    left: dict[str, int] = {}
    for x in b:
        left[x] = left.get(x, 0) + 1
    out = []
    for x in a:
        if left.get(x, 0):
            left[x] -= 1
        else:
            out.append(x)
    return out


def check_request(shown: Mapping[str, Any], sent: Mapping[str, Any], *, tuning_job: str = "",
                  name_keys: Sequence[str] = ("HyperParameterTuningJobName",)) -> list[Violation]:
    """The request previewed (spec render, p) against the request sent, modulo the job name."""
    a = {k: v for k, v in shown.items() if k not in name_keys}
    b = {k: v for k, v in sent.items() if k not in name_keys}
    if a == b:
        return []
    keys = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
    return [Violation("request", tuning_job, f"preview and request differ in {', '.join(keys)}")]


# -- the debug mode -----------------------------------------------------------------------------------


class SessionWatch:
    """Checks each snapshot as it is polled, and against the last one of its tuning job
    fetched before it (a poll that comes back out of order is checked alone)."""

    def __init__(self) -> None:
        self._last: dict[tuple[str, str], Snapshot] = {}
        self._lock = threading.Lock()
        self.checks = 0
        self.violations: list[Violation] = []

    def observe(self, snap: Snapshot, *, resumed: bool = False) -> list[Violation]:
        key = (snap.tuning_job.backend, snap.tuning_job.name)
        found = check_snapshot(snap)
        with self._lock:
            before = self._last.get(key)
            if before is None or snap.fetched_at >= before.fetched_at:
                if before is not None:
                    found += check_transition(before, snap, resumed=resumed)
                self._last[key] = snap
            self.checks += 1
            self.violations += found
        return found

    def forget(self, name: str) -> None:
        """The user resumed (or relaunched) this tuning job: its next poll starts afresh."""
        with self._lock:
            for key in [k for k in self._last if k[1] == name]:
                del self._last[key]


_WATCH = SessionWatch()


def enabled() -> bool:
    return os.environ.get(CHECK_ENV, "") not in ("", "0")


def debug_check(snap: Snapshot) -> Snapshot:
    """With HPO_TUI_CHECK=1: check the snapshot (and it against the last one); a violation
    becomes its warning (the status bar, `status`) and a line on stderr. Else unchanged."""
    if not enabled():
        return snap
    found = _WATCH.observe(snap)
    if not found:
        return snap
    text = "invariant violated: " + "; ".join(str(v) for v in found)
    # Inside the TUI, Textual captures stderr (the warning is what shows there).
    print(f"hpo-tui: {text}", file=sys.stderr, flush=True)
    warning = f"{snap.warning}; {text}" if snap.warning else text
    return dataclasses.replace(snap, warning=warning)


def resumed(name: str) -> None:
    """A user resumed this tuning job: the debug mode compares its next poll with nothing."""
    _WATCH.forget(name)
