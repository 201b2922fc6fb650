"""Training-job processes of the local engine: started under SageMaker's container rules
(argv list, own process group, SM_* environment), their output teed to a log file and
split into lines for metric extraction.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from hpo_tui import paths
from hpo_tui.engine import procinfo, procs

READ_SIZE = 65536
# Each training job's log keeps at most this much ([local] log_max_bytes overrides); the
# rest is dropped, the cut marked, and the job's last lines are added at the end.
DEFAULT_LOG_MAX = 100 * 1024 * 1024
# Longest line kept for metric parsing; longer output is still logged in full.
MAX_LINE = 64 * 1024


# Threads per training job: the reference MLP's operators are too small to gain from a
# second thread (bench/RESULTS.md, "Scheduling", has the figures), and parallel jobs each on
# one core never oversubscribe. So one thread per job, whatever max_parallel_jobs is.
JOB_THREADS = 1


# The training script seeds NumPy and MXNet from this variable (training/mnist.py).
TRAINING_SEED_VARIABLE = "HPO_TUI_TRAINING_SEED"


def training_seed(random_seed: int, launch_index: int) -> int:
    """The training seed of a tuning job's job `launch_index` (0-based) when the spec has
    random_seed: a stable hash of both, in 0..2**32-1 (NumPy's seed range). The same draw
    of the same tuning job trains the same; different jobs train from different seeds."""
    digest = hashlib.blake2b(f"{int(random_seed)}:{int(launch_index)}".encode(), digest_size=4).digest()
    return int.from_bytes(digest, "big")


def cores() -> int:
    """Cores this process may run on (its CPU affinity), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def local_concurrency(configured: int | None) -> int:
    """How many training jobs the local engine runs at once: the spec's [local] concurrency,
    else one per core (the jobs are single-threaded, so more would only share the cores)."""
    return configured if configured else cores()


def job_slots(max_parallel_jobs: int, configured: int | None) -> int:
    """Jobs running at once: max_parallel_jobs is a cap (as on SageMaker), and so is the local concurrency."""
    return max(1, min(int(max_parallel_jobs), local_concurrency(configured)))


def open_log(path: Path) -> object:
    """A log file for appending: owner-only (0600), never through a symbolic link."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        os.fchmod(fd, 0o600)
    except OSError:
        pass
    return os.fdopen(fd, "ab", buffering=0)


def training_env(
    *,
    folder: Path,
    train: str,
    test: str,
    hyperparameters: dict[str, str],
    threads: int,
    marker: str | None = None,
    seed: int | None = None,
) -> dict[str, str]:
    """The environment SageMaker's MXNet container gives a training script, for one job,
    with the job's training seed when there is one (SageMaker gives its jobs none)."""
    env = dict(os.environ)
    env.update(
        {
            "SM_CHANNEL_TRAIN": train,
            "SM_CHANNEL_TEST": test,
            "SM_MODEL_DIR": str(folder / "model"),
            "SM_OUTPUT_DATA_DIR": str(folder / "output"),
            "SM_HOSTS": '["algo-1"]',
            "SM_CURRENT_HOST": "algo-1",
            "SM_NUM_GPUS": "0",
            "SM_HPS": json.dumps(hyperparameters),
            "HPO_TUI_FAILURE_FILE": str(folder / "failure"),
            "OMP_NUM_THREADS": str(threads),
            "MXNET_CPU_WORKER_NTHREADS": str(threads),
            # Metric lines must reach the runner as they are printed, not at exit.
            "PYTHONUNBUFFERED": "1",
        }
    )
    if marker is not None:
        env[procs.MARKER] = marker  # how its leftovers are found, whatever group they are in
    env.pop(TRAINING_SEED_VARIABLE, None)
    if seed is not None:
        env[TRAINING_SEED_VARIABLE] = str(seed)
    if sys.version_info < (3, 12):
        # MXNet imports distutils; setuptools' replacement for it loads pkg_resources, about
        # 0.4 s of CPU per job. Python < 3.12 still has its own, which is enough.
        env["SETUPTOOLS_USE_DISTUTILS"] = "stdlib"
    return env


def training_argv(script: Path, hyperparameters: dict[str, str]) -> list[str]:
    argv = [sys.executable, str(script)]
    for name, value in hyperparameters.items():
        argv += [f"--{name}", str(value)]
    return argv


@dataclass
class TrainingProcess:
    """One running training job: its process group, output pipe and log file."""

    name: str
    popen: subprocess.Popen
    log_file: object  # binary file, append mode
    pid: int
    pgid: int
    start_time: int | None
    _partial: bytes = b""
    eof: bool = False
    exit_status: int | None = None  # os.waitpid status, once reaped
    tail: list[str] = field(default_factory=list)  # last lines, for a failure reason
    log_cap: int = DEFAULT_LOG_MAX
    logged: int = 0  # bytes written to the log
    dropped: int = 0  # bytes past the cap, not written

    @classmethod
    def start(cls, name: str, argv: list[str], env: dict[str, str], folder: Path, log_path: Path,
              log_cap: int = DEFAULT_LOG_MAX) -> "TrainingProcess":
        for sub in ("model", "output"):
            paths.private_dir(folder / sub)
        log_file = open_log(log_path)
        popen = subprocess.Popen(
            argv,
            cwd=folder,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
            bufsize=0,
            # Set between fork and exec: the job dies with the runner that started it, even
            # if the runner dies before it could record the job's pid.
            preexec_fn=procs.die_with_parent(os.getpid()),
        )
        assert popen.stdout is not None
        fd = popen.stdout.fileno()
        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) | os.O_NONBLOCK)
        return cls(name, popen, log_file, popen.pid, popen.pid, procinfo.start_time(popen.pid), log_cap=log_cap,
                   logged=log_path.stat().st_size)

    @property
    def fd(self) -> int:
        assert self.popen.stdout is not None
        return self.popen.stdout.fileno()

    def read_lines(self) -> list[str]:
        """Read what the pipe holds now; log it; return the complete lines (all at EOF)."""
        chunks = []
        while True:
            try:
                data = os.read(self.fd, READ_SIZE)
            except BlockingIOError:
                break
            except OSError:
                data = b""
            if not data:
                self.eof = True
                break
            chunks.append(data)
        data = b"".join(chunks)
        if data:
            self._log(data)
        buf = self._partial + data
        *complete, self._partial = buf.split(b"\n")
        if self.eof and self._partial:
            complete.append(self._partial)
            self._partial = b""
        elif len(self._partial) > MAX_LINE:
            complete.append(self._partial)
            self._partial = b""
        lines = [c.decode("utf-8", "replace").rstrip("\r") for c in complete]
        if lines:
            self.tail = (self.tail + lines)[-40:]
        return lines

    def _log(self, data: bytes) -> None:
        room = self.log_cap - self.logged
        if room > 0:
            kept = data[:room]
            self.log_file.write(kept)
            self.logged += len(kept)
            if len(data) > room:
                self.log_file.write(
                    f"\n[hpo-tui: log cut at {self.log_cap} bytes ([local] log_max_bytes); later output is "
                    "dropped, and the job's last lines follow at the end]\n".encode())
        self.dropped += max(0, len(data) - max(room, 0))

    def signal_group(self, sig: int) -> None:
        procinfo.kill_group(self.pgid, sig)

    def close(self) -> None:
        if self.popen.stdout is not None:
            self.popen.stdout.close()
        if self.dropped:
            last = "".join(line + "\n" for line in self.tail[-20:])
            self.log_file.write(f"[hpo-tui: {self.dropped} bytes dropped here; the last lines:]\n{last}".encode(
                "utf-8", "replace"))
        self.log_file.close()

    @property
    def returncode(self) -> int | None:
        if self.exit_status is None:
            return None
        return os.waitstatus_to_exitcode(self.exit_status)


def describe_exit(code: int) -> str:
    if code < 0:
        try:
            return f"killed by signal {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"
