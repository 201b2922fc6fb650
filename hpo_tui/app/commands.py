"""Command palette: the current screen's actions (the same ones its keys run)."""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider


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


class ScreenActions(Provider):
    """Offers each entry of the active screen's PALETTE: (name, help, action)."""

    def _entries(self) -> list[tuple[str, str, str]]:
        return list(getattr(self.screen, "PALETTE", ()))

    async def discover(self) -> Hits:
        for name, help_text, action in self._entries():
            yield DiscoveryHit(name, partial(self.screen.run_action, action), help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, help_text, action in self._entries():
            score = match_entry(matcher, name, help_text)
            if score > 0:
                yield Hit(score, matcher.highlight(name), partial(self.screen.run_action, action), help=help_text)


class Navigation(Provider):
    """The app's places, from any screen: the jobs list, each watched dashboard, a configure screen."""

    def _entries(self) -> list[tuple[str, str, object]]:
        app = self.app
        entries: list[tuple[str, str, object]] = [
            ("Tuning jobs", "List the tuning jobs on this backend (ctrl+t)", app.action_tuning_jobs),
            ("New tuning job", "Open the configure screen (ctrl+n)", partial(app.action_new_tuning_job)),
        ]
        for job in reversed(list(getattr(app, "watched", ()))):
            state = job.status or "status not known yet"
            entries.append((f"Dashboard of {job.name}", f"{state} · ctrl+g opens the latest",
                            partial(app.open_dashboard, job.name, job.backend)))
        if not any(action == "help" for _, _, action in getattr(self.screen, "PALETTE", ())):
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
