"""The headless core stays headless: checked in fresh interpreters and with import-linter."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def loaded_after(code: str) -> tuple[set[str], set[str]]:
    """Run `code` in a fresh interpreter: (top-level packages in sys.modules, hpo_tui modules)."""
    script = code + "\nimport sys, json\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    modules = json.loads(out.stdout.splitlines()[-1])
    return {m.split(".")[0] for m in modules}, {m for m in modules if m.startswith("hpo_tui")}


def test_spec_loads_no_ui_no_framework_no_sdk() -> None:
    loaded, ours = loaded_after("import hpo_tui.spec")
    assert "hpo_tui.spec" in ours
    assert not loaded & {"textual", "mxnet", "sagemaker", "botocore", "boto3", "optuna"}, loaded


# Every submodule of the engine and the backends, as they exist in this checkout.
IMPORT_CORE = """
import importlib, pkgutil
import hpo_tui.backends, hpo_tui.engine
for package in (hpo_tui.engine, hpo_tui.backends):
    for info in pkgutil.iter_modules(package.__path__, package.__name__ + "."):
        importlib.import_module(info.name)
"""


def test_engine_and_backends_never_load_textual() -> None:
    loaded, ours = loaded_after(IMPORT_CORE)
    assert {"hpo_tui.engine.metrics", "hpo_tui.backends.base"} <= ours
    assert "textual" not in loaded, sorted(m for m in ours if m.startswith(("hpo_tui.engine", "hpo_tui.backends")))


def test_import_linter_contracts_hold() -> None:
    lint_imports = Path(sys.executable).parent / "lint-imports"
    out = subprocess.run([str(lint_imports)], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "BROKEN" not in out.stdout and "0 broken" in out.stdout


def test_no_import_cycles_in_the_package() -> None:
    """Every import between hpo_tui's modules points one way: no strongly connected component
    of the import graph (imports inside functions and TYPE_CHECKING blocks included) has more
    than one module."""
    import grimp

    graph = grimp.build_graph("hpo_tui")
    modules = sorted(graph.modules)
    edges = {m: sorted(graph.find_modules_directly_imported_by(m)) for m in modules}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(root: str) -> None:
        # Tarjan's algorithm, iteratively (the graph is deep enough to matter for recursion).
        work = [(root, iter(edges[root]))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(edges[child])))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        cycles.append(sorted(component))

    for module in modules:
        if module not in index:
            visit(module)
    assert not cycles, f"import cycles: {cycles}"


def test_no_module_is_over_500_lines() -> None:
    """Every module of the package and of the training script, in every package: a room a new
    engineer can read whole. One over the cap is split along its jobs, not trimmed."""
    paths = sorted([*(ROOT / "hpo_tui").rglob("*.py"), *(ROOT / "training").rglob("*.py")])
    assert len(paths) > 100  # the walk found the package
    too_long = {str(p.relative_to(ROOT)): n for p in paths
                if (n := len(p.read_text(encoding="utf-8").splitlines())) > 500}
    assert not too_long, f"over 500 lines, split them along their jobs: {too_long}"
