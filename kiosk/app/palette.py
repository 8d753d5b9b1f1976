"""Command-palette entries: every action of the app, searchable by its translated name."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from textual.app import SystemCommand

from kiosk.core.i18n import t

if TYPE_CHECKING:
    from kiosk.app.shell import KioskApp


#: Textual's own commands, by their English title: the keys of their title and help here.
#: The rest are left out: "Theme" (its list speaks English only, and the app is drawn for
#: one look), "Keys" (the app's own panel, F1 or ?, lists the keys in the interface's
#: language) and "Screenshot" (it writes the screen, names and all, to the working folder
#: with the default permissions).
TEXTUAL_COMMANDS = {
    "Quit": ("ui.quit", "ui.quit_hint"),
    "Maximize": ("ui.maximize", "ui.maximize_hint"),
    "Minimize": ("ui.minimize", "ui.minimize_hint"),
}


def textual_commands(commands: Iterable[SystemCommand]) -> Iterator[SystemCommand]:
    """Textual's system commands the app offers, in the interface's language."""
    for command in commands:
        keys = TEXTUAL_COMMANDS.get(command.title)
        if keys is not None:
            yield command._replace(title=t(keys[0]), help=t(keys[1]))


def kiosk_commands(app: KioskApp) -> Iterator[SystemCommand]:
    yield SystemCommand(t("ui.home"), t("home.title"), lambda: app.switch_mode("home"))
    yield SystemCommand(t("ui.search"), t("search.hint"), lambda: app.switch_mode("households"))
    yield SystemCommand(t("ui.language"), "中文 / English", app.action_toggle_language)
    yield SystemCommand(t("signin.lock"), t("signin.lock_hint"), app.action_lock)
    yield SystemCommand(t("signin.switch"), t("signin.switch_hint"), app.action_switch_worker)
    # sync
    yield SystemCommand(t("sync.mode"), t("sync.start_tip"), lambda: app.switch_mode("sync"))

    def sync_now() -> None:
        from screens.sync.sync_screen import SyncScreen

        def start() -> None:
            if isinstance(app.screen, SyncScreen):
                app.screen.action_sync()

        app.switch_mode("sync")
        app.call_after_refresh(start)

    yield SystemCommand(t("sync.start"), t("sync.start_tip"), sync_now)
    # cases: modes, registering, and the actions of the case on screen
    yield SystemCommand(
        t("cases.ui.mode"), t("cases.ui.mode_hint"), lambda: app.switch_mode("cases")
    )
    yield SystemCommand(
        t("figures.mode"), t("figures.mode_hint"), lambda: app.switch_mode("figures")
    )
    from screens.cases.case_palette import palette_commands as case_commands
    from screens.cases.case_register import register_command

    yield register_command(app)
    yield from case_commands(app)
    # QR labels
    yield SystemCommand(t("qr.ui.labels"), t("qr.ui.labels_hint"), app.action_labels)
    yield SystemCommand(t("qr.ui.camera"), t("qr.ui.camera_hint"), app.action_scan_camera)
    yield SystemCommand(t("qr.ui.slip"), t("qr.ui.slip_hint"), app.action_print_slip)
    # visits: record a visit for the household on screen, feedback, questionnaires
    from screens.households.home import HomeScreen
    from screens.households.household import HouseholdScreen

    def record_visit() -> None:
        screen = app.screen
        if isinstance(screen, HouseholdScreen | HomeScreen):
            screen.action_record_visit()

    def feedback() -> None:
        from screens.visits.feedback_form import FeedbackFormScreen

        app.push_screen(FeedbackFormScreen())

    def survey() -> None:
        from screens.visits.survey_fill import SurveyFillScreen

        app.push_screen(SurveyFillScreen(household_id=None))

    def fill_survey() -> None:
        screen = app.screen
        if isinstance(screen, HouseholdScreen):
            screen.action_fill_survey()  # for the household on screen
        else:
            survey()

    yield SystemCommand(t("visits.record"), t("visits.record_hint"), record_visit)
    yield SystemCommand(t("visits.feedback.new"), t("visits.feedback.hint"), feedback)
    yield SystemCommand(
        t("visits.survey.fill"),
        t("visits.survey.fill_hint"),
        fill_survey,
    )
    yield SystemCommand(
        t("visits.survey.fill_anonymous"), t("visits.survey.fill_anonymous_hint"), survey
    )

    def review_responses() -> None:
        from screens.visits.survey_responses import SurveyResponsesScreen

        screen = app.screen
        household = screen.household_id if isinstance(screen, HouseholdScreen) else None
        app.push_screen(SurveyResponsesScreen(household))

    yield SystemCommand(t("visits.form.review"), t("visits.form.not_yours"), review_responses)
    yield SystemCommand(
        t("visits.walk.title"), t("visits.walk.open_hint"), lambda: app.switch_mode("home")
    )
    # the office: grids and compounds, setting up (administrators and supervisors only)
    from kiosk.security.roles import allowed

    if allowed(app.worker, "areas.manage"):
        yield SystemCommand(t("areas.ui.title"), t("areas.ui.open_hint"), app.action_areas)
    if allowed(app.worker, "workers.manage"):

        def office_setup() -> None:
            from screens.office.setup import OfficeSetupScreen

            app.push_screen(OfficeSetupScreen())

        yield SystemCommand(t("office_setup.title"), t("office_setup.intro"), office_setup)
