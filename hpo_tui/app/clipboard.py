"""Copying text out of the app, and saying honestly whether it arrived.

Textual's copy_to_clipboard writes an OSC 52 sequence: the terminal may take it or
silently drop it (tmux without set-clipboard, many SSH setups), and the app cannot know.
A local clipboard tool (wl-copy, xclip, xsel, pbcopy) reports success, so it is tried
first where it can reach the user's clipboard (a desktop session, not over SSH).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

# (argv, what it needs to reach a clipboard): tried in this order.
TOOLS: tuple[tuple[tuple[str, ...], str | None], ...] = (
    (("wl-copy",), "WAYLAND_DISPLAY"),
    (("xclip", "-selection", "clipboard"), "DISPLAY"),
    (("xsel", "--clipboard", "--input"), "DISPLAY"),
    (("pbcopy",), "darwin"),
)
TOOL_TIMEOUT = 3.0


def _reachable(need: str | None) -> bool:
    if need == "darwin":
        return sys.platform == "darwin"
    return need is None or bool(os.environ.get(need))


def copy_with_tool(text: str) -> str | None:
    """Copy with a local clipboard tool; its name when it said it did, else None.

    Blocking (a subprocess): call it from a worker thread. Over SSH the local tools would
    fill the remote machine's clipboard, not the user's: none is tried there."""
    if os.environ.get("SSH_CONNECTION") or os.environ.get("SSH_TTY"):
        return None
    for argv, need in TOOLS:
        if not _reachable(need) or shutil.which(argv[0]) is None:
            continue
        try:
            subprocess.run(list(argv), input=text.encode("utf-8"), timeout=TOOL_TIMEOUT, check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        except (OSError, subprocess.SubprocessError):
            continue
        return argv[0]
    return None


def copy_outcome(copied_by: str | None, *, headless: bool, web: bool) -> tuple[str, str]:
    """(notification title, how the text travelled) after a copy."""
    if copied_by:
        return "Copied", f"copied to the clipboard (with {copied_by})"
    if headless:
        return "Not copied", "not copied: this session has no clipboard (select the text below)"
    if web:
        return "Sent to the browser", ("sent to your browser's clipboard: if the browser refused it, "
                                       "select the text below")
    return "Sent to the terminal", ("sent to the terminal's clipboard (OSC 52): whether it arrived depends on "
                                    "the terminal (tmux needs set-clipboard on); the text is below")
