"""Setting up a community office, step by step, on one screen (opened after the first-run
set-up creates the administrator, and from the command palette later): 1. the grids from the
office's list (or F6 to add them by hand), 2. the roster, with a progress bar and its report,
3. the workers with their grids and PINs, 4. the hub seeded from this PC and an enrolment
code for each worker's laptop, shown as text and as a QR code a USB scanner types into the
laptop's set-up screen. Each step is the same service as its command (docs/deployment.md)."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.widgets import Header, Input, Label, ProgressBar, Select, Static

from db.errors import UserError
from db.workers import list_workers
from kiosk.core.errors import describe
from kiosk.core.i18n import t, term
from screens.base import PIN_MAX, KioskScreen
from screens.widgets.footer import KioskFooter


class OfficeSetupScreen(KioskScreen):
    PERMISSION: ClassVar[str | None] = "workers.manage"
    DEFAULT_CSS = """
    OfficeSetupScreen .step { margin: 1 0 0 0; }
    OfficeSetupScreen .row { height: auto; }
    OfficeSetupScreen .row Label { width: 14; padding: 0 1; color: $text-muted; }
    OfficeSetupScreen .row Input, OfficeSetupScreen .row Select { width: 1fr; }
    OfficeSetupScreen .report { padding: 0 1; height: auto; }
    OfficeSetupScreen .report.-error { color: $error; }
    OfficeSetupScreen #setup-codes { padding: 0 1; height: auto; }
    OfficeSetupScreen ProgressBar { padding: 0 1; }
    """
    BINDINGS = [
        Binding(
            "escape",
            "app.pop_screen",
            term("ui.back"),
            id="office_setup.back",
            tooltip=term("ui.back"),
        ),  # fmt: skip
    ]

    class Said(Message):
        """A step finished: ``target`` is the report line's id."""

        def __init__(self, target: str, text: str | Text, error: bool = False) -> None:
            super().__init__()
            self.target = target
            self.text = text
            self.error = error

    class Progress(Message):
        def __init__(self, done: int, total: int | None) -> None:
            super().__init__()
            self.done = done
            self.total = total

    def compose(self) -> ComposeResult:
        from kiosk.core.config import data_dir

        yield Header()
        with VerticalScroll():
            yield Static(t("office_setup.title"), classes="title")
            yield Static(t("office_setup.intro"), classes="muted")
            yield Static(t("office_setup.step_areas"), classes="title step")
            yield self._row(t("office_setup.file"), Input(id="setup-areas", compact=True,
                            placeholder=t("office_setup.areas_placeholder")))  # fmt: skip
            yield Static("", id="report-areas", classes="report")
            yield Static(t("office_setup.step_roster"), classes="title step")
            yield self._row(t("office_setup.file"), Input(id="setup-roster", compact=True,
                            placeholder=t("office_setup.roster_placeholder")))  # fmt: skip
            yield ProgressBar(id="roster-progress", show_eta=False)
            yield Static("", id="report-roster", classes="report")
            yield Static(t("office_setup.step_workers"), classes="title step")
            yield self._row(t("col.name"), Input(id="w-name", compact=True, max_length=32))
            yield self._row(
                t("office_setup.role"),
                Select(
                    [(t(f"role.{r}"), r) for r in ("worker", "supervisor", "admin")],
                    value="worker",
                    allow_blank=False,
                    id="w-role",
                    compact=True,
                ),
            )
            yield self._row(t("office_setup.grids"), Input(id="w-grids", compact=True,
                            placeholder=t("office_setup.grids_placeholder")))  # fmt: skip
            yield self._row(t("office_setup.pin"), Input(id="w-pin", password=True, compact=True,
                            restrict=r"[0-9]*", max_length=PIN_MAX))  # fmt: skip
            yield self._row(t("office_setup.pin_again"), Input(id="w-pin2", password=True,
                            compact=True, restrict=r"[0-9]*", max_length=PIN_MAX))  # fmt: skip
            yield Static("", id="report-workers", classes="report")
            yield Static(t("office_setup.step_hub"), classes="title step")
            yield self._row(t("office_setup.hub_store"), Input(str(data_dir() / "hub.db"),
                            id="setup-hub", compact=True))  # fmt: skip
            yield Static("", id="report-hub", classes="report")
            yield Static("", id="setup-codes")
        yield KioskFooter()

    @staticmethod
    def _row(label: str, widget: Any) -> Horizontal:
        return Horizontal(Label(label), widget, classes="row")

    def on_mount(self) -> None:
        self.query_one("#setup-areas", Input).focus()
        self.query_one(ProgressBar).display = False
        self.list_workers()

    # --- steps ------------------------------------------------------------------------------
    @on(Input.Submitted)
    def submitted(self, event: Input.Submitted) -> None:
        wid = event.input.id or ""
        value = event.value.strip()
        if wid == "setup-areas" and value:
            self.say("report-areas", t("office_setup.working"))
            self.import_areas(value)
        elif wid == "setup-roster" and value:
            self.say("report-roster", t("office_setup.working"))
            self.query_one(ProgressBar).display = True
            self.import_roster(value)
        elif wid == "w-pin2":
            self.add_worker()
        elif wid == "setup-hub" and value:
            self.say("report-hub", t("office_setup.working"))
            self.make_codes(value)
        else:
            self.focus_next()

    def say(self, target: str, text: str | Text, *, error: bool = False) -> None:
        line = self.query_one(f"#{target}", Static)
        line.set_class(error, "-error")
        line.update(text)

    def on_office_setup_screen_said(self, message: Said) -> None:
        self.say(message.target, message.text, error=message.error)
        if message.target == "report-roster":
            self.query_one(ProgressBar).display = False

    def on_office_setup_screen_progress(self, message: Progress) -> None:
        self.query_one(ProgressBar).update(total=message.total, progress=message.done)

    def _run(self, target: str, fn) -> Any:  # type: ignore[no-untyped-def]
        try:
            return fn()
        except UserError as exc:
            self.post_message(self.Said(target, describe(exc), error=True))
            return None

    @work(thread=True, exclusive=True, group="office-setup", exit_on_error=False)
    def import_areas(self, path: str) -> None:
        from pathlib import Path

        from kiosk.households.areas import import_areas, read_areas

        def run() -> Any:
            rows = read_areas(Path(path).expanduser())
            return self.kiosk.write(lambda ctx: import_areas(ctx, rows))

        report = self._run("report-areas", run)
        if report is None:
            return
        lines = [
            t(
                "cli.areas.imported",
                created=len(report.created),
                renamed=len(report.renamed),
                known=len(report.known),
                rejected=len(report.rejected),
            ),  # fmt: skip
            *(
                t("cli.areas.created_line", code=g.code, name=g.name, community=g.community)
                for g in report.created
            ),  # fmt: skip
            *(t("cli.areas.linked", code=c, name=n) for c, n in report.linked),
            *(t("office_setup.no_worker", code=c, name=n) for c, n in report.no_worker),
            *(t("cli.areas.rejected_row", row=n, reason=why) for n, why in report.rejected),
        ]
        self.post_message(self.Said("report-areas", "\n".join(lines)))

    @work(thread=True, exclusive=True, group="office-setup", exit_on_error=False)
    def import_roster(self, path: str) -> None:
        from pathlib import Path

        from kiosk.households.setup import import_roster_file

        def progress(key: str, params: dict) -> None:
            if "total" in params:
                self.post_message(self.Progress(int(params["done"]), int(params["total"])))
            else:
                self.post_message(self.Progress(0, None))

        done = self._run(
            "report-roster",
            lambda: self.kiosk.write(
                lambda ctx: import_roster_file(ctx, str(Path(path).expanduser()), progress)
            ),
        )
        if done is None:
            return
        lines = [
            t("office_setup.roster_done", households=done.households, members=done.members,
              updated=done.updated, to_verify=done.to_verify, rejected=len(done.rejected)),
        ]  # fmt: skip
        if done.created_grids:
            lines.append(t("office_setup.grids_made", grids="、".join(done.created_grids)))
        lines += [t("cli.areas.rejected_row", row=n, reason=why) for n, why in done.rejected[:5]]
        if len(done.rejected) > 5:
            lines.append(t("office_setup.more_rejected", n=len(done.rejected) - 5))
        self.post_message(self.Said("report-roster", "\n".join(lines)))

    def add_worker(self) -> None:
        values = {
            w: self.query_one(f"#{w}", Input).value
            for w in ("w-name", "w-grids", "w-pin", "w-pin2")
        }
        role = self.query_one("#w-role", Select).value
        if values["w-pin"] != values["w-pin2"]:
            self.say("report-workers", t("setup.pins_differ"), error=True)
            return
        self.write_worker(values["w-name"], str(role), values["w-grids"], values["w-pin"])

    @work(thread=True, exclusive=True, group="office-setup", exit_on_error=False)
    def write_worker(self, name: str, role: str, where: str, pin: str) -> None:
        from kiosk.security.staff import add_worker

        words = [w for w in where.replace("，", ",").replace("、", ",").split(",") if w.strip()]
        grids = [w.strip() for w in words] if role == "worker" else []
        community = where.strip() if role == "supervisor" and where.strip() else None
        worker = self._run(
            "report-workers",
            lambda: self.kiosk.write(
                lambda ctx: add_worker(ctx, name, role, grids=grids, community=community, pin=pin)
            ),
        )
        if worker is None:
            return
        self.app.call_from_thread(self._worker_added, worker.name, role)

    def _worker_added(self, name: str, role: str) -> None:
        for w in ("w-name", "w-grids", "w-pin", "w-pin2"):
            self.query_one(f"#{w}", Input).value = ""
        self.query_one("#w-name", Input).focus()
        self.notify(t("workers.added", role=t(f"role.{role}"), name=name))
        self.list_workers()

    @work(thread=True, group="office-setup-list", exit_on_error=False)
    def list_workers(self) -> None:
        workers = list_workers(self.kiosk.read())
        lines = [
            f"{w.name}  {t(f'role.{w.role}')}  {t('ui.list_sep').join(w.grids) or w.community or ''}"
            for w in workers
        ]
        self.post_message(self.Said("report-workers", "\n".join(lines)))

    @work(thread=True, exclusive=True, group="office-setup", exit_on_error=False)
    def make_codes(self, store: str) -> None:
        from kiosk.households.setup import hub_and_codes
        from kiosk.hub.devices import CODE_TTL_HOURS
        from kiosk.qr.terminal import qr_text

        result = self._run(
            "report-hub",
            lambda: hub_and_codes(
                self.kiosk.read(),
                store,
                office_device=t("office_setup.office_device"),
                laptop_name=t("office_setup.laptop_device"),
            ),
        )
        if result is None:
            return
        stored, codes = result
        text = Text()
        for c in codes:
            text.append(
                t("office_setup.code_line", device=c.device, code=c.code, hours=CODE_TTL_HOURS)
                + "\n"
            )
            text.append(qr_text(c.code.replace("-", "")))
            text.append("\n")
        self.post_message(
            self.Said(
                "report-hub", t("office_setup.hub_done", ops=stored, n=len(codes), store=store)
            )  # fmt: skip
        )
        self.post_message(self.Said("setup-codes", text))
