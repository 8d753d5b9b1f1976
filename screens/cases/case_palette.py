"""Command-palette entries for the case screens (the case list, a case, the figures)."""

from __future__ import annotations

from collections.abc import Iterator

from textual.app import SystemCommand

from kiosk.core.i18n import t
from kiosk.security.roles import allowed
from screens.cases.case_detail import ACTION_KEYS, CaseDetailScreen, case_action
from screens.cases.case_list import CasesScreen
from screens.cases.figures import FiguresScreen


def palette_commands(app) -> Iterator[SystemCommand]:
    """Command-palette entries for the case screens' actions (kiosk.app.palette yields these):
    the case on screen, the case list's filters, the figures' switches."""
    screen = app.screen
    if isinstance(screen, CasesScreen):
        yield SystemCommand(
            t("cases.ui.my_grid"), t("cases.ui.my_grid_hint"), screen.action_toggle_my_grid
        )
        yield SystemCommand(
            t("cases.ui.overdue"), t("cases.ui.overdue_hint"), screen.action_toggle_overdue
        )
        yield SystemCommand(
            f"{t('cases.title')}: {t('cases.ui.reload')}", t("cases.ui.list"), screen.action_reload
        )
        if allowed(app.worker, "case_rules.manage"):
            yield SystemCommand(
                f"{t('cases.title')}: {t('cases.rules.ui.title')} (p)",
                t("cases.rules.ui.open_hint"),
                screen.action_case_rules,
            )
        return
    if isinstance(screen, FiguresScreen):
        yield SystemCommand(
            f"{t('figures.mode')}: {t('figures.period')}",
            t("figures.period_hint"),
            screen.action_next_period,
        )
        yield SystemCommand(
            f"{t('figures.mode')}: {t('figures.breakdown')}",
            t("figures.breakdown_hint"),
            screen.action_next_breakdown,
        )
        if allowed(app.worker, "export.masked"):
            yield SystemCommand(
                f"{t('figures.mode')}: {t('figures.export')} (x)",
                t("figures.export_hint"),
                screen.action_export_ledger,
            )
        return
    if not isinstance(screen, CaseDetailScreen):
        return
    for key, ev in ACTION_KEYS:
        if not allowed(app.worker, case_action(ev)) or screen.check_action("act", (ev,)) is False:
            continue  # another role's action, or not for this case (its state, its area)
        yield SystemCommand(
            f"{t('cases.title')}: {t(f'cases.action.{ev}')} ({key})",
            t(f"cases.ui.hint.{ev}"),
            lambda ev=ev: screen.action_act(ev),
        )
    if allowed(app.worker, "export.masked") and screen.check_action("save_report", ()) is not False:
        yield SystemCommand(
            f"{t('cases.title')}: {t('photos.report.ui.save')} (r)",
            t("photos.report.ui.save_hint"),
            screen.action_save_report,
        )
