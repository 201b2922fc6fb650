"""End to end in a real terminal: the installed `hpo-tui` in a 120x40 tmux pane, driven
with send-keys and read with capture-pane, launching real local MXNet jobs."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

TMUX = shutil.which("tmux")
HPO_TUI = Path(sys.executable).parent / "hpo-tui"
WAIT = 180.0  # guards against hangs, not speed assertions
FORM_WAIT = 30.0
# Quitting with a read blocked on a locked store: generous for a loaded machine, yet half of
# SQLite's 10 s busy timeout that the process used to wait out.
QUIT_DEADLINE = 5.0
AFTER_EXIT = ("import subprocess, sys, time; rc = subprocess.run(sys.argv[1:]).returncode; "
              "print(f'[hpo-tui exited {rc}]', flush=True); time.sleep(120)")

pytestmark = [
    pytest.mark.skipif(TMUX is None, reason="tmux is not installed (apt-get install tmux)"),
    pytest.mark.skipif(not HPO_TUI.exists(), reason=f"the console script is not installed: pip install -e . ({HPO_TUI})"),
]


class Pane:
    """One tmux server on a private socket, running one command in a 120x40 pane."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.socket = f"hpo-tui-e2e-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.env = env
        self._tmux("new-session", "-d", "-x", "120", "-y", "40", "-s", "e2e", *argv)
        # Keep the pane after the app exits, to read its exit status and last words.
        self._tmux("set-option", "-t", "e2e", "remain-on-exit", "on")
        self.server_pid = int(self._tmux("display-message", "-p", "#{pid}"))

    def _tmux(self, *args: str) -> str:
        result = subprocess.run([TMUX, "-L", self.socket, *args], env=self.env, capture_output=True,
                                text=True, timeout=30, check=True)
        return result.stdout

    def keys(self, *keys: str, pause: float = 0.2) -> None:
        # One key per send-keys with a pause: on a busy machine the app may still be
        # handling a focus change when the next key arrives.
        for key in keys:
            self._tmux("send-keys", "-t", "e2e", key)
            time.sleep(pause)

    def type(self, text: str) -> None:
        self._tmux("send-keys", "-t", "e2e", "-l", text)
        time.sleep(0.3)

    def replace_input(self, text: str) -> None:
        """Clear the focused Input and type text into it."""
        self.keys("End", "C-u", pause=0.3)
        self.type(text)

    def fill(self, click: str, new: str, shown: str) -> None:
        """Click the input found by `click` (group 1), replace its text with `new`, and wait
        until the pane matches `shown`.

        The wait keeps the next click on target: clearing an input can show an error line
        that moves the rows below it, and on a loaded machine the pane may still show that
        in-between layout when the next click's position is read."""
        self.click_text(click)
        self.replace_input(new)
        self.wait_for(lambda s: re.search(shown, s) is not None, f"{shown!r} after typing {new!r}",
                      timeout=FORM_WAIT)

    def write(self, data: str) -> None:
        """Send data to the app in one write.

        send-keys writes a sequence key by key, and on a loaded machine the app can read an
        escape sequence's ESC on its own: after ESCDELAY (100 ms) Textual reports it as the
        Escape key and types the rest ("[<0;82;13M") into the focused input. A paste buffer
        is written whole (no brackets without -p)."""
        self._tmux("set-buffer", "-b", "e2e-raw", data)
        self._tmux("paste-buffer", "-d", "-b", "e2e-raw", "-t", "e2e")

    def click(self, col: int, row: int) -> None:
        """A left click, as the terminal reports it to the app (SGR mouse, 1-based)."""
        for final in ("M", "m"):
            self.write(f"\x1b[<0;{col + 1};{row + 1}{final}")
            time.sleep(0.05)
        time.sleep(0.3)

    def find(self, pattern: str, screen: str | None = None) -> tuple[int, int]:
        """(column, row) of the first match of pattern's group 1 (or the whole match)."""
        screen = screen if screen is not None else self.text()
        for row, line in enumerate(screen.splitlines()):
            m = re.search(pattern, line)
            if m:
                group = 1 if m.groups() else 0
                return m.start(group), row
        raise AssertionError(f"{pattern!r} is not on the pane:\n{screen}")

    def click_text(self, pattern: str, screen: str | None = None) -> None:
        col, row = self.find(pattern, screen if screen is not None else self.settled_text())
        self.click(col + 1, row)

    def settled_text(self, timeout: float = 10.0) -> str:
        """The pane once two captures 0.4 s apart agree: a click aims at a layout that has
        stopped moving (an error line under a field can still be coming or going, and on a
        loaded machine the capture may show the in-between layout)."""
        deadline = time.monotonic() + timeout
        before = self.text()
        while True:
            time.sleep(0.4)
            now = self.text()
            if now == before or time.monotonic() > deadline:
                return now
            before = now

    def text(self) -> str:
        return self._tmux("capture-pane", "-p", "-t", "e2e")

    def wait_for(self, predicate, what: str, timeout: float = WAIT) -> str:
        deadline = time.monotonic() + timeout
        screen = self.text()
        while not predicate(screen):
            if time.monotonic() > deadline:
                raise AssertionError(f"gave up waiting for {what}; the pane shows:\n{screen}")
            time.sleep(0.3)
            screen = self.text()
        return screen

    def exit_status(self) -> int | None:
        """None while the command runs, else its exit status; -N when signal N killed it
        (tmux 3.3a leaves #{pane_dead_status} empty then, and sets #{pane_dead_signal}).
        Both are set only once the pane is dead."""
        status, signal_number, pid = self._tmux(
            "list-panes", "-t", "e2e", "-F", "#{pane_dead_status}|#{pane_dead_signal}|#{pane_pid}"
        ).strip().split("|")
        if status:
            return int(status)
        if signal_number:
            return -int(signal_number)
        if _is_zombie(int(pid)):
            # The command has exited, but tmux has not collected its status. Debian's tmux 3.3a
            # is linked with libutempter, whose own SIGCHLD handler, in place while tmux removes
            # the pane's utmp record as the pane's terminal closes, can swallow the pane's
            # SIGCHLD (tmux/tmux#311, #4559): the status is then never collected, and the pane
            # reads as "did not exit" with a blank screen. Nudge our own server to reap it.
            os.kill(self.server_pid, signal.SIGCHLD)
        # Running, or exited a moment ago: tmux marks a pane dead when its terminal closes,
        # a moment before it collects the exit status.
        return None

    def wait_for_exit(self, what: str, timeout: float = FORM_WAIT) -> int:
        """The exit status once the command has ended; a crash reads as one, not as a hang."""
        deadline = time.monotonic() + timeout
        while (status := self.exit_status()) is None:
            if time.monotonic() > deadline:
                raise AssertionError(f"hpo-tui did not exit {what} within {timeout:g} s:\n{self.stacks()}")
            time.sleep(0.05)
        assert status >= 0, f"hpo-tui was killed by signal {-status} {what}:\n{self.text()}"
        return status

    def stacks(self) -> str:
        """What a process that does not exit is doing: SIGABRT makes Python's faulthandler
        (PYTHONFAULTHANDLER=1 in the pane) print every thread's stack on the pane."""
        pid = int(self._tmux("list-panes", "-t", "e2e", "-F", "#{pane_pid}").split()[0])
        tasks = Path(f"/proc/{pid}/task")
        state = []
        for task in sorted(tasks.iterdir()) if tasks.exists() else []:
            try:
                stat = (task / "stat").read_text().split(") ")[1].split()
                state.append(f"{task.name} {(task / 'comm').read_text().strip()} {stat[0]} ppid {stat[1]} "
                             f"{(task / 'wchan').read_text()}")
            except OSError:
                pass
        dead = self._tmux("list-panes", "-t", "e2e", "-F", "#{pane_dead} #{pane_dead_status} #{pane_dead_signal}")
        state.append(f"tmux server {self.server_pid}: pane_dead/status/signal {dead.strip()!r}")
        try:
            os.kill(pid, signal.SIGABRT)
            time.sleep(2.0)
        except ProcessLookupError:
            pass
        pane = self._tmux("capture-pane", "-p", "-S", "-300", "-t", "e2e")
        return "threads (tid comm state wchan):\n" + "\n".join(state) + "\npane:\n" + pane

    def kill(self) -> None:
        subprocess.run([TMUX, "-L", self.socket, "kill-server"], env=self.env, capture_output=True, timeout=30)


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1].startswith("Z")
    except (OSError, IndexError):
        return False


@pytest.fixture
def pane_env(hpo_home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["HPO_TUI_HOME"] = str(hpo_home)
    env["TERM"] = "xterm-256color"
    env["PYTHONFAULTHANDLER"] = "1"  # stacks on SIGABRT, see Pane.stacks
    env.pop("TMUX", None)
    return env


def test_launch_default_spec_reduced_in_the_form_watch_best_and_quit(pane_env, mnist_channels, hpo_home):
    from hpo_tui.backends.local import LocalBackend

    pane = Pane([str(HPO_TUI)], pane_env)
    try:
        pane.wait_for(lambda s: "Hyperparameter ranges" in s and "ready to launch" in s, "the configure screen",
                      timeout=FORM_WAIT)

        # Static hyperparameter max_train_samples=3000, through the key/value inputs.
        screen = pane.text()
        name_at, value_at, set_at = (pane.find(p, screen) for p in (r"│ (name)\s+value", r"name\s+(value)", r"value\s+(Set)"))
        pane.click(name_at[0] + 1, name_at[1])
        pane.type("max_train_samples")
        pane.click(value_at[0] + 1, value_at[1])
        pane.type("3000")
        pane.click(set_at[0] + 1, set_at[1])
        pane.wait_for(lambda s: re.search(r"max_train_samples\s+3000", s) is not None, "the static hyperparameter",
                      timeout=FORM_WAIT)

        # num_epoch 10..50 -> 1..2 in the range editor.
        pane.click_text(r"(num_epoch)\s+integer")
        pane.keys("e", pause=0.5)
        pane.wait_for(lambda s: "enter: OK · escape: cancel" in s, "the range editor", timeout=FORM_WAIT)
        pane.fill(r"\bMin\s.*?\b(10)\b", "1", r"\bMin\s.*?\b1\b")
        pane.fill(r"\bMax\s.*?\b(50)\b", "2", r"\bMax\s.*?\b2\b")
        pane.keys("Enter", pause=0.5)
        pane.wait_for(lambda s: re.search(r"num_epoch\s+integer\s+1 … 2", s) is not None, "num_epoch 1 … 2",
                      timeout=FORM_WAIT)

        # Max jobs 9 -> 2, two at once, on the session's prepared MNIST channels.
        pane.fill(r"Max jobs\s+(9)", "2", r"Max jobs\s+2\b")
        pane.fill(r"Max parallel\s+(3)", "2", r"Max parallel\s+2\b")
        # The paths are longer than the inputs: wait for the placeholder to go instead.
        pane.fill(r"Train channel\s+(prepared)", str(mnist_channels / "train"), r"Train channel\s+(?!prepared)\S")
        pane.fill(r"Test channel\s+(prepared)", str(mnist_channels / "test"), r"Test channel\s+(?!prepared)\S")
        screen = pane.wait_for(lambda s: "ready to launch" in s and re.search(r"Max parallel\s+2\b", s) is not None,
                               "a valid form", timeout=FORM_WAIT)
        assert re.search(r"Max jobs\s+2\b", screen), screen

        pane.click_text(r"Save…\s+(Launch)")
        screen = pane.wait_for(lambda s: "★" in s and "Completed" in s and "2/2 finished" in s,
                               "a ★ row and Completed jobs")
        name = re.search(r"(mnist-hpo-[A-Za-z0-9-]+) · local", screen).group(1)
        starred = [line for line in screen.splitlines() if "★" in line and "Completed" in line]
        assert starred, screen
        # Once the tuning job itself has ended, q quits without a question.
        pane.wait_for(lambda s: f"{name} · local · Completed" in s, "the tuning job to complete")
        pane.keys("q", pause=0.5)
        assert pane.wait_for_exit("after q") == 0, pane.text()
    finally:
        pane.kill()
        backend = LocalBackend()
        try:
            for job in backend.list_tuning_jobs():
                backend.stop(job.name)
                deadline = time.monotonic() + 60
                while not backend.poll(job.name).tuning_job.is_terminal and time.monotonic() < deadline:
                    time.sleep(0.2)
        finally:
            backend.close()
    backend = LocalBackend()
    try:
        assert backend.poll(name).tuning_job.status_counters.completed == 2
    finally:
        backend.close()


def test_attach_then_quit_while_running_prints_how_to_reattach(pane_env, mnist_channels, tmp_path):
    from hpo_tui.backends.local import LocalBackend
    from hpo_tui.spec import CategoricalParameter, ContinuousParameter, TuningSpec

    spec = TuningSpec()
    spec.ranges = {"optimizer": CategoricalParameter(["sgd"]), "learning_rate": ContinuousParameter(0.05, 0.2)}
    spec.estimator.hyperparameters = {"batch_size": 100, "num_epoch": 2, "max_train_samples": 3000}
    spec.max_jobs, spec.max_parallel_jobs = 3, 1
    spec.channels.train, spec.channels.test = str(mnist_channels / "train"), str(mnist_channels / "test")
    backend = LocalBackend()
    name = backend.launch(spec)
    # A wrapper keeps the pane alive after hpo-tui exits: tmux may drop the last output of
    # a pane whose process has just ended, and the hint is printed right at the end.
    pane = Pane([sys.executable, "-c", AFTER_EXIT, str(HPO_TUI), "attach", name], pane_env)
    try:
        pane.wait_for(lambda s: name in s and "InProgress" in s, "the dashboard of the running job")
        pane.keys("q", pause=0.5)
        pane.wait_for(lambda s: "Quit hpo-tui?" in s, "the quit question", timeout=FORM_WAIT)
        pane.keys("Enter", pause=0.5)
        screen = pane.wait_for(lambda s: "[hpo-tui exited" in s, "hpo-tui to exit", timeout=FORM_WAIT)
        assert "[hpo-tui exited 0]" in screen, screen
        assert f"Reattach with: hpo-tui attach {name}" in screen, screen
        # Quitting never stops the tuning job.
        assert not backend.poll(name).tuning_job.is_terminal
    finally:
        pane.kill()
        try:
            backend.stop(name)
            deadline = time.monotonic() + 60
            while not backend.poll(name).tuning_job.is_terminal and time.monotonic() < deadline:
                time.sleep(0.2)
        finally:
            backend.close()


def test_quit_with_the_store_locked_exits_at_once(pane_env, hpo_home):
    """A read blocked on a locked store must not keep hpo-tui alive after quitting: the TUI's
    reads give up quickly (stale data), and its workers run on threads quitting never joins.
    The store's own busy timeout is 10 s: the deadline below is well under it."""
    import sqlite3

    from hpo_tui import paths
    from tests.app.conftest import record_tuning_job

    name = "locked-store-job"
    record_tuning_job(name)
    # An exclusive lock, as a stuck writer or a backup tool would hold it: readers get SQLITE_BUSY.
    locker = sqlite3.connect(paths.store_path(), isolation_level=None, timeout=5)
    locker.execute("PRAGMA locking_mode = EXCLUSIVE")
    locker.execute("BEGIN EXCLUSIVE")
    pane = Pane([str(HPO_TUI), "attach", name], pane_env)
    try:
        pane.wait_for(lambda s: name in s and ("store is busy" in s or "database is locked" in s), "the dashboard to report the locked store",
                      timeout=FORM_WAIT)
        pane.keys("r", pause=0.05)  # a poll in flight as q arrives
        pane.keys("q", pause=0.3)
        # Nothing could be read, so the status is unknown: quitting asks first.
        pane.wait_for(lambda s: "Quit hpo-tui?" in s and "status not known yet" in s, "the quit question",
                      timeout=FORM_WAIT)
        pane.keys("Enter", pause=0)
        assert pane.wait_for_exit("with the store locked", timeout=QUIT_DEADLINE) == 0, pane.text()
    finally:
        pane.kill()
        locker.close()
