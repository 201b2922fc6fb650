"""Regex tester: shows what each metric definition captures from a sample log line, live."""

from __future__ import annotations

import re

from textual import on
from textual.app import ComposeResult
from textual.content import Content
from textual.containers import Vertical
from textual.widgets import Input, Static

from hpo_tui.app.widgets.compact import compact
from hpo_tui.engine.metrics import MetricExtractor, parse_value

DEFAULT_SAMPLE = "Epoch[3] Validation-accuracy=0.9712"


def describe_captures(definitions: list[tuple[str, str]], line: str) -> Content:
    """One line per definition: the value(s) it captures from ``line``, as the engine reads them.

    User text (names, regexes, captures) goes in as plain strings, never as markup.
    """
    if not definitions:
        return Content.styled("no metric definitions", "italic")
    width = max(len(name) for name, _ in definitions)
    parts: list[str | tuple[str, str]] = []
    for i, (name, regex) in enumerate(definitions):
        if i:
            parts.append("\n")
        parts.append((name.ljust(width), "bold"))
        parts.append("  ")
        try:
            compiled = re.compile(regex)
        except re.error as exc:
            parts.append((f"invalid regex: {exc}", "$text-error"))
            continue
        if compiled.groups != 1:
            parts.append((f"needs exactly one capture group (has {compiled.groups})", "$text-error"))
            continue
        captured = [m.group(1) for m in compiled.finditer(line)]
        if not captured:
            parts.append(("no match", "$text-warning"))
            continue
        for j, raw in enumerate(captured):
            if j:
                parts.append(", ")
            value = parse_value(raw)
            if value is None:
                parts.append((f"captures {raw!r}, not a number", "$text-error"))
            else:
                parts.append((f"→ {value:g}", "bold $text-success"))
        # The engine's own extractor gives the epoch it would record the point at.
        points = MetricExtractor([(name, regex)]).feed(line)
        if points:
            # The epoch as the charts and tables count it: from 1 (the log's Epoch[k] counts from 0).
            parts.append((f"  epoch {points[-1].epoch + 1}", "$text-muted"))
    return Content.assemble(*parts)


class RegexTester(Vertical):
    """A sample-line Input and what every metric definition captures from it."""

    DEFAULT_CSS = """
    RegexTester {
        height: auto;
    }
    RegexTester > #regex-results {
        height: auto;
        padding: 0 1;
        margin-top: 1;
    }
    """

    def __init__(
        self,
        definitions: list[tuple[str, str]],
        *,
        sample: str = DEFAULT_SAMPLE,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self._definitions = list(definitions)
        self._sample = sample

    def compose(self) -> ComposeResult:
        yield compact(Input(self._sample, placeholder="paste a log line", id="regex-sample"))
        yield Static(id="regex-results")

    def on_mount(self) -> None:
        # After the first frame: compiling the regexes imports the regex module (~50 ms),
        # which the configure screen's first frame need not wait for.
        self.call_after_refresh(self._first_render)

    def _first_render(self) -> None:
        self._rendered = True
        self._render_results()

    def set_definitions(self, definitions: list[tuple[str, str]]) -> None:
        self._definitions = list(definitions)
        if getattr(self, "_rendered", False):
            self._render_results()

    @on(Input.Changed, "#regex-sample")
    def _sample_changed(self, event: Input.Changed) -> None:
        # The sample line is not part of the spec; the configure screen need not revalidate.
        event.stop()
        self._sample = event.value
        if getattr(self, "_rendered", False):
            self._render_results()

    def _render_results(self) -> None:
        self.query_one("#regex-results", Static).update(
            describe_captures(self._definitions, self._sample)
        )
