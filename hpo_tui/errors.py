"""The one exception family whose message is meant for the user (cause + fix). A leaf: it
imports only the sanitiser (the last resort for other errors lives in hpo_tui.crash)."""

from __future__ import annotations


class UserError(Exception):
    """str(err) names what is wrong and how to fix it; the CLI prints it without a traceback.

    Messages often quote outside text (an AWS message, a spec value, a path), so they pass
    through the sanitiser: whoever shows one cannot be made to emit control sequences."""

    def __init__(self, *args: object) -> None:
        from hpo_tui.sanitize import sanitize

        super().__init__(*(sanitize(a) if isinstance(a, str) else a for a in args))
