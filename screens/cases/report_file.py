"""Where to save a case report: ``ReportFileScreen(path)`` asks, with ``path`` (the case's
report in the documents folder) typed in; Enter gives the path, Esc gives None."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from kiosk.core.i18n import t, term


def report_folder() -> Path:
    """The documents folder (the home folder where there is none)."""
    import platformdirs

    folder = Path(platformdirs.user_documents_dir())
    return folder if folder.is_dir() else Path.home()


def default_report_path(number: str) -> Path:
    return report_folder() / f"case-{number}.pdf"


class ReportFileScreen(ModalScreen[str | None]):
    """The PDF file a case report is written to."""

    #: what the acting worker needs to open it (kiosk/security/roles.py)
    PERMISSION: ClassVar[str | None] = "export.masked"

    DEFAULT_CSS = """
    ReportFileScreen { align: center middle; }
    ReportFileScreen > Vertical {
        width: 76; max-width: 100%; height: auto; border: round $accent;
        padding: 0 1; background: $surface;
    }
    ReportFileScreen Label { color: $text-muted; }
    """

    BINDINGS = [
        Binding(
            "escape", "cancel", term("ui.back"), id="case_report.cancel", tooltip=term("ui.back")
        ),
    ]

    def __init__(self, path: str | Path) -> None:
        super().__init__()
        self.path = str(path)

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(t("photos.report.ui.prompt"), classes="title")
            yield Label(t("photos.report.ui.file"))
            yield Input(self.path, id="report-file")

    @on(Input.Submitted, "#report-file")
    def done(self, event: Input.Submitted) -> None:
        value = event.value.strip()
        if value:
            self.dismiss(value)

    def action_cancel(self) -> None:
        self.dismiss(None)
