"""DataTable's private API is used in one module only (widgets/fast_table.py), where each
use says what it relies on: moving Textual's pin means reading one file."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import textual

APP = Path(__file__).resolve().parents[2] / "hpo_tui" / "app"
FENCE = APP / "widgets" / "fast_table.py"


def data_table_private_names() -> set[str]:
    """The private attributes and methods DataTable defines (self._x = ..., def _x)."""
    source = (Path(textual.__file__).parent / "widgets" / "_data_table.py").read_text(encoding="utf-8")
    assigned = re.findall(r"self\.(_[a-z][a-z0-9_]*)\s*(?::[^=\n]*)?=", source)
    defined = re.findall(r"def (_[a-z][a-z0-9_]*)", source)
    return set(assigned) | set(defined)


def uses_of(names: set[str], path: Path) -> set[str]:
    text = path.read_text(encoding="utf-8")
    used = {name for name in re.findall(r"\.(_[a-z][a-z0-9_]*)\b", text) if name in names}
    # Named in a string too (getattr(table, "_clear_caches")): still a use.
    used |= {name for name in re.findall(r"[\"'](_[a-z][a-z0-9_]*)[\"']", text) if name in names}
    # Overrides count too: a method of DataTable's private API defined again.
    used |= {name for name in re.findall(r"def (_[a-z][a-z0-9_]*)", text) if name in names and name != "__init__"}
    return used


def test_datatable_private_names_are_found_in_textual():
    names = data_table_private_names()
    assert {"_row_locations", "_update_count", "_cell_render_cache", "_render_cell", "_data"} <= names


def test_only_fast_table_touches_datatable_private_api():
    names = data_table_private_names()
    users = {str(path.relative_to(APP)): used for path in sorted(APP.rglob("*.py"))
             if (used := uses_of(names, path))}
    assert set(users) == {"widgets/fast_table.py"}, users


def test_each_method_of_fast_table_that_uses_them_says_so():
    """A method of fast_table.py that reaches into DataTable's privates marks it (PRIVATE,
    OVERRIDE or HACK, with what it relies on) in its body or in the comment above it."""
    names = data_table_private_names()
    source = FENCE.read_text(encoding="utf-8")
    lines = source.splitlines()
    unmarked = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.FunctionDef):
            continue
        first = min([node.lineno] + [d.lineno for d in node.decorator_list])
        body = "\n".join(lines[node.lineno - 1:node.end_lineno])
        above = "\n".join(lines[max(0, first - 6):first - 1])
        used = {n for n in re.findall(r"\.(_[a-z][a-z0-9_]*)\b", body) if n in names}
        if (used or node.name in names) and not re.search(r"PRIVATE|OVERRIDE|HACK", body + above):
            unmarked.append(f"{node.name}: {sorted(used)}")
    assert not unmarked, unmarked
