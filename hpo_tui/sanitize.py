"""The one sanitiser for strings from outside (training output, failure files, AWS messages,
spec values): terminal control sequences are removed before anything prints or shows them.

A training script is user code, but its output must not be able to clear the screen, set
the window title or write the clipboard (OSC 52) of whoever watches it.
"""

from __future__ import annotations

import re

# Whole sequences first, so their parameters don't survive as text; then any single
# C0/C1 control character left (DEL too), except \t and \n. An unterminated string
# sequence (OSC, DCS, ...) ends at the line's end, so it cannot swallow later lines.
_SEQUENCE = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]?"  # CSI: colours, cursor moves, erase screen
    r"|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c\n]*(?:\x07|\x1b\\|\x9c)?"  # OSC, DCS, SOS, PM, APC
    r"|\x1b[ -/]*[0-~]?"  # other escape sequences (charset selection, reset, ...)
    r"|[\x00-\x08\x0b-\x1f\x7f-\x9f]"
)
_ANY_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def sanitize(text: str) -> str:
    """text without terminal control sequences or control characters (\\t and \\n kept)."""
    if not _ANY_CONTROL.search(text):
        return text
    return _SEQUENCE.sub("", text)


def sanitize_optional(text: str | None) -> str | None:
    return None if text is None else sanitize(text)
