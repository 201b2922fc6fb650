"""The one exception family whose message is meant for the user (cause + fix)."""


class UserError(Exception):
    """str(err) names what is wrong and how to fix it; the CLI prints it without a traceback."""
