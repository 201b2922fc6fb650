"""One writer (the runner) and four reader processes polling the store at once."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from hpo_tui import paths
from hpo_tui.engine.store import Store

from .conftest import wait_for

READ_SECONDS = 20

READER = textwrap.dedent(
    """
    import json, sys, time
    from hpo_tui.backends.local import LocalBackend
    name, seconds = sys.argv[1], float(sys.argv[2])
    backend = LocalBackend()
    errors, polls, points, cursor = [], 0, 0, None
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            snap = backend.poll(name, cursor)
            cursor = snap.cursor
            points += len(snap.new_points)
            backend.list_tuning_jobs()
            for job in snap.training_jobs[-2:]:
                backend.log_tail(job.name)
            polls += 1
        except Exception as err:  # every failure is reported, none hidden
            errors.append(f"{type(err).__name__}: {err}")
        time.sleep(0.005)
    print(json.dumps({"errors": errors, "polls": polls, "points": points}))
    """
)


def test_one_writer_and_four_readers_for_20_seconds(backend, fake_spec):
    # Many short jobs that print a metric line every few milliseconds keep the runner writing.
    name = backend.launch(fake_spec(static={"num_epoch": 60, "sleep": 0.02, "noise": 3},
                                    max_jobs=200, max_parallel_jobs=2))
    before = wait_for(backend, name, lambda s: len(s.new_points) > 0).cursor
    readers = [
        subprocess.Popen([sys.executable, "-c", READER, name, str(READ_SECONDS)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    results = []
    for reader in readers:
        out, err = reader.communicate(timeout=READ_SECONDS + 60)
        assert reader.returncode == 0, err
        results.append(json.loads(out))
    during = backend.poll(name)
    assert during.tuning_job.status == "InProgress"  # still writing at the end
    assert during.cursor.point_id > before.point_id + 100  # the runner kept writing while they read
    backend.stop(name)
    snap = wait_for(backend, name)
    assert snap.tuning_job.status == "Stopped"

    for result in results:
        assert result["errors"] == []
        assert result["polls"] > 0 and result["points"] > 0
    assert not any("locked" in e for r in results for e in r["errors"])
    store = Store.reader(paths.store_path())
    assert store.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    store.close()
