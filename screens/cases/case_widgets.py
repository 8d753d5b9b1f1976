"""Small case widgets shared by screens: coloured status and escalation level, and the
household's open-cases panel (reusable by any screen that shows a household)."""

from __future__ import annotations

from rich.text import Text
from textual import work
from textual.message import Message
from textual.widgets import Static

from db.case_fold import EscalationRules
from db.cases import CaseSummary, list_open_cases_for_household
from kiosk.core.i18n import t
from kiosk.domain.categories import load_categories

LEVEL_STYLES = {0: "", 1: "bold yellow", 2: "bold dark_orange", 3: "bold white on red"}
STATUS_STYLES = {
    "registered": "cyan",
    "assigned": "blue",
    "in_progress": "magenta",
    "resolved": "green",
    "closed": "dim",
}


def level_text(level: int) -> Text:
    """The escalation level in its colour (yellow, orange, red); empty at level 0."""
    if not level:
        return Text("")
    return Text(t(f"cases.level.{level}"), style=LEVEL_STYLES.get(level, ""))


def status_text(status: str) -> Text:
    return Text(t(f"cases.status.{status}"), style=STATUS_STYLES.get(status, ""))


def rules_of(app) -> EscalationRules:
    return EscalationRules.from_settings(app.runtime.settings)


def case_line(c: CaseSummary, categories=None) -> Text:
    """One case on one line: number, status, category, level, summary."""
    cats = categories or load_categories()
    line = Text.assemble(c.number, "  ", status_text(c.status), "  ", cats.label(c.category))
    if c.escalation_level:
        line.append("  ")
        line.append_text(level_text(c.escalation_level))
    line.append("  " + c.summary[:40])
    return line


class HouseholdCases(Static):
    """A household's open cases (loads itself; call :meth:`reload` after a change).

    Used as the ``#household-cases`` panel of the household screen; any other screen that
    shows a household can yield one too.
    """

    DEFAULT_CSS = """
    HouseholdCases {
        height: auto;
        padding: 0 1;
    }
    """

    class Loaded(Message):
        """The household's open cases arrived (handled by HouseholdCases itself)."""

        def __init__(self, cases: list[CaseSummary]) -> None:
            super().__init__()
            self.cases = cases

    def __init__(self, household_id: str, **kwargs) -> None:
        super().__init__(t("ui.loading"), **kwargs)
        self.household_id = household_id
        self.cases: list[CaseSummary] = []

    def on_mount(self) -> None:
        # Reload whenever this widget's screen becomes active again (back from a visit form
        # or the register form, which may have added cases).
        self.app.screen_change_signal.subscribe(self, self._screen_changed)
        self.reload()

    def _screen_changed(self, screen) -> None:
        if screen is self.screen and self.is_mounted:
            self.reload()

    def reload(self) -> None:
        self._load()

    @work(thread=True, exclusive=True, group="household-cases", exit_on_error=False)
    def _load(self) -> None:
        app = self.app
        cases = list_open_cases_for_household(
            app.read(),  # type: ignore[attr-defined]
            self.household_id,
            rules=rules_of(app),
        )
        self.post_message(self.Loaded(cases))

    def on_household_cases_loaded(self, message: Loaded) -> None:
        message.stop()
        self.cases = message.cases
        if not message.cases:
            self.update(Text(t("household.no_cases"), style="dim"))
            return
        cats = load_categories(self.app.runtime.settings)  # type: ignore[attr-defined]
        text = Text("\n").join(case_line(c, cats) for c in message.cases)
        text.append("\n" + t("cases.ui.household_hint"), style="dim")
        self.update(text)


class WorkerErrors:
    """Mixin: a failed worker of this screen shows its message (a refused action names the
    rule). ``Worker.StateChanged`` does not bubble, so the app's handler never sees a
    screen's workers."""

    def on_worker_state_changed(self, event) -> None:
        from textual.worker import WorkerState

        from kiosk.core.errors import describe

        if event.state == WorkerState.ERROR and event.worker.error is not None:
            self.notify(describe(event.worker.error), severity="error", timeout=8)  # type: ignore[attr-defined]
