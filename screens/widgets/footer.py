"""The footer of every screen: Textual's Footer, recomposed only when what it shows changes.

Textual's Footer rebuilds all its keys at every bindings update (focus moves, a screen
resumes, a mode switches): four times while the first screen appears, which made the footer
the largest part of start-up. This one coalesces updates into one per frame and skips the
rebuild when the keys it would show are the ones already shown.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer


class KioskFooter(Footer):
    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self._pending = False
        self._shown: tuple | None = None

    def _signature(self) -> tuple:
        return tuple(
            (binding.key, binding.description, binding.action, enabled)
            for (_, binding, enabled, _) in self.screen.active_bindings.values()
            if binding.show
        )

    def compose(self) -> ComposeResult:
        if self._bindings_ready:
            self._shown = self._signature()
        yield from super().compose()

    def bindings_changed(self, screen: Screen) -> None:
        self._bindings_ready = True
        if not screen.app.app_focus:
            return
        if self.is_attached and screen is self.screen and not self._pending:
            self._pending = True
            self.call_after_refresh(self._recompose_if_changed)

    async def _recompose_if_changed(self) -> None:
        self._pending = False
        if self.is_attached and self._signature() != self._shown:
            await self.recompose()
