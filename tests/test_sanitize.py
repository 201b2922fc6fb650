"""The one sanitiser for outside strings (issue 13): control sequences never reach a terminal;
and the Python versions the project claims."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from hpo_tui.sanitize import sanitize

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("plain text, é ü 中文 ★", "plain text, é ü 中文 ★"),
        ("tab\tand\nnewline", "tab\tand\nnewline"),
        ("\x1b[2J\x1b[Hclear", "clear"),  # CSI: erase screen, cursor home
        ("\x1b[38;5;196mred\x1b[0m", "red"),
        ("\x1b]52;c;aGFja2Vk\x07clip", "clip"),  # OSC 52 (clipboard), BEL-terminated
        ("\x1b]0;title\x1b\\text", "text"),  # OSC 0 (window title), ST-terminated
        ("\x1bP1$r0m\x1b\\dcs", "dcs"),  # DCS
        ("\x9b31mC1 CSI", "C1 CSI"),
        ("\x9d0;title\x9cC1 OSC", "C1 OSC"),
        ("\x1b]52;c;unterminated\nnext line", "\nnext line"),  # never swallows later lines
        ("bell\x07 back\x08space\r cr \x00nul \x7fdel", "bell backspace cr nul del"),
        ("\x1b(0charset\x1bc", "charset"),
    ],
)
def test_escape_sequences_are_stripped(raw: str, clean: str) -> None:
    assert sanitize(raw) == clean


def test_the_supported_pythons_agree_in_pyproject_readme_make_and_ci() -> None:
    """3.11 (the spec reader needs tomllib) and 3.12 (the last with NumPy 1.26 wheels, which
    MXNet 1.9 needs): pyproject, the README, the Makefile's interpreter pick and the install
    smoke tests say the same."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["requires-python"] == ">=3.11,<3.13"
    readme = (ROOT / "README.md").read_text()
    assert "| 3.11, 3.12 |" in readme and "requires-python = \">=3.11,<3.13\"" in readme
    assert not re.search(r"Python 3\.1[0-9]\+", readme)  # no open-ended claim
    assert "case \"$1\" in 3.11|3.12)" in (ROOT / "tools" / "pick-python").read_text()
    assert "SUPPORTED = ((3, 11), (3, 12))" in (ROOT / "tests" / "install" / "test_install_smoke.py").read_text()
