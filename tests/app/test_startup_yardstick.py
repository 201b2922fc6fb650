"""bench/tui_bench.py --startup compares the configure screen's first frame with the same
form written in plain Textual (bench/plain_form_app.py). The comparison means something only
while the two hold the same widgets: this test fails when a field, table, button or key is
added to one and not the other, and says where the trees part."""

from __future__ import annotations

import importlib.util
import sys
from collections import Counter
from pathlib import Path

from textual.widget import Widget

from hpo_tui.app.app import make_app
from hpo_tui.app.screens.configure import ConfigureScreen
from tests.app.conftest import SIZE, settle

YARDSTICK = Path(__file__).resolve().parents[2] / "bench" / "plain_form_app.py"


def load_yardstick(*argv: str):
    spec = importlib.util.spec_from_file_location("plain_form_app", YARDSTICK)
    module = importlib.util.module_from_spec(spec)
    saved = sys.argv
    sys.argv = ["plain_form_app.py", *argv]
    try:
        spec.loader.exec_module(module)
    finally:
        sys.argv = saved
    return module


def textual_kind(widget: Widget) -> str:
    """The Textual class a widget is, or is made from (hpo-tui's FieldGrid is a Grid)."""
    return next(cls.__name__ for cls in type(widget).__mro__ if cls.__module__.startswith("textual."))


def tree(root: Widget, depth: int = 0) -> list[str]:
    """One line per widget below root, by nesting, Textual kind and whether it is shown."""
    lines = []
    for child in root.children:
        lines.append(f"{'  ' * depth}{textual_kind(child)}{'' if child.display else ' (hidden)'}")
        lines += tree(child, depth + 1)
    return lines


async def first_frame_tree(app) -> list[str]:
    """The tree of the screen the app opens on, once it has settled."""
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        return [type(app.screen).__name__] + tree(app.screen)


async def test_the_plain_textual_form_holds_the_configure_screens_widgets():
    screen, *ours = await first_frame_tree(make_app())
    assert screen == ConfigureScreen.__name__
    plain = (await first_frame_tree(load_yardstick().PlainFormApp()))[1:]
    assert len(ours) > 100
    assert "\n".join(plain) == "\n".join(ours)


async def test_the_plain_form_without_fields_drops_only_the_rows():
    full = await first_frame_tree(load_yardstick().PlainFormApp())
    bare = await first_frame_tree(load_yardstick("--no-fields").PlainFormApp())
    kinds = Counter(line.strip() for line in full)
    kinds.subtract(line.strip() for line in bare)
    # The 19 rows: their labels, 15 Inputs and 4 Selects with their parts; nothing else.
    assert +kinds == Counter({"Label": 19, "Input": 15, "Select": 4, "SelectCurrent": 4,
                              "NonSelectableStatic": 8, "NonSelectableStatic (hidden)": 4,
                              "SelectOverlay (hidden)": 4})
    assert not -kinds
