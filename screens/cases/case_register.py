"""Register a case (挂号): households, category, what the matter is, who raised it.

While the worker types, earlier cases that may be the same matter are proposed (open, or
closed recently, same category for the same household, building or compound, or similar
text). The worker either links the new case as a repeat of the highlighted one (重复), or
confirms it is new. Opened from a visit, the household and the visit come along.

Returns the new case id (None when cancelled).
"""

from __future__ import annotations

from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Header, Input, Select, Static

from db.cases import RepeatCandidate, append_event, register_case, repeat_candidates
from db.search import search_households
from kiosk.core.errors import UserError
from kiosk.core.i18n import t, term
from kiosk.domain import present
from kiosk.domain.categories import load_categories
from screens.cases.case_widgets import WorkerErrors, rules_of, status_text
from screens.photos.picker import PhotoPathsInput
from screens.widgets.footer import KioskFooter


class CaseRegisterScreen(WorkerErrors, Screen[str | None]):
    #: what the acting worker needs to open it (kiosk/security/roles.py); the app checks
    PERMISSION: ClassVar[str | None] = "case.register"
    BINDINGS = [
        Binding(
            "escape", "cancel", term("ui.back"), id="case_register.cancel", tooltip=term("ui.back")
        ),
        Binding(
            "ctrl+s",
            "save_new",
            term("cases.ui.save_new"),
            id="case_register.save_new",
            tooltip=term("cases.ui.save_new_hint"),
        ),
        Binding(
            "ctrl+r",
            "save_repeat",
            term("cases.ui.save_repeat"),
            id="case_register.save_repeat",
            tooltip=term("cases.ui.save_repeat_hint"),
        ),
    ]

    DEFAULT_CSS = """
    #reg-form { height: auto; }
    #reg-top { height: auto; }
    #reg-top Select { width: 1fr; }
    #reg-households-table { height: 5; }
    #reg-form Input { margin-bottom: 1; }
    #reg-form Input.-textual-compact { margin-bottom: 0; }
    #reg-repeats { height: 1fr; min-height: 4; }
    #reg-error { color: $error; height: auto; display: none; }
    #reg-error.-shown { display: block; }
    #reg-form .-invalid { border: tall $error; }
    """

    class HouseholdHits(Message):
        """Households matching the search box (handled by CaseRegisterScreen)."""

        def __init__(self, generation: int, hits: list) -> None:
            super().__init__()
            self.generation = generation
            self.hits = hits

    class Candidates(Message):
        """Possible repeats for what is typed so far (handled by CaseRegisterScreen)."""

        def __init__(self, generation: int, candidates: list[RepeatCandidate]) -> None:
            super().__init__()
            self.generation = generation
            self.candidates = candidates

    class Refused(Message):
        """A photo could not be taken (handled by CaseRegisterScreen: said on the field)."""

        def __init__(self, message: str) -> None:
            super().__init__()
            self.message = message

    class Saved(Message):
        """The case was written (handled by CaseRegisterScreen: dismiss with its id)."""

        def __init__(self, case_id: str, repeat: bool) -> None:
            super().__init__()
            self.case_id = case_id
            self.repeat = repeat

    def __init__(
        self,
        household_ids: list[str] | None = None,
        visit_id: str | None = None,
        summary: str = "",
        category: str | None = None,
        raised_by: str | None = None,
    ) -> None:
        super().__init__()
        self.household_ids: list[str] = list(household_ids or [])
        self.visit_id = visit_id
        self.initial_summary = summary
        self.initial_category = category
        self.initial_raised_by = raised_by or ""
        self.candidates: list[RepeatCandidate] = []
        self._hh_generation = 0
        self._rep_generation = 0

    @property
    def kiosk(self):
        return self.app

    def compose(self) -> ComposeResult:
        cats = load_categories(self.app.runtime.settings)  # type: ignore[attr-defined]
        options = [(f"{g.name} / {c.name}", c.code) for g in cats.groups for c in g.subs]
        initial: Any = Select.NULL
        if self.initial_category and cats.get(self.initial_category):
            initial = self.initial_category
        yield Header()
        with Vertical(id="reg-form"):
            yield Static(t("cases.ui.register"), classes="title")
            yield Static("", id="reg-households", classes="muted")
            if not self.household_ids:
                yield Input(
                    placeholder=t("cases.ui.household_search"),
                    id="reg-household-search",
                    compact=True,
                )
                yield DataTable(id="reg-households-table", cursor_type="row")
            with Horizontal(id="reg-top"):
                yield Select(
                    options,
                    prompt=t("cases.col.category"),
                    id="reg-category",
                    value=initial,
                    compact=True,
                )
            yield Input(
                value=self.initial_summary,
                placeholder=t("cases.ui.summary_placeholder"),
                id="reg-summary",
                compact=True,
            )
            yield Input(
                value=self.initial_raised_by,
                placeholder=t("cases.ui.raised_by_placeholder"),
                id="reg-raised-by",
                compact=True,
            )
            # the "before" photos: paths typed or pasted, or a folder; prepared when saved
            yield PhotoPathsInput(
                placeholder=t("cases.ui.photos_placeholder"), id="reg-photos", compact=True
            )
            yield Static("", id="reg-error")
        yield Static(t("cases.ui.repeats_none"), id="reg-repeats-title", classes="muted")
        yield DataTable(id="reg-repeats", cursor_type="row", zebra_stripes=True)
        yield KioskFooter()

    def on_mount(self) -> None:
        self.query_one("#reg-repeats", DataTable).add_columns(
            t("cases.col.number"),
            t("cases.col.status"),
            t("cases.ui.scope"),
            t("cases.col.registered"),
            t("cases.col.summary"),
        )
        # inline: the app stylesheet gives every DataTable 1fr, above DEFAULT_CSS
        self.query_one("#reg-repeats", DataTable).styles.height = "1fr"
        if not self.household_ids:
            self.query_one("#reg-households-table", DataTable).styles.height = 5
            self.query_one("#reg-households-table", DataTable).add_columns(
                t("col.address"), t("col.head"), t("col.grid")
            )
            self.query_one("#reg-household-search", Input).focus()
        else:
            self.query_one("#reg-category", Select).focus()
        self.show_households()
        self.refresh_candidates()

    # --- households -----------------------------------------------------------------------
    def show_households(self) -> None:
        n = len(self.household_ids)
        self.query_one("#reg-households", Static).update(
            t("cases.ui.households_chosen", n=n) if n else t("cases.ui.households_none")
        )

    @on(Input.Changed, "#reg-household-search")
    def household_query(self, event: Input.Changed) -> None:
        self._hh_generation += 1
        if event.value.strip():
            self.search(self._hh_generation, event.value)

    @work(thread=True, exclusive=True, group="case-register-search", exit_on_error=False)
    def search(self, generation: int, query: str) -> None:
        hits = search_households(self.app.read(), query, limit=20)  # type: ignore[attr-defined]
        self.post_message(self.HouseholdHits(generation, hits))

    def on_case_register_screen_household_hits(self, message: HouseholdHits) -> None:
        if message.generation != self._hh_generation:
            return
        table = self.query_one("#reg-households-table", DataTable)
        table.clear()
        for hit in message.hits:
            h = hit.household
            table.add_row(present.address(h), present.head(h), h.grid_code, key=h.id)

    @on(Input.Submitted, "#reg-household-search")
    def household_pick_first(self) -> None:
        table = self.query_one("#reg-households-table", DataTable)
        if table.row_count:
            table.focus()

    @on(DataTable.RowSelected, "#reg-households-table")
    def household_picked(self, event: DataTable.RowSelected) -> None:
        hid = event.row_key.value
        if hid and hid not in self.household_ids:
            self.household_ids.append(hid)
            self.show_households()
            self.refresh_candidates()
            self.query_one("#reg-category", Select).focus()

    # --- repeat candidates ----------------------------------------------------------------
    @on(Select.Changed, "#reg-category")
    def category_changed(self) -> None:
        self.refresh_candidates()

    @on(Input.Changed, "#reg-summary")
    def summary_changed(self) -> None:
        self.refresh_candidates()

    def _category(self) -> str | None:
        v = self.query_one("#reg-category", Select).value
        return None if v == Select.NULL else str(v)

    def refresh_candidates(self) -> None:
        if not self.household_ids:
            return
        self._rep_generation += 1
        self.find_candidates(
            self._rep_generation,
            list(self.household_ids),
            self._category(),
            self.query_one("#reg-summary", Input).value,
        )

    @work(thread=True, exclusive=True, group="case-register-repeats", exit_on_error=False)
    def find_candidates(
        self, generation: int, households: list[str], category: str | None, summary: str
    ) -> None:
        settings = self.app.runtime.settings  # type: ignore[attr-defined]
        found = repeat_candidates(
            self.app.read(),  # type: ignore[attr-defined]
            households,
            category,
            summary,  # type: ignore[attr-defined]
            window_days=settings.repeat_window_days,
            rules=rules_of(self.app),
        )
        self.post_message(self.Candidates(generation, found))

    def on_case_register_screen_candidates(self, message: Candidates) -> None:
        if message.generation != self._rep_generation:
            return
        self.candidates = message.candidates
        table = self.query_one("#reg-repeats", DataTable)
        table.clear()
        for c in message.candidates:
            table.add_row(
                c.case.number,
                status_text(c.case.status),
                t(f"cases.scope.{c.scope}"),
                c.case.registered_at[:10],
                c.case.summary[:30],
                key=c.case.id,
            )
        self.query_one("#reg-repeats-title", Static).update(
            t("cases.ui.repeats_found", n=len(message.candidates))
            if message.candidates
            else t("cases.ui.repeats_none")
        )

    # --- saving ---------------------------------------------------------------------------
    def action_save_new(self) -> None:
        self.save(None)

    def action_save_repeat(self) -> None:
        table = self.query_one("#reg-repeats", DataTable)
        if not table.row_count:
            self.notify(t("cases.ui.no_candidate"), severity="warning")
            return
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        self.save(key)

    def save(self, repeat_of: str | None) -> None:
        from kiosk.photos.attach import photo_paths

        category = self._category()
        if category is None:
            self.notify(t("cases.ui.need_category"), severity="error")
            return
        try:  # every path there, at most 12: said on the field, nothing written
            photos = photo_paths(self.query_one("#reg-photos", Input).value)
        except UserError as exc:
            self.photos_refused(exc.message())
            return
        self.query_one("#reg-error", Static).update("")
        self.query_one("#reg-error", Static).remove_class("-shown")
        self.query_one("#reg-photos", Input).remove_class("-invalid")
        self.write(
            list(self.household_ids),
            category,
            self.query_one("#reg-summary", Input).value,
            self.query_one("#reg-raised-by", Input).value,
            repeat_of,
            [str(p) for p in photos],
        )

    def photos_refused(self, message: str) -> None:
        """Say what is wrong with the photos, on their field (what was typed stays)."""
        self.query_one("#reg-error", Static).update(message)
        self.query_one("#reg-error", Static).add_class("-shown")
        field = self.query_one("#reg-photos", Input)
        field.add_class("-invalid")
        field.focus()

    def on_case_register_screen_refused(self, message: Refused) -> None:
        self.photos_refused(message.message)

    @work(thread=True, exclusive=True, group="case-register-write", exit_on_error=False)
    def write(
        self,
        households: list[str],
        category: str,
        summary: str,
        raised_by: str,
        repeat_of: str | None,
        photo_files: list[str] | None = None,
    ) -> None:
        from db.photos import register_event
        from kiosk.photos.attach import attach_prepared, prepare_files

        if not households:
            raise UserError("cases.error.no_household")
        settings = self.app.runtime.settings  # type: ignore[attr-defined]
        cats = load_categories(settings)
        try:  # prepared here, on the worker's thread, before the write: a bad file writes nothing
            photos = prepare_files(photo_files or [], settings)
        except UserError as exc:
            self.post_message(self.Refused(exc.message()))
            return

        def fn(ctx):
            cid = register_case(
                ctx,
                household_ids=households,
                category=category,
                summary=summary,
                visit_id=self.visit_id,
                raised_by=raised_by,
                categories=cats,
            )
            if photos:
                attach_prepared(ctx, cid, register_event(ctx.conn, cid), photos)
            if repeat_of:
                number = ctx.conn.execute(
                    "SELECT number FROM cases WHERE id = ?", (repeat_of,)
                ).fetchone()[0]
                append_event(ctx, cid, "repeat_of", {"of": repeat_of, "of_number": number})
            return cid

        cid = self.app.write(fn)  # type: ignore[attr-defined]
        self.post_message(self.Saved(cid, bool(repeat_of)))

    def on_case_register_screen_saved(self, message: Saved) -> None:
        self.notify(t("cases.ui.saved_repeat" if message.repeat else "cases.ui.saved"))
        self.dismiss(message.case_id)

    def action_cancel(self) -> None:
        self.dismiss(None)


def register_command(app):
    """The command-palette entry "register a case" (for the household on screen, if any)."""
    from textual.app import SystemCommand

    household_id = getattr(app.screen, "household_id", None)
    return SystemCommand(
        t("cases.ui.register"),
        t("cases.ui.register_hint"),
        lambda: app.push_screen(CaseRegisterScreen([household_id] if household_id else None)),
    )
