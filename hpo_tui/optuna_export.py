"""The Optuna export: a tuning job as one Optuna study in a JournalStorage file, which
`optuna.load_study` and `optuna-dashboard FILE` open.

The study is named after the tuning job and holds one trial per training job (in launch
order): the tuned hyperparameters with their distributions (from the launched ranges),
the final objective, and the objective after each epoch as intermediate values (step =
epochs done). hpo_tui.analysis builds it; this module only writes the file.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from hpo_tui.analysis import build_study
from hpo_tui.errors import UserError
from hpo_tui.views import MetricPoint, Snapshot


def write_optuna_journal(snap: Snapshot, points: tuple[MetricPoint, ...] | list[MetricPoint],
                         path: Path) -> int:
    """Write the journal file (replacing any file there); return the number of trials."""
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    path = Path(path).expanduser()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # A journal file is appended to; write a fresh one beside the target, then swap it in.
        fd, tmp_name = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
        os.close(fd)
    except OSError as err:
        raise UserError(f"cannot write {path}: {err.strerror or err}; choose another --output") from err
    tmp = Path(tmp_name)
    try:
        tmp.unlink()
        storage = JournalStorage(JournalFileBackend(str(tmp)))
        study = build_study(snap, points, storage=storage)
        count = len(study.trials)
        del study, storage
        tmp.replace(path)
    except OSError as err:
        raise UserError(f"cannot write {path}: {err.strerror or err}; choose another --output") from err
    finally:
        for leftover in (tmp, Path(str(tmp) + ".lock")):
            try:
                leftover.unlink()
            except FileNotFoundError:
                pass
    return count
