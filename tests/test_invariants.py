"""The invariants module (hpo_tui.invariants) on hand-made snapshots: each rule holds on a
sound session and names the numbers when it is broken."""

from __future__ import annotations

import dataclasses

import pytest

from hpo_tui import invariants
from hpo_tui.report import export_rows, render_status
from hpo_tui.views import ObjectiveCounters, Snapshot, StatusCounters, TrainingJobView, TuningJobView


def job(i: int, status: str = "InProgress", *, done: int = 0, planned: int = 4, objective: float | None = None,
        objective_status: str | None = None, started: float = 0.0, ended: float | None = None,
        reason: str | None = None) -> TrainingJobView:
    if objective_status is None:
        objective_status = ("Succeeded" if objective is not None else "Failed") if status != "InProgress" else "Pending"
    return TrainingJobView(
        name=f"t-{i + 1:03d}", status=status, objective_status=objective_status,
        hyperparameters={"num_epoch": str(planned)}, final_objective=objective,
        last_epoch=done - 1 if done else None, created_at=started, started_at=started,
        ended_at=ended if ended is not None else (started + 10 * done if status != "InProgress" else None),
        failure_reason=reason, launch_index=i)


def snapshot(jobs: list[TrainingJobView], *, status: str = "InProgress", max_jobs: int = 4, parallel: int = 2,
             slots: int | None = None, now: float = 100.0, best: str | None = "auto", retryable: int = 0,
             objective_type: str = "Maximize", **tuning: object) -> Snapshot:
    statuses = [j.status for j in jobs]
    counters = StatusCounters(
        completed=statuses.count("Completed"), in_progress=statuses.count("InProgress") + statuses.count("Stopping"),
        retryable_error=retryable, non_retryable_error=statuses.count("Failed") - retryable,
        stopped=statuses.count("Stopped"))
    best_name, best_value = None, None
    scored = [j for j in jobs if j.objective_status == "Succeeded" and j.final_objective is not None]
    if scored:
        pick = max if objective_type == "Maximize" else min
        top = pick(scored, key=lambda j: j.final_objective)
        best_name, best_value = top.name, top.final_objective
    if best != "auto":
        best_name = best
        best_value = next((j.final_objective for j in jobs if j.name == best), None)
    view = TuningJobView(
        name="t", backend="local", status=status, strategy="Random", objective_name="Validation-accuracy",
        objective_type=objective_type, max_jobs=max_jobs, max_parallel_jobs=parallel, status_counters=counters,
        objective_counters=ObjectiveCounters(), best_training_job=best_name, best_objective=best_value,
        created_at=0.0, max_epochs=4, job_slots=slots, **tuning)
    return Snapshot(tuning_job=view, training_jobs=tuple(jobs), new_points=(), cursor=None, fetched_at=now)


def rules(violations: list[invariants.Violation]) -> set[str]:
    return {v.rule for v in violations}


def sound_session() -> list[Snapshot]:
    return [
        snapshot([job(0, done=1), job(1, done=0, started=5.0)], now=10.0),
        snapshot([job(0, done=3), job(1, done=2, started=5.0)], now=30.0),
        snapshot([job(0, "Completed", done=4, objective=0.9), job(1, done=3, started=5.0),
                  job(2, done=0, started=40.0)], now=41.0),
        snapshot([job(0, "Completed", done=4, objective=0.9), job(1, "Completed", done=4, objective=0.95, started=5.0),
                  job(2, "Completed", done=4, objective=0.5, started=40.0),
                  job(3, "Completed", done=4, objective=0.7, started=45.0)], status="Completed", now=90.0),
    ]


def test_a_sound_session_breaks_no_rule_and_its_outputs_agree():
    snaps = sound_session()
    assert invariants.check_session(snaps) == []
    last = snaps[-1]
    assert invariants.check_status_text(last, render_status(last)) == []
    assert invariants.check_export(last, export_rows(last)[1]) == []
    assert invariants.check_best_shown(last, header="t-002", starred=["t-002"]) == []


def test_more_jobs_than_the_budget_or_the_slots_are_named():
    over = snapshot([job(i, "Completed", done=4, objective=0.5) for i in range(5)], max_jobs=4)
    assert "budget" in rules(invariants.check_snapshot(over))
    fine = snapshot([job(i, "Completed", done=4, objective=0.5) for i in range(4)], max_jobs=4, status="Completed")
    assert invariants.check_snapshot(fine, max_jobs=4) == []
    assert "budget" in rules(invariants.check_snapshot(fine, max_jobs=3))  # a misreported budget
    crowded = snapshot([job(i, done=1) for i in range(3)], parallel=3, slots=2)
    found = invariants.check_snapshot(crowded)
    assert "slots" in rules(found)
    assert "3 training jobs running with 2 slots" in str(found[0])


def test_retryable_failures_do_not_count_against_the_budget():
    jobs = [job(0, "Failed", done=1, reason="runner exited unexpectedly"), *(job(i, "Completed", done=4, objective=0.5)
                                                                          for i in range(1, 5))]
    snap = snapshot(jobs, max_jobs=4, retryable=1, status="Completed")
    assert invariants.counted_jobs(snap) == 4 and invariants.ended_jobs(snap) == 4
    assert invariants.check_snapshot(snap) == []


def test_an_ended_tuning_job_that_starts_a_job_or_runs_again_is_caught():
    stopped = snapshot([job(0, "Stopped", done=2, objective=0.4)], status="Stopped")
    again = snapshot([job(0, "Stopped", done=2, objective=0.4), job(1, done=0, started=120.0)], now=130.0)
    found = invariants.check_transition(stopped, again)
    assert "ended-starts-nothing" in rules(found)
    # Even when the user asked for a resume: a Stopped tuning job is never restarted.
    assert "ended-starts-nothing" in rules(invariants.check_transition(stopped, again, resumed=True))
    # A Failed one (its runner died) may run again, once resumed.
    failed = dataclasses.replace(stopped, tuning_job=dataclasses.replace(stopped.tuning_job, status="Failed"))
    assert invariants.check_transition(failed, again, resumed=True) == []
    assert "ended-starts-nothing" in rules(invariants.check_transition(failed, again))


def test_a_job_that_ended_keeps_its_result_and_no_job_disappears():
    before = snapshot([job(0, "Completed", done=4, objective=0.9), job(1, done=1)])
    changed = snapshot([job(0, "Failed", done=4, objective=None), job(1, done=2)])
    assert "jobs-keep" in rules(invariants.check_transition(before, changed))
    shorter = snapshot([job(0, "Completed", done=4, objective=0.9)])
    assert "jobs-keep" in rules(invariants.check_transition(before, shorter))


def test_progress_going_back_while_the_budget_is_unchanged_is_caught():
    ahead = snapshot([job(0, done=3), job(1, done=3)])
    behind = snapshot([job(0, done=1), job(1, done=1)])
    found = invariants.check_transition(ahead, behind)
    assert rules(found) == {"progress-monotone"}
    # The runner died under both jobs: their work is lost (retryable), progress may go back.
    lost = snapshot([job(0, "Failed", done=3, reason="runner exited unexpectedly"),
                     job(1, "Failed", done=3, reason="runner exited unexpectedly")], status="Failed", retryable=2)
    assert "progress-monotone" not in rules(invariants.check_transition(ahead, lost))


def test_progress_is_100_percent_only_when_done_and_stopped_says_where_it_stopped():
    stopped = snapshot([job(i, "Completed", done=4, objective=0.5) for i in range(7)], status="Stopped", max_jobs=9)
    assert stopped.estimate.fraction == pytest.approx(7 / 9)
    assert invariants.check_snapshot(stopped) == []
    assert invariants.stopped_text(stopped) == "stopped at 7/9"
    text = render_status(stopped)
    assert invariants.check_status_text(stopped, text) == []
    assert "stopped at 7/9" in text and "100%" not in text
    # A status text claiming 100% for it is caught.
    assert "shown" in rules(invariants.check_status_text(stopped, text.replace("stopped at 7/9", "100% 7/9")))
    # The last epoch of the last job is not the end: the job still has to end.
    almost = snapshot([job(0, "Completed", done=4, objective=0.5), job(1, done=4)], max_jobs=2)
    assert almost.estimate.fraction < 1
    assert invariants.percent_text(almost.estimate.fraction) == "99%"
    # Once its last job ended the budget is met: 100%, before the runner records Completed.
    spent = snapshot([job(0, "Completed", done=4, objective=0.5), job(1, "Completed", done=4, objective=0.6)],
                     max_jobs=2)
    assert spent.estimate.fraction == 1.0
    assert invariants.check_snapshot(spent) == []


def test_an_eta_sized_by_max_parallel_jobs_where_one_slot_runs_is_caught():
    snap = snapshot([job(0, done=2)], max_jobs=4, parallel=3, slots=1, now=20.0)
    e = snap.estimate
    # One slot: the 3 jobs not started yet run after each other, 40 s each, after the 20 s left.
    assert e.remaining_seconds == pytest.approx(20.0 + 3 * 40.0)
    assert invariants.check_snapshot(snap) == []
    wrong = dataclasses.replace(e, remaining_seconds=60.0)
    snap.__dict__["estimate"] = wrong
    found = invariants.check_snapshot(snap)
    assert rules(found) == {"eta"}
    negative = snapshot([job(0, done=2)], now=20.0)
    negative.__dict__["estimate"] = dataclasses.replace(negative.estimate, remaining_seconds=-5.0)
    assert "eta" in rules(invariants.check_snapshot(negative))


def test_a_best_job_that_is_not_the_best_succeeded_objective_is_caught():
    jobs = [job(0, "Completed", done=4, objective=0.9), job(1, "Completed", done=4, objective=0.95),
            job(2, "Failed", done=4, objective=0.99, objective_status="Failed")]
    assert invariants.check_snapshot(snapshot(jobs)) == []
    assert "best" in rules(invariants.check_snapshot(snapshot(jobs, best="t-001")))
    assert "best" in rules(invariants.check_snapshot(snapshot(jobs, best="t-003")))
    minimize = snapshot(jobs, objective_type="Minimize")
    assert minimize.tuning_job.best_training_job == "t-001"
    assert invariants.check_snapshot(minimize) == []
    snap = snapshot(jobs)
    assert "shown" in rules(invariants.check_best_shown(snap, header="t-002", starred=["t-001"]))
    rows = export_rows(snap)[1]
    rows[0]["is_best"] = True
    assert "shown" in rules(invariants.check_export(snap, rows))


def test_the_jobs_list_done_cell_counts_the_budget_as_the_counters_do():
    snap = snapshot([job(0, "Failed", done=1, reason="runner exited unexpectedly"),
                     *(job(i, "Completed", done=4, objective=0.5) for i in range(1, 4))], retryable=1, max_jobs=3)
    assert invariants.check_jobs_done(snap.tuning_job, "3/3") == []
    assert "budget" in rules(invariants.check_jobs_done(snap.tuning_job, "4/3"))


def test_bill_logs_and_request_checks():
    billed = dataclasses.replace(job(0, "Completed", done=4, objective=0.5), billable_seconds=100.0)
    snap = snapshot([billed, job(1, "Completed", done=4, objective=0.4)])
    assert "billing" in rules(invariants.check_billing(snap, true_seconds=1300.0, text="billed 1m40s"))
    assert invariants.check_billing(snap, true_seconds=1300.0, text="billed 1m40s (partial: 1 of 2 jobs)") == []
    assert invariants.check_billing(snap, true_seconds=100.5, text="billed 1m40s") == []
    streams = {"a": ["a1", "a2"], "b": ["b1"]}
    assert invariants.check_log_lines(["a1", "b1", "a2"], streams) == []
    assert "logs" in rules(invariants.check_log_lines(["a1", "a2"], streams))
    assert "logs" in rules(invariants.check_log_lines(["a2", "a1", "b1"], streams))
    assert "logs" in rules(invariants.check_log_lines(["a1", "a2", "b1", "b1"], streams))
    sent = {"HyperParameterTuningJobName": "x-1", "Tags": [{"Key": "k", "Value": "v"}]}
    assert invariants.check_request({"HyperParameterTuningJobName": "x-2", "Tags": sent["Tags"]}, sent) == []
    assert "request" in rules(invariants.check_request({"HyperParameterTuningJobName": "x-2"}, sent))


def test_the_debug_mode_turns_a_violation_into_a_warning(monkeypatch, capsys):
    bad = snapshot([job(i, done=1) for i in range(3)], parallel=3, slots=2)
    monkeypatch.delenv(invariants.CHECK_ENV, raising=False)
    assert invariants.debug_check(bad) is bad
    monkeypatch.setenv(invariants.CHECK_ENV, "1")
    checked = invariants.debug_check(bad)
    assert "invariant violated" in checked.warning and "[slots]" in checked.warning
    assert "3 training jobs running with 2 slots" in capsys.readouterr().err
    # The next poll is checked against it too: two of its jobs vanished.
    fewer = snapshot([job(0, done=1)], now=110.0)
    assert "training jobs disappeared: t-002, t-003" in invariants.debug_check(fewer).warning
    invariants.resumed("t")  # a resume starts the comparison afresh
    good = snapshot([job(0, done=2)], now=120.0)
    assert invariants.debug_check(good) is good
    assert invariants.debug_check(snapshot([job(0, done=3)], now=130.0)).warning is None


def test_compare_counts_the_budget_as_jobs_does():
    from hpo_tui.compare import compare_tuning_jobs, render_tuning_jobs

    lost = [job(0, "Failed", done=1, reason="runner exited unexpectedly"),
            job(1, "Failed", done=1, reason="runner exited unexpectedly"),
            *(job(i, "Completed", done=4, objective=0.5 + i / 100) for i in range(2, 5))]
    crashed = snapshot(lost, status="Completed", max_jobs=3, retryable=2)
    other = dataclasses.replace(crashed, tuning_job=dataclasses.replace(crashed.tuning_job, name="u"))
    text = render_tuning_jobs(compare_tuning_jobs([crashed, other]))
    row = next(line for line in text.splitlines() if line.strip().startswith("finished / max jobs"))
    cell = row.split()[-1]
    invariants.assert_holds(invariants.check_jobs_done(crashed.tuning_job, cell))
