"""Lines that fit their width: a header's " · "-separated parts abbreviated, then wrapped,
never cut in the middle of a counter. Plain strings (no textual), tested on their own.
"""

from __future__ import annotations

import re

SEPARATOR = " · "
# Shorter words for the header's counters, tried when the full line does not fit. A part
# that matches none keeps its text (and is only ever moved to the next line, never cut).
ABBREVIATIONS: tuple[tuple[str, str], ...] = (
    (r"^(\d+/\d+) finished$", r"\1 done"),
    (r"^(\d+) allowed, (\d+) running \((\d+) cores?\)$", r"\2/\1 run (\3 cpu)"),
    (r"^(\d+) allowed, (\d+) running$", r"\2/\1 run"),
    (r"^(\d+) running$", r"\1 run"),
    (r"^(\d+) completed$", r"\1 ok"),
    (r"^(\d+) failed$", r"\1 fail"),
    (r"^(\d+) stopped$", r"\1 stop"),
    (r"^epochs (\d+/\d+)$", r"ep \1"),
    (r"^ETA after the first epoch$", "ETA after epoch 1"),
)


def abbreviate(part: str) -> str:
    for pattern, replacement in ABBREVIATIONS:
        short, count = re.subn(pattern, replacement, part)
        if count:
            return short
    return part


def fit_parts(parts: list[str], width: int, max_lines: int = 2) -> list[str]:
    """The parts joined with " · " in lines of at most `width` characters: in full on one
    line if they fit, else abbreviated, else wrapped between parts (at most max_lines
    lines; a part longer than a line is the only thing ever cut, with "…")."""
    if not parts:
        return [""]
    full = SEPARATOR.join(parts)
    if width <= 0 or len(full) <= width:
        return [full]
    short = [abbreviate(p) for p in parts]
    joined = SEPARATOR.join(short)
    if len(joined) <= width:
        return [joined]
    lines: list[str] = []
    line = ""
    for part in short:
        candidate = f"{line}{SEPARATOR}{part}" if line else part
        if len(candidate) <= width or not line:
            line = candidate
        else:
            lines.append(line)
            line = part
    lines.append(line)
    if len(lines) > max_lines:
        lines = lines[:max_lines - 1] + [SEPARATOR.join(lines[max_lines - 1:])]
    return [text if len(text) <= width else text[:width - 1] + "…" for text in lines]


def first_that_fits(candidates: list[str], width: int) -> str:
    """The first candidate no wider than `width` (the last one, cut with "…", if none is)."""
    for text in candidates:
        if len(text) <= width:
            return text
    last = candidates[-1]
    return last if width <= 0 else last[:width - 1] + "…"
