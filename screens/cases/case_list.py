"""The case list (mode 事项): filters by status, category, department, escalation level, my
grid and overdue; paged in SQL, more rows load as the cursor reaches the end."""

from __future__ import annotations

from typing import ClassVar

from rich.cells import cell_len
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import DataTable, Header, Select, Static

from db.case_fold import STATUSES
from db.cases import CaseFilter, CaseSummary, count_cases, departments, list_cases
from kiosk.core.i18n import t, term
from kiosk.domain.categories import load_categories
from screens.base import KioskScreen
from screens.cases.case_widgets import level_text, rules_of, status_text
from screens.widgets.footer import KioskFooter

#: The columns besides the summary, and the order they give way in on a narrow terminal
#: (highest first); the summary takes what is left, at least SUMMARY_MIN cells.
COLUMNS = (
    ("number", 0),
    ("status", 0),
    ("category", 1),
    ("level", 3),
    ("due", 2),
    ("department", 4),
)
SUMMARY_MIN = 16
#: a DataTable cell's padding, left and right
PAD = 2


def plan_columns(widths: dict[str, int], available: int) -> tuple[list[str], int]:
    """Which columns fit beside a summary of at least SUMMARY_MIN cells in ``available``
    cells (the least important give way first), and the summary's width."""
    shown = [key for key, _ in COLUMNS]
    for key, priority in sorted(COLUMNS, key=lambda c: -c[1]):
        used = sum(widths[k] + PAD for k in shown)
        if priority == 0 or used + SUMMARY_MIN + PAD <= available:
            break
        shown.remove(key)
    used = sum(widths[k] + PAD for k in shown)
    return shown, max(SUMMARY_MIN, available - used - PAD)


def clip(text: str, width: int) -> Text:
    """``text`` cut to ``width`` terminal cells, with … when cut (Rich counts the cells)."""
    clipped = Text(text, no_wrap=True)
    clipped.truncate(width, overflow="ellipsis")
    return clipped


class CasesScreen(KioskScreen):
    #: what the acting worker needs to open it (None: the mode's or the caller's check)
    PERMISSION: ClassVar[str | None] = None
    BINDINGS = [
        Binding(
            "n",
            "register",
            term("cases.ui.register"),
            id="cases.register",
            tooltip=term("cases.ui.register_hint"),
        ),
        Binding(
            "g",
            "toggle_my_grid",
            term("cases.ui.my_grid"),
            id="cases.my_grid",
            tooltip=term("cases.ui.my_grid_hint"),
        ),
        Binding(
            "o",
            "toggle_overdue",
            term("cases.ui.overdue"),
            id="cases.overdue",
            tooltip=term("cases.ui.overdue_hint"),
        ),
        Binding(
            "d",
            "departments",
            term("departments.ui.title"),
            id="cases.departments",
            tooltip=term("departments.ui.open_hint"),
        ),
        Binding(
            "p",
            "case_rules",
            term("cases.rules.ui.title"),
            id="cases.case_rules",
            tooltip=term("cases.rules.ui.open_hint"),
        ),
        Binding(
            "r",
            "reload",
            term("cases.ui.reload"),
            id="cases.reload",
            tooltip=term("cases.ui.reload"),
        ),
        Binding(
            "escape",
            "focus_table",
            term("cases.ui.list"),
            id="cases.focus_table",
            show=False,
            tooltip=term("cases.ui.list"),
        ),
    ]

    DEFAULT_CSS = """
    #cases-filters { height: auto; }
    #cases-filters Select { width: 1fr; }
    """

    class Page(Message):
        """A page of cases (handled by CasesScreen; stale pages are dropped)."""

        def __init__(
            self,
            generation: int,
            offset: int,
            cases: list[CaseSummary],
            total: int | None,
            departments: list[str] | None,
        ) -> None:
            super().__init__()
            self.generation = generation
            self.offset = offset
            self.cases = cases
            self.total = total
            self.departments = departments

    def __init__(self) -> None:
        super().__init__()
        self.my_grid = False
        self.overdue = False
        self._generation = 0
        self._loaded = 0
        self._total = 0
        self._loading = False
        self._departments_loaded = False

    def compose(self) -> ComposeResult:
        cats = load_categories(self.kiosk.runtime.settings)
        yield Header()
        with Horizontal(id="cases-filters"):
            yield Select(
                [(t(f"cases.status.{s}"), s) for s in ("open", *STATUSES)],
                prompt=t("cases.col.status"),
                id="filter-status",
                compact=True,
            )
            options = []
            for g in cats.groups:
                options.append((g.name, g.code))
                options += [(f"  {c.name}", c.code) for c in g.subs if c.code != g.code]
            yield Select(
                options, prompt=t("cases.col.category"), id="filter-category", compact=True
            )
            yield Select([], prompt=t("cases.col.department"), id="filter-department", compact=True)
            yield Select(
                [(t(f"cases.level.{n}"), n) for n in range(4)],
                prompt=t("cases.col.level"),
                id="filter-level",
                compact=True,
            )
        yield Static("", id="cases-status", classes="muted")
        yield DataTable(id="cases-table", cursor_type="row", zebra_stripes=True)
        yield KioskFooter()

    def on_mount(self) -> None:
        self._cases: list[tuple[str, dict[str, Text | str], str]] = []
        self._layout: tuple[tuple[str, ...], int] | None = None
        self.query_one(DataTable).focus()
        self.reload()

    def on_resize(self) -> None:
        if self._cases:
            self._show(fresh=False)

    def _cells(self, c: CaseSummary) -> dict[str, Text | str]:
        cats = load_categories(self.kiosk.runtime.settings)
        return {
            "number": c.number,
            "status": status_text(c.status),
            "category": cats.label(c.category),
            "level": level_text(c.escalation_level),
            "due": c.due or "",
            "department": c.department or "",
        }

    def _show(self, *, fresh: bool, added: int = 0) -> None:
        """Lay the table out for its width (columns give way by priority, the summary gets
        what is left) and fill it; when the layout is unchanged only the ``added`` rows are
        appended, and a rebuilt table keeps its cursor row."""
        table = self.query_one(DataTable)
        widths = {
            key: max(
                [cell_len(t(f"cases.col.{key}"))]
                + [cell_len(str(cells[key])) for _, cells, _ in self._cases]
            )
            for key, _ in COLUMNS
        }
        available = (table.scrollable_content_region.width or self.size.width) - 1
        shown, summary_width = plan_columns(widths, available)
        layout = (tuple(shown), summary_width)
        if not fresh and layout == self._layout:
            rows = self._cases[len(self._cases) - added :] if added else []
        else:
            row = table.cursor_row
            table.clear(columns=True)
            for key in shown:
                table.add_column(t(f"cases.col.{key}"), key=key)
            table.add_column(t("cases.col.summary"), width=summary_width, key="summary")
            self._layout = layout
            rows = self._cases
        for cid, cells, summary in rows:
            table.add_row(*[cells[k] for k in shown], clip(summary, summary_width), key=cid)
        if rows is self._cases and not fresh and table.row_count:
            table.move_cursor(row=min(row, table.row_count - 1))

    def on_screen_resume(self) -> None:
        if self.is_mounted:
            self.reload()

    @property
    def page_size(self) -> int:
        return self.kiosk.runtime.settings.page_size

    def current_filter(self) -> CaseFilter:
        def value(sel_id: str):
            v = self.query_one(sel_id, Select).value
            return None if v == Select.NULL else v

        # "my grid": the worker's grid codes become ids in the worker thread
        grid_ids: list[str] | None = [] if self.my_grid else None
        return CaseFilter(
            status=value("#filter-status"),
            category=value("#filter-category"),
            department=value("#filter-department"),
            level=value("#filter-level"),
            grid_ids=grid_ids,
            overdue=self.overdue,
        )

    def reload(self) -> None:
        self._generation += 1
        self._loading = True
        self.fetch(self._generation, self.current_filter(), 0)

    @work(thread=True, exclusive=True, group="cases", exit_on_error=False)
    def fetch(self, generation: int, f: CaseFilter, offset: int) -> None:
        from kiosk.security.roles import listing_grids

        conn = self.kiosk.read()
        if f.grid_ids is not None and self.kiosk.worker:
            codes = list(self.kiosk.worker.grids)
            f.grid_ids = [
                r[0]
                for r in conn.execute(
                    f"SELECT id FROM grids WHERE code IN ({','.join('?' * len(codes))})", codes
                )
            ]
        else:
            # The cases of the grids the worker reaches: on an office replica of a street,
            # a community's supervisor lists their community's, not the street's.
            f.grid_ids = listing_grids(conn, self.kiosk.worker)
        rules = rules_of(self.kiosk)
        cases = list_cases(conn, f, limit=self.page_size, offset=offset, rules=rules)
        total = count_cases(conn, f, rules=rules) if offset == 0 else None
        depts = departments(conn) if not self._departments_loaded else None
        self.post_message(self.Page(generation, offset, cases, total, depts))

    def on_cases_screen_page(self, message: Page) -> None:
        if message.generation != self._generation:
            return
        if message.departments is not None and not self._departments_loaded:
            self._departments_loaded = True
            self.query_one("#filter-department", Select).set_options(
                [(d, d) for d in message.departments]
            )
        fresh = message.offset == 0
        if fresh:
            self._cases = []
            self._loaded = 0
            self._total = message.total or 0
        self._cases += [(c.id, self._cells(c), c.summary) for c in message.cases]
        self._show(fresh=fresh, added=len(message.cases))
        self._loaded += len(message.cases)
        self._loading = False
        flags = []
        if self.my_grid:
            flags.append(t("cases.ui.my_grid"))
        if self.overdue:
            flags.append(t("cases.ui.overdue"))
        self.query_one("#cases-status", Static).update(
            t("cases.ui.count", shown=self._loaded, total=self._total)
            + (f"  [{' · '.join(flags)}]" if flags else "")
        )

    @on(Select.Changed)
    def filter_changed(self, event: Select.Changed) -> None:
        if event.select.id and event.select.id.startswith("filter-"):
            self.reload()

    @on(DataTable.RowHighlighted, "#cases-table")
    def maybe_more(self, event: DataTable.RowHighlighted) -> None:
        if (
            not self._loading
            and self._loaded < self._total
            and event.cursor_row >= event.data_table.row_count - 1
        ):
            self._loading = True
            self.fetch(self._generation, self.current_filter(), self._loaded)

    @on(DataTable.RowSelected, "#cases-table")
    def open_case(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value:
            from screens.cases.case_detail import CaseDetailScreen

            self.app.push_screen(CaseDetailScreen(event.row_key.value))

    def action_toggle_my_grid(self) -> None:
        self.my_grid = not self.my_grid
        self.reload()

    def action_toggle_overdue(self) -> None:
        self.overdue = not self.overdue
        self.reload()

    def action_reload(self) -> None:
        self.reload()

    def action_focus_table(self) -> None:
        self.query_one(DataTable).focus()

    def role_action(self, action: str, parameters: tuple[object, ...]) -> str | None:
        # the list of departments and the case rules are the supervisor's: a grid worker is
        # not offered d or p; an overseer, who registers nothing and has no grid of their
        # own, is offered neither n nor g
        return {
            "departments": "departments.manage",
            "case_rules": "case_rules.manage",
            "register": "case.register",
            "toggle_my_grid": "case.register",
        }.get(action)

    def action_case_rules(self) -> None:
        from screens.cases.case_rules import CaseRulesScreen

        self.app.push_screen(CaseRulesScreen())

    def action_departments(self) -> None:
        from screens.cases.departments import DepartmentsScreen

        self.app.push_screen(DepartmentsScreen(), lambda _: self._reload_departments())

    def _reload_departments(self) -> None:
        self._departments_loaded = False

    def action_register(self) -> None:
        from screens.cases.case_register import CaseRegisterScreen

        self.app.push_screen(CaseRegisterScreen())
