"""Settings the TUI remembers between runs (theme, charts on or off, sort), in
settings.toml in the user config dir. A file that can't be read is ignored, with a notice.
"""

from __future__ import annotations

import tomllib
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any, Callable

from hpo_tui import paths

FILE_NAME = "settings.toml"


@dataclass(frozen=True)
class Settings:
    theme: str | None = None
    charts: bool = True
    sort_key: str = ":objective"
    sort_reverse: bool = False


def settings_path() -> Path:
    return paths.config_dir() / FILE_NAME


def load(warn: Callable[[str], Any]) -> Settings:
    """The remembered settings; defaults (and one `warn`ing) when the file is unreadable."""
    path = settings_path()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return Settings()
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        warn(f"Ignored the settings file {path} ({type(error).__name__}): using the defaults. "
             "It is rewritten when you next change the theme, the charts or the sort.")
        return Settings()
    defaults = Settings()
    values: dict[str, Any] = {}
    for field in fields(Settings):
        value = data.get(field.name, getattr(defaults, field.name))
        wanted = type(getattr(defaults, field.name))
        if field.name == "theme":
            value = value if isinstance(value, str) else None
        elif not isinstance(value, wanted):
            warn(f"Ignored {field.name} = {value!r} in {path}: expected {wanted.__name__}.")
            value = getattr(defaults, field.name)
        values[field.name] = value
    return Settings(**values)


def update(warn: Callable[[str], Any], **changes: Any) -> None:
    """Remember changed settings (written atomically; a failure is reported, never raised)."""
    import tomli_w

    current = load(lambda _message: None)  # a corrupt file is replaced by a good one
    new = replace(current, **changes)
    if new == current and settings_path().exists():
        return
    path = settings_path()
    data = {k: v for k, v in asdict(new).items() if v is not None}
    try:  # tables kept by other parts of hpo-tui ([prices]) stay as they are
        kept = tomllib.loads(path.read_text(encoding="utf-8"))
        data = {**{k: v for k, v in kept.items() if isinstance(v, dict)}, **data}
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        pass
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(tomli_w.dumps(data), encoding="utf-8")
        tmp.replace(path)
    except OSError as error:
        warn(f"Could not remember the settings in {path}: {error}")
