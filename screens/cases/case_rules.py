"""The community's case rules, kept by its supervisor: each category group and whether its
cases are resolved only with a photo of the repair (整改后照片); Space or Enter on a group
switches it. Opened with p on the case list. The rule reaches every laptop of the community
with the sync (docs/cases.md#after-photos)."""

from __future__ import annotations

from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.widgets import Header, Static

from db.errors import UserError
from kiosk.cases.rules import GroupRule, group_rules, require_after_photo, rules_community
from kiosk.core.errors import describe
from kiosk.core.i18n import t, term
from kiosk.domain.categories import load_categories
from screens.base import KioskScreen
from screens.widgets.footer import KioskFooter
from screens.widgets.result_list import ResultList


class CaseRulesScreen(KioskScreen):
    PERMISSION: ClassVar[str | None] = "case_rules.manage"
    DEFAULT_CSS = """
    CaseRulesScreen #rules-error { color: $error; padding: 0 1; height: auto; }
    CaseRulesScreen #rules-hint { padding: 0 1; height: auto; }
    """
    BINDINGS = [
        Binding(
            "escape",
            "app.pop_screen",
            term("ui.back"),
            id="case_rules.back",
            tooltip=term("ui.back"),
        ),  # fmt: skip
        Binding(
            "space",
            "switch_rule",
            term("cases.rules.ui.toggle"),
            id="case_rules.toggle",
            tooltip=term("cases.rules.ui.toggle_hint"),
        ),  # fmt: skip
    ]

    class Listed(Message):
        """The community's rules arrived (handled by CaseRulesScreen)."""

        def __init__(self, community: str, rules: list[GroupRule]) -> None:
            super().__init__()
            self.community = community
            self.rules = rules

    class Failed(Message):
        """Reading or changing a rule was refused (handled by CaseRulesScreen: said above)."""

        def __init__(self, message: str) -> None:
            super().__init__()
            self.message = message

    def __init__(self) -> None:
        super().__init__()
        self.community = ""
        self.rules: list[GroupRule] = []

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(t("cases.rules.ui.title"), classes="title", id="rules-title")
        yield Static(t("cases.rules.ui.hint"), classes="muted", id="rules-hint")
        yield Static("", id="rules-error")
        yield ResultList([t("cases.rules.col.group"), t("cases.rules.col.rule")], id="rules-list")
        yield KioskFooter()

    def on_mount(self) -> None:
        self.query_one("#rules-list", ResultList).focus()
        self.load()

    @work(thread=True, exclusive=True, group="case-rules", exit_on_error=False)
    def load(self) -> None:
        conn = self.kiosk.read()
        try:
            community = rules_community(conn, self.kiosk.worker, None, changing=False)
        except UserError as exc:
            self.post_message(self.Failed(describe(exc)))
            return
        if not community:
            self.post_message(self.Failed(t("cases.rules.community_needed")))
            return
        cats = load_categories(self.kiosk.runtime.settings)
        self.post_message(self.Listed(community, group_rules(conn, cats, community)))

    def on_case_rules_screen_listed(self, message: Listed) -> None:
        self.community = message.community
        self.rules = message.rules
        self.query_one("#rules-title", Static).update(
            t("cases.rules.ui.title_of", community=message.community)
        )
        table = self.query_one("#rules-list", ResultList)
        at = table.cursor_row  # the group just switched stays under the cursor
        table.set_rows(
            [
                (
                    r.group.code,
                    (
                        r.group.name,
                        t("cases.rules.after_photo" if r.after_photo else "cases.rules.none"),
                    ),
                )
                for r in message.rules
            ]
        )
        table.cursor_row = min(at, max(0, table.row_count - 1))

    def on_case_rules_screen_failed(self, message: Failed) -> None:
        self.query_one("#rules-error", Static).update(message.message)

    @on(ResultList.Selected, "#rules-list")
    def selected(self) -> None:
        self.action_switch_rule()

    def action_switch_rule(self) -> None:
        table = self.query_one("#rules-list", ResultList)
        if not self.rules or not table.row_count:
            return
        rule = self.rules[min(table.cursor_row, len(self.rules) - 1)]
        self.write(rule, not rule.after_photo)

    @work(thread=True, exclusive=True, group="case-rules-write", exit_on_error=False)
    def write(self, rule: GroupRule, required: bool) -> None:
        try:
            # who may, and on which computer: the command line's check (kiosk/cases/rules.py)
            community = rules_community(
                self.kiosk.read(), self.kiosk.worker, self.community, changing=True
            )
            assert community is not None
            self.kiosk.write(lambda ctx: require_after_photo(ctx, community, rule.group, required))
        except UserError as exc:
            self.post_message(self.Failed(describe(exc)))
            return
        key = "cases.rules.cli.now_on" if required else "cases.rules.cli.now_off"
        said = t(key, community=community, group=rule.group.name)
        self.app.call_from_thread(self._written, said)

    def _written(self, said: str) -> None:
        self.query_one("#rules-error", Static).update("")
        self.notify(said)
        self.load()
