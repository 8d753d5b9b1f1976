"""A household: address, care tags, members (masked), and the cases, visits and label panels.

Opening a household is the kiosk's most frequent step (a scan at a door, Enter on the walk
list or a search result), so it is built once and then reused:

* :func:`read_household` reads everything the screen shows (the household with its members,
  its open cases, its latest visits, its door label) in one go, on a worker thread.
* :func:`show_household` puts that into the app's one kept household screen (installed under
  the name ``household``) while it is off screen, then pushes it: the first frame already has
  the household and its open cases, and nothing of the previous household can show. A new
  screen is composed only the first time, after a language switch, or while the kept one is
  still on a stack (a household opened from a form over another household).
* :func:`open_household` does both (a worker, then the push) for callers holding only an id.
* Coming back to the front, the kept screen is not restyled widget by widget unless
  something its styles depend on changed while it was away (the theme, the stylesheet, the
  terminal's focus, a class a rule names): Textual would restyle it on every push.
* Python's garbage collector is held from the key to the first frame (kiosk/core/collector.py), and
  nothing is read while the app would refuse the screen (:func:`may_open`).

``HouseholdScreen(household_id)`` pushed directly still works: it composes with "loading"
placeholders and reads its data on mount.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import events, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.css.model import SelectorType
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Header, Static

from db.cases import CaseSummary, list_open_cases_for_household
from db.households import Household, Member, get_household
from db.labels import Label, active_household_label
from db.photos import Photo, photos_of_household
from kiosk.core import collector
from kiosk.core.i18n import language, t, term
from kiosk.domain import present
from kiosk.domain.categories import load_categories
from kiosk.security.audit import record_lookup
from screens.base import KioskScreen
from screens.cases.case_widgets import HouseholdCases, case_line, rules_of  # cases panel
from screens.photos.strip import PhotoStrip
from screens.widgets.footer import KioskFooter
from screens.widgets.qr import HouseholdQR
from screens.widgets.result_list import ResultList

if TYPE_CHECKING:
    from textual.app import App

    from kiosk.app.shell import KioskApp

#: The name the app's one reusable household screen is installed under.
KEPT_SCREEN = "household"
#: How many of the latest visits the visits panel lists.
VISITS_SHOWN = 10


# --- data: one read on a worker thread ------------------------------------------------------
@dataclass(frozen=True)
class HouseholdPanels:
    """The parts of the screen that a form opened from it can change."""

    cases: list[CaseSummary] = field(default_factory=list)
    visits: str = ""
    #: the photos of its cases as (case number, photo): records only; the strip reads the
    #: pictures on a worker of its own, and only when there are some
    photos: list[tuple[str, Photo]] = field(default_factory=list)


@dataclass(frozen=True)
class HouseholdView:
    """Everything the household screen shows (``household`` None: it no longer exists)."""

    household_id: str
    household: Household | None
    panels: HouseholdPanels
    label: Label | None = None  # None: none yet; the label panel makes one (a write)


def read_household(app: Any, household_id: str) -> HouseholdView:
    """The household lookup: the household with its members, open cases, latest visits and
    door label, read on the calling (worker) thread. Every way of opening a household on
    screen (scan, walk list, search, direct push) reads through here."""
    conn = app.read()
    household = get_household(conn, household_id)
    if household is None:
        return HouseholdView(household_id, None, HouseholdPanels(visits=t("household.no_visits")))
    record_lookup(app, household_id)  # audited, on a thread of its own: nothing waits for it
    return HouseholdView(
        household_id,
        household,
        read_panels(app, household_id),
        active_household_label(conn, household_id),
    )


def read_panels(app: Any, household_id: str) -> HouseholdPanels:
    """The household's open cases and latest visits (read again when the screen comes back
    from a form that may have added some)."""
    from db.visits import list_visits
    from kiosk.domain.visits import format_visit

    conn = app.read()
    cases = list_open_cases_for_household(conn, household_id, rules=rules_of(app))
    visits = list_visits(conn, household_id, limit=VISITS_SHOWN + 1)
    text = "\n".join(format_visit(v) for v in visits[:VISITS_SHOWN])
    if len(visits) > VISITS_SHOWN:
        text += "\n" + t("visits.more")
    photos = photos_of_household(conn, household_id)
    return HouseholdPanels(cases, text or t("household.no_visits"), photos)


# --- opening a household --------------------------------------------------------------------
def may_open(app: Any) -> bool:
    """Would the app let a household screen open now (someone signed in, not locked, with
    ``household.view``; kiosk/app/shell.py's gate)? The household is read, and its lookup audited,
    only then."""
    from kiosk.security.roles import allowed

    return bool(getattr(app, "gate_open", True)) and allowed(app.worker, "household.view")


async def _kept_screen(app: KioskApp) -> HouseholdScreen | None:
    """The installed household screen if it can show another household now, else None."""
    if not app.is_screen_installed(KEPT_SCREEN):
        return None
    screen = app.get_screen(KEPT_SCREEN)
    assert isinstance(screen, HouseholdScreen)
    if not screen.is_mounted:  # its push was refused (the gate): never shown, drop it
        app.uninstall_screen(KEPT_SCREEN)
        return None
    if app.holds_screen(screen):
        return None  # still open under a form: the new household gets a screen of its own
    if screen.language != language():
        # composed in the other language: replace it
        app.uninstall_screen(KEPT_SCREEN)
        await screen.remove()
        return None
    return screen


async def show_household(
    app: KioskApp, view: HouseholdView, *, from_scan: bool = False, gc_hold: object | None = None
) -> HouseholdScreen:
    """Push the household screen with ``view`` (from :func:`read_household`) already in it.

    ``from_scan``: opened by a scanned label; the cases panel comes first (docs/qr.md).
    ``gc_hold``: a :func:`kiosk.core.collector.hold` to release after the screen's first frame.
    """
    screen = await _kept_screen(app)
    if screen is not None:
        screen.show(view)  # off screen: the first frame is the new household's
        screen.set_from_scan(from_scan)
    else:
        screen = HouseholdScreen(view.household_id, view=view, from_scan=from_scan)
        if not app.is_screen_installed(KEPT_SCREEN):
            app.install_screen(screen, KEPT_SCREEN)
    await app.push_screen(screen)
    screen.call_after_refresh(collector.release, gc_hold)
    return screen


def open_household(app: App[Any], household_id: str, *, from_scan: bool = False) -> None:
    """Open a household: read it on a worker, then show it (:func:`show_household`)."""
    if not may_open(app):  # the app refuses the screen and says why; nothing is read
        app.push_screen(HouseholdScreen(household_id, from_scan=from_scan))
        return
    hold = collector.hold(1.0)

    def load() -> None:
        view = read_household(app, household_id)
        show: Callable[..., Any] = show_household
        app.call_from_thread(show, app, view, from_scan=from_scan, gc_hold=hold)

    app.run_worker(
        load,
        thread=True,
        group="open-household",
        exclusive=True,
        exit_on_error=False,
        name="open-household",
    )


# --- the screen -----------------------------------------------------------------------------
#: the pseudo-classes that depend on a widget's place among its siblings
_PLACE_PSEUDO_CLASSES = frozenset(
    {"first-of-type", "last-of-type", "first-child", "last-child", "odd", "even", "empty"}
)


def _css_names(app: App[Any], *, class_name: str = "", pseudo_classes: frozenset[str]) -> bool:
    """Does a selector of any rule of the app's CSS, in any of its parts, name the class
    ``class_name`` or one of ``pseudo_classes``?"""
    return any(
        (selector.type is SelectorType.CLASS and selector.name == class_name)
        or not pseudo_classes.isdisjoint(selector.pseudo_classes)
        for rule in app.stylesheet.rules
        for selector_set in rule.selector_set
        for selector in selector_set.selectors
    )


def _title(text: str) -> Content:
    return Content.styled(text, "bold $accent")  # as the .title class (screens/app.tcss)


def _muted(app: App[Any]) -> str:
    """The .muted class's colour as a content style: ``$text-muted`` is ``auto 60%``, which
    content styles take literally but not through the variable."""
    return app.theme_variables.get("text-muted", "auto 60%")


class HouseholdCasesPanel(HouseholdCases):
    """The open-cases panel (``#household-cases``, with its title) as the household screen
    uses it: filled from the screen's one read, and read again by the screen when it comes
    back to the front, instead of loading by itself."""

    def __init__(self, household_id: str, **kwargs: Any) -> None:
        super().__init__(household_id, **kwargs)
        self.update(Content.assemble(_title(t("household.cases")), "\n", t("ui.loading")))

    def _screen_changed(self, screen: Any) -> None:
        pass  # HouseholdScreen.on_screen_resume reloads it with the visits

    def reload(self) -> None:
        screen = self.screen
        if isinstance(screen, HouseholdScreen):
            screen.reload()

    def show(self, household_id: str, cases: list[CaseSummary]) -> None:
        self.household_id = household_id
        self.cases = cases
        if cases:
            lines = Text("\n").join(
                case_line(c, load_categories(self.app.runtime.settings))  # type: ignore[attr-defined]
                for c in cases
            )
            lines.append("\n" + t("cases.ui.household_hint"), style="dim")
        else:
            lines = Text(t("household.no_cases"), style="dim")
        self.update(
            Content.assemble(_title(t("household.cases")), "\n", Content.from_rich_text(lines))
        )


class HouseholdScreen(KioskScreen):
    #: what the acting worker needs to open it (kiosk/security/roles.py); the app checks
    PERMISSION: ClassVar[str | None] = "household.view"
    BINDINGS = [
        Binding(
            "escape",
            "app.pop_screen",
            term("ui.back"),
            id="household.back",
            tooltip=term("ui.back"),
        ),
        # cases
        Binding(
            "c",
            "register_case",
            term("cases.ui.register"),
            id="household.register_case",
            tooltip=term("cases.ui.register_hint"),
        ),
        # visits
        Binding(
            "v",
            "record_visit",
            term("visits.record"),
            id="household.record_visit",
            tooltip=term("visits.record_hint"),
        ),
        Binding(
            "i",
            "photos",
            term("photos.view.open"),
            id="household.photos",
            tooltip=term("photos.view.open_hint"),
        ),
        Binding(
            "w",
            "fill_survey",
            term("visits.survey.fill"),
            id="household.fill_survey",
            tooltip=term("visits.survey.fill_hint"),
        ),
        # editing at the door (screens/households/editing.py)
        Binding(
            "m",
            "edit_member",
            term("household.form.edit_member"),
            id="household.edit_member",
            tooltip=term("household.form.edit_member_hint"),
        ),
        Binding(
            "a",
            "add_member",
            term("household.form.add_member"),
            id="household.add_member",
            tooltip=term("household.form.add_member_hint"),
        ),
        Binding(
            "e",
            "edit_household",
            term("household.form.edit"),
            id="household.edit",
            tooltip=term("household.form.edit_hint"),
        ),
    ]
    #: the keys that change the household: shown only where the worker may edit it
    EDIT_ACTIONS: ClassVar[frozenset[str]] = frozenset(
        {"edit_member", "add_member", "edit_household"}
    )

    class Loaded(Message):
        """The household arrived from the database (handled by HouseholdScreen)."""

        def __init__(self, view: HouseholdView) -> None:
            super().__init__()
            self.view = view

    class PanelsLoaded(Message):
        """The open cases and visits, read again (handled by HouseholdScreen)."""

        def __init__(self, household_id: str, panels: HouseholdPanels) -> None:
            super().__init__()
            self.household_id = household_id
            self.panels = panels

    def __init__(
        self, household_id: str, *, view: HouseholdView | None = None, from_scan: bool = False
    ) -> None:
        super().__init__()
        self.household_id = household_id
        self.household: Household | None = None
        #: What the widgets show (None until the first read arrives).
        self.view: HouseholdView | None = None
        #: The language the screen was composed in (its titles).
        self.language = language()
        self._first_view = view
        self._cases_first = from_scan
        self._shown_since_resume = False
        self.set_class(from_scan, "-from-scan")
        #: may the signed-in worker edit this household (its grid in their scope, not erased)
        self.editable = False
        #: what the widgets' styles were computed from when the screen last left the front
        #: (:meth:`_style_epoch`); None: restyle it when it comes back
        self._styled_for: tuple[object, ...] | None = None

    def compose(self) -> ComposeResult:
        # Few widgets: each one is restyled, laid out and drawn whenever the screen comes to
        # the front. Titles are lines of their panels, except the members' (the list draws
        # its own header row).
        yield Header()
        with VerticalScroll(id="household-body"):
            yield Static(_title(t("ui.loading")), id="household-address")  # + grid, tags
            members: list[Widget] = [
                Static(t("household.members"), classes="title", id="members-title"),
                ResultList(
                    [
                        t("col.name"),
                        t("col.relation"),
                        t("col.gender"),
                        t("col.birth_year"),
                        t("col.phone"),
                        t("col.id_number"),
                    ],
                    id="members-table",
                ),
            ]
            cases: list[Widget] = [
                HouseholdCasesPanel(self.household_id, id="household-cases"),
                PhotoStrip(id="household-photos"),  # its cases' photos, read after the paint
            ]
            yield from (cases + members) if self._cases_first else (members + cases)
            yield Static(self._visits_text(t("ui.loading")), id="household-visits")
            yield HouseholdQR()  # the door label (screens/widgets/qr.py)
        yield KioskFooter()

    def _visits_text(self, text: str) -> Content:
        # the visits as plain text: a note may contain anything, markup included
        return Content.assemble(_title(t("household.visits")), "\n", (text, _muted(self.app)))

    def on_mount(self) -> None:
        view, self._first_view = self._first_view, None
        if view is not None:
            self.show(view)
        else:
            self.load(self.household_id)

    # --- loading ----------------------------------------------------------------------------
    @work(thread=True, exclusive=True, group="household", exit_on_error=False)
    def load(self, household_id: str) -> None:
        self.post_message(self.Loaded(read_household(self.kiosk, household_id)))

    def on_household_screen_loaded(self, message: Loaded) -> None:
        if message.view.household_id == self.household_id:
            self.show(message.view)

    def reload(self) -> None:
        """Read the open cases and visits again (after a form that may have changed them)."""
        if self.view is not None:
            self.load_panels(self.household_id)

    @work(thread=True, exclusive=True, group="household-panels", exit_on_error=False)
    def load_panels(self, household_id: str) -> None:
        self.post_message(self.PanelsLoaded(household_id, read_panels(self.kiosk, household_id)))

    def on_household_screen_panels_loaded(self, message: PanelsLoaded) -> None:
        view = self.view
        if view is not None and message.household_id == view.household_id:
            self.view = replace(view, panels=message.panels)
            self._show_panels(message.panels, view.panels)

    def on_screen_suspend(self) -> None:
        self._shown_since_resume = False
        if self._styled_for != self._style_epoch():
            self._styled_for = None  # changed while on the stack: restyle when it comes back

    def on_screen_resume(self, event: events.ScreenResume) -> None:
        # Textual restyles every widget of a screen pushed to the front (5 ms here, a sixth
        # of a scan). The kept screen's styles are still right if nothing they are computed
        # from has changed since it left: not the app's CSS (a theme change counts up its
        # generation), not the terminal's focus, not the screen's classes. Anything in doubt
        # restyles: a wrong guess costs 5 ms, never a stale style.
        epoch = self._style_epoch()
        if epoch is not None and self._styled_for == epoch:
            event.refresh_styles = False
        self._styled_for = epoch  # as of Textual's handler, which runs next
        # Back from a form (visit, case, survey): its changes show. Not when the household
        # was read just before the screen came to the front, nor before the first read.
        if not self._shown_since_resume:
            self.reload()
        self._shown_since_resume = False

    def _style_epoch(self) -> tuple[object, ...] | None:
        """What the styles of this screen's widgets depend on besides their own classes: the
        app's stylesheet and its rules, the CSS generation Textual counts up on a theme
        change, and the terminal's focus (None: not known, so always restyle)."""
        app = self.app
        generation = getattr(app, "css_generation", None)  # KioskApp's; another app: restyle
        if generation is None:
            return None
        stylesheet = app.stylesheet
        return (id(stylesheet), len(stylesheet.rules), generation(), app.app_focus)

    # --- showing ----------------------------------------------------------------------------
    def show(self, view: HouseholdView) -> None:
        """Put ``view`` into the widgets; every part that differs from what they show is
        replaced, so nothing of a previous household stays."""
        # what the widgets show of this household (None: nothing, or another household's)
        shown = self.view if self.view and self.view.household_id == view.household_id else None
        self.view = view
        self.household_id = view.household_id
        self.household = view.household
        self.editable = self._editable(view.household)
        self.refresh_bindings()
        self._shown_since_resume = True
        if shown is None or shown.household != view.household:
            self._show_household(view.household)
        self._show_panels(view.panels, shown.panels if shown else None)
        if shown is None or shown.label != view.label:
            self.query_one(HouseholdQR).show(view.household_id, view.label)
        self.query_one("#household-body", VerticalScroll).scroll_home(animate=False)
        # One layout of the whole screen before its next frame, with every part in place.
        self.refresh(layout=True)

    def _show_household(self, h: Household | None) -> None:
        head = self.query_one("#household-address", Static)
        table = self.query_one("#members-table", ResultList)
        if h is None:
            head.update(_title(t("household.missing")))
            table.set_rows([])
            table.styles.height = 1
            return
        head.update(
            Content.assemble(
                _title(present.address(h)),
                "\n",
                (
                    t(
                        "household.grid_line",
                        street=h.street,
                        community=h.community,
                        grid=h.grid_name,
                    ),
                    _muted(self.app),
                ),
                "\n",
                (present.tags(h.tags), "$warning"),
                *(("\n", (present.household_status(h), "bold $warning")) if h.status else ()),
            )
        )
        rows = []
        # numbers a roster gave that do not check out: shown (masked) with a mark, and the
        # title says what the mark means
        doubtful = sum(m.doubtful("phone") + m.doubtful("id_number") for m in h.members)
        self.query_one("#members-title", Static).update(
            t("household.members")
            + (
                t("household.to_verify_note", n=doubtful, mark=present.TO_VERIFY)
                if doubtful
                else ""
            )
        )
        for m in h.members:
            row = present.member_row(m)
            rows.append(
                (
                    m.id,
                    (
                        str(row["name"]) + present.member_status(m, short=True),
                        present.relation_label(m.relation),
                        present.gender_label(m.gender),
                        str(row["birth_year"] or ""),
                        present.marked(str(row["phone"]), m.doubtful("phone")),
                        present.marked(str(row["id_number"]), m.doubtful("id_number")),
                    ),
                )
            )
        table.set_rows(rows)
        table.styles.height = len(rows) + 1  # the header line and one line per member

    def _show_panels(self, panels: HouseholdPanels, shown: HouseholdPanels | None) -> None:
        """``shown``: what the panels show now (None: nothing yet, or another household)."""
        if shown is None or shown.cases != panels.cases:
            self.query_one(HouseholdCasesPanel).show(self.household_id, panels.cases)
        if shown is None or shown.visits != panels.visits:
            self.query_one("#household-visits", Static).update(self._visits_text(panels.visits))
        if shown is None or shown.photos != panels.photos:
            self.query_one(PhotoStrip).show(panels.photos)

    def set_from_scan(self, from_scan: bool) -> None:
        """Opened by a scanned label (class ``-from-scan``): the cases panel (``#household-cases``
        and its title) comes first, right under the address, since at the door what is still
        open for this household matters first; otherwise the members do."""
        # Off screen, no restyle now: if a rule names the class, the push restyles the screen
        # (otherwise the class changes nothing drawn, and restyling every widget costs 5 ms).
        if self.has_class("-from-scan") != from_scan and not self.is_current:
            if _css_names(self.app, class_name="-from-scan", pseudo_classes=frozenset()):
                self._styled_for = None  # a rule names the class: every widget may change
        self.set_class(from_scan, "-from-scan", update=self.is_current)
        if from_scan == self._cases_first:
            return
        self._cases_first = from_scan
        body = self.query_one("#household-body", VerticalScroll)
        cases = self.query_one(HouseholdCasesPanel)
        members = self.query_one("#members-table", ResultList)
        children = list(body.children)
        members_title = children[children.index(members) - 1]  # the list's title comes along
        if from_scan:
            body.move_child(cases, before=members_title)
        else:
            body.move_child(members_title, before=cases)
            body.move_child(members, before=cases)
        body.move_child(self.query_one(PhotoStrip), after=cases)  # the cases' photos follow them
        if self._styled_for is not None and _css_names(
            self.app, pseudo_classes=_PLACE_PSEUDO_CLASSES
        ):
            # a rule depends on a widget's place among its siblings (Textual does not
            # restyle on a move, and this screen's push will not either): the panels alone
            for panel in body.children:
                panel.update_node_styles(animate=False)

    # --- editing ----------------------------------------------------------------------------
    def _editable(self, h: Household | None) -> bool:
        from kiosk.security.roles import allowed, in_scope

        worker = self.kiosk.worker
        return (
            h is not None
            and not h.forgotten
            and allowed(worker, "household.edit")
            and in_scope(worker, h.grid_code, h.community)  # type: ignore[arg-type]
        )

    def role_action(self, action: str, parameters: tuple[object, ...]) -> str | None:
        return "household.edit" if action in self.EDIT_ACTIONS else None

    # --- photos -----------------------------------------------------------------------------
    def action_photos(self) -> None:
        """The photos of the household's cases full size (screens/photos/viewer.py)."""
        self._photos(self.household_id)

    @work(thread=True, exclusive=True, group="household-photos", exit_on_error=False)
    def _photos(self, household_id: str) -> None:
        photos = photos_of_household(self.kiosk.read(), household_id)
        self.app.call_from_thread(self._view_photos, household_id, photos)

    def _view_photos(self, household_id: str, photos: list) -> None:
        if household_id != self.household_id or not self.is_current:
            return
        if not photos:
            self.notify(t("photos.view.none"))
            return
        from screens.photos.viewer import PhotoViewerScreen

        self.app.push_screen(PhotoViewerScreen(photos))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in self.EDIT_ACTIONS and not self.editable:
            return False  # another grid's household, or one erased: read only
        return super().check_action(action, parameters)

    def _after_edit(self, saved: Household | None) -> None:
        """Back from a member or household form: the household as saved (read on the form's
        save thread) is shown before the frame that uncovers this screen; its cases, visits
        and label are unchanged, and an edit is no new lookup to audit."""
        view = self.view
        if saved is not None and view is not None and saved.id == view.household_id:
            self.show(replace(view, household=saved))

    def _chosen_member(self) -> Member | None:
        h = self.household
        if h is None or not h.members:
            return None
        table = self.query_one("#members-table", ResultList)
        return h.members[min(max(table.cursor_row, 0), len(h.members) - 1)]

    def action_edit_member(self, member_id: str | None = None) -> None:
        from screens.households.editing import MemberFormScreen

        member = self._chosen_member()
        if member_id is not None and self.household is not None:
            member = next((m for m in self.household.members if m.id == member_id), member)
        if self.household is None or not self.editable:
            return
        if member is None:
            self.notify(t("household.form.no_members"))
            return
        self.app.push_screen(MemberFormScreen(self.household, member), self._after_edit)

    def on_result_list_selected(self, message: ResultList.Selected) -> None:
        if message.result_list.id == "members-table":
            message.stop()
            if self.editable:
                self.action_edit_member(message.key)

    def action_add_member(self) -> None:
        from screens.households.editing import MemberFormScreen

        if self.household is not None and self.editable:
            self.app.push_screen(MemberFormScreen(self.household), self._after_edit)

    def action_edit_household(self) -> None:
        from screens.households.editing import HouseholdFormScreen

        if self.household is not None and self.editable:
            self.app.push_screen(HouseholdFormScreen(self.household), self._after_edit)

    # --- actions ----------------------------------------------------------------------------
    def action_register_case(self) -> None:
        """Register a case for this household; the cases panel reloads after."""
        from screens.cases.case_register import CaseRegisterScreen

        self.app.push_screen(CaseRegisterScreen([self.household_id]), lambda _: self.reload())

    def action_record_visit(self) -> None:
        from screens.visits.visit_form import VisitFormScreen

        self.app.push_screen(VisitFormScreen(self.household_id))

    def action_fill_survey(self) -> None:
        from screens.visits.survey_fill import SurveyFillScreen

        self.app.push_screen(SurveyFillScreen(household_id=self.household_id))
