"""What every Grid Kiosk screen shares: typed access to the app."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from textual.screen import Screen

if TYPE_CHECKING:
    from kiosk.app import KioskApp


class KioskScreen(Screen[Any]):
    @property
    def kiosk(self) -> KioskApp:
        return cast("KioskApp", self.app)
