"""Where hpo-tui keeps its files: HPO_TUI_HOME, else the platform's user data dir.

The home is created and checked once per process: it must be a folder of this user that
no one else can write to, since it holds the store, the job logs and the models. Folders
inside it are never reached through a symbolic link (a planted link would send logs and
models elsewhere).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from hpo_tui.errors import UserError

_checked: set[str] = set()


class HomeError(UserError):
    """The home (or a folder in it) is unsafe or unusable; the message says how to fix it."""


def _home_path() -> Path:
    override = os.environ.get("HPO_TUI_HOME")
    if override:
        return Path(override).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("hpo-tui", appauthor=False))


def _setting(path: Path) -> str:
    return f"HPO_TUI_HOME={path}" if os.environ.get("HPO_TUI_HOME") else f"the data folder {path}"


def home() -> Path:
    """The data directory: created owner-only on first use, and checked (see module doc)."""
    path = _home_path()
    key = str(path)
    if key in _checked:
        return path
    try:
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
    except (FileExistsError, NotADirectoryError):
        raise HomeError(
            f"{_setting(path)} is not a folder (a file is in the way); point HPO_TUI_HOME at a "
            "folder, which hpo-tui creates if it is missing"
        ) from None
    except OSError as err:
        raise HomeError(
            f"cannot create {_setting(path)}: {err.strerror}; set HPO_TUI_HOME to a folder you can write"
        ) from None
    st = path.stat()
    if st.st_uid != os.getuid():
        raise HomeError(
            f"{_setting(path)} belongs to another user (uid {st.st_uid}); hpo-tui keeps its store, "
            "logs and models there, so it must be yours: set HPO_TUI_HOME to a folder of your own"
        )
    if st.st_mode & 0o022:
        raise HomeError(
            f"{_setting(path)} can be written by other users (mode {stat.S_IMODE(st.st_mode):o}), "
            f"who could change results or plant links there; fix it with: chmod 700 {path}"
        )
    if st.st_mode & 0o077:
        os.chmod(path, 0o700)  # it holds job logs and specs: owner-only, like a new one
    _checked.add(key)
    return path


def private_dir(path: Path) -> Path:
    """Create path (and missing parents) owner-only; refuse a symbolic link or a non-folder."""
    try:
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
    except FileExistsError:
        pass  # a file or a link in the way: refused just below
    except OSError as err:
        raise HomeError(f"cannot create the folder {path}: {err.strerror}") from None
    st = os.lstat(path)
    if stat.S_ISLNK(st.st_mode):
        raise HomeError(
            f"{path} is a symbolic link; hpo-tui does not follow links inside its data folder: "
            "remove it (rm), and hpo-tui creates a real folder"
        )
    if not stat.S_ISDIR(st.st_mode):
        raise HomeError(f"{path} is not a folder; move it aside, and hpo-tui creates the folder")
    return path


def refuse_link(path: Path) -> Path:
    """path, unless it is a symbolic link (the store is never opened through one)."""
    if path.is_symlink():
        raise HomeError(
            f"{path} is a symbolic link; hpo-tui does not follow links inside its data folder: "
            "remove it, or set HPO_TUI_HOME to another folder"
        )
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


def store_path_unchecked() -> Path:
    """Where the store is, for an error message (no checks, nothing created)."""
    return _home_path() / "store.sqlite3"


def jobs_dir() -> Path:
    """Per-training-job folders (model, output, logs) of the local engine."""
    return private_dir(home() / "jobs")


def mnist_dir() -> Path:
    """The prepared local MNIST channels (train/, test/)."""
    return home() / "data" / "mnist"


def training_dir() -> Path:
    """The training/ source dir shipped next to the package (SageMaker's source_dir)."""
    return Path(__file__).resolve().parent.parent / "training"
