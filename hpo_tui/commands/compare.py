"""`hpo-tui compare A B [C D]`: 2-4 tuning jobs side by side (best so far against jobs and
time, each one's best job, the warm-start lineage), or 2-4 training jobs of one tuning job
(their metrics per epoch and which hyperparameters differ), as plain-text tables."""

from __future__ import annotations

import argparse

from hpo_tui import compare


def cmd_compare(args: argparse.Namespace) -> int:
    from hpo_tui.backends import make_backend
    from hpo_tui.backends.base import TuningJobNotFound

    names = list(args.names)
    compare.check_count(names, "training jobs" if args.tuning_job else "tuning jobs")
    backend = make_backend(args.backend or "local", region=args.region, profile=args.profile)
    try:
        if args.tuning_job:
            print(compare.render_training_jobs(compare.load_training_jobs(backend, args.tuning_job, names)))
            return 0
        try:
            print(compare.render_tuning_jobs(compare.load_tuning_jobs(backend, names)))
            return 0
        except TuningJobNotFound as not_tuning:
            # Training job names, perhaps: their tuning job is in their names.
            for candidate in compare.tuning_job_candidates(names[0]):
                try:
                    comparison = compare.load_training_jobs(backend, candidate, names)
                except (TuningJobNotFound, compare.CompareError):
                    continue
                print(compare.render_training_jobs(comparison))
                return 0
            raise compare.CompareError(
                f"{not_tuning}. To compare training jobs, name 2-4 of one tuning job, with "
                "--tuning-job NAME if their names do not start with it") from None
    finally:
        close = getattr(backend, "close", None)
        if close is not None:
            close()
