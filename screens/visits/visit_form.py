"""The visit form: who was met, nobody home, notes, problems and suggestions.

Every change is autosaved (debounced) as a local draft, so quitting, a crash or ``kill -9``
loses nothing but the last fraction of a second; reopening the form for the household
restores the draft exactly. Saving validates the whole form (:mod:`kiosk.domain.visits`), stores the
visit with its problems registered as cases and drops the draft, all in one transaction.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import (
    Checkbox,
    Header,
    Input,
    Label,
    Select,
    SelectionList,
    Static,
    TextArea,
)

from db.drafts import load_draft, save_draft
from db.households import Household, get_household
from db.limits import text_limit
from db.visits import VISIT_TYPES
from kiosk.core.i18n import t, term
from kiosk.domain import present
from kiosk.domain.visits import DRAFT_KIND, VisitInvalid, draft_key, empty_form, normalise_form
from screens.form import FormScreen
from screens.photos.picker import PhotoPathsInput
from screens.widgets.footer import KioskFooter


def category_options() -> list[tuple[Text, str]]:
    """The categories as a list offers them; typing in the open list finds one by its name
    (``路``) or, in Chinese, by its pinyin initials (``ld`` for 路灯), shown dimmed after it."""
    from db.normalize import compound_pinyin, is_cjk
    from kiosk.domain.categories import load_categories

    cats = load_categories()
    out = []
    for g in cats.groups:
        for c in g.subs:
            prompt = Text(t("visits.category_option", name=c.name, group=g.name))
            if any(is_cjk(ch) for ch in c.name):
                prompt.append(f"  {compound_pinyin(c.name)[1]}", style="dim")
            out.append((prompt, c.code))
    return out


#: the longest note a visit may have (the same table the hub checks: db/limits.py)
NOTE_LIMIT = text_limit("note")


class Revealed:
    """A field added by a key (F4, F5) below the fold: once it is laid out (its first size),
    the form scrolls to it. Before that it has no place to scroll to."""

    reveal = False

    def on_resize(self) -> None:
        if self.reveal:
            self.reveal = False
            self.scroll_visible(animate=False)  # type: ignore[attr-defined]


class SuggestionInput(Revealed, Input):
    """One suggestion."""


class ProblemRow(Revealed, Vertical):
    """One problem: a category and what the resident said on one line, its photos (paths or
    a folder, prepared when the visit is saved) below."""

    DEFAULT_CSS = """
    ProblemRow { height: auto; }
    ProblemRow .problem-line { height: auto; }
    ProblemRow Select { width: 36; }
    ProblemRow Input { width: 1fr; }
    """

    #: the category takes the cursor once the row is there (a row added by F4)
    focus_on_mount = False

    def __init__(self, category: str = "", text: str = "", photos: str = "") -> None:
        super().__init__(classes="visit-problem")
        self.category = category
        self.text = text
        self.photos = photos

    def on_mount(self) -> None:
        if self.focus_on_mount:
            self.call_after_refresh(lambda: self.query_one(Select).focus(scroll_visible=False))

    def compose(self) -> ComposeResult:
        options = category_options()
        codes = {code for _, code in options}
        with Horizontal(classes="problem-line"):
            yield Select(
                options,
                prompt=t("visits.category_prompt"),
                classes="problem-category",
                value=self.category if self.category in codes else Select.NULL,
            )
            yield Input(self.text, placeholder=t("visits.problem_text"), classes="problem-text")
        yield PhotoPathsInput(
            self.photos, placeholder=t("visits.problem_photos"), classes="problem-photos"
        )

    def values(self) -> dict[str, str]:
        """The problem as the form's draft keeps it (kiosk.domain.visits.problem)."""
        from kiosk.domain.visits import problem

        selects = self.query(Select)
        texts, photos = self.query(".problem-text"), self.query(".problem-photos")
        if not selects or not texts or not photos:  # just mounted, not composed yet
            return problem(self.category, self.text, self.photos)
        value = selects.first().value
        return problem(
            value if isinstance(value, str) else "",
            texts.first(Input).value,
            photos.first(Input).value,
        )


class VisitFormScreen(FormScreen):
    """Record a visit to one household. Result: the saved visit's id, or None."""

    #: what the acting worker needs to open it (kiosk/security/roles.py); the app checks
    PERMISSION: ClassVar[str | None] = "visit.record"
    ERROR_ID = "visit-error"

    #: Seconds of quiet before a change is written to the draft (tests set 0).
    autosave_delay = 0.4

    DEFAULT_CSS = """
    VisitFormScreen #visit-body { height: 1fr; }
    VisitFormScreen .field-label { color: $text-muted; padding: 0 1; margin-top: 1; }
    VisitFormScreen #visit-met { height: auto; max-height: 7; }
    VisitFormScreen #visit-note { height: 4; }
    VisitFormScreen #visit-note-label.-over { color: $error; }
    VisitFormScreen #visit-error { color: $error; padding: 0 1; height: auto; }
    VisitFormScreen .visit-suggestion { width: 1fr; }
    VisitFormScreen #visit-problems, VisitFormScreen #visit-suggestions { height: auto; }
    VisitFormScreen .-invalid { border: tall $error; }
    """

    BINDINGS = [
        Binding(
            "ctrl+s",
            "save",
            term("visits.save"),
            id="visit.save",
            tooltip=term("visits.save"),
            priority=True,
        ),
        Binding(
            "f4",
            "add_problem",
            term("visits.add_problem"),
            id="visit.add_problem",
            tooltip=term("visits.add_problem"),
        ),
        Binding(
            "f5",
            "add_suggestion",
            term("visits.add_suggestion"),
            id="visit.add_suggestion",
            tooltip=term("visits.add_suggestion"),
        ),
        Binding(
            "ctrl+d",
            "discard",
            term("visits.discard"),
            id="visit.discard",
            tooltip=term("visits.discard"),
        ),
        Binding(
            "escape", "leave", term("visits.leave"), id="visit.leave", tooltip=term("visits.leave")
        ),
    ]

    class Loaded(Message):
        """Household and draft arrived (handled by VisitFormScreen)."""

        def __init__(
            self, household: Household | None, form: dict[str, Any], restored: bool
        ) -> None:
            super().__init__()
            self.household = household
            self.form = form
            self.restored = restored

    class Saved(Message):
        """The visit was stored (handled by VisitFormScreen, which closes)."""

        def __init__(self, visit_id: str, cases: int) -> None:
            super().__init__()
            self.visit_id = visit_id
            self.cases = cases

    def __init__(self, household_id: str, *, today: date | None = None) -> None:
        super().__init__()
        self.household_id = household_id
        self.key = draft_key(household_id)
        self._form_today = today
        self._form_ready = False
        self._draft_state: dict[str, Any] | None = None  # what the draft row holds now
        self._autosave_timer: Timer | None = None
        self._form_done = False
        self._latest: dict[str, Any] | None = None

    @property
    def today(self) -> date:
        return self._form_today or date.today()

    # --- layout ----------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(t("ui.loading"), id="visit-title", classes="title")
        yield Static("", id="visit-error")
        with VerticalScroll(id="visit-body"):
            yield Label(t("visits.met_label"), classes="field-label")
            yield SelectionList[str](id="visit-met")
            yield Input(placeholder=t("visits.met_other"), id="visit-met-other")
            yield Label(t("visits.type_label"), classes="field-label")
            yield Select(
                [(t(f"visits.type.{v}"), v) for v in VISIT_TYPES],
                allow_blank=False,
                value="door",
                id="visit-type",
            )
            yield Checkbox(t("visits.nobody_home"), id="visit-nobody")
            yield Input(placeholder=t("visits.revisit_label"), id="visit-revisit")
            yield Label(self._note_label(0), classes="field-label", id="visit-note-label")
            yield TextArea(id="visit-note", soft_wrap=True, show_line_numbers=False)
            yield Label(t("visits.problems") + "  [F4]", classes="field-label")
            yield Vertical(id="visit-problems")
            yield Label(t("visits.suggestions") + "  [F5]", classes="field-label")
            yield Vertical(id="visit-suggestions")
        yield KioskFooter()

    def on_mount(self) -> None:
        self.load()

    @work(thread=True, exclusive=True, group="visit-load", exit_on_error=False)
    def load(self) -> None:
        conn = self.kiosk.read()
        household = get_household(conn, self.household_id)
        draft = load_draft(conn, self.key)
        form = normalise_form(draft.payload if draft else None)
        self.post_message(self.Loaded(household, form, draft is not None))

    def on_visit_form_screen_loaded(self, message: Loaded) -> None:
        h = message.household
        if h is None:
            self.query_one("#visit-title", Static).update(t("household.missing"))
            return
        self.query_one("#visit-title", Static).update(
            t("visits.title_at", address=present.address(h))
        )
        form = message.form
        met = self.query_one("#visit-met", SelectionList)
        for m in h.members:
            label = (
                t("visits.met_member", name=m.name, relation=present.relation_label(m.relation))
                if m.relation
                else m.name
            )
            met.add_option((label, m.id, m.id in form["met_members"]))
        if h.members:
            met.highlighted = 0
        self.apply_form(form)
        self._draft_state = form if message.restored else None
        self._form_ready = True
        if message.restored:
            self.notify(t("visits.draft_restored"))
        met.focus()

    def apply_form(self, form: dict[str, Any]) -> None:
        """Put a form's values into the widgets (restoring a draft)."""
        self.query_one("#visit-type", Select).value = form["visit_type"]
        self.query_one("#visit-met-other", Input).value = form["met_other"]
        self.query_one("#visit-nobody", Checkbox).value = form["nobody_home"]
        self.query_one("#visit-revisit", Input).value = form["revisit_on"]
        self.query_one("#visit-note", TextArea).text = form["note"]
        problems = self.query_one("#visit-problems", Vertical)
        for p in form["problems"]:
            problems.mount(ProblemRow(p["category"], p["text"], p.get("photos", "")))
        suggestions = self.query_one("#visit-suggestions", Vertical)
        for s in form["suggestions"]:
            suggestions.mount(
                Input(
                    s["text"], placeholder=t("visits.suggestion_text"), classes="visit-suggestion"
                )
            )

    def collect(self) -> dict[str, Any]:
        """The form's current values (the shape of :func:`kiosk.domain.visits.empty_form`)."""
        form = empty_form()
        vtype = self.query_one("#visit-type", Select).value
        form["visit_type"] = vtype if isinstance(vtype, str) else "door"
        form["met_members"] = list(self.query_one("#visit-met", SelectionList).selected)
        form["met_other"] = self.query_one("#visit-met-other", Input).value
        form["nobody_home"] = self.query_one("#visit-nobody", Checkbox).value
        form["revisit_on"] = self.query_one("#visit-revisit", Input).value
        form["note"] = self.query_one("#visit-note", TextArea).text
        for row in self.query(ProblemRow):
            form["problems"].append(row.values())
        for inp in self.query(".visit-suggestion").results(Input):
            form["suggestions"].append({"text": inp.value})
        return form

    # --- autosave --------------------------------------------------------------------------
    @on(Input.Changed)
    @on(Select.Changed)
    @on(Checkbox.Changed)
    @on(TextArea.Changed)
    @on(SelectionList.SelectedChanged)
    def changed(self, event: Message) -> None:
        if isinstance(event, TextArea.Changed) and event.text_area.id == "visit-note":
            count = len(event.text_area.text)
            label = self.query_one("#visit-note-label", Label)
            label.update(self._note_label(count))
            label.set_class(count > NOTE_LIMIT, "-over")
        if isinstance(event, Checkbox.Changed) and event.value:
            revisit = self.query_one("#visit-revisit", Input)
            if not revisit.value:  # suggest tomorrow; the worker can change it
                revisit.value = (self.today + timedelta(days=1)).isoformat()
        self.schedule_autosave()

    @staticmethod
    def _note_label(count: int) -> str:
        """The note's label with how much of its room is used (the limit is db/limits.py's)."""
        return t("visits.note_count", label=t("visits.note_label"), n=count, limit=NOTE_LIMIT)

    def schedule_autosave(self) -> None:
        if not self._form_ready or self._form_done:
            return
        self._latest = self.collect()  # what on_unmount writes if the app closes first
        if self._autosave_timer is not None:
            self._autosave_timer.stop()
            self._autosave_timer = None
        if self.autosave_delay <= 0:
            self.call_later(self._autosave_due)
        else:
            self._autosave_timer = self.set_timer(self.autosave_delay, self._autosave_due)

    def _autosave_due(self) -> None:
        self._autosave_timer = None
        if self._form_done or not self.is_attached:
            return
        form = self.collect()
        if form != self._draft_state:
            self.autosave(form)

    @work(thread=True, exclusive=True, group="visit-draft", exit_on_error=False)
    def autosave(self, form: dict[str, Any]) -> None:
        def write(ctx) -> None:
            if not self._form_done:  # checked under the write lock: never resurrect a saved draft
                save_draft(ctx.conn, self.key, DRAFT_KIND, form)

        self.kiosk.write(write)
        self._draft_state = form

    def flush_now(self, form: dict[str, Any] | None = None) -> None:
        """Write the draft at once (leaving the screen, the app closing)."""
        if self._autosave_timer is not None:
            self._autosave_timer.stop()
            self._autosave_timer = None
        if not self._form_ready or self._form_done:
            return
        form = form if form is not None else self.collect()
        if form != self._draft_state:
            # A single-row local write of a few hundred bytes: done in place because the
            # screen (and its workers) may be gone a moment later.
            self.kiosk.write(lambda ctx: save_draft(ctx.conn, self.key, DRAFT_KIND, form))
            self._draft_state = form

    def on_unmount(self) -> None:
        # The app is closing (or the screen went away): the widgets may already be gone, so
        # write the form as it was at the last change.
        if self._latest is not None:
            try:
                self.flush_now(self._latest)
            except Exception:  # noqa: BLE001 - closing; the last autosave stands (logged)
                import logging

                logging.getLogger("kiosk.domain.visits").exception("final draft write failed")

    # --- actions ---------------------------------------------------------------------------
    def action_add_problem(self) -> None:
        row = ProblemRow()
        row.reveal = True
        self.query_one("#visit-problems", Vertical).mount(row)
        row.focus_on_mount = True
        self.call_after_refresh(self.schedule_autosave)

    def action_add_suggestion(self) -> None:
        inp = SuggestionInput(placeholder=t("visits.suggestion_text"), classes="visit-suggestion")
        inp.reveal = True
        self.query_one("#visit-suggestions", Vertical).mount(inp)
        self.call_after_refresh(inp.focus, False)
        self.call_after_refresh(self.schedule_autosave)

    def action_save(self) -> None:
        if not self._form_ready or self._form_done:
            return
        if self._autosave_timer is not None:
            self._autosave_timer.stop()
            self._autosave_timer = None
        self._form_done = True
        self.save(self.collect())

    @work(thread=True, exclusive=True, group="visit-save", exit_on_error=False)
    def save(self, form: dict[str, Any]) -> None:
        from kiosk.domain.categories import load_categories
        from kiosk.domain.visits import record_visit, validate
        from kiosk.photos.attach import problem_photos

        settings = self.kiosk.runtime.settings
        cats = load_categories(settings)
        try:
            photos = {}
            if any(p.get("photos") for p in form["problems"]):
                # the paths first (a missing file said on its field), then the rest of the
                # form, and only then the slow part: every photo prepared before the write
                problem_photos(form, prepare=False)
                validate(
                    self.kiosk.read(), self.household_id, form, today=self.today, categories=cats
                )
                photos = problem_photos(form, settings)
            vid = self.kiosk.write(
                lambda ctx: record_visit(
                    ctx,
                    self.household_id,
                    form,
                    today=self.today,
                    categories=cats,
                    photos=photos,
                )
            )
        except VisitInvalid as exc:
            self.post_message(self.Invalid(exc.field, exc.message()))
            return
        except BaseException:
            self._form_done = False
            raise
        cases = (
            self.kiosk.read()
            .execute(
                "SELECT count(*) FROM visit_items WHERE visit_id = ? AND case_id IS NOT NULL",
                (vid,),
            )
            .fetchone()[0]
        )
        self.post_message(self.Saved(vid, cases))

    def after_invalid(self) -> None:
        self._form_done = False
        self.schedule_autosave()

    def field_widget(self, field: str) -> Widget | None:
        simple = {
            "visit_type": "#visit-type",
            "met_members": "#visit-met",
            "met_other": "#visit-met-other",
            "revisit_on": "#visit-revisit",
            "note": "#visit-note",
        }
        if field in simple:
            return self.query_one(simple[field])
        kind, _, rest = field.partition(".")
        index, _, part = rest.partition(".")
        if kind == "problem" and index.isdigit():
            rows = list(self.query(ProblemRow))
            if int(index) < len(rows):
                row = rows[int(index)]
                if part == "category":
                    return row.query_one(Select)
                return row.query_one(".problem-photos" if part == "photos" else ".problem-text")
        if kind == "suggestion" and index.isdigit():
            suggestions = [w for w in self.query(".visit-suggestion") if isinstance(w, Input)]
            if int(index) < len(suggestions):
                return suggestions[int(index)]
        return None

    def on_visit_form_screen_saved(self, message: Saved) -> None:
        self.notify(
            t("visits.saved_cases", n=message.cases) if message.cases else t("visits.saved")
        )
        self.dismiss(message.visit_id)

    def action_leave(self) -> None:
        self.flush_now()
        self._form_done = True
        self.dismiss(None)

    def action_discard(self) -> None:
        from screens.confirm import ConfirmScreen

        def answered(yes: bool | None) -> None:
            if yes:
                self._form_done = True
                if self._autosave_timer is not None:
                    self._autosave_timer.stop()
                self.discard()

        self.app.push_screen(ConfirmScreen(t("visits.discard_confirm")), answered)

    @work(thread=True, exclusive=True, group="visit-save", exit_on_error=False)
    def discard(self) -> None:
        from db.drafts import delete_draft

        self.kiosk.write(lambda ctx: delete_draft(ctx.conn, self.key))
        self.app.call_from_thread(self._discarded)

    def _discarded(self) -> None:
        self.notify(t("visits.discarded"))
        self.dismiss(None)
