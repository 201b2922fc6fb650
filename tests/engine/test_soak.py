"""The short soak (issue 13): random SIGKILLs of runners and training jobs, each runner kill
followed by resume, with the fake trainer; nothing lost, duplicated or left running, and
the store intact. bench/soak.py runs the long one (with the real trainer too)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

SOAK = Path(__file__).resolve().parents[2] / "bench" / "soak.py"


def test_short_soak_of_random_kills_then_resume_loses_nothing():
    spec = importlib.util.spec_from_file_location("soak", SOAK)
    soak = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(soak)
    figures = soak.soak(kills=12, real_kills=0, seed=13, say=print)
    assert figures["kills"] >= 10
    assert figures["runner_kills"] >= 1 and figures["job_kills"] >= 1
    assert figures["lost"] == 0
    assert figures["duplicated"] == 0
    assert figures["orphans"] == 0
    assert figures["integrity"] == "ok"
    # Sampled every 100 ms: every live training process was recorded, and never more at once
    # than max_parallel_jobs.
    assert figures["sampled_samples"] > 0
    assert figures["sampled_untracked"] == 0
    assert figures["sampled_over_limit_samples"] == 0 and figures["sampled_max_concurrent"] <= 2
