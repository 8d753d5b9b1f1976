"""The figures supervisors report (mode 统计, F5): the four rates, overdue and escalation
counts, repeats; a bar chart by category, a weekly trend, and a table by grid or department."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from rich.cells import cell_len
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import DataTable, Header, Static
from textual_plotext import PlotextPlot

from kiosk.cases.figures import Scope, compute
from kiosk.core.i18n import t, term
from kiosk.domain.categories import load_categories
from screens.base import KioskScreen
from screens.cases.case_list import clip
from screens.cases.case_widgets import LEVEL_STYLES, rules_of
from screens.widgets.footer import KioskFooter

if TYPE_CHECKING:
    from screens.cases.ledger_export import LedgerChoice

PERIODS = (None, 7, 30, 90, 365)  # all time, last week, month, quarter, year
BREAKDOWNS = ("grid", "category_group", "department")
#: who oversees more than one community starts the roll-up higher:
#: street → community → grid → category → department
ROLL_UP = {"district": ("street", "community"), "street": ("community",)}
TREND_WEEKS = 12


def pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


#: the charts' two series (plotext's colour names are also Rich's)
REGISTERED, RESOLVED = "cyan", "green"


class CategoryBars(Static):
    """Registered and resolved per category group as bars: each name padded by terminal
    cells (a Chinese character is two), the registered bar with its resolved part over it."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id)
        self.rows: list[tuple[str, int, int]] = []

    def show(self, rows: list[tuple[str, int, int]]) -> None:
        self.rows = rows
        self.refresh()

    def on_resize(self) -> None:
        self.refresh()

    def render(self) -> Text:
        if not self.rows:
            return Text("")
        name_width = min(12, max(cell_len(name) for name, _, _ in self.rows))
        biggest = max(max(reg, res) for _, reg, res in self.rows) or 1
        numbers = max(len(f"{reg}/{res}") for _, reg, res in self.rows)
        room = max(1, self.size.width - name_width - numbers - 3)
        out = Text(no_wrap=True, overflow="crop")
        for i, (name, reg, res) in enumerate(self.rows[: max(1, self.size.height)]):
            shown = clip(name, name_width).plain
            whole = round(room * reg / biggest)
            done = min(whole, round(room * res / biggest))
            if i:
                out.append("\n")
            out.append(shown + " " * (name_width - cell_len(shown)) + " ")
            out.append("█" * done, RESOLVED)
            out.append("█" * (whole - done), REGISTERED)
            out.append(" " * (room - whole) + f" {reg}/{res}")
        return out


class FiguresScreen(KioskScreen):
    #: what the acting worker needs to open it (None: the mode's or the caller's check)
    PERMISSION: ClassVar[str | None] = None
    BINDINGS = [
        Binding(
            "p",
            "next_period",
            term("figures.period"),
            id="figures.period",
            tooltip=term("figures.period_hint"),
        ),
        Binding(
            "b",
            "next_breakdown",
            term("figures.breakdown"),
            id="figures.breakdown",
            tooltip=term("figures.breakdown_hint"),
        ),
        Binding(
            "x",
            "export_ledger",
            term("figures.export"),
            id="figures.export",
            tooltip=term("figures.export_hint"),
        ),
        Binding(
            "r",
            "reload",
            term("cases.ui.reload"),
            id="figures.reload",
            tooltip=term("cases.ui.reload"),
        ),
    ]

    DEFAULT_CSS = """
    #figures-charts { height: 2fr; min-height: 9; }
    #figures-charts > Vertical { width: 1fr; }
    #figures-by-category { height: 1fr; padding: 0 1; }
    #figures-trend { height: 1fr; }
    .chart-title { height: 1; padding: 0 1; }
    #figures-table { height: 1fr; min-height: 5; }
    """

    class Computed(Message):
        """The figures arrived (handled by FiguresScreen)."""

        def __init__(self, figures: dict) -> None:
            super().__init__()
            self.figures = figures

    class LedgerExported(Message):
        """A ledger was written (handled by FiguresScreen): to ``path`` on this PC, or, in a
        browser session, read into ``content`` to go to the browser as a download."""

        def __init__(self, kind: str, path: str, rows: int, content: bytes | None) -> None:
            super().__init__()
            self.kind, self.path, self.rows, self.content = kind, path, rows, content

    def __init__(self) -> None:
        super().__init__()
        self.period_index = 0
        self.breakdown_index = 0
        self.figures: dict | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(t("ui.loading"), id="figures-headline")
        with Horizontal(id="figures-charts"):
            # Titles, legends and category names are drawn by us, not by plotext, which
            # counts a Chinese character as one cell (its frame and labels went askew).
            with Vertical():
                yield Static(self._title("figures.by_category"), classes="chart-title")
                yield CategoryBars(id="figures-by-category")
            with Vertical():
                yield Static(self._title("figures.trend"), classes="chart-title")
                yield PlotextPlot(id="figures-trend")
        yield DataTable(id="figures-table", cursor_type="row", zebra_stripes=True)
        yield KioskFooter()

    def on_mount(self) -> None:
        self.reload()

    def on_screen_resume(self) -> None:
        if self.is_mounted:
            self.reload()

    @property
    def breakdowns(self) -> tuple[str, ...]:
        worker = self.kiosk.worker
        return ROLL_UP.get(worker.role if worker else "", ()) + BREAKDOWNS

    def reload(self) -> None:
        days = PERIODS[self.period_index]
        scope = Scope(date_from=date.today() - timedelta(days=days) if days else None)
        self.fetch(scope)

    @work(thread=True, exclusive=True, group="figures", exit_on_error=False)
    def fetch(self, scope: Scope) -> None:
        from dataclasses import replace

        from kiosk.security.roles import listing_grids

        conn = self.kiosk.read()
        # Only the grids the signed-in worker reaches: on an office replica of a street, a
        # community's supervisor sees their community's figures, not the street's.
        reach = listing_grids(conn, self.kiosk.worker)
        if reach is not None:
            scope = replace(scope, grid_ids=tuple(reach))
        self.post_message(self.Computed(compute(conn, scope, rules=rules_of(self.kiosk))))

    def on_figures_screen_computed(self, message: Computed) -> None:
        self.figures = f = message.figures
        tot = f["total"]
        days = PERIODS[self.period_index]
        period = t("figures.all_time") if days is None else t("figures.last_days", n=days)
        head = Text()
        head.append(
            f"{period} · " + t("figures.registered", n=tot["registered"]) + "\n", style="bold"
        )
        head.append(
            f"{t('figures.resolution_rate')} {pct(tot['resolution_rate'])}   "
            f"{t('figures.completion_rate')} {pct(tot['completion_rate'])}   "
            f"{t('figures.first_time_rate')} {pct(tot['first_time_rate'])}   "
            f"{t('figures.satisfaction_rate')} {pct(tot['satisfaction_rate'])}\n"
        )
        head.append(
            f"{t('figures.open')} {tot['open']}   {t('figures.overdue')} {tot['overdue']}   "
        )
        for level in (1, 2, 3):
            head.append(
                f"{t(f'cases.level.{level}')} {tot[f'level_{level}']}", style=LEVEL_STYLES[level]
            )
            head.append("   ")
        head.append(
            f"{t('figures.repeats')} {tot['repeats']}   {t('figures.on_spot')} {tot['on_spot']}"
        )
        self.query_one("#figures-headline", Static).update(head)
        self.draw_categories(f)
        self.draw_trend(f)
        self.fill_table(f)

    @staticmethod
    def _title(key: str) -> Text:
        """A chart's title and its legend: registered and resolved in the charts' colours."""
        return Text.assemble(
            (t(key), "bold"),
            "  ",
            ("██", REGISTERED),
            f" {t('figures.series_registered')}  ",
            ("██", RESOLVED),
            f" {t('figures.series_resolved')}",
        )

    def draw_categories(self, f: dict) -> None:
        cats = load_categories(self.kiosk.runtime.settings)
        rows = sorted(f["by_category_group"], key=lambda r: -r["registered"])
        self.query_one(CategoryBars).show(
            [(cats.label(r["key"]), r["registered"], r["resolved"]) for r in rows]
        )

    def draw_trend(self, f: dict) -> None:
        weeks = f["by_week"][-TREND_WEEKS:]
        plot = self.query_one("#figures-trend", PlotextPlot)
        plt = plot.plt
        plt.clear_data()
        plt.clear_figure()
        if weeks:
            xs = list(range(len(weeks)))
            plt.plot(xs, [w["registered"] for w in weeks], color=REGISTERED)
            plt.plot(xs, [w["resolved"] for w in weeks], color=RESOLVED)
            # label only the weeks that fit, counted back from the latest: plotext would drop
            # the ones that overlap in an order that changes from run to run
            fit = max(1, (plot.size.width - 8) // 7)
            step = -(-len(weeks) // fit)
            shown = xs[::-1][::step][::-1]
            plt.xticks([float(x) for x in shown], [weeks[x]["key"][5:] for x in shown])
        plot.refresh()

    def fill_table(self, f: dict) -> None:
        dim = self.breakdowns[self.breakdown_index % len(self.breakdowns)]
        cats = load_categories(self.kiosk.runtime.settings)
        table = self.query_one("#figures-table", DataTable)
        table.clear(columns=True)
        table.add_columns(
            t(f"figures.dim.{dim}"),
            t("figures.col.registered"),
            t("figures.resolution_rate"),
            t("figures.completion_rate"),
            t("figures.first_time_rate"),
            t("figures.satisfaction_rate"),
            t("figures.overdue"),
            t("figures.col.levels"),
            t("figures.repeats"),
        )
        for r in f[f"by_{dim}"]:
            key = r["key"] or t("figures.unassigned")
            if dim == "category_group":
                key = cats.label(key)
            table.add_row(
                key,
                str(r["registered"]),
                pct(r["resolution_rate"]),
                pct(r["completion_rate"]),
                pct(r["first_time_rate"]),
                pct(r["satisfaction_rate"]),
                str(r["overdue"]),
                f"{r['level_1']}/{r['level_2']}/{r['level_3']}",
                str(r["repeats"]),
            )

    def action_next_period(self) -> None:
        self.period_index = (self.period_index + 1) % len(PERIODS)
        self.reload()

    def action_next_breakdown(self) -> None:
        self.breakdown_index = (self.breakdown_index + 1) % len(self.breakdowns)
        if self.figures:
            self.fill_table(self.figures)

    def action_reload(self) -> None:
        self.reload()

    # --- the ledgers (kiosk/cases/ledger.py), for the grids of the worker's scope ------------
    def role_action(self, action: str, parameters: tuple[object, ...]) -> str | None:
        return "export.masked" if action == "export_ledger" else None

    def action_export_ledger(self) -> None:
        """Ask which ledger and where, then write it on a thread. In a browser session (``kiosk
        office web``) the file goes to the browser as a download, not to this PC's disk."""
        if not self.kiosk.permit("export.masked"):
            return
        from screens.cases.ledger_export import LedgerExportScreen
        from screens.cases.report_file import report_folder

        def chosen(choice: LedgerChoice | None) -> None:
            if choice is not None:
                self.notify(t("ledger.ui.exporting"), timeout=3)
                self.export_ledger(choice, self.app.is_web)

        web = self.app.is_web
        self.app.push_screen(
            LedgerExportScreen(Path() if web else report_folder(), web=web), chosen
        )

    @work(thread=True, exclusive=True, group="ledger-export", exit_on_error=False)
    def export_ledger(self, choice: LedgerChoice, web: bool) -> None:
        import tempfile

        from kiosk.cases.ledger import export_in_scope
        from kiosk.core.errors import UserError
        from screens.cases.ledger_export import download_name

        settings = self.kiosk.runtime.settings
        given = Path(choice.file).expanduser()
        if given.suffix.lower() not in (".xlsx", ".csv"):
            raise UserError("cases.error.bad_out", exit_code=2, path=choice.file[:200])
        with tempfile.TemporaryDirectory(prefix="kiosk-ledger-") as folder:
            # a browser's download is written in a private folder (0700), read back and
            # deleted here: nothing of it stays on the office PC's disk
            out = Path(folder) / download_name(given.name, choice.kind) if web else given
            if not out.parent.is_dir():
                raise UserError("ledger.no_dir", exit_code=2, path=str(out.parent))
            rows = export_in_scope(
                self.kiosk.read(),
                self.kiosk.write,
                self.kiosk.worker,
                choice.kind,
                out,
                categories=load_categories(settings),
                rules=rules_of(self.kiosk),
                delivery="browser" if web else "file",
            )
            content = out.read_bytes() if web else None
        self.post_message(self.LedgerExported(choice.kind, str(out), rows, content))

    def on_figures_screen_ledger_exported(self, message: LedgerExported) -> None:
        name = t(f"ledger.name.{message.kind}")
        if message.content is None:
            self.notify(
                t("ledger.ui.done", name=name, rows=message.rows, path=message.path), timeout=10
            )
            return
        import io

        file = Path(message.path).name
        self.app.deliver_binary(io.BytesIO(message.content), save_filename=file, name="ledger")
        self.notify(t("ledger.ui.sent", name=name, rows=message.rows, file=file), timeout=10)
