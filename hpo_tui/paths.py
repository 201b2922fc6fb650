"""Where hpo-tui keeps its files: HPO_TUI_HOME, else the platform's user data dir."""

from __future__ import annotations

import os
from pathlib import Path


def home() -> Path:
    """The data directory (created owner-only on first use)."""
    override = os.environ.get("HPO_TUI_HOME")
    if override:
        path = Path(override).expanduser()
    else:
        import platformdirs

        path = Path(platformdirs.user_data_dir("hpo-tui", appauthor=False))
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def config_dir() -> Path:
    """Where the user's settings live: HPO_TUI_HOME, else the platform's user config dir."""
    override = os.environ.get("HPO_TUI_HOME")
    if override:
        return Path(override).expanduser()
    import platformdirs

    return Path(platformdirs.user_config_dir("hpo-tui", appauthor=False))


def exports_dir() -> Path:
    """Where exports go unless told otherwise: HPO_TUI_HOME/exports, else ~/Documents/hpo-tui."""
    override = os.environ.get("HPO_TUI_HOME")
    if override:
        return Path(override).expanduser() / "exports"
    import platformdirs

    return Path(platformdirs.user_documents_dir()) / "hpo-tui"


def store_path() -> Path:
    """The local engine's SQLite store."""
    return home() / "store.sqlite3"


def jobs_dir() -> Path:
    """Per-training-job folders (model, output, logs) of the local engine."""
    path = home() / "jobs"
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def mnist_dir() -> Path:
    """The prepared local MNIST channels (train/, test/)."""
    return home() / "data" / "mnist"


def training_dir() -> Path:
    """The training/ source dir shipped next to the package (SageMaker's source_dir)."""
    return Path(__file__).resolve().parent.parent / "training"
