"""The dict and TOML forms of a spec: reading (with unknown keys and types named),
writing with hints, and the file load/save helpers.

Imports only the rest of `hpo_tui.spec` and `hpo_tui.errors`.
"""

from __future__ import annotations

import contextlib
import os
import re
from dataclasses import fields
from pathlib import Path
from typing import Any

from hpo_tui.spec.model import (
    ROLE_ARN_ENV,
    CategoricalParameter,
    Channels,
    CompletionCriteria,
    ContinuousParameter,
    Estimator,
    HyperbandSettings,
    LocalSettings,
    IntegerParameter,
    MetricDefinition,
    Objective,
    Parameter,
    SageMakerSettings,
    SpecError,
    SpecIssue,
    TuningSpec,
    WarmStartSettings,
    _is_int,
    _is_number,
    _show,
)
from hpo_tui.spec.files import read_spec_text
from hpo_tui.spec.rules import (
    validate,
)

# ---------------------------------------------------------------------------------------
# Dict / TOML form

_TOML_HEADER = (
    "# hpo-tui tuning spec. Check it with: hpo-tui spec validate FILE\n"
    "# Field names follow SageMaker's HyperparameterTuner. With strategy = \"Grid\", leave out\n"
    "# max_jobs to run every combination.\n\n"
)

_TOP_SCALARS = ("backend", "strategy", "early_stopping", "max_jobs", "max_parallel_jobs",
                "max_runtime_seconds", "random_seed", "tuning_job_name")
_TABLES: dict[str, type] = {
    "estimator": Estimator, "objective": Objective, "completion": CompletionCriteria,
    "hyperband": HyperbandSettings, "channels": Channels, "sagemaker": SageMakerSettings,
    "local": LocalSettings,
    "warm_start": WarmStartSettings,
}
_RANGE_KEYS = {"integer": ("type", "min", "max", "scaling"), "continuous": ("type", "min", "max", "scaling"),
               "categorical": ("type", "values")}


def _table_keys(cls: type) -> list[str]:
    return [f.name for f in fields(cls)]


def _range_to_dict(p: Any) -> dict[str, Any]:
    if isinstance(p, CategoricalParameter):
        return {"type": "categorical", "values": list(p.values)}
    return {"type": p.kind, "min": p.min, "max": p.max, "scaling": p.scaling}


def spec_to_dict(spec: TuningSpec) -> dict[str, Any]:
    """Plain data for TOML: None values are left out, tables keep the dataclass field names."""
    out: dict[str, Any] = {}
    for key in _TOP_SCALARS:
        value = getattr(spec, key)
        if value is not None:
            out[key] = value
    for key in ("estimator", "objective"):
        out[key] = _dataclass_dict(getattr(spec, key))
    out["metric_definitions"] = [{"name": m.name, "regex": m.regex} for m in spec.metric_definitions]
    out["ranges"] = {name: _range_to_dict(p) for name, p in spec.ranges.items()}
    for key in ("completion", "hyperband", "channels", "local", "sagemaker"):
        out[key] = _dataclass_dict(getattr(spec, key))
    warm = _dataclass_dict(spec.warm_start)
    if warm:  # written only when used, so specs without warm start read as before
        out["warm_start"] = warm
    return out


def _dataclass_dict(obj: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in fields(obj):
        value = getattr(obj, f.name)
        if value is None:
            continue
        out[f.name] = dict(value) if isinstance(value, dict) else value
    return out


class _Reader:
    """Turns parsed TOML into a TuningSpec, collecting structural problems (unknown keys,
    tables where values belong).  Value types are left to validate(), which reports them
    with the same field paths."""

    def __init__(self) -> None:
        self.issues: list[SpecIssue] = []

    def add(self, path: str, message: str) -> None:
        self.issues.append(SpecIssue(path, message))

    def unknown(self, path: str, key: str, known: list[str] | tuple[str, ...]) -> None:
        import difflib

        close = difflib.get_close_matches(key, known, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        self.add(f"{path}{key}", f"unknown key; {hint}expected one of: {', '.join(known)}")

    def table(self, data: dict[str, Any], key: str) -> dict[str, Any] | None:
        value = data.get(key)
        if value is None:
            return None
        if not isinstance(value, dict):
            self.add(key, f"must be a table ([{key}]), got {_show(value)}")
            return None
        return value

    def dataclass_table(self, data: dict[str, Any], key: str, cls: type) -> Any:
        table = self.table(data, key)
        if table is None:
            return cls()
        known = _table_keys(cls)
        kwargs: dict[str, Any] = {}
        for k, v in table.items():
            if k not in known:
                self.unknown(f"{key}.", k, known)
            elif isinstance(v, dict) and not (cls is Estimator and k == "hyperparameters"):
                self.add(f"{key}.{k}", "must be a value, not a table")
            elif isinstance(v, list) and not (cls is WarmStartSettings and k == "parents"):
                self.add(f"{key}.{k}", "must be a single value, not a list")
            else:
                kwargs[k] = v
        if cls is Estimator and "hyperparameters" in kwargs:
            hps = kwargs["hyperparameters"]
            if isinstance(hps, dict):
                for name, v in hps.items():
                    if isinstance(v, (dict, list)):
                        self.add(f"estimator.hyperparameters.{name}", "must be a string or a number")
                kwargs["hyperparameters"] = {n: v for n, v in hps.items() if not isinstance(v, (dict, list))}
        if cls is CompletionCriteria and "target_objective_value" in kwargs:
            kwargs["target_objective_value"] = _as_float(kwargs["target_objective_value"])
        if cls is Objective:
            for bound in ("lowest", "highest"):
                if bound in kwargs:
                    kwargs[bound] = _as_float(kwargs[bound])
        if cls is SageMakerSettings and _is_int(kwargs.get("price_per_hour")):
            kwargs["price_per_hour"] = float(kwargs["price_per_hour"])
        return cls(**kwargs)

    def range(self, name: str, table: Any) -> Parameter | None:
        path = f"ranges.{name}"
        if not isinstance(table, dict):
            self.add(path, "must be a table, e.g. [ranges.learning_rate] with type = \"continuous\", "
                     "min = 0.01, max = 0.2")
            return None
        kind = table.get("type")
        kind = kind.lower() if isinstance(kind, str) else kind
        if not isinstance(kind, str) or kind not in _RANGE_KEYS:
            what = "missing" if kind is None else f"{_show(table.get('type'))} is not a range type"
            self.add(f"{path}.type", f"{what}; add type = \"integer\", \"continuous\" or \"categorical\"")
            return None
        known = _RANGE_KEYS[kind]
        for k in table:
            if k not in known:
                self.unknown(f"{path}.", k, known)
        if kind == "categorical":
            if "values" not in table:
                self.add(f"{path}.values", "missing; list the values to try, e.g. values = [\"sgd\", \"Adam\"]")
                return None
            values = table["values"]
            if isinstance(values, list):
                # The SDK's CategoricalParameter accepts numbers and passes them as strings.
                values = [str(v) if _is_number(v) else v for v in values]
            return CategoricalParameter(values)
        bounds = {}
        for b in ("min", "max"):
            if b not in table:
                self.add(f"{path}.{b}", f"missing; add {b} = <number>")
                bounds[b] = None
            else:
                bounds[b] = table[b]
        if kind == "continuous":
            bounds = {b: _as_float(v) for b, v in bounds.items()}
            return ContinuousParameter(bounds["min"], bounds["max"], table.get("scaling", "Auto"))
        return IntegerParameter(bounds["min"], bounds["max"], table.get("scaling", "Auto"))

    def spec(self, data: dict[str, Any]) -> TuningSpec:
        known_top = [*_TOP_SCALARS, *_TABLES, "metric_definitions", "ranges"]
        for key in data:
            if key not in known_top:
                self.unknown("", key, known_top)
        kwargs: dict[str, Any] = {}
        for key in _TOP_SCALARS:
            if key in data:
                value = data[key]
                if isinstance(value, (dict, list)):
                    self.add(key, f"must be a single value, not a {'table' if isinstance(value, dict) else 'list'}")
                else:
                    kwargs[key] = value
        # A spec file without max_jobs means "computed" (Grid) rather than the default 9,
        # so a spec with max_jobs = None survives the round trip.
        kwargs.setdefault("max_jobs", None)
        for key, cls in _TABLES.items():
            kwargs[key] = self.dataclass_table(data, key, cls)
        if "metric_definitions" in data:
            defs = data["metric_definitions"]
            if not isinstance(defs, list):
                self.add("metric_definitions", "must be a list of tables: [[metric_definitions]] with "
                         "name and regex")
            else:
                out = []
                for i, md in enumerate(defs):
                    path = f"metric_definitions[{i}]"
                    if not isinstance(md, dict):
                        self.add(path, "must be a table with name and regex")
                        continue
                    for k in md:
                        if k not in ("name", "regex"):
                            self.unknown(f"{path}.", k, ("name", "regex"))
                    for k in ("name", "regex"):
                        if k not in md:
                            self.add(f"{path}.{k}", f"missing; add {k} = \"...\"")
                    out.append(MetricDefinition(md.get("name"), md.get("regex")))
                kwargs["metric_definitions"] = out
        if "ranges" in data:
            table = data["ranges"]
            if not isinstance(table, dict):
                self.add("ranges", "must be a table with one sub-table per tuned hyperparameter")
            else:
                ranges = {}
                for name, sub in table.items():
                    p = self.range(name, sub)
                    if p is not None:
                        ranges[name] = p
                kwargs["ranges"] = ranges
        return TuningSpec(**kwargs)


def _as_float(value: Any) -> Any:
    """A TOML integer where a float belongs, as a float; one too large for a float stays as it
    is, for validate() to name."""
    if _is_int(value):
        try:
            return float(value)
        except OverflowError:
            return value
    return value


def _merge(structural: list[SpecIssue], semantic: list[SpecIssue]) -> list[SpecIssue]:
    """Structural issues first; a semantic issue on a field already reported (or inside one:
    ``ranges.x.min`` under ``ranges.x``) is dropped. Linear in the number of issues: each
    semantic path's own prefixes are looked up, not every structural issue."""
    reported = {s.path for s in structural}

    def covered(path: str) -> bool:
        if path in reported:
            return True
        for i, ch in enumerate(path):
            if ch in ".[" and path[:i] in reported:
                return True
        return False

    return structural + [i for i in semantic if not covered(i.path)]


def spec_from_dict(data: dict[str, Any], *, check: bool = True,
                   base_dir: str | os.PathLike[str] | None = None) -> TuningSpec:
    """Build a spec from plain data (parsed TOML); raises SpecError listing every problem.

    check=False still rejects unknown keys and misplaced tables, but returns a spec whose
    values may break SageMaker's rules (the configure screen uses it to show and fix them).
    """
    if not isinstance(data, dict):
        raise SpecError(SpecIssue("spec", "must be a table of settings"))
    reader = _Reader()
    spec = reader.spec(data)
    issues = reader.issues
    if check:
        issues = _merge(issues, validate(spec, base_dir=base_dir))
    if issues:
        raise SpecError(issues)
    return spec


# Commented examples under empty tables, so a fresh file shows what can go there.
_TABLE_HINTS = {
    "completion": [
        "# target_objective_value = 0.98  # stop once a training job reaches this objective",
        "# max_jobs_not_improving = 5     # stop after this many jobs without a 1% gain (>= 3)",
    ],
    "hyperband": [
        "# min_resource = 1   # epochs; strategy = \"Hyperband\" only",
        "# max_resource = 50",
    ],
    "channels": [
        "# train = \"s3://my-bucket/mnist/train\"  # or a local directory; default: prepared MNIST",
        "# test = \"s3://my-bucket/mnist/test\"",
    ],
    "local": [
        "# concurrency = 2  # local backend: training jobs at once (default: one per core)",
        "# stall_seconds = 300  # no log output and no CPU for this long: the job is marked stalled",
        "# stall_timeout_seconds = 900  # ... and ended as Failed after this long (default: never)",
        "# log_max_bytes = 104857600  # each job log keeps this much (default 100 MB); the cut is marked",
    ],
    "sagemaker": [
        f"# role_arn = \"arn:aws:iam::123456789012:role/SageMakerRole\"  # or ${ROLE_ARN_ENV}",
        "# region = \"us-west-2\"",
        "# profile = \"default\"",
        "# price_per_hour = 0.23  # dollars per instance-hour of instance_type, for the cost estimate",
    ],
}


def dumps_toml(spec: TuningSpec) -> str:
    """The spec as TOML text (with comments); loads_toml reads it back unchanged."""
    import tomli_w

    data = spec_to_dict(spec)
    try:
        text = tomli_w.dumps(data)
    except (TypeError, ValueError) as err:
        raise SpecError(SpecIssue("spec", f"cannot be written as TOML ({err}); run validate() first")) from None
    for key, hints in _TABLE_HINTS.items():
        if data.get(key) == {}:
            text = text.replace(f"\n[{key}]\n", f"\n[{key}]\n" + "\n".join(hints) + "\n", 1)
    return _TOML_HEADER + text


def loads_toml(text: str, *, source: str = "spec", check: bool = True,
               base_dir: str | os.PathLike[str] | None = None) -> TuningSpec:
    """Parse TOML text into a spec; malformed TOML is a SpecError naming line and column."""
    import tomllib

    nested = SpecIssue(source, "arrays or tables are nested too deeply; a spec needs at most a table "
                       "of tables (e.g. [ranges.lr] with values = [...])")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise SpecError(SpecIssue(source, _describe_toml_error(err, text))) from None
    except RecursionError:  # arrays or inline tables nested thousands deep: tomllib recurses
        raise SpecError(nested) from None
    except ValueError as err:  # Python refuses to read an integer of more than 4,300 digits
        what = "a number has thousands of digits; use a smaller one" if "digits" in str(err) else str(err)
        raise SpecError(SpecIssue(source, f"not valid TOML: {what}")) from None
    try:
        return spec_from_dict(data, check=check, base_dir=base_dir)
    except RecursionError:  # nesting tomllib just managed, met again by repr() in a message
        raise SpecError(nested) from None


def _describe_toml_error(err: Exception, text: str) -> str:
    """One line: where the TOML breaks and what tomllib says. The line itself is not quoted:
    the file may not be a spec at all (validate of /etc/shadow must not print its hashes)."""
    message = str(err)
    m = re.search(r"\(at line (\d+), column (\d+)\)", message)
    lines = text.splitlines() or [""]
    if m:
        line, col = int(m.group(1)), int(m.group(2))
        what = message[: m.start()].strip()
    elif "end of document" in message:
        line, col = len(lines), len(lines[-1]) + 1
        what = message.replace("(at end of document)", "at the end of the file").strip()
    else:
        return f"not valid TOML: {message}"
    return f"not valid TOML at line {line}, column {col}: {what}"


def load_spec(path: str | os.PathLike[str], *, check: bool = True) -> TuningSpec:
    """Read a TOML spec file; raises SpecError listing every problem (see spec_from_dict).

    Relative local channel directories are checked from the file's folder (then the
    current directory), as `hpo-tui launch` resolves them.
    """
    p = Path(path)
    text = read_spec_text(p)  # a regular file of at most 1 MiB, or a SpecError
    return loads_toml(text, source=str(p), check=check, base_dir=p.parent)


def save_spec(spec: TuningSpec, path: str | os.PathLike[str]) -> Path:
    """Write the spec as TOML, atomically (a crash never leaves half a file)."""
    import tempfile

    p = Path(path)
    text = dumps_toml(spec)
    tmp = None
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, p)
    except OSError as err:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        raise SpecError(SpecIssue(str(p), f"cannot be written ({err.strerror or err}); "
                                  "choose another path")) from None
    return p
