"""The key footer every screen shows: Textual's Footer, rebuilt only when its keys change."""

from __future__ import annotations

from textual.screen import Screen
from textual.widgets import Footer


class KeyFooter(Footer):
    """Textual's Footer re-mounts all of its keys whenever the screen's bindings are updated:
    on every focus move, even when the keys shown stay the same, and once per update when
    several come before it has recomposed (three times as a screen opens). This one
    rebuilds only when what it shows would differ, and once for a burst of updates."""

    _shown: tuple | None = None
    _pending = False

    def _shown_now(self, screen: Screen) -> tuple:
        """Everything compose() reads: the shown bindings, enabled or not, with tooltips, and
        the command palette's key."""
        bindings = screen.active_bindings
        palette = bindings.get(self.app.COMMAND_PALETTE_BINDING)
        return (
            tuple((binding, enabled, tooltip) for _, binding, enabled, tooltip in bindings.values() if binding.show),
            palette[1:] if palette is not None else None,
        )

    def compose(self):
        self._pending = False
        if self._bindings_ready:
            self._shown = self._shown_now(self.screen)
        return super().compose()

    def bindings_changed(self, screen: Screen) -> None:
        if self._bindings_ready and screen is self.screen and (self._pending or self._shown == self._shown_now(screen)):
            return  # a recompose to come reads the bindings as they are then
        super().bindings_changed(screen)
        # Footer.bindings_changed schedules a recompose exactly when these hold.
        self._pending = screen.app.app_focus and self.is_attached and screen is self.screen
