"""Which ledger to export, and where: ``LedgerExportScreen(web=False)`` asks for the ledger
(原始 / 推进 / 化解台账) and the file, an ``.xlsx`` or ``.csv`` path in the documents folder
typed in; in a browser session (``kiosk office web``) only the file's name, since the file
goes to the browser as a download. Enter in the file field (or Ctrl+S) gives a
:class:`LedgerChoice`, Esc gives None."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, RadioButton, RadioSet, Static

from kiosk.cases.ledger import KINDS
from kiosk.core.i18n import t, term


@dataclass(frozen=True)
class LedgerChoice:
    kind: str
    #: a path (a terminal session) or a file name (a browser session's download)
    file: str


def default_name(kind: str, today: date | None = None) -> str:
    """``ledger-original-2026-12-04.xlsx``: ASCII, so every browser and file system takes it."""
    return f"ledger-{kind}-{(today or date.today()).isoformat()}.xlsx"


def download_name(typed: str, kind: str) -> str:
    """The name a browser download is sent under: what was typed, as ASCII letters, digits,
    dots, hyphens and underscores (textual-serve puts it unquoted in the download's header,
    where a space or a Chinese character would break it); the default when nothing is left."""
    name = Path(typed.strip()).name
    suffix = Path(name).suffix.lower()
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", name[: len(name) - len(suffix)]).strip("._")
    if not stem.strip("_"):
        return default_name(kind).removesuffix(".xlsx") + suffix
    return stem[:80] + suffix


class LedgerExportScreen(ModalScreen[LedgerChoice | None]):
    """The ledger export's two questions."""

    #: what the acting worker needs to open it (kiosk/security/roles.py)
    PERMISSION: ClassVar[str | None] = "export.masked"

    DEFAULT_CSS = """
    LedgerExportScreen { align: center middle; }
    LedgerExportScreen > Vertical {
        width: 76; max-width: 100%; height: auto; border: round $accent;
        padding: 0 1; background: $surface;
    }
    LedgerExportScreen Label { color: $text-muted; }
    LedgerExportScreen RadioSet { width: 100%; }
    """

    BINDINGS = [
        Binding(
            "escape",
            "cancel",
            term("ui.back"),
            id="ledger_export.cancel",
            tooltip=term("ui.back"),
        ),
        Binding(
            "ctrl+s",
            "export",
            term("ledger.ui.export"),
            id="ledger_export.export",
            tooltip=term("ledger.ui.export_hint"),
            priority=True,
        ),
    ]

    def __init__(self, folder: Path, *, web: bool = False) -> None:
        super().__init__()
        self.folder = folder
        self.web = web
        self.kind = KINDS[0]

    def _default(self, kind: str) -> str:
        name = default_name(kind)
        return name if self.web else str(self.folder / name)

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(t("ledger.ui.title"), classes="title")
            yield Label(t("ledger.ui.kind"))
            with RadioSet(id="ledger-kind"):
                for i, kind in enumerate(KINDS):
                    yield RadioButton(t(f"ledger.name.{kind}"), value=i == 0, name=kind)
            yield Label(t("ledger.ui.download" if self.web else "ledger.ui.file"))
            yield Input(self._default(self.kind), id="ledger-file")
            yield Static(t("ledger.ui.hint"), classes="hint")

    def on_mount(self) -> None:
        self.query_one("#ledger-file", Input).focus()

    @on(RadioSet.Changed, "#ledger-kind")
    def kind_changed(self, event: RadioSet.Changed) -> None:
        kind = event.pressed.name or KINDS[0]
        field = self.query_one("#ledger-file", Input)
        if field.value == self._default(self.kind):  # not edited: follows the ledger chosen
            field.value = self._default(kind)
        self.kind = kind

    @on(Input.Submitted, "#ledger-file")
    def submitted(self) -> None:
        self.action_export()

    def action_export(self) -> None:
        value = self.query_one("#ledger-file", Input).value.strip()
        if value:
            self.dismiss(LedgerChoice(self.kind, value))

    def action_cancel(self) -> None:
        self.dismiss(None)
