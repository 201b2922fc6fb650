"""Whole SageMaker sessions, driven by a Hypothesis state machine over a simulated account
(tests/sagemaker/sim_account.py: SageMaker answered at the botocore level and validated
against its shapes; CloudWatch Logs, S3 and STS in moto's server), with a clock the test
advances. hpo_tui.invariants checks every rule after every step.

A session: launch through the SDK (an SDK config file maybe present; the request the
preview shows must be the one sent), maybe far into a 500+-job run at once (an attach
mid-run), time passing (training jobs start, emit epochs, end; a second instance's log
stream starts late), spot interruptions (a new log stream), throttling at random, polls as the dashboard makes them, curves read, a fresh
watcher attaching, `logs --follow` reads, `status`, and a stop.
"""

from __future__ import annotations

import os
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule, run_state_machine_as_test

from hpo_tui import invariants as inv
from hpo_tui.backends.base import BackendError, poll_for_view, poll_rows
from hpo_tui.backends.sagemaker import SageMakerBackend
from hpo_tui.backends.sagemaker.errors import AwsUnavailable
from hpo_tui.report import cost_text, render_status
from hpo_tui.spec import TuningSpec
from hpo_tui.spec.sdk_config import render_request_as_sent
from tests.sagemaker.conftest import _moto_server, boto_session, fake_aws, loopback_only, moto_endpoint  # noqa: F401
from tests.sagemaker.sim_account import Clock, SimAccount

ROLE = "arn:aws:iam::123456789012:role/SageMakerTuning"
CLOCK = Clock(0.0)
SDK_CONFIG = """\
SchemaVersion: '1.0'
SageMaker:
  TrainingJob:
    VpcConfig:
      Subnets: [subnet-0a1b2c3d]
      SecurityGroupIds: [sg-0123abcd]
    EnableNetworkIsolation: true
    OutputDataConfig:
      KmsKeyId: arn:aws:kms:us-east-1:123456789012:key/out-key
    Tags:
      - Key: owner
        Value: alice
"""


class Env:
    """What the machine needs from pytest's fixtures (set once per test run)."""

    endpoint = ""
    source_dir: Path | None = None
    files: Path | None = None
    logs: Any = None  # the simulation's own CloudWatch Logs client (moto), made once
    session: Any = None  # the product's boto3 session (one: a new one loads botocore's data again)


def standalone_environment() -> None:
    """Outside pytest (bench/lifecycle.py): what the fixtures of test_sagemaker_sessions_...
    set up, for the rest of the process: a moto server on 127.0.0.1, fake credentials, the
    clock, the SDK config files."""
    import functools

    import sagemaker.session
    import sagemaker.utils
    from moto.server import ThreadedMotoServer

    from hpo_tui.backends.sagemaker import backend as backend_module
    from hpo_tui.backends.sagemaker import poll as poll_module
    from tests.sagemaker.conftest import free_port

    port = free_port()
    ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False).start()
    endpoint = f"http://127.0.0.1:{port}"
    for var in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_REGION", "HTTP_PROXY", "HTTPS_PROXY"):
        os.environ.pop(var, None)
    os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1",
                      AWS_ENDPOINT_URL=endpoint, AWS_EC2_METADATA_DISABLED="true", SAGEMAKER_SUPPRESS_V2_WARNING="1")
    sagemaker.session.sts_regional_endpoint = lambda region: endpoint
    sagemaker.utils._botocore_resolver = functools.lru_cache(maxsize=None)(sagemaker.utils._botocore_resolver)
    poll_module.time = CLOCK  # type: ignore[attr-defined]
    backend_module.time = CLOCK  # type: ignore[attr-defined]
    files = Path(tempfile.mkdtemp(prefix="sagemaker-session-"))
    _write_files(files)
    Env.endpoint, Env.files, Env.source_dir = endpoint, files, files / "training-src"
    Env.logs, Env.session = _session().client("logs"), _session()


def _write_files(folder: Path) -> None:
    (folder / "sdk-config.yaml").write_text(SDK_CONFIG)
    (folder / "empty.yaml").write_text("")
    (folder / "training-src").mkdir(exist_ok=True)
    (folder / "training-src" / "mnist.py").write_text("print('Epoch[0] Validation-accuracy=0.5')\n")


def _session() -> Any:
    import botocore.session

    from tests.sagemaker.conftest import _shared_loader

    core = botocore.session.get_session()
    if _shared_loader:
        core.register_component("data_loader", _shared_loader[0])
    return boto3.Session(botocore_session=core)


class SageMakerSession(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        if not Env.endpoint:
            standalone_environment()
        with urllib.request.urlopen(urllib.request.Request(f"{Env.endpoint}/moto-api/reset", method="POST")) as r:
            assert r.status == 200
        CLOCK.now = time.time() - 10 * 86400  # moto takes log events up to 14 days old
        from tests.sagemaker.account import make_role, make_sample_data

        make_role()  # what the launch's pre-flight checks look for, as on AWS
        make_sample_data()
        self.sim = SimAccount(CLOCK, Env.logs, seed=0)
        self.session = Env.session
        self.sim.install(self.session)
        self.backend = SageMakerBackend(boto_session=self.session)
        self.name = ""
        self.snaps: list[Any] = []
        self.watcher: list[int] = []  # which watcher (backend) polled each snapshot
        self.points: set[tuple[Any, ...]] = set()  # the metric points this watcher was given
        self.watchers = 0
        self.truth: list[float] = []  # the true bill at each snapshot's fetch
        self.checked = 0
        self.cursor: Any = None
        self.follow: dict[str, tuple[Any, list[str]]] = {}  # job -> (log cursor, lines shown)
        self.violations: list[inv.Violation] = []
        self.saved_env = {k: os.environ.get(k) for k in ("SAGEMAKER_USER_CONFIG_OVERRIDE",
                                                         "SAGEMAKER_ADMIN_CONFIG_OVERRIDE")}

    def teardown(self) -> None:
        self.sim.uninstall()
        for key, value in self.saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value

    # ------------------------------------------------------------------ launch

    @initialize(seed=st.integers(0, 2**16), spot=st.booleans(), parallel=st.integers(1, 4),
                max_jobs=st.integers(2, 8), config=st.booleans(), big=st.booleans(), hosts=st.integers(1, 2))
    def launch(self, seed: int, spot: bool, parallel: int, max_jobs: int, config: bool, big: bool,
               hosts: int) -> None:
        assert Env.files is not None and Env.source_dir is not None
        self.sim.rng.seed(seed)
        user = Env.files / ("sdk-config.yaml" if config else "empty.yaml")
        os.environ["SAGEMAKER_USER_CONFIG_OVERRIDE"] = str(user)
        os.environ["SAGEMAKER_ADMIN_CONFIG_OVERRIDE"] = str(Env.files / "empty.yaml")
        max_jobs = 750 if big else max_jobs
        parallel = min(parallel, max_jobs)  # validation refuses more at once than in all
        spec = TuningSpec(backend="sagemaker", max_jobs=max_jobs, max_parallel_jobs=parallel)
        spec.ranges["num_epoch"].min, spec.ranges["num_epoch"].max = 2, 5  # type: ignore[union-attr]
        spec.estimator.source_dir = str(Env.source_dir)
        spec.estimator.use_spot_instances = spot
        spec.estimator.instance_count = hosts  # a second host's log stream starts late
        spec.estimator.max_run_seconds = 3600
        spec.estimator.max_wait_seconds = 7200 if spot else None
        spec.sagemaker.role_arn = ROLE
        spec.tuning_job_name = f"hpo-sim-{seed}"
        shown, _added = render_request_as_sent(spec)
        self.name = self.backend.launch(spec)
        self.violations += inv.check_request(shown, self.sim.created_requests[-1], tuning_job=self.name)
        if big:  # far into the run: the jobs that ended wrote no log the product could read
            self.sim.tunings[self.name].jobs.clear()
            self.sim.fast_forward(self.name, ended=510, running=parallel)
            self.sim.advance(90)

    # ------------------------------------------------------------------ the account

    @rule(minutes=st.integers(1, 90))
    def time_passes(self, minutes: int) -> None:
        self.sim.advance(minutes * 60.0)

    @rule(data=st.data(), pause=st.integers(60, 900))
    def spot_interruption(self, data: st.DataObject, pause: int) -> None:
        tuning = self.sim.tunings[self.name]
        running = [j for j in tuning.running() if j.spot and j.resume_at is None and j.started is not None
                   and j.started <= CLOCK.now]
        if tuning.status != "InProgress" or not running:
            return
        self.sim.interrupt(data.draw(st.sampled_from(running)), pause=float(pause))

    @rule(rate=st.sampled_from([0.0, 0.0, 0.2, 0.6]))
    def throttling(self, rate: float) -> None:
        self.sim.throttle_rate = rate

    # ------------------------------------------------------------------ the watcher

    @rule()
    def poll(self) -> None:
        try:
            snap = poll_for_view(self.backend, self.name, self.cursor)
        except AwsUnavailable:
            return  # throttled before any data: the dashboard says so and retries
        self.cursor = snap.cursor
        self._points_once(snap.new_points, "a poll")
        self.snaps.append(snap.prepare())
        self.watcher.append(self.watchers)
        self.truth.append(self.sim.bill_at(self.name, snap.fetched_at))

    @rule(data=st.data())
    def load_curves(self, data: st.DataObject) -> None:
        if not self.snaps:
            return
        names = [j.name for j in self.snaps[-1].training_jobs]
        if not names:
            return
        shown = data.draw(st.lists(st.sampled_from(names), min_size=1, max_size=5, unique=True))
        lazy = set(getattr(self.cursor, "lazy", ()))
        try:
            points = self.backend.curves(self.name, shown)
        except AwsUnavailable:
            return
        # The polls go on from where curves() read a job they left to it: never again.
        self.points.update((p.job, p.metric, p.epoch, p.timestamp) for p in points if p.job in lazy)

    def _points_once(self, points: Any, where: str) -> None:
        """Each metric point reaches this watcher once: a poll gives none that an earlier
        poll gave, nor one that curves() read of a job the polls had left to it."""
        for p in points:
            key = (p.job, p.metric, p.epoch, p.timestamp)
            if key in self.points:
                self.violations.append(inv.Violation("logs", self.name, f"{where} gave {key} again"))
            self.points.add(key)

    @rule()
    def attach_again(self) -> None:
        """A second watcher attaches mid-run: a new backend, its first poll rows only."""
        self.backend = SageMakerBackend(boto_session=self.session)
        self.watchers += 1
        self.cursor = None
        self.points = set()
        self.poll()

    @rule()
    def status(self) -> None:
        try:
            snap = poll_rows(self.backend, self.name)
        except AwsUnavailable:
            return
        snap = snap.prepare()
        self.violations += inv.check_status_text(snap, render_status(snap))

    @rule(data=st.data())
    def follow_logs(self, data: st.DataObject) -> None:
        """`logs --follow` of one job: a read with whatever throttling, then reads until
        nothing is left: every event of every stream shown once, in order."""
        jobs = [j for j in self.sim.tunings[self.name].jobs if j.streams]
        if not jobs:
            return
        job = data.draw(st.sampled_from(jobs)).name
        cursor, lines = self.follow.get(job, (None, []))
        chunk = self.backend.log_tail(job, cursor)
        lines = lines + list(chunk.lines)
        cursor = chunk.cursor
        rate, self.sim.throttle_rate = self.sim.throttle_rate, 0.0
        try:
            while True:
                chunk = self.backend.log_tail(job, cursor)
                cursor = chunk.cursor
                if not chunk.lines:
                    break
                lines += chunk.lines
        finally:
            self.sim.throttle_rate = rate
        self.follow[job] = (cursor, lines)
        plain = [line.split("] ", 1)[1] if line.startswith("[algo-") else line for line in lines]
        self.violations += inv.check_log_lines(plain, self.sim.stream_events(job), tuning_job=job)

    @precondition(lambda self: self.name and self.sim.tunings[self.name].status == "InProgress")
    @rule()
    def stop(self) -> None:
        try:
            self.backend.stop(self.name)
        except BackendError:
            pass  # throttled: "press stop again"

    # ------------------------------------------------------------------ every rule, every step

    @invariant()
    def numbers_hold(self) -> None:
        for i in range(self.checked, len(self.snaps)):
            snap = self.snaps[i]
            self.violations += inv.check_snapshot(snap)
            # Progress never goes back within one watcher's polls; a new attach starts from
            # what its rows-only first poll tells (no epoch of a running job read yet).
            if i and self.watcher[i - 1] == self.watcher[i]:
                self.violations += inv.check_transition(self.snaps[i - 1], snap)
            self.violations += inv.check_billing(snap, true_seconds=self.truth[i], text=cost_text(snap))
        self.checked = len(self.snaps)
        inv.assert_holds(self.violations)


@pytest.fixture()
def machine_env(moto_endpoint: str, boto_session: Any, tmp_path: Path,  # noqa: F811
                monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    from hpo_tui.backends.sagemaker import backend as backend_module
    from hpo_tui.backends.sagemaker import poll as poll_module

    monkeypatch.setattr(poll_module, "time", CLOCK)
    monkeypatch.setattr(backend_module, "time", CLOCK)
    import functools

    import sagemaker.utils

    # The SDK reads botocore's endpoint data from disk on every launch (0.9 s): once is enough here.
    monkeypatch.setattr(sagemaker.utils, "_botocore_resolver",
                        functools.lru_cache(maxsize=None)(sagemaker.utils._botocore_resolver))
    _write_files(tmp_path)
    Env.endpoint, Env.source_dir, Env.files = moto_endpoint, tmp_path / "training-src", tmp_path
    Env.logs = _session().client("logs")
    Env.session = _session()
    yield
    Env.endpoint = ""  # the moto server of this test is gone with it


def test_sagemaker_sessions_keep_every_invariant(machine_env: None) -> None:
    run_state_machine_as_test(SageMakerSession, settings=settings(
        max_examples=int(os.environ.get("SIM_EXAMPLES", "8")), stateful_step_count=25, deadline=None,
        derandomize=True, database=None, phases=[Phase.explicit, Phase.generate],  # bench/ shrinks
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]))

