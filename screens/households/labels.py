"""Printing label sheets from the interface: which households, which sheet, reprint or not,
where to write; a progress bar while the PDF is made (the same code as ``kiosk labels``)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.widgets import Checkbox, Header, Input, ProgressBar, Select, Static

from kiosk.core.errors import describe
from kiosk.core.i18n import t, term
from screens.base import KioskScreen
from screens.widgets.footer import KioskFooter


def default_output() -> Path:
    import platformdirs

    folder = Path(platformdirs.user_documents_dir())
    if not folder.is_dir():
        folder = Path.home()
    return folder / f"labels-{date.today().isoformat()}.pdf"


class LabelsScreen(KioskScreen):
    """Print household labels (A4 PDF)."""

    #: what the acting worker needs to open it (kiosk/security/roles.py); the app checks
    PERMISSION: ClassVar[str | None] = "labels.print"
    AUTO_FOCUS = "#labels-scope"

    DEFAULT_CSS = """
    LabelsScreen #labels-form {
        height: auto;
        padding: 0 1;
    }
    LabelsScreen .labels-row {
        height: auto;
    }
    LabelsScreen .labels-row > Static {
        width: 14;
        padding: 1 1 0 0;
    }
    LabelsScreen .labels-row > Input, LabelsScreen .labels-row > Select {
        width: 1fr;
    }
    LabelsScreen #labels-progress {
        margin: 1 1 0 1;
    }
    LabelsScreen #labels-status {
        padding: 0 1;
    }
    """

    BINDINGS = [
        Binding(
            "ctrl+s",
            "print_labels",
            term("qr.ui.print"),
            id="labels.print",
            tooltip=term("qr.ui.print_hint"),
        ),
        Binding(
            "escape", "app.pop_screen", term("ui.back"), id="labels.back", tooltip=term("ui.back")
        ),
    ]

    class Progress(Message):
        """Labels rendered so far (handled by LabelsScreen; a burst collapses to the last)."""

        def __init__(self, done: int, total: int) -> None:
            super().__init__()
            self.done = done
            self.total = total

        def can_replace(self, message: Message) -> bool:
            return isinstance(message, LabelsScreen.Progress)

    class Finished(Message):
        """The print run ended: ``text`` says how (handled by LabelsScreen)."""

        def __init__(self, text: str, ok: bool) -> None:
            super().__init__()
            self.text = text
            self.ok = ok

    def __init__(self, household_id: str | None = None) -> None:
        super().__init__()
        self.household_id = household_id
        self.running = False

    def compose(self) -> ComposeResult:
        scopes = [
            (t("qr.ui.scope_all"), "all"),
            (t("qr.ui.scope_grid"), "grid"),
            (t("qr.ui.scope_compound"), "compound"),
        ]
        if self.household_id:
            scopes.append((t("qr.ui.scope_household"), "household"))
        yield Header()
        with VerticalScroll(id="labels-form"):
            yield Static(t("qr.ui.labels_title"), classes="title")
            with Horizontal(classes="labels-row"):
                yield Static(t("qr.ui.scope"))
                yield Select(
                    scopes,
                    value="household" if self.household_id else "all",
                    allow_blank=False,
                    id="labels-scope",
                )
            with Horizontal(classes="labels-row"):
                yield Static(t("qr.ui.which"))
                yield Input(placeholder=t("qr.ui.which_hint"), id="labels-which")
            with Horizontal(classes="labels-row"):
                yield Static(t("qr.ui.layout"))
                yield Select(
                    [(t("qr.ui.layout_3x8"), "3x8"), (t("qr.ui.layout_3x7"), "3x7")],
                    value="3x8",
                    allow_blank=False,
                    id="labels-layout",
                )
            with Horizontal(classes="labels-row"):
                yield Static(t("qr.ui.out"))
                yield Input(str(default_output()), id="labels-out")
            yield Checkbox(t("qr.ui.reprint"), id="labels-reprint")
            yield ProgressBar(total=1, id="labels-progress", show_eta=False)
            yield Static(t("qr.ui.ready"), id="labels-status", classes="muted")
        yield KioskFooter()

    @on(Input.Submitted)
    def submitted(self) -> None:
        self.action_print_labels()

    # --- the preview: how many labels, on how many sheets, before anything is printed -------
    def on_mount(self) -> None:
        self.update_preview()

    @on(Select.Changed)
    @on(Input.Changed, "#labels-which")
    def update_preview(self) -> None:
        if not self.running and self.is_mounted:
            self.preview(
                self._selection(),
                str(self.query_one("#labels-layout", Select).value),
            )

    def _selection(self):
        from kiosk.qr.printing import Selection

        scope = self.query_one("#labels-scope", Select).value
        which = self.query_one("#labels-which", Input).value.strip()
        sel = Selection()
        if scope == "grid":
            sel.grid = which or None
        elif scope == "compound":
            sel.compound = which or None
        elif scope == "household" and self.household_id:
            sel.household_ids = [self.household_id]
        return sel

    @work(thread=True, exclusive=True, group="labels-preview", exit_on_error=False)
    def preview(self, sel, layout: str) -> None:
        from kiosk.qr.printing import select_households
        from kiosk.security.roles import reach_grids

        per_sheet = 24 if layout == "3x8" else 21
        try:
            sel.within = reach_grids(self.kiosk.read(), self.kiosk.worker)
            n = len(select_households(self.kiosk.read(), sel))
            text = t("qr.ui.preview", n=n, pages=-(-n // per_sheet))
        except Exception as exc:  # noqa: BLE001 - what is wrong with the choice, in words
            text = describe(exc)
        self.app.call_from_thread(self._show_preview, text)

    def _show_preview(self, text: str) -> None:
        if not self.running:
            self.query_one("#labels-status", Static).update(text)

    def action_print_labels(self) -> None:
        if self.running:
            return
        from kiosk.qr.printing import Selection

        scope = self.query_one("#labels-scope", Select).value
        which = self.query_one("#labels-which", Input).value.strip()
        sel = Selection()
        if scope == "grid":
            sel.grid = which
        elif scope == "compound":
            sel.compound = which
        elif scope == "household" and self.household_id:
            sel.household_ids = [self.household_id]
        if scope in ("grid", "compound") and not which:
            self.query_one("#labels-status", Static).update(t("qr.ui.which_missing"))
            self.query_one("#labels-which", Input).focus()
            return
        self.running = True
        self.query_one("#labels-status", Static).update(t("qr.ui.working"))
        self.query_one(ProgressBar).update(total=None, progress=0)
        self.run_print(
            sel,
            str(self.query_one("#labels-layout", Select).value),
            self.query_one("#labels-out", Input).value.strip(),
            self.query_one("#labels-reprint", Checkbox).value,
        )

    @work(thread=True, exclusive=True, group="labels-print", exit_on_error=False)
    def run_print(self, sel, layout: str, out: str, reprint: bool) -> None:
        from kiosk.qr.fonts import font_for
        from kiosk.qr.printing import print_labels
        from kiosk.security.roles import reach_grids

        try:
            sel.within = reach_grids(self.kiosk.read(), self.kiosk.worker)
            font = font_for(self.kiosk.runtime.settings)

            def progress(done: int, total: int) -> None:
                self.post_message(self.Progress(done, total))

            summary = print_labels(
                self.kiosk.read(),
                self.kiosk.write,
                sel,
                out,
                font,
                layout=layout,
                reprint=reprint,
                progress=progress,
            )
        except Exception as exc:  # noqa: BLE001 - shown to the person, logged by describe()
            self.post_message(self.Finished(describe(exc), False))
            return
        self.post_message(
            self.Finished(
                t(
                    "qr.print.done",
                    path=summary.path,
                    labels=summary.labels,
                    pages=summary.pages,
                    created=summary.created,
                ),
                True,
            )
        )

    def on_labels_screen_progress(self, message: Progress) -> None:
        self.query_one(ProgressBar).update(total=message.total, progress=message.done)

    def on_labels_screen_finished(self, message: Finished) -> None:
        self.running = False
        status = self.query_one("#labels-status", Static)
        status.update(message.text)
        status.set_class(not message.ok, "error")
        self.notify(message.text, severity="information" if message.ok else "error", timeout=8)
