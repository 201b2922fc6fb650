"""What one instance-hour of each SageMaker instance type costs, as the user gave it (no price
list is built in: prices differ by region and change). Kept in the `[prices]` table of
settings.toml, so a dashboard attached later, `status` and the TUI all show dollars.
"""

from __future__ import annotations

import math
import tomllib
from typing import Any

from hpo_tui import paths

TABLE = "prices"


def _settings_file() -> Any:
    return paths.config_dir() / "settings.toml"


def _read() -> dict[str, Any]:
    try:
        return tomllib.loads(_settings_file().read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return {}


def valid_price(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value > 0


def load_prices() -> dict[str, float]:
    """instance type -> dollars per instance-hour; a value that is not a price is left out."""
    table = _read().get(TABLE)
    if not isinstance(table, dict):
        return {}
    return {str(k): float(v) for k, v in table.items() if valid_price(v)}


def remember_price(instance_type: str, price: float) -> str | None:
    """Keep a price for an instance type (the file's other settings kept; written atomically).
    Returns why it could not be written, or None."""
    if not valid_price(price) or load_prices().get(instance_type) == float(price):
        return None
    import tomli_w

    data = _read()
    table = data.get(TABLE) if isinstance(data.get(TABLE), dict) else {}
    table[instance_type] = float(price)
    data[TABLE] = table
    path = _settings_file()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".prices.tmp")
        tmp.write_text(tomli_w.dumps(data), encoding="utf-8")
        tmp.replace(path)
    except OSError as error:
        return f"could not remember the price of {instance_type} in {path}: {error}"
    return None
