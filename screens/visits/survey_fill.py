"""Filling a questionnaire at the door, for a household or anonymously.

Questions come from the imported XLSForm definition; ``relevant`` hides questions as the
answers change, and saving checks required answers and constraints (messages from the form)
with :func:`kiosk.domain.survey.check_answers`, focusing the question at fault.
"""

from __future__ import annotations

from datetime import date
from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Header, Input, Label, Select, SelectionList, Static

from db.surveys import Survey
from kiosk.core.i18n import t, term
from kiosk.domain.survey import AnswerInvalid, Question, questions, relevant, text_for
from screens.form import FormScreen
from screens.widgets.footer import KioskFooter


class SurveyFillScreen(FormScreen):
    """Fill one questionnaire. Result: the response id, or None."""

    #: what the acting worker needs to open it (kiosk/security/roles.py); the app checks
    PERMISSION: ClassVar[str | None] = "survey.fill"
    ERROR_ID = "survey-error"

    DEFAULT_CSS = """
    SurveyFillScreen .question { height: auto; margin-bottom: 1; }
    SurveyFillScreen .question Label { padding: 0 1; }
    SurveyFillScreen .question SelectionList { height: auto; max-height: 8; }
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

    def __init__(self, household_id: str | None = None, *, today: date | None = None) -> None:
        super().__init__()
        self.household_id = household_id
        self.surveys: list[Survey] = []
        self.survey: Survey | None = None
        self.qs: list[Question] = []
        self.started_at: str | None = None
        self._survey_today = today

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(t("visits.survey.title"), id="survey-title", classes="title")
        yield Static("", id="survey-who", classes="muted")
        yield Select([], prompt=t("visits.survey.choose"), id="survey-pick")
        yield Static("", id="survey-error")
        yield VerticalScroll(id="survey-body")
        yield KioskFooter()

    def on_mount(self) -> None:
        self.load()

    @work(thread=True, exclusive=True, group="survey-load", exit_on_error=False)
    def load(self) -> None:
        from db.households import get_household
        from db.surveys import list_surveys
        from kiosk.domain import present

        conn = self.kiosk.read()
        who = t("visits.survey.anonymous_line")
        if self.household_id:
            h = get_household(conn, self.household_id)
            if h is not None:
                who = t("visits.survey.household_line", address=present.address(h))
        self.post_message(self.Loaded(list_surveys(conn), who))

    def on_survey_fill_screen_loaded(self, message: Loaded) -> None:
        from rich.text import Text

        self.surveys = message.surveys
        self.query_one("#survey-who", Static).update(Text(message.who))
        pick = self.query_one("#survey-pick", Select)
        if not self.surveys:
            self.query_one("#survey-error", Static).update(t("visits.survey.none"))
            pick.display = False
            return
        pick.set_options([(s.title, s.id) for s in self.surveys])
        pick.value = self.surveys[0].id
        if len(self.surveys) == 1:
            pick.display = False
        self.show_survey(self.surveys[0])

    @on(Select.Changed, "#survey-pick")
    def picked(self, event: Select.Changed) -> None:
        chosen = next((s for s in self.surveys if s.id == event.value), None)
        if chosen is not None and chosen is not self.survey:
            self.show_survey(chosen)

    def show_survey(self, survey: Survey) -> None:
        from db.context import now_iso

        self.survey = survey
        self.qs = questions(survey.definition)
        self.started_at = now_iso()
        self.query_one("#survey-title", Static).update(survey.title)
        body = self.query_one("#survey-body", VerticalScroll)
        body.remove_children()
        for q in self.qs:
            body.mount(self.question_widget(q))
        self.call_after_refresh(self.refresh_relevance)
        self.call_after_refresh(self.focus_first)

    def focus_first(self) -> None:
        for q in self.qs:
            w = self.input_for(q.name)
            if w is not None and w.display:
                w.focus()
                return

    def question_widget(self, q: Question) -> Widget:
        label = text_for(q.label) + (t("visits.survey.required_mark") if q.required else "")
        children: list[Widget] = [Label(label)]
        if q.hint:
            children.append(Static(text_for(q.hint), classes="muted"))
        wid = f"q-{q.name}".replace(".", "_")
        if q.type == "select_one":
            children.append(
                Select(
                    [(text_for(c["label"]) or c["name"], c["name"]) for c in q.choices],
                    prompt=t("visits.survey.choose_answer"),
                    id=wid,
                )
            )
        elif q.type == "select_multiple":
            children.append(
                SelectionList[str](
                    *[(text_for(c["label"]) or c["name"], c["name"]) for c in q.choices], id=wid
                )
            )
        elif q.type != "note":
            placeholder = t("visits.survey.date_hint") if q.type == "date" else ""
            kind = {"integer": "integer", "decimal": "number"}.get(q.type, "text")
            children.append(Input(placeholder=placeholder, type=kind, id=wid))  # type: ignore[arg-type]
        return Vertical(*children, classes="question", id=f"box-{wid}")

    def input_for(self, name: str) -> Widget | None:
        found = self.query(f"#q-{name}".replace(".", "_"))
        return found.first() if found else None

    def raw_answers(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for q in self.qs:
            w = self.input_for(q.name)
            if isinstance(w, Input):
                out[q.name] = w.value
            elif isinstance(w, Select):
                out[q.name] = w.value if isinstance(w.value, str) else None
            elif isinstance(w, SelectionList):
                out[q.name] = list(w.selected)
        return out

    @on(Input.Changed)
    @on(Select.Changed)
    @on(SelectionList.SelectedChanged)
    def answer_changed(self, event: Message) -> None:
        self.refresh_relevance()
        self.check_while_typing()

    def check_while_typing(self) -> None:
        from kiosk.domain.survey import broken_while_typing, still_broken

        if self.survey is None:
            return
        raw, day = self.raw_answers(), self._survey_today
        broken = broken_while_typing(self.survey.definition, raw, today=day)
        if broken is not None:
            self.show_error(*broken, focus=False)
        elif self.error_field is not None and not still_broken(
            self.survey.definition, raw, self.error_field, today=day
        ):
            self.clear_error()

    def refresh_relevance(self) -> None:
        from kiosk.domain.survey import answers_so_far

        typed = answers_so_far(self.qs, self.raw_answers())
        day = self._survey_today or date.today()
        for q in self.qs:
            shown = relevant(q, typed, day)
            if not shown:
                typed[q.name] = None
            box = self.query(f"#box-q-{q.name}".replace(".", "_"))
            if box:
                box.first().display = shown

    def action_save(self) -> None:
        if self.survey is not None:
            self.save(self.survey, self.raw_answers())

    @work(thread=True, exclusive=True, group="survey-save", exit_on_error=False)
    def save(self, survey: Survey, raw: dict[str, Any]) -> None:
        from db.surveys import count_responses, save_response
        from kiosk.domain.survey import check_answers

        try:
            answers = check_answers(survey.definition, raw, today=self._survey_today)
        except AnswerInvalid as exc:
            self.post_message(self.Invalid(exc.field, exc.message()))
            return
        rid = self.kiosk.write(
            lambda ctx: save_response(
                ctx, survey.id, answers, household_id=self.household_id, started_at=self.started_at
            )
        )
        self.post_message(self.Saved(rid, count_responses(self.kiosk.read(), survey.id)))

    def field_widget(self, field: str) -> Widget | None:
        return self.input_for(field)

    def on_survey_fill_screen_saved(self, message: Saved) -> None:
        self.notify(t("visits.survey.saved", n=message.count))
        self.dismiss(message.response_id)
