"""One case: what was registered, where it stands (status, deadline, escalation level in
colour), the households it involves, and the whole timeline; every action on a key and in the
command palette. A refused action shows the rule and writes nothing."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.coordinate import Coordinate
from textual.message import Message
from textual.widgets import DataTable, Header, Static

from db.case_fold import CaseRefused, Event, check, offered
from db.case_rules import RESOLVING
from db.cases import CaseDetail, append_event, get_case
from db.errors import Phrase
from db.hlc import now_iso
from kiosk.cases.departments import assignable
from kiosk.core.i18n import t, term, when
from kiosk.domain.categories import load_categories
from kiosk.domain.present import address_of
from screens.base import KioskScreen
from screens.cases.case_widgets import level_text, rules_of, status_text
from screens.photos.strip import PhotoStrip
from screens.widgets.footer import KioskFooter


def photo_line(p) -> str:  # type: ignore[no-untyped-def]
    """One photo of a step as a line: its size, or why it cannot be shown here."""
    if p.erased:
        return t("photos.erased")
    line = t("photos.one", width=p.width, height=p.height, kb=max(1, p.bytes // 1024))
    return line if p.here else f"{line}  {t('photos.not_here')}"


def case_action(event_type: str) -> str:
    """The kiosk.security.roles action an event type needs (resolving on the spot is resolving)."""
    return "case.resolve" if event_type == "resolve_on_spot" else f"case.{event_type}"


#: (key, event type) for every action; the binding ids are ``case.<event type>``. Assigning,
#: escalating, closing and reopening are a supervisor's (kiosk.security.roles): hidden from a grid
#: worker's footer, and refused with a message if pressed anyway.
ACTION_KEYS = [
    ("a", "assign"),
    ("p", "progress"),
    ("s", "resolve"),
    ("m", "resolve_on_spot"),
    ("f", "follow_up"),
    ("t", "rate"),
    ("u", "reopen"),
    ("e", "escalate"),
    ("c", "close"),
    ("x", "repeat_of"),
]


class CaseDetailScreen(KioskScreen):
    #: what the acting worker needs to open it (None: the mode's or the caller's check)
    PERMISSION: ClassVar[str | None] = None
    BINDINGS = [
        Binding(
            "escape", "app.pop_screen", term("ui.back"), id="case.back", tooltip=term("ui.back")
        ),
        *[
            Binding(
                key,
                f"act('{ev}')",
                term(f"cases.action.{ev}"),
                id=f"case.{ev}",
                tooltip=term(f"cases.ui.hint.{ev}"),
            )
            for key, ev in ACTION_KEYS
        ],
        Binding(
            "r",
            "save_report",
            term("photos.report.ui.save"),
            id="case.report",
            tooltip=term("photos.report.ui.save_hint"),
        ),
        Binding(
            "i",
            "photos",
            term("photos.view.open"),
            id="case.photos",
            tooltip=term("photos.view.open_hint"),
        ),
    ]

    DEFAULT_CSS = """
    #case-timeline { height: auto; min-height: 5; }
    #case-event-note { height: auto; padding: 0 1; color: $text-muted; }
    """

    class Loaded(Message):
        """The case arrived from the database (handled by CaseDetailScreen)."""

        def __init__(
            self,
            detail: CaseDetail | None,
            departments: list[str],
            in_reach: bool,
            due: str = "",
            after_photo: bool = False,
        ) -> None:
            super().__init__()
            self.detail = detail
            self.departments = departments
            self.due = due
            self.in_reach = in_reach
            self.after_photo = after_photo

    class ReportSaved(Message):
        """The case report was written (handled by CaseDetailScreen: a notice with its path)."""

        def __init__(self, path: str, pages: int, photos: int) -> None:
            super().__init__()
            self.path = path
            self.pages = pages
            self.photos = photos

    class Acted(Message):
        """An action was written (handled by CaseDetailScreen: reload and say so)."""

        def __init__(self, event_type: str) -> None:
            super().__init__()
            self.event_type = event_type

    def __init__(self, case_id: str) -> None:
        super().__init__()
        self.case_id = case_id
        self.detail: CaseDetail | None = None
        self.departments: list[str] = []
        #: the deadline an assignment gets unless another is typed (the category's kind's)
        self.due_default = ""
        #: the case's grid is within the worker's area (others' cases are read, not acted on)
        self.in_reach = False
        #: its community resolves cases of its category group only with a photo of the repair
        self.after_photo = False

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="case-body"):
            yield Static(t("ui.loading"), id="case-title", classes="title")
            yield Static("", id="case-state")
            yield Static("", id="case-summary")
            yield Static("", id="case-households", classes="muted")
            yield Static(t("cases.ui.timeline"), classes="title")
            yield DataTable(id="case-timeline", cursor_type="row", zebra_stripes=True)
            # the highlighted step in full: a long progress note is cut in its column
            yield Static("", id="case-event-note", markup=False)
            yield PhotoStrip(id="case-photos")  # the highlighted step's photos
        yield KioskFooter()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.styles.height = "auto"  # the body scrolls, not the timeline
        table.add_columns(
            t("ledger.col.at"), t("ledger.col.step"), t("ledger.col.by"), t("ledger.col.note")
        )
        self.load()

    @work(thread=True, exclusive=True, group="case-detail", exit_on_error=False)
    def load(self) -> None:
        from db.areas import grid_by_id
        from kiosk.security.roles import grid_in_scope

        conn = self.kiosk.read()
        detail = get_case(conn, self.case_id, rules=rules_of(self.kiosk))
        grid = grid_by_id(conn, detail.grid_id) if detail and detail.grid_id else None
        worker = self.kiosk.worker
        in_reach = worker is not None and (grid is None or grid_in_scope(worker, grid))
        community = grid.community if grid else None
        due = ""
        if detail is not None:
            from datetime import date

            from kiosk.cases.departments import default_due
            from kiosk.domain.categories import load_categories

            due = default_due(
                conn, load_categories(self.kiosk.runtime.settings), self.case_id, date.today()
            )
        from db.case_rules import after_photo_group

        after_photo = detail is not None and after_photo_group(conn, self.case_id) is not None
        self.post_message(
            self.Loaded(detail, assignable(conn, community), in_reach, due, after_photo)
        )

    def on_case_detail_screen_loaded(self, message: Loaded) -> None:
        from kiosk.cases.events import describe_event

        d = message.detail
        self.detail = d
        self.departments = message.departments
        self.due_default = message.due
        self.in_reach = message.in_reach
        self.after_photo = message.after_photo
        self.refresh_bindings()  # the actions the case's state allows
        if d is None:
            self.query_one("#case-title", Static).update(t("cases.error.not_found", id=""))
            return
        cats = load_categories(self.kiosk.runtime.settings)
        s = d.state
        self.query_one("#case-title", Static).update(
            f"{d.number} · {cats.label(d.category)} · {d.registered_at[:10]}"
        )
        state = Text.assemble(status_text(s.status), "  ")
        if d.escalation_level:
            state.append_text(level_text(d.escalation_level))
            state.append("  ")
        if d.overdue:
            state.append(t("cases.ui.overdue"), style="bold red")
            state.append("  ")
        if s.department:
            state.append(f"{t('cases.col.department')}: {s.department}  ")
        if s.person:
            state.append(f"{t('cases.col.person')}: {s.person}  ")
        if s.due:
            state.append(t("cases.detail.due", due=s.due) + "  ")
        if s.rating:
            state.append(t(f"cases.rating.{s.rating}") + "  ")
        if s.repeat_of:
            state.append(t("cases.close_kind.repeat"))
        self.query_one("#case-state", Static).update(state)
        self.query_one("#case-summary", Static).update(Text(d.summary))
        hh = [
            address_of(h.compound, h.building, h.unit, h.room, forgotten=h.forgotten)
            for h in d.households[:3]
        ]
        more = len(d.households) - len(hh)
        self.query_one("#case-households", Static).update(
            f"{t('cases.col.households')}: {'、'.join(hh)}"
            + (" " + t("cases.ui.more_households", n=more) if more > 0 else "")
        )
        table = self.query_one(DataTable)
        table.clear()
        photos: dict[str, int] = {}
        for p in d.photos:
            photos[p.event_id] = photos.get(p.event_id, 0) + 1
        for e in d.events:
            step = Text(t(f"cases.event.{e.type}"))
            detail = Text(describe_event(e.data))
            if e.id in photos:
                detail = Text.assemble((t("photos.count", n=photos[e.id]) + " ", "bold"), detail)
            if e.invalid:
                step.stylize("strike dim")
                detail.append(
                    "  ⚠ " + t("ledger.invalid", rule=t(e.invalid, status="")), style="yellow"
                )
            table.add_row(when(e.at), step, e.by_name or "", detail, key=e.id)

    @on(DataTable.RowHighlighted, "#case-timeline")
    def show_event(self, event: DataTable.RowHighlighted) -> None:
        from kiosk.cases.events import describe_event

        found = [
            e for e in (self.detail.events if self.detail else []) if e.id == event.row_key.value
        ]
        text = ""
        photos = []
        if found:
            e = found[0]
            text = f"{when(e.at)}  {t(f'cases.event.{e.type}')}  {e.by_name or ''}\n"
            text += describe_event(e.data)
            photos = [p for p in self.detail.photos if p.event_id == e.id]  # type: ignore[union-attr]
            for p in photos:
                text += "\n" + photo_line(p)
        self.query_one("#case-event-note", Static).update(text)
        self.query_one(PhotoStrip).show([("", p) for p in photos])

    @on(DataTable.RowSelected, "#case-timeline")
    def open_step_photos(self, event: DataTable.RowSelected) -> None:
        """Enter on a step with photos: its first photo full size."""
        self._view_photos(str(event.row_key.value))

    def action_photos(self) -> None:
        table = self.query_one(DataTable)
        step = None
        if self.detail and self.detail.events and 0 <= table.cursor_row < table.row_count:
            step = str(table.coordinate_to_cell_key(Coordinate(table.cursor_row, 0)).row_key.value)
        self._view_photos(step, anywhere=True)

    def _view_photos(self, event_id: str | None, *, anywhere: bool = False) -> None:
        """The case's photos full size, from the first of step ``event_id`` (``anywhere``:
        from the first of the case when that step has none)."""
        photos = self.detail.photos if self.detail else []
        at = next((i for i, p in enumerate(photos) if p.event_id == event_id), None)
        if at is None and anywhere and photos:
            at = 0
        if at is None:
            if anywhere:
                self.notify(t("photos.view.none"))
            return
        from screens.photos.viewer import PhotoViewerScreen

        number = self.detail.number if self.detail else ""
        self.app.push_screen(PhotoViewerScreen([(number, p) for p in photos], at))

    # --- actions --------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "photos" and not (self.detail and self.detail.photos):
            return False  # the key shows on cases with photos
        if action == "save_report" and (self.detail is None or not self.in_reach):
            return False  # the report is an export of the case's grid: its own workers'
        # What the case's state does not allow is not offered (a closed case: reopen only),
        if action == "act" and parameters:
            # nor what the worker may not do to another area's case (its save would be
            # refused): the keys appear once the case is loaded and known to be theirs
            if self.detail is None or not self.in_reach:
                return False
            if str(parameters[0]) not in offered(self.detail.state):
                return False
        return super().check_action(action, parameters)

    def role_action(self, action: str, parameters: tuple[object, ...]) -> str | None:
        if action == "act" and parameters:
            return case_action(str(parameters[0]))
        if action == "save_report":
            return "export.masked"
        return None

    def action_act(self, event_type: str) -> None:
        if self.detail is None or not self.kiosk.permit(case_action(event_type)):
            return
        from screens.cases.case_action import CaseActionScreen

        def done(values: dict | None) -> None:
            if values is not None:
                self.write(event_type, values)

        self.app.push_screen(
            CaseActionScreen(
                event_type,
                self.detail.number,
                self.departments,
                validate=lambda values: self._event_data(event_type, values, check_state=True),
                due=self.due_default,
                photo_required=self.after_photo and event_type in RESOLVING,
            ),
            done,
        )

    def _event_data(self, event_type: str, values: dict, *, check_state: bool = False) -> dict:
        """The event's data from the form's values; raises what the rules refuse (the form
        shows it and stays open). ``check_state``: also the rules of the case's state as this
        screen last read it (the write checks them again, against the database)."""
        from db.case_rules import check_after_photo
        from kiosk.cases.events import build_event
        from kiosk.photos.attach import photo_paths

        level = values.get("level")
        data = build_event(
            self.kiosk.read(),
            self.kiosk.runtime.settings,
            self.case_id,
            event_type,
            department=values.get("department"),
            person=values.get("person"),
            due=values.get("due"),
            note=values.get("note"),
            rating=values.get("rating"),
            of=values.get("of"),
            level=int(level) if level else None,
            unreached=bool(values.get("unreached")),
        )
        # every path there, at most 12: said in the form
        photos = photo_paths(values["photos"]) if values.get("photos") else []
        if check_state and self.detail is not None:
            candidate = Event(
                id="~", type=event_type, hlc="~", device_id="~", at=now_iso(), data=data
            )
            rule = check(self.detail.state, candidate)
            if rule is not None:
                raise CaseRefused(
                    rule, exit_code=3, status=Phrase(f"cases.status.{self.detail.state.status}")
                )
            # the community's rule, said on the photos field (the write checks it again)
            cats = load_categories(self.kiosk.runtime.settings)
            check_after_photo(self.kiosk.read(), self.case_id, event_type, len(photos), cats)
        return data

    @work(thread=True, exclusive=True, group="case-write", exit_on_error=False)
    def write(self, event_type: str, values: dict) -> None:
        from kiosk.photos.attach import photo_paths, prepare_files
        from kiosk.photos.camera import discard_shots

        data = self._event_data(event_type, values)
        rating_given = data.pop("rating_given", None)
        # prepared here, on the worker's thread, before the write: a bad file writes nothing
        paths = photo_paths(values.get("photos") or "")
        photos = prepare_files(paths, self.kiosk.runtime.settings)

        def write(ctx):
            append_event(ctx, self.case_id, event_type, data, photos=photos)
            if rating_given:
                append_event(ctx, self.case_id, "rate", {"rating": rating_given})

        self.kiosk.write(write)
        discard_shots(paths)  # camera shots: stored now, the files go
        self.post_message(self.Acted(event_type))

    # --- the PDF report (kiosk/cases/report.py) ------------------------------------------
    def action_save_report(self) -> None:
        """Ask where (the documents folder by default), then write the report on a thread."""
        if self.detail is None or not self.kiosk.permit("export.masked"):
            return
        from screens.cases.report_file import ReportFileScreen, default_report_path

        def chosen(path: str | None) -> None:
            if path:
                self.notify(t("photos.report.ui.saving"), timeout=3)
                self.save_report(path)

        self.app.push_screen(ReportFileScreen(default_report_path(self.detail.number)), chosen)

    @work(thread=True, exclusive=True, group="case-report", exit_on_error=False)
    def save_report(self, path: str) -> None:
        from kiosk.cases.report import save_report
        from kiosk.qr.fonts import font_for

        settings = self.kiosk.runtime.settings
        summary = save_report(
            self.kiosk.read(),
            self.kiosk.write,
            self.kiosk.worker,
            self.case_id,
            path,
            font_for(settings),  # none installed: the notice says what to install
            categories=load_categories(settings),
            rules=rules_of(self.kiosk),
        )
        self.post_message(self.ReportSaved(summary.path, summary.pages, summary.photos))

    def on_case_detail_screen_report_saved(self, message: ReportSaved) -> None:
        self.notify(
            t(
                "photos.report.ui.done",
                path=message.path,
                pages=message.pages,
                photos=message.photos,
            ),
            timeout=10,
        )

    def on_case_detail_screen_acted(self, message: Acted) -> None:
        self.notify(t("cases.ui.done", action=t(f"cases.event.{message.event_type}")))
        self.load()
