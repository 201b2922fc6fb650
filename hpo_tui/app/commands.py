"""Command palette: the current screen's keys (built from the BINDINGS of the screen and of
the widgets on it, so the palette and the keys cannot drift apart), and the app's places.

A binding is offered when it has an id (ours all do; Textual's own cursor keys do not) and
acts on the screen or a widget (app-wide keys are the Navigation provider's). Its tooltip
names and explains it: "Filter by status: show only some training job statuses" is offered
as "Filter by status", with the rest and its key as help; a tooltip without ": " is help
under the binding's description.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Callable

from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.dom import DOMNode
from textual.screen import Screen

from hpo_tui.app.typed import HpoAppBase

# A match in the help text only ranks below matches in names ("slice" finds "Search views",
# whose help lists "Slice, importance, ...").
HELP_MATCH_WEIGHT = 0.5


def match_entry(matcher, name: str, help_text: str) -> float:
    """How well a query matches an entry: its name (fuzzily), else its help text (as words:
    fuzzy letters scattered over a sentence would match almost anything), weighed down."""
    score = matcher.match(name)
    if score > 0:
        return score
    query = matcher.query.strip().lower()
    return HELP_MATCH_WEIGHT if query and query in help_text.lower() else 0.0


@dataclass(frozen=True)
class PaletteEntry:
    name: str
    help: str
    action: str  # as the binding gives it, run from the node that declares it
    node: DOMNode

    async def run(self) -> None:
        await self.node.run_action(self.action)


def _declared_bindings(node: DOMNode) -> list[Binding]:
    """The bindings a node's class declares, its own first, then those it inherits."""
    bindings: list[Binding] = []
    for cls in type(node).__mro__:
        declared = cls.__dict__.get("BINDINGS", ())
        bindings += [b for b in declared if isinstance(b, Binding)]
        if not cls.__dict__.get("inherit_bindings", True):
            break
    return bindings


def palette_entries(screen: Screen) -> list[PaletteEntry]:
    """What the palette offers on a screen, from the keys of the screen and of its widgets."""
    entries: list[PaletteEntry] = []
    seen: set[tuple[type, str]] = set()
    for node in [screen, *screen.walk_children()]:
        for binding in _declared_bindings(node):
            if binding.id is None or binding.action.startswith("app.") or (type(node), binding.action) in seen:
                continue
            seen.add((type(node), binding.action))
            name, _, help_text = binding.tooltip.partition(": ")
            if not help_text:
                name, help_text = binding.description, binding.tooltip
            key = next(iter(Binding.make_bindings([binding])))
            shown_key = key.key_display or screen.app.get_key_display(key)
            help_text = f"{help_text[:1].upper()}{help_text[1:]} ({shown_key})" if help_text else f"({shown_key})"
            entries.append(PaletteEntry(name, help_text, binding.action, node))
    return entries


class ScreenActions(Provider):
    """Offers the keys of the active screen and of its widgets, by name."""

    async def startup(self) -> None:
        self._entries = palette_entries(self.screen)

    async def discover(self) -> Hits:
        for entry in self._entries:
            yield DiscoveryHit(entry.name, entry.run, help=entry.help)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for entry in self._entries:
            score = match_entry(matcher, entry.name, entry.help)
            if score > 0:
                yield Hit(score, matcher.highlight(entry.name), entry.run, help=entry.help)


class Navigation(Provider):
    """The app's places, from any screen: the jobs list, each watched dashboard, a configure screen."""

    def _entries(self) -> list[tuple[str, str, Callable[[], object]]]:
        app = self.app
        assert isinstance(app, HpoAppBase)
        entries: list[tuple[str, str, Callable[[], object]]] = [
            ("Tuning jobs", "List the tuning jobs on this backend (ctrl+t)", app.action_tuning_jobs),
            ("New tuning job", "Open the configure screen (ctrl+n)", partial(app.action_new_tuning_job)),
        ]
        for job in reversed(list(app.watched)):
            state = job.status or "status not known yet"
            entries.append((f"Dashboard of {job.name}", f"{state} · ctrl+g opens the latest",
                            partial(app.open_dashboard, job.name, job.backend)))
        if not any(entry.action == "help" for entry in palette_entries(self.screen)):
            entries.append(("Help", "List the keys of this screen (?)", app.action_help))
        return entries

    async def discover(self) -> Hits:
        for name, help_text, callback in self._entries():
            yield DiscoveryHit(name, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, help_text, callback in self._entries():
            score = match_entry(matcher, name, help_text)
            if score > 0:
                yield Hit(score, matcher.highlight(name), callback, help=help_text)
