"""Filling a questionnaire at the door, for a household or anonymously, page by page.

The form is an XForm (kiosk/domain/xform.py) filled by a FormSession (kiosk/domain/
form_session.py): a top-level group is a page, each instance of a repeat (a household's
members) is a page, loose questions come a few to a page. PageDown / PageUp turn the pages,
Ctrl+N adds an instance of the repeat on screen and Ctrl+R removes it, Ctrl+T changes the
form's language. ``relevant`` shows and hides questions as answers change, calculations and
``${...}`` in labels follow at once, and a broken rule speaks as the answer breaks it; saving
checks every page and opens the page of the first question at fault.

A household label scanned while the form is open ties the response to that household (and
fills a barcode question that has the focus).
"""

from __future__ import annotations

import asyncio
import re
from datetime import date
from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.widget import Widget
from textual.widgets import (
    Checkbox,
    Header,
    Input,
    Label,
    RadioButton,
    RadioSet,
    Select,
    SelectionList,
    Static,
    TextArea,
)

from db.surveys import Survey
from kiosk.core import collector
from kiosk.core.i18n import t, term
from kiosk.domain.form_session import AnswerInvalid, FormSession, Heading, Page, Prompt
from screens.form import FormScreen
from screens.widgets.footer import KioskFooter

_PLACEHOLDER = {
    "date": "visits.survey.date_hint",
    "time": "visits.form.time_hint",
    "datetime": "visits.form.datetime_hint",
    "geopoint": "visits.form.geopoint_hint",
    "barcode": "visits.form.barcode_hint",
}
_HORIZONTAL = ("likert", "horizontal", "horizontal-compact", "quick")


def widget_id(path: str) -> str:
    """A prompt's widget id from its node's path, below the form's root element
    (``/data[1]/m[2]/age[1]`` -> ``q-m-2-age``)."""
    below = path.replace("[1]", "").split("/", 2)[-1]
    return "q-" + re.sub(r"[^A-Za-z0-9_]+", "-", below).strip("-")


class SurveyFillScreen(FormScreen):
    """Fill one questionnaire. Result: the response id, or None.

    ``response``: a saved response to review and change (db.surveys.Response); its form
    version is the one it was filled with."""

    #: what the acting worker needs to open it (kiosk/security/roles.py); the app checks
    PERMISSION: ClassVar[str | None] = "survey.fill"
    ERROR_ID = "survey-error"
    #: Seconds of quiet before a change is written to the draft (tests set 0).
    autosave_delay = 0.4

    DEFAULT_CSS = """
    SurveyFillScreen .question { height: auto; margin-bottom: 1; }
    SurveyFillScreen .question Label { padding: 0 1; }
    SurveyFillScreen .question Input, SurveyFillScreen .question Select,
    SurveyFillScreen .question TextArea { margin: 0 1; }
    SurveyFillScreen .question Input { background: $boost; }
    SurveyFillScreen .heading { padding: 0 1; text-style: bold; color: $accent; }
    SurveyFillScreen .question SelectionList { height: auto; max-height: 10; }
    SurveyFillScreen .question RadioSet.-horizontal { layout: horizontal; height: auto; }
    SurveyFillScreen .question TextArea { height: 4; }
    SurveyFillScreen #survey-page { padding: 0 1; color: $text-muted; }
    SurveyFillScreen #survey-error { color: $error; padding: 0 1; height: auto; }
    SurveyFillScreen .-invalid { border: tall $error; }
    """

    BINDINGS = [
        Binding(
            "ctrl+s",
            "save",
            term("visits.save"),
            id="survey.save",
            tooltip=term("visits.save"),
            priority=True,
        ),
        Binding(
            "pagedown",
            "page(1)",
            term("visits.form.next"),
            id="survey.next",
            tooltip=term("visits.form.next"),
            priority=True,
        ),
        Binding(
            "pageup",
            "page(-1)",
            term("visits.form.previous"),
            id="survey.previous",
            tooltip=term("visits.form.previous"),
            priority=True,
        ),
        Binding(
            "ctrl+n",
            "add_repeat",
            term("visits.form.add"),
            id="survey.add",
            tooltip=term("visits.form.add"),
            priority=True,
        ),
        Binding(
            "ctrl+r",
            "remove_repeat",
            term("visits.form.remove"),
            id="survey.remove",
            tooltip=term("visits.form.remove"),
            priority=True,
        ),
        Binding(
            "ctrl+t",
            "form_language",
            term("visits.form.switch_language"),
            id="survey.language",
            tooltip=term("visits.form.switch_language"),
            priority=True,
        ),
        Binding(
            "ctrl+d",
            "discard",
            term("visits.form.discard"),
            id="survey.discard",
            tooltip=term("visits.form.discard"),
            priority=True,
        ),
        Binding(
            "escape", "app.pop_screen", term("ui.back"), id="survey.back", tooltip=term("ui.back")
        ),
    ]

    class Loaded(Message):
        """Questionnaires and the household line arrived (handled by SurveyFillScreen)."""

        def __init__(self, surveys: list[Survey], who: str) -> None:
            super().__init__()
            self.surveys = surveys
            self.who = who

    class Saved(Message):
        """A response was stored (handled by SurveyFillScreen)."""

        def __init__(self, response_id: str, count: int) -> None:
            super().__init__()
            self.response_id = response_id
            self.count = count

    class Household(Message):
        """A scanned label named the household the response is for."""

        def __init__(self, household_id: str, who: str) -> None:
            super().__init__()
            self.household_id = household_id
            self.who = who

    def __init__(
        self,
        household_id: str | None = None,
        *,
        today: date | None = None,
        response: Any = None,
        form: str | None = None,
    ) -> None:
        super().__init__()
        self.household_id = household_id
        self.form_name = form  # the questionnaire to open first (its form_id)
        self.surveys: list[Survey] = []
        self.survey: Survey | None = None
        self.session: FormSession | None = None
        self.page_key: str | None = None
        self.shown: list[str] = []  # prompt paths on the page, in order
        self.prompts: dict[str, Prompt] = {}  # widget id -> prompt
        self.raw: dict[str, Any] = {}  # what was typed, by prompt path (may not parse yet)
        self.response = response
        self.started_at: str | None = None
        self._survey_today = today
        self._remove_armed: str | None = None
        self._page_cache: list[Page] | None = None
        self._draft_timer: Any = None
        self._draft_state: dict[str, Any] | None = None  # what the draft row holds now
        self._discard_armed = False
        self._done = False
        self._swapping = 0
        self._gc_hold: object | None = None
        self._generation = 0
        self._swap_lock = asyncio.Lock()
        self._after_swap: list[Any] = []

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(t("visits.survey.title"), id="survey-title", classes="title")
        yield Static("", id="survey-who", classes="muted")
        yield Select([], prompt=t("visits.survey.choose"), id="survey-pick", compact=True)
        yield Static("", id="survey-page")
        yield Static("", id="survey-error")
        yield VerticalScroll(id="survey-body")
        yield KioskFooter()

    def on_mount(self) -> None:
        # The collector is held until the first page has painted (kiosk/core/collector.py):
        # building a 200-question form makes the objects that set off a full collection.
        self._gc_hold = collector.hold(1.0)
        self.load()

    def _collector_may_run(self) -> None:
        hold, self._gc_hold = self._gc_hold, None
        collector.release(hold)

    # --- loading ----------------------------------------------------------------------------
    @work(thread=True, exclusive=True, group="survey-load", exit_on_error=False)
    def load(self) -> None:
        from db.households import get_household
        from db.surveys import get_survey, list_surveys
        from kiosk.domain import present

        conn = self.kiosk.read()
        who = t("visits.survey.anonymous_line")
        if self.household_id:
            h = get_household(conn, self.household_id)
            if h is not None:
                who = t("visits.survey.household_line", address=present.address(h))
        if self.response is not None:
            own = get_survey(conn, self.response.survey_id)
            surveys = [own] if own is not None else []
        else:
            surveys = list_surveys(conn)
        self.post_message(self.Loaded(surveys, who))

    def on_survey_fill_screen_loaded(self, message: Loaded) -> None:
        self.surveys = message.surveys
        self.query_one("#survey-who", Static).update(Text(message.who))
        pick = self.query_one("#survey-pick", Select)
        if not self.surveys:
            self.query_one("#survey-error", Static).update(t("visits.survey.none"))
            pick.display = False
            self._collector_may_run()
            return
        pick.set_options([(Text(s.title), s.id) for s in self.surveys])
        first = next((s for s in self.surveys if s.name == self.form_name), self.surveys[0])
        pick.value = first.id
        if len(self.surveys) == 1:
            pick.display = False
        self.show_survey(first)

    @on(Select.Changed, "#survey-pick")
    def picked(self, event: Select.Changed) -> None:
        chosen = next((s for s in self.surveys if s.id == event.value), None)
        if chosen is not None and chosen is not self.survey:
            self.show_survey(chosen)

    def show_survey(self, survey: Survey) -> None:
        from db.context import now_iso
        from kiosk.domain.survey import session_for

        worker = getattr(self.kiosk, "worker", None)
        ctx = getattr(self.kiosk, "ctx", None)
        self.survey = survey
        last = None
        if self.response is None and '"jr://instance/last-saved' in survey.definition.get(
            "xform", ""
        ):
            from db.surveys import last_response

            device = getattr(ctx, "device_id", "") or ""
            saved = last_response(self.kiosk.read(), survey.id, device)
            last = saved.answers if saved is not None else None
        from db.drafts import load_draft

        self.flush_draft()  # the questionnaire left behind keeps what was typed
        draft = load_draft(self.kiosk.read(), self.draft_key(survey))
        answers = self.response.answers if self.response is not None else None
        if draft is not None:
            answers = draft.payload.get("answers") or answers
        self.session = session_for(
            survey.definition,
            today=self._survey_today,
            username=getattr(worker, "name", "") or "",
            deviceid=getattr(ctx, "device_id", "") or "",
            answers=answers,
            last_saved=last,
        )
        self._draft_state = draft.payload if draft is not None else None
        if draft is not None:
            self.notify(t("visits.draft_restored"), timeout=4)
        self.raw = {}
        self.started_at = self.response.started_at if self.response is not None else now_iso()
        if draft is not None and draft.payload.get("started_at"):
            self.started_at = draft.payload["started_at"]
        self.query_one("#survey-title", Static).update(Text(survey.title))
        self.page_key = None
        self._page_cache = None
        self.clear_error()
        self.show_page(0)

    # --- pages ------------------------------------------------------------------------------
    def pages(self) -> list[Page]:
        if self._page_cache is None:
            self._page_cache = self.session.pages() if self.session is not None else []
        return self._page_cache

    def current_index(self) -> int:
        pages = self.pages()
        for i, page in enumerate(pages):
            if page.key == self.page_key:
                return i
        return 0

    def show_page(self, index: int, *, focus: str | None = None) -> None:
        """Lay out page ``index`` (clamped); ``focus``: the prompt path to focus."""
        pages = self.pages()
        if not pages:
            return
        index = max(0, min(index, len(pages) - 1))
        page = pages[index]
        self.page_key = page.key
        self._remove_armed = None
        body = self.query_one("#survey-body", VerticalScroll)
        self.prompts = {}
        self.shown = []
        widgets: list[Widget] = []
        if page.repeat is not None and page.count == 0:
            key = "visits.form.repeat_empty" if page.can_add else "visits.form.repeat_fixed_empty"
            widgets.append(Static(t(key, label=page.title), classes="heading", markup=False))
        for item in page.items:
            if isinstance(item, Heading):
                widgets.append(Static(item.text, classes="heading", markup=False))
            else:
                widgets.append(self.question_widget(item))
        self._say_page(index, len(pages), page)
        self.refresh_bindings()
        self._swapping += 1
        self._generation += 1
        self.run_worker(
            self._swap(body, widgets, focus, self._generation),
            group="survey-page",
            exit_on_error=False,
        )

    async def _swap(
        self, body: VerticalScroll, widgets: list[Widget], focus: str | None, generation: int
    ) -> None:
        """The page's widgets replace the last page's (removed first: the ids repeat), one
        swap at a time; a swap overtaken by a newer one is skipped. What waits for the page
        (a refusal to show on it) runs once the last swap is done."""
        try:
            async with self._swap_lock:
                if generation == self._generation:
                    await body.remove_children()
                    await body.mount_all(widgets)
        finally:
            self._swapping -= 1
        if self._swapping:
            return
        self.call_after_refresh(self._collector_may_run)  # held from on_mount: painted now
        waiting, self._after_swap = self._after_swap, []
        if waiting:
            for fn in waiting:
                fn()
        else:
            self.focus_prompt(focus)

    def when_laid_out(self, fn: Any) -> None:
        """Run ``fn`` once the page on screen is the page laid out last."""
        if self._swapping:
            self._after_swap.append(fn)
        else:
            fn()

    def _say_page(self, index: int, total: int, page: Page) -> None:
        parts = [t("visits.form.page", n=index + 1, total=total)]
        if page.repeat is not None and page.count:
            parts.append(
                t("visits.form.repeat_title", label=page.title, n=page.index, total=page.count)
            )
        elif page.title:
            parts.append(page.title)
        if (
            self.session is not None
            and self.session.language
            and len(self.session.form.languages) > 1
        ):
            parts.append(t("visits.form.language", language=self.session.language))
        self.query_one("#survey-page", Static).update(Text("  ·  ".join(parts)))

    def focus_prompt(self, path: str | None = None) -> None:
        order = self.shown if path is None else [path, *self.shown]
        for p in order:
            w = self.input_for(p)
            if w is not None and w.display and w.focusable:
                w.focus()
                return

    def question_widget(self, p: Prompt) -> Widget:
        label = p.label + (t("visits.survey.required_mark") if p.required else "")
        children: list[Widget] = [Label(label, markup=False)]
        if p.hint:
            children.append(Static(p.hint, classes="muted", markup=False))
        wid = widget_id(p.path)
        raw = self.raw.get(p.path, p.node.value)
        if p.kind == "select1" and any(a in p.control.appearance for a in _HORIZONTAL):
            children.append(
                RadioSet(
                    *[RadioButton(Text(text or v), value=(v == raw)) for v, text in p.choices],
                    id=wid,
                    classes="-horizontal",
                    compact=True,
                )
            )
        elif p.kind == "select1":
            values = [v for v, _ in p.choices]
            select: Select[str] = Select(
                [(Text(text or v), v) for v, text in p.choices],
                prompt=t("visits.survey.choose_answer"),
                id=wid,
                compact=True,
            )
            if raw in values:
                select.value = raw
            children.append(select)
        elif p.kind == "select":
            picked = str(raw or "").split() if not isinstance(raw, list) else raw
            children.append(
                SelectionList[str](
                    *[(Text(text or v), v, v in picked) for v, text in p.choices],
                    id=wid,
                    compact=True,
                )
            )
        elif p.kind == "multiline":
            children.append(TextArea(str(raw or ""), id=wid, compact=True))
        elif p.kind == "trigger":
            children.append(Checkbox(t("visits.form.acknowledge"), value=bool(raw), id=wid))
        elif p.kind == "note":
            if p.node.value:  # a calculation, a default, a last-saved answer: read-only
                children.append(Static(p.node.value, markup=False, id=wid))
        elif p.kind == "skipped":
            children.append(Static(p.note, classes="muted", markup=False))
        else:
            placeholder = t(_PLACEHOLDER[p.kind]) if p.kind in _PLACEHOLDER else ""
            if p.kind == "range" and p.control.range is not None:
                from kiosk.domain.xpath import to_string

                lo, hi, _ = p.control.range
                placeholder = t("visits.form.range_hint", low=to_string(lo), high=to_string(hi))
            kind = {"integer": "integer", "decimal": "number", "range": "number"}.get(
                p.kind, "text"
            )
            children.append(
                Input(
                    str(raw or ""),
                    placeholder=placeholder,
                    type=kind,  # type: ignore[arg-type]
                    id=wid,
                    compact=True,
                )
            )
        self.prompts[wid] = p
        self.shown.append(p.path)
        return Vertical(*children, classes="question", id=f"box-{wid}")

    def input_for(self, path: str) -> Widget | None:
        found = self.query(f"#{widget_id(path)}")
        return found.first() if found else None

    def field_widget(self, field: str) -> Widget | None:
        return self.input_for(field)

    # --- answers ----------------------------------------------------------------------------
    def _value_of(self, widget: Widget, prompt: Prompt) -> Any:
        if isinstance(widget, Input):
            return widget.value
        if isinstance(widget, TextArea):
            return widget.text
        if isinstance(widget, Select):
            return widget.value if isinstance(widget.value, str) else ""
        if isinstance(widget, SelectionList):
            return list(widget.selected)
        if isinstance(widget, RadioSet):
            i = widget.pressed_index
            return prompt.choices[i][0] if 0 <= i < len(prompt.choices) else ""
        if isinstance(widget, Checkbox):
            return "OK" if widget.value else ""
        return None

    @on(Input.Changed)
    @on(TextArea.Changed)
    @on(Select.Changed)
    @on(SelectionList.SelectedChanged)
    @on(RadioSet.Changed)
    @on(Checkbox.Changed)
    def answer_changed(self, event: Message) -> None:
        widget = getattr(event, "control", None) or getattr(event, "text_area", None)
        if widget is None or self.session is None:
            return
        prompt = self.prompts.get(widget.id or "")
        if prompt is None:
            return
        raw = self._value_of(widget, prompt)
        self.raw[prompt.path] = raw
        try:
            value = self.session.coerce(prompt, raw)
        except AnswerInvalid:
            value = ""  # still being typed: unanswered until it reads as an answer
        if value != prompt.node.value:
            self.session.store(prompt, value)
            self._page_cache = None
            self.changed()
        # (an answer read early by pull_widgets is in the form already: the page may still
        # have to follow it)
        self.follow(prompt.path)
        self.check_while_typing()

    @on(Input.Submitted)
    def next_question(self, event: Input.Submitted) -> None:
        """Enter in an answer (the scanner's too) moves on: the next question, or the next
        page after the page's last one."""
        prompt = self.prompts.get(event.input.id or "")
        if prompt is None:
            return
        event.stop()
        self.pull_widgets()
        later = self.shown[self.shown.index(prompt.path) + 1 :] if prompt.path in self.shown else []
        for path in later:
            widget = self.input_for(path)
            if widget is not None and widget.focusable:
                widget.focus()
                return
        self.action_page(1)

    def follow(self, focus: str | None) -> None:
        """After an answer: the page again if what it shows changed (a question appears,
        a label's ``${...}`` moved), else nothing to do."""
        pages = self.pages()
        index = self.current_index()
        if not pages:
            return
        page = pages[index]
        same = [p.path for p in page.prompts] == self.shown and all(
            self._unchanged(p) for p in page.prompts
        )
        if not same or page.key != self.page_key:
            focused = self.focused
            keep = None
            for wid, p in self.prompts.items():
                if focused is not None and focused.id == wid:
                    keep = p.path
            self.show_page(index, focus=keep or focus)

    def _unchanged(self, p: Prompt) -> bool:
        old = next((o for o in self.prompts.values() if o.path == p.path), None)
        if old is None:
            return False
        if old.label != p.label or old.hint != p.hint or old.required != p.required:
            return False
        if old.choices != p.choices:
            return False
        return not (p.kind == "note" and old.node.value != p.node.value)

    def check_while_typing(self) -> None:
        if self.session is None:
            return
        shown = set(self.shown)
        for page in self.pages():
            for prompt in page.prompts:
                if prompt.path not in shown:
                    continue
                message = self.session.broken_rule(prompt, only_given=True)
                if message is not None:
                    self.show_error(prompt.path, message, focus=False)
                    return
        if self.error_field is not None:
            still = next(
                (p for pg in self.pages() for p in pg.prompts if p.path == self.error_field), None
            )
            if still is None or self.session.broken_rule(still) is None:
                self.clear_error()

    # --- the draft: what was typed survives Esc, a crash or a kill ---------------------------
    def draft_key(self, survey: Survey) -> str:
        if self.response is not None:
            return f"survey-edit:{self.response.id}"
        return f"survey:{survey.id}:{self.household_id or 'anonymous'}"

    def _draft_payload(self) -> dict[str, Any] | None:
        if self.session is None or self.survey is None:
            return None
        return {
            "answers": self.session.draft(),
            "started_at": self.started_at,
            "household_id": self.household_id,
        }

    def changed(self) -> None:
        """An answer or a repeat changed: the draft follows, after a moment of quiet."""
        if self._draft_timer is not None:
            self._draft_timer.stop()
        if self.autosave_delay <= 0:
            self.call_later(self._draft_due)
        else:
            self._draft_timer = self.set_timer(self.autosave_delay, self._draft_due)

    def _draft_due(self) -> None:
        self._draft_timer = None
        payload = self._draft_payload()
        if payload is not None and payload != self._draft_state and not self._done:
            self.write_draft(self.draft_key(self.survey), payload)  # type: ignore[arg-type]

    @work(thread=True, group="survey-draft", exit_on_error=False)
    def write_draft(self, key: str, payload: dict[str, Any]) -> None:
        from db.drafts import save_draft

        def write(ctx) -> None:  # type: ignore[no-untyped-def]
            if not self._done:  # under the write lock: a saved response's draft stays gone
                save_draft(ctx.conn, key, "survey", payload)

        self.kiosk.write(write)
        self._draft_state = payload

    def flush_draft(self) -> None:
        """Write the draft at once (another questionnaire chosen, the screen leaving)."""
        if self._draft_timer is not None:
            self._draft_timer.stop()
            self._draft_timer = None
        payload = self._draft_payload()
        if payload is None or payload == self._draft_state or self._done:
            return
        from db.drafts import save_draft

        key = self.draft_key(self.survey)  # type: ignore[arg-type]
        self.kiosk.write(lambda ctx: save_draft(ctx.conn, key, "survey", payload))
        self._draft_state = payload

    def on_unmount(self) -> None:
        self._collector_may_run()
        try:
            self.flush_draft()
        except Exception:  # noqa: BLE001 - closing; the last autosave stands (logged)
            import logging

            logging.getLogger("kiosk.domain.survey").exception("final draft write failed")

    def action_discard(self) -> None:
        """Ctrl+D twice: forget this draft and start the questionnaire afresh."""
        if self.survey is None:
            return
        if not self._discard_armed:
            self._discard_armed = True
            self.notify(t("visits.form.discard_confirm"), timeout=4)
            return
        self._discard_armed = False
        from db.drafts import delete_draft

        key = self.draft_key(self.survey)
        self.kiosk.write(lambda ctx: delete_draft(ctx.conn, key))
        self._draft_state = None
        survey, self.survey = self.survey, None
        self.session = None
        self.show_survey(survey)

    # --- keys -------------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Ctrl+N / Ctrl+R only on a repeat's page, Ctrl+T only for a form of several
        languages: the footer offers what the page allows."""
        if action in ("add_repeat", "remove_repeat"):
            page = self._page() if self.session is not None else None
            if page is None:
                return False
            return page.can_add if action == "add_repeat" else page.can_remove and page.count > 0
        if action == "form_language":
            return self.session is not None and len(self.session.form.languages) > 1
        return super().check_action(action, parameters)

    def action_page(self, step: int) -> None:
        if self.session is None:
            return
        self.pull_widgets()
        self.show_page(self.current_index() + step)

    def _page(self) -> Page | None:
        pages = self.pages()
        return pages[self.current_index()] if pages else None

    def action_add_repeat(self) -> None:
        self.pull_widgets()
        page = self._page()
        if self.session is None or page is None or page.repeat is None or not page.can_add:
            return
        from kiosk.core.errors import UserError
        from kiosk.domain.form_session import _indexed

        if page.instance is None:
            return
        try:
            if page.count == 0:
                node = self.session.add_repeat(page.repeat, page.instance)
            else:
                assert page.instance.parent is not None
                node = self.session.add_repeat(
                    page.repeat, page.instance.parent, after=page.instance
                )
        except UserError as refused:  # too many: the message says so
            self.notify(refused.message(), severity="error")
            return

        self._page_cache = None
        self.changed()
        key = _indexed(node)
        index = next((i for i, p in enumerate(self.pages()) if p.key == key), self.current_index())
        self.notify(t("visits.form.added", label=page.title), timeout=3, markup=False)
        self.show_page(index)

    def action_remove_repeat(self) -> None:
        self.pull_widgets()
        page = self._page()
        if (
            self.session is None
            or page is None
            or page.instance is None
            or page.count == 0
            or not page.can_remove
        ):
            return
        if self._remove_armed != page.key:
            self._remove_armed = page.key
            self.notify(t("visits.form.remove_confirm", label=page.title), timeout=4, markup=False)
            return
        index = self.current_index()
        self.session.remove_repeat(page.instance)
        self.changed()
        self.raw = {k: v for k, v in self.raw.items() if not k.startswith(page.key)}
        self._page_cache = None
        self.notify(t("visits.form.removed", label=page.title), timeout=3, markup=False)
        # the next member, or the one before when the last was removed (or the empty repeat)
        last = page.index == page.count and page.count > 1
        self.show_page(index - 1 if last else index)

    def action_form_language(self) -> None:
        if self.session is None:
            return
        self.pull_widgets()
        langs = list(self.session.form.languages)
        if len(langs) < 2:
            self.notify(t("visits.form.no_language"), timeout=3)
            return
        now = langs.index(self.session.language) if self.session.language in langs else -1
        self.session.language = langs[(now + 1) % len(langs)]
        self._page_cache = None
        focused = self.focused
        keep = next((p.path for w, p in self.prompts.items() if focused and focused.id == w), None)
        self.show_page(self.current_index(), focus=keep)

    # --- a scan while the form is open --------------------------------------------------------
    def take_scan(self, payload: Any) -> bool:
        """The app's scanner offers a recognised label here first (kiosk/app/scanner.py)."""
        focused = self.focused
        prompt = self.prompts.get(focused.id or "") if focused is not None else None
        taken = False
        if prompt is not None and prompt.kind == "barcode" and isinstance(focused, Input):
            focused.value = payload.text
            taken = True
        if payload.kind == "HH" and self.response is None:
            self.tie_household(payload)
            taken = True
        return taken

    @work(thread=True, exclusive=True, group="survey-scan", exit_on_error=False)
    def tie_household(self, payload: Any) -> None:
        from kiosk.domain import present
        from kiosk.qr.lookup import resolve_payload

        result = resolve_payload(self.kiosk.read(), payload, with_cases=False)
        if result.household is not None:
            who = t("visits.survey.household_line", address=present.address(result.household))
            self.post_message(self.Household(result.household.id, who))

    def on_survey_fill_screen_household(self, message: Household) -> None:
        self.household_id = message.household_id
        self.query_one("#survey-who", Static).update(Text(message.who))

    # --- saving -----------------------------------------------------------------------------
    def pull_widgets(self) -> None:
        """What the page's fields hold now, into the form: Ctrl+S typed straight after a
        key can arrive before the field has said it changed."""
        if self.session is None:
            return
        moved = False
        for wid, prompt in self.prompts.items():
            found = self.query(f"#{wid}")
            if not found:
                continue
            raw = self._value_of(found.first(), prompt)
            if raw is None or raw == self.raw.get(prompt.path, prompt.node.value):
                continue
            self.raw[prompt.path] = raw
            try:
                value = self.session.coerce(prompt, raw)
            except AnswerInvalid:
                value = ""
            if value != prompt.node.value:
                self.session.store(prompt, value)
                moved = True
        if moved:
            self._page_cache = None
            self.changed()

    def action_save(self) -> None:
        if self.session is None or self.survey is None:
            return
        self.pull_widgets()
        for path, raw in self.raw.items():
            prompt = next((p for pg in self.pages() for p in pg.prompts if p.path == path), None)
            if prompt is None:
                continue
            try:
                self.session.coerce(prompt, raw)
            except AnswerInvalid as exc:
                self.refuse(path, exc.message())
                return
        broken = self.session.broken()
        if broken is not None:
            self.refuse(broken[0].path, broken[1])
            return
        self.session.finish()
        self.save(self.survey, self.session.answers())

    def refuse(self, path: str, message: str) -> None:
        """Saving was refused: the page of the question at fault, the message, the cursor."""
        self.go_to(path)
        self.when_laid_out(lambda: self.show_error(path, message, focus=True))

    def go_to(self, path: str) -> None:
        for i, page in enumerate(self.pages()):
            if any(p.path == path for p in page.prompts):
                if page.key != self.page_key:
                    self.show_page(i, focus=path)
                return

    @work(thread=True, exclusive=True, group="survey-save", exit_on_error=False)
    def save(self, survey: Survey, answers: dict[str, Any]) -> None:
        from db.drafts import delete_draft
        from db.surveys import count_responses, edit_response, save_response

        key = self.draft_key(survey)

        def write(ctx) -> str:  # type: ignore[no-untyped-def]
            # the response and the end of its draft, in one transaction
            if self.response is not None:
                rid = edit_response(ctx, self.response.id, answers)
            else:
                rid = save_response(
                    ctx,
                    survey.id,
                    answers,
                    household_id=self.household_id,
                    started_at=self.started_at,
                )
            delete_draft(ctx.conn, key)
            self._done = True
            return rid

        rid = self.kiosk.write(write)
        self.post_message(self.Saved(rid, count_responses(self.kiosk.read(), survey.id)))

    def on_survey_fill_screen_saved(self, message: Saved) -> None:
        if self.response is not None:
            self.notify(t("visits.form.edited"))
        else:
            self.notify(t("visits.survey.saved", n=message.count))
        self.dismiss(message.response_id)
