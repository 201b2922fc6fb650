"""What one pre-flight check found: the Check record, its statuses, and how an AWS failure
becomes "could not check (missing permission X)" instead of a blocked launch.

Shared by the doctor (`doctor`), the quota checks (`quotas`) and their callers. Headless.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hpo_tui.backends.base import BackendError
from hpo_tui.backends.sagemaker.errors import Transient, error_code, iam_action, translate_error

OK = "ok"
WARN = "warn"
FAIL = "FAIL"
UNKNOWN = "could not check"

# Doctor clients: a check that AWS does not answer degrades to "could not check" quickly,
# rather than waiting out the pollers' 10 adaptive attempts.
DOCTOR_RETRIES = {"mode": "standard", "max_attempts": 3}

_DENIED = frozenset({"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "AuthorizationError",
                     "403", "Forbidden"})


@dataclass(frozen=True)
class Check:
    """One check: what it looked at, what it found, and what to do about it."""

    name: str
    status: str  # OK, WARN, FAIL or UNKNOWN
    found: str
    todo: str = ""

    @property
    def failed(self) -> bool:
        return self.status == FAIL


class CheckUnavailable(Exception):
    """A call the check needs was refused or not answered: the check degrades, never blocks."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def make_client(session: Any, service: str) -> Any:
    from botocore.config import Config

    return session.client(service, config=Config(retries=dict(DOCTOR_RETRIES), connect_timeout=5,
                                                 read_timeout=15))


def ask(client: Any, method: str, **params: Any) -> dict[str, Any]:
    """One read-only call. AccessDenied -> CheckUnavailable naming the missing permission;
    throttling, 5xx, network -> CheckUnavailable saying AWS did not answer. Other AWS errors
    (not found, validation) are raised as they are, for the check to read their code."""
    import botocore.exceptions as bexc

    service = client.meta.service_model.service_id.hyphenize()
    service = {"service-quotas": "servicequotas"}.get(service, service)
    api = client.meta.method_to_api_mapping.get(method, method)
    try:
        return getattr(client, method)(**params)
    except bexc.ClientError as exc:
        if error_code(exc) in _DENIED:
            raise CheckUnavailable(f"missing permission {iam_action(service, api)}") from None
        translated = translate_error(exc, service, api)
        if isinstance(translated, Transient):
            raise CheckUnavailable(f"AWS did not answer {api}: {translated}") from None
        raise
    except (bexc.BotoCoreError, BackendError) as exc:
        translated = translate_error(exc, service, api)
        if isinstance(translated, Transient):
            raise CheckUnavailable(f"AWS did not answer {api}: {translated}") from None
        raise translated from exc


def could_not_check(name: str, reason: str, todo: str = "") -> Check:
    return Check(name, UNKNOWN, f"({reason})", todo)


def summary_lines(checks: list[Check]) -> list[str]:
    """One line per check, then its to-do indented below it."""
    width = max((len(c.name) for c in checks), default=0)
    out: list[str] = []
    for c in checks:
        out.append(f"{c.status:<15} {c.name:<{width}}  {c.found}")
        if c.todo:
            out.append(f"{'':<15} {'':<{width}}  -> {c.todo}")
    return out


def failure_text(checks: list[Check]) -> str:
    failed = [c for c in checks if c.failed]
    lines = [f"{c.name}: {c.found} -> {c.todo}" if c.todo else f"{c.name}: {c.found}" for c in failed]
    return ("The pre-flight checks found " + (f"{len(failed)} problems" if len(failed) > 1 else "a problem")
            + " that would make this launch fail:\n" + "\n".join(lines)
            + "\nNothing was created or uploaded. `hpo-tui doctor SPEC --backend sagemaker` runs every check.")
