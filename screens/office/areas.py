"""The areas (F6, for administrators and supervisors): the grids with their community and how
many households live in each; Enter opens a grid's compounds. ``a`` adds, ``r`` renames,
Delete retires (only what nobody lives in any more), ``u`` brings a retired one back. Grids
are the administrator's; a supervisor keeps the compounds of their community's grids.
kiosk/households/areas.py does the work."""

from __future__ import annotations

from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Header, Input, Label, Static

from db.areas import AreaCount, Grid, compounds_of_grid, grid_counts, list_grids
from db.errors import UserError
from kiosk.core.errors import describe
from kiosk.core.i18n import t, term
from kiosk.households import areas
from kiosk.security.roles import grid_in_scope
from screens.base import KioskScreen
from screens.widgets.footer import KioskFooter
from screens.widgets.result_list import ResultList


class NamesForm(ModalScreen[dict[str, str] | None]):
    """A few names typed (a new grid's street, community and name; a new name): Enter in the
    last field or Ctrl+S gives them, Esc gives None."""

    PERMISSION: ClassVar[str | None] = "areas.manage"

    DEFAULT_CSS = """
    NamesForm { align: center middle; }
    NamesForm > Vertical {
        width: 60; max-width: 100%; height: auto; border: round $accent;
        padding: 0 1; background: $surface;
    }
    NamesForm Label { color: $text-muted; }
    NamesForm Input { margin-bottom: 1; }
    """
    BINDINGS = [
        Binding("escape", "cancel", term("ui.back"), id="names.cancel", tooltip=term("ui.back")),
        Binding(
            "ctrl+s",
            "done",
            term("areas.ui.save"),
            id="names.save",
            priority=True,
            tooltip=term("areas.ui.save"),
        ),  # fmt: skip
    ]

    def __init__(self, title: str, fields: list[tuple[str, str, str]]) -> None:
        """``fields``: (key, label, value) of each name asked."""
        super().__init__()
        self.title_text = title
        self.fields = fields

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.title_text, classes="title")
            for key, label, value in self.fields:
                yield Label(label)
                yield Input(value, id=f"names-{key}", compact=True, max_length=64)

    @on(Input.Submitted)
    def next_or_done(self, event: Input.Submitted) -> None:
        inputs = list(self.query(Input))
        if event.input is inputs[-1]:
            self.action_done()
        else:
            inputs[inputs.index(event.input) + 1].focus()

    def action_done(self) -> None:
        self.dismiss(
            {key: self.query_one(f"#names-{key}", Input).value for key, _, _ in self.fields}
        )

    def action_cancel(self) -> None:
        self.dismiss(None)


class AreaListScreen(KioskScreen):
    """What the grids and compounds lists share: a list, a line for what went wrong, the
    keys, and writes on a thread."""

    PERMISSION: ClassVar[str | None] = "areas.manage"
    DEFAULT_CSS = """
    AreaListScreen #areas-error { color: $error; padding: 0 1; height: auto; }
    AreaListScreen #areas-hint { padding: 0 1; height: auto; }
    """
    BINDINGS = [
        Binding(
            "escape", "app.pop_screen", term("ui.back"), id="areas.back", tooltip=term("ui.back")
        ),  # fmt: skip
        Binding("a", "add", term("areas.ui.add"), id="areas.add", tooltip=term("areas.ui.add")),
        Binding(
            "r",
            "rename",
            term("areas.ui.rename"),
            id="areas.rename",
            tooltip=term("areas.ui.rename"),
        ),  # fmt: skip
        Binding(
            "delete",
            "retire",
            term("areas.ui.retire"),
            id="areas.retire",
            tooltip=term("areas.ui.retire_hint"),
        ),  # fmt: skip
        Binding(
            "u",
            "bring_back",
            term("areas.ui.bring_back"),
            id="areas.bring_back",
            tooltip=term("areas.ui.bring_back"),
        ),  # fmt: skip
    ]

    class Listed(Message):
        def __init__(self, rows: list[Any]) -> None:
            super().__init__()
            self.rows = rows

    class Done(Message):
        def __init__(self, said: str, error: bool = False) -> None:
            super().__init__()
            self.said = said
            self.error = error

    #: the replicated entity listed ("grid" or "compound")
    ENTITY = ""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[Any] = []

    def columns(self) -> list[str]:
        raise NotImplementedError

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(self.title_text(), classes="title", id="areas-title")
        yield Static(t("areas.ui.hint"), classes="muted", id="areas-hint")
        yield Static("", id="areas-error")
        yield ResultList(self.columns(), id="areas-list")
        yield KioskFooter()

    def title_text(self) -> str:
        return ""

    def on_mount(self) -> None:
        self.query_one("#areas-list", ResultList).focus()
        self.load()

    def load(self) -> Any:
        raise NotImplementedError

    def reload(self, _result: object = None) -> None:
        self.load()

    def cells(self, row: Any) -> tuple[str, ...]:
        raise NotImplementedError

    def on_area_list_screen_listed(self, message: Listed) -> None:
        self.show_rows(message.rows)

    def show_rows(self, rows: list[Any]) -> None:
        self.rows = rows
        self._set_rows([(r.id, self.cells(r)) for r in rows])

    def _set_rows(self, rows: list[tuple[str, tuple[str, ...]]]) -> None:
        """Show ``rows``, the cursor staying on the record it was on (after a rename...)."""
        table = self.query_one("#areas-list", ResultList)
        was = table.key_at(table.cursor_row) if table.row_count else None
        table.set_rows(rows)
        keys = [key for key, _ in rows]
        if was in keys:
            table.cursor_row = keys.index(was)

    def chosen(self) -> Any | None:
        table = self.query_one("#areas-list", ResultList)
        if not table.row_count or not self.rows:
            return None
        return self.rows[min(table.cursor_row, len(self.rows) - 1)]

    def may_write(self) -> bool:
        return True

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("add", "rename", "retire", "bring_back") and not self.may_write():
            return False
        return super().check_action(action, parameters)

    @work(thread=True, exclusive=True, group="areas-write", exit_on_error=False)
    def write(self, fn, said: str) -> None:  # type: ignore[no-untyped-def]
        try:
            self.kiosk.write(fn)
        except UserError as exc:
            self.post_message(self.Done(describe(exc), error=True))
            return
        self.post_message(self.Done(said))

    def on_area_list_screen_done(self, message: Done) -> None:
        self.query_one("#areas-error", Static).update(message.said if message.error else "")
        if not message.error:
            self.notify(message.said)
            self.load()

    def action_retire(self) -> None:
        row = self.chosen()
        if row is not None and row.retired_at is None:
            self.write(
                lambda ctx: areas.retire(ctx, self.ENTITY, row.id),
                t("areas.ui.retired", name=row.name),
            )

    def action_bring_back(self) -> None:
        row = self.chosen()
        if row is not None and row.retired_at is not None:
            self.write(
                lambda ctx: areas.bring_back(ctx, self.ENTITY, row.id),
                t("areas.ui.back_in_use", name=row.name),
            )

    def _state(self, retired_at: str | None) -> str:
        return t("areas.retired") if retired_at else ""


class AreasScreen(AreaListScreen):
    """The grids the worker may see: every grid for the administrator, the community's for a
    supervisor."""

    PERMISSION: ClassVar[str | None] = "areas.manage"
    ENTITY = "grid"
    BINDINGS = [
        Binding(
            "enter",
            "open",
            term("areas.ui.compounds"),
            id="areas.open",
            tooltip=term("areas.ui.compounds_hint"),
        ),  # fmt: skip
    ]

    def title_text(self) -> str:
        return t("areas.ui.title")

    def columns(self) -> list[str]:
        return [
            t("areas.col.code"),
            t("areas.col.grid"),
            t("areas.col.community"),
            t("areas.col.households"),
            t("areas.col.state"),
        ]

    @work(thread=True, exclusive=True, group="areas", exit_on_error=False)
    def load(self) -> None:
        conn, worker = self.kiosk.read(), self.kiosk.worker
        counts = grid_counts(conn)
        grids = [g for g in list_grids(conn) if worker and grid_in_scope(worker, g)]
        self.post_message(self.Listed([(g, counts.get(g.id, 0)) for g in grids]))

    def show_rows(self, rows: list[Any]) -> None:
        self.rows = [g for g, _n in rows]
        self._set_rows([(g.id, self.grid_cells(g, n)) for g, n in rows])

    def grid_cells(self, g: Grid, n: int) -> tuple[str, ...]:
        return (g.code, g.name, g.community, str(n), self._state(g.retired_at))

    def may_write(self) -> bool:
        return areas.may_manage_grids(self.kiosk.worker)

    def on_result_list_selected(self, message: ResultList.Selected) -> None:
        message.stop()
        self.action_open()

    def action_open(self) -> None:
        grid = self.chosen()
        if grid is not None:
            self.app.push_screen(CompoundsScreen(grid), self.reload)

    def action_add(self) -> None:
        if not self.may_write():
            return
        sample = self.rows[0] if self.rows else None

        def done(values: dict[str, str] | None) -> None:
            if values:
                self.write(
                    lambda ctx: areas.add_grid(ctx, **values),
                    t("areas.ui.added", name=values.get("name", "")),
                )

        self.app.push_screen(
            NamesForm(
                t("areas.ui.add_grid"),
                [
                    ("street", t("areas.col.street"), sample.street if sample else ""),
                    ("community", t("areas.col.community"), sample.community if sample else ""),
                    ("name", t("areas.col.grid"), ""),
                    ("code", t("areas.ui.code_optional"), ""),
                ],
            ),
            done,
        )

    def action_rename(self) -> None:
        grid = self.chosen()
        if grid is None or not self.may_write():
            return

        def done(values: dict[str, str] | None) -> None:
            if values:
                self.write(
                    lambda ctx: areas.rename_grid(ctx, grid.id, values["name"]),
                    t("areas.ui.renamed", name=values["name"]),
                )

        self.app.push_screen(
            NamesForm(
                t("areas.ui.rename_of", name=grid.name), [("name", t("areas.col.grid"), grid.name)]
            ),
            done,
        )


class CompoundsScreen(AreaListScreen):
    """A grid's compounds, each with the households living in it."""

    PERMISSION: ClassVar[str | None] = "areas.manage"
    ENTITY = "compound"

    def __init__(self, grid: Grid) -> None:
        super().__init__()
        self.grid = grid

    def title_text(self) -> str:
        return t("areas.ui.compounds_of", grid=self.grid.name, code=self.grid.code)

    def columns(self) -> list[str]:
        return [t("areas.col.compound"), t("areas.col.households"), t("areas.col.state")]

    @work(thread=True, exclusive=True, group="areas", exit_on_error=False)
    def load(self) -> None:
        self.post_message(self.Listed(compounds_of_grid(self.kiosk.read(), self.grid.id)))

    def cells(self, row: AreaCount) -> tuple[str, ...]:
        return (row.name, str(row.households), self._state(row.retired_at))

    def action_add(self) -> None:
        def done(values: dict[str, str] | None) -> None:
            if values:
                self.write(
                    lambda ctx: areas.add_compound(ctx, self.grid.id, values["name"]),
                    t("areas.ui.added", name=values["name"]),
                )

        self.app.push_screen(
            NamesForm(
                t("areas.ui.add_compound", grid=self.grid.name),
                [("name", t("areas.col.compound"), "")],
            ),  # fmt: skip
            done,
        )

    def action_rename(self) -> None:
        row = self.chosen()
        if row is None:
            return

        def done(values: dict[str, str] | None) -> None:
            if values:
                self.write(
                    lambda ctx: areas.rename_compound(ctx, row.id, values["name"]),
                    t("areas.ui.renamed", name=values["name"]),
                )

        self.app.push_screen(
            NamesForm(
                t("areas.ui.rename_of", name=row.name),
                [("name", t("areas.col.compound"), row.name)],
            ),
            done,
        )
