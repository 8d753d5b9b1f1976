"""Filling one XForm: the instance (a tree of :class:`kiosk.domain.xpath.Node`), its repeats,
its calculations, what is relevant, and the pages the screen shows.

Everything a form says is evaluated the way ODK Collect does: ``calculate`` after every
change (in document order, again until nothing moves), ``relevant`` inherited from the
enclosing groups, ``required`` and ``constraint`` checked for what is relevant, a repeat's
``jr:count`` followed, and absolute paths inside a repeat read the same repeat instance
(``/data/members/age`` from the second member is that member's age).

Pages, as the terminal shows them: a top-level group is one page (groups inside it are
headings), each instance of a repeat is a page of its own, and questions outside any group
come in pages of :data:`LOOSE_PAGE` questions. A page never needs scrolling for long.
"""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from kiosk.core.errors import UserError
from kiosk.core.i18n import t
from kiosk.domain import xpath
from kiosk.domain.xform import JR, Bind, Control, FormDef, Group, Label, Text

LOOSE_PAGE = 8
MAX_TEXT_ANSWER = 2000
MAX_REPEATS = 500

_INT = re.compile(r"[+-]?\d{1,15}")
_DEC = re.compile(r"[+-]?(\d{1,15}(\.\d*)?|\.\d+)")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_TIME = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?")
_DATETIME = re.compile(r"(\d{4}-\d{2}-\d{2})[ T](\d{1,2}:\d{2}(?::\d{2})?)")

#: question kinds the screen knows; media, rank and geo shapes are shown, never required
KINDS = (
    "text",
    "multiline",
    "integer",
    "decimal",
    "date",
    "time",
    "datetime",
    "select1",
    "select",
    "note",
    "trigger",
    "barcode",
    "geopoint",
    "range",
    "skipped",
)


class AnswerInvalid(UserError):
    """An answer that breaks a rule of the form; ``field`` is the prompt's path."""

    def __init__(self, key: str, /, field: str, **params: object) -> None:
        super().__init__(key, exit_code=2, **params)
        self.field = field


@dataclass
class Prompt:
    """One question as the screen shows it now."""

    path: str  # the node's indexed path: the prompt's identity on a page
    node: xpath.Node
    control: Control
    bind: Bind
    kind: str
    label: str
    hint: str
    required: bool
    readonly: bool
    choices: list[tuple[str, str]]
    note: str = ""  # why a question is shown but not asked (a photo, a map shape)


@dataclass
class Heading:
    text: str
    depth: int


@dataclass
class Page:
    key: str
    title: str
    items: list[Any] = field(default_factory=list)  # Prompt | Heading
    #: the repeat this page is an instance of (or the empty repeat it offers to start)
    repeat: str | None = None
    instance: xpath.Node | None = None
    index: int = 0
    count: int = 0
    can_add: bool = False
    can_remove: bool = False

    @property
    def prompts(self) -> list[Prompt]:
        return [i for i in self.items if isinstance(i, Prompt)]


def pick_language(form: FormDef, ui_language: str) -> str | None:
    """The form's language that matches the interface's (``Chinese (zh)``, ``中文``,
    ``English (en)``), else the form's default."""
    if not form.languages:
        return None
    want = ("zh", "chinese", "中文", "汉语", "简体") if ui_language == "zh" else ("en", "english")
    for lang in form.languages:
        low = lang.lower()
        code = re.search(r"\(([a-z]{2,3})(?:[-_][a-z]+)?\)", low)
        if (code and code.group(1) in want) or any(w in low for w in want if len(w) > 2):
            return lang
    return form.default_language


class FormSession:
    """One response being filled (or reviewed: ``answers`` loads a saved one)."""

    def __init__(
        self,
        form: FormDef,
        *,
        language: str | None = None,
        today: date | None = None,
        now: Callable[[], datetime] | None = None,
        username: str = "",
        deviceid: str = "",
        answers: dict[str, Any] | None = None,
        last_saved: dict[str, Any] | None = None,
    ) -> None:
        self.form = form
        self.language = language if language in form.languages else form.default_language
        day = today
        self.env = xpath.Env(
            instances=dict(form.secondary),
            today=(lambda: day) if day is not None else date.today,
            now=now or (lambda: datetime.now().astimezone()),
            choice_label=self._choice_label,
        )
        self.username, self.deviceid = username, deviceid
        self.doc = xpath.Node("")
        self._generic: dict[int, str] = {}
        self.root = self._build(form.template, self.doc, "")
        self._relevant: dict[int, bool] = {}
        if form.last_saved:
            # ``instance('__last-saved')``: the last response saved with this form, if any
            saved = xpath.Node("")
            saved_root = self._build(form.template, saved, "")
            if last_saved:
                self._load(saved_root, last_saved)
            self.env.instances[form.last_saved] = saved
        if answers is not None:
            self._load(self.root, answers)
        else:
            self._preload()
            self.recalculate()  # dynamic defaults may read calculations
            self._set_values(self.form.first_load, self.root)
        self.recalculate()

    # --- the instance -----------------------------------------------------------------------
    def _build(self, el: Any, parent: xpath.Node, base: str) -> xpath.Node:
        from kiosk.domain.xform import _local

        name = _local(el.tag)
        path = f"{base}/{name}"
        bind = self.form.binds.get(path)
        leaf = len([c for c in el if isinstance(c.tag, str)]) == 0
        node = xpath.Node(
            name,
            (el.text or "").strip() if leaf else "",
            parent,
            datatype=bind.type if bind else None,
        )
        self._generic[id(node)] = path
        for child in el:
            if isinstance(child.tag, str) and child.get(f"{{{JR}}}template") is None:
                self._build(child, node, path)
        return node

    def generic(self, node: xpath.Node) -> str:
        return self._generic.get(id(node), "")

    def walk(self, node: xpath.Node | None = None) -> Iterator[xpath.Node]:
        stack = [node or self.root]
        while stack:
            n = stack.pop()
            yield n
            stack.extend(reversed(n.children))

    def _preload(self) -> None:
        stamp = self.env.now()
        for node in self.walk():
            bind = self.form.binds.get(self.generic(node))
            if bind is None or not bind.preload:
                continue
            kind, param = bind.preload, bind.preload_params
            if kind == "timestamp" and param == "start":
                node.value = _iso_datetime(stamp)
            elif kind == "date" and param == "today":
                node.value = self.env.today().isoformat()
            elif kind == "property" and param == "username":
                node.value = self.username
            elif kind == "property" and param == "deviceid":
                node.value = self.deviceid
            elif kind == "uid":
                node.value = f"uuid:{uuid.uuid4()}"

    def _set_values(self, actions: tuple[tuple[str, str], ...], within: xpath.Node) -> None:
        """``setvalue`` actions on the nodes at their paths under ``within`` (a dynamic
        default, a new repeat instance's values): each evaluated for its own node."""
        for path, expr in actions:
            for node in [n for n in self.walk(within) if self.generic(n) == path]:
                bind = self.form.binds.get(path, Bind(path))
                node.value = self._typed_text(bind, self._safe_value(expr, node)) if expr else ""

    def finish(self) -> None:
        """What ODK sets when the form is saved: ``end``."""
        stamp = _iso_datetime(self.env.now())
        for node in self.walk():
            bind = self.form.binds.get(self.generic(node))
            if bind is not None and bind.preload == "timestamp" and bind.preload_params == "end":
                node.value = stamp

    # --- expressions ------------------------------------------------------------------------
    def _eval(self, expr: str, node: xpath.Node) -> Any:
        return xpath.parse(self._contextual(expr, node)).evaluate(node, self.env)

    def _contextual(self, expr: str, node: xpath.Node) -> str:
        """Absolute paths that pass through a repeat the node is in read that repeat's
        instance (JavaRosa's contextualisation): ``/data/members/age`` evaluated for
        ``/data/members[2]/x`` becomes ``/data/members[2]/age``."""
        chain = []
        n: xpath.Node | None = node
        while n is not None and n.parent is not None:
            gp = self.generic(n)
            if gp in self.form.repeats:
                chain.append((gp, _index(n)))
            n = n.parent
        for gp, idx in chain:  # innermost first: longer paths are replaced before shorter
            expr = re.sub(
                rf"(?<![\w\]/.-]){re.escape(gp)}(?=/|\s|\)|$|,|\]|=|!|<|>|\+|\*|\|)",
                f"{gp}[{idx}]",
                expr,
            )
        return expr

    def truth(self, expr: str, node: xpath.Node) -> bool:
        try:
            return xpath.to_boolean(self._eval(expr, node))
        except (xpath.XPathError, ValueError, TypeError, ArithmeticError, RecursionError):
            return False

    def text_of(self, expr: str, node: xpath.Node) -> str:
        try:
            return xpath.to_string(self._eval(expr, node))
        except (xpath.XPathError, ValueError, TypeError, ArithmeticError, RecursionError):
            return ""

    def render(self, label: Label, node: xpath.Node) -> str:
        """A label, hint or message in the chosen language, with its outputs filled in."""
        parts: Text = ()
        if label.itext:
            parts = self._itext(label.itext)
        elif label.inline:
            parts = label.inline
        elif label.dynamic:
            parts = self._itext(self.text_of(label.dynamic, node))
        elif label.ref:
            return self.text_of(label.ref, node)
        out = []
        for p in parts:
            out.append(p if isinstance(p, str) else self.text_of(p[1], node))
        return "".join(out)

    def _itext(self, tid: str) -> Text:
        for lang in (self.language, self.form.default_language, *self.form.languages):
            text = self.form.itext.get(lang, {}).get(tid) if lang is not None else None
            # pyxform writes "-" where a language lacks the text: the next language's is better
            if text and text != ("-",):
                return text
        return ()

    def _choice_label(self, value: str, path: str) -> str:
        control = self.form.controls.get(path.strip())
        if control is None:
            return ""
        nodes = [n for n in self.walk() if self.generic(n) == control.ref]
        for v, label in self.choices(control, nodes[0] if nodes else self.root):
            if v == value:
                return label
        return ""

    # --- calculation and relevance ----------------------------------------------------------
    def recalculate(self) -> None:
        self._follow_counts()
        for _ in range(4):
            changed = False
            for node in self.walk():
                bind = self.form.binds.get(self.generic(node))
                if bind is None or not bind.calculate:
                    continue
                value = self._typed_text(bind, self._safe_value(bind.calculate, node))
                if value != node.value:
                    node.value = value
                    changed = True
            if not changed:
                break
        self._relevant = {}
        self._mark(self.root, True)

    def _safe_value(self, expr: str, node: xpath.Node) -> Any:
        try:
            return self._eval(expr, node)
        except (xpath.XPathError, ValueError, TypeError, ArithmeticError, RecursionError):
            return ""

    def _typed_text(self, bind: Bind, value: Any) -> str:
        if bind.type == "int" and isinstance(value, float | int) and not isinstance(value, bool):
            return "" if not math.isfinite(value) else str(int(value))
        text = xpath.to_string(value)
        return "" if text == "NaN" else text

    def _mark(self, node: xpath.Node, parent_ok: bool) -> None:
        ok = parent_ok
        bind = self.form.binds.get(self.generic(node))
        if ok and bind is not None and bind.relevant:
            ok = self.truth(bind.relevant, node)
        self._relevant[id(node)] = ok
        for child in node.children:
            self._mark(child, ok)

    def relevant(self, node: xpath.Node) -> bool:
        return self._relevant.get(id(node), True)

    def _follow_counts(self) -> None:
        for group in _groups(self.form.body):
            if not (group.repeat and group.count and group.ref):
                continue
            parent_path = group.ref.rsplit("/", 1)[0]
            for parent in [n for n in self.walk() if self.generic(n) == parent_path]:
                want = self.text_of(group.count, parent)
                try:
                    n = max(0, min(MAX_REPEATS, int(float(want or 0))))
                except ValueError:
                    n = 0
                have = self.instances(group.ref, parent)
                for _ in range(n - len(have)):
                    self._add_instance(group.ref, parent)
                for extra in have[n:]:
                    self._drop(extra)

    # --- repeats ----------------------------------------------------------------------------
    def instances(self, repeat: str, parent: xpath.Node) -> list[xpath.Node]:
        name = repeat.rsplit("/", 1)[-1]
        return [c for c in parent.children if c.name == name and self.generic(c) == repeat]

    def _add_instance(
        self, repeat: str, parent: xpath.Node, after: xpath.Node | None = None
    ) -> xpath.Node:
        template = self.form.repeats[repeat]
        base = repeat.rsplit("/", 1)[0]
        siblings = self.instances(repeat, parent)
        if len(siblings) >= MAX_REPEATS:
            raise UserError("visits.form.too_many", exit_code=2, n=MAX_REPEATS)
        node = self._build(template, xpath.Node("tmp"), base)
        node.parent = None
        anchor = after if after is not None else (siblings[-1] if siblings else None)
        if anchor is not None:
            parent.insert(parent.children.index(anchor) + 1, node)
        else:
            # where the template sits among its siblings in the form
            order = [c.tag for c in template.getparent() if isinstance(c.tag, str)]
            from kiosk.domain.xform import _local

            names = [_local(x) for x in order]
            mine = names.index(node.name) if node.name in names else len(names)
            at = len(parent.children)
            for i, c in enumerate(parent.children):
                if c.name in names and names.index(c.name) > mine:
                    at = i
                    break
            parent.insert(at, node)
        node.parent = parent
        for n in self.walk(node):
            bind = self.form.binds.get(self.generic(n))
            if bind is not None and bind.preload == "uid":
                n.value = f"uuid:{uuid.uuid4()}"
        return node

    def add_repeat(self, repeat: str, parent: xpath.Node, after: xpath.Node | None = None):
        node = self._add_instance(repeat, parent, after)
        self.recalculate()
        self._set_values(self.form.new_repeat, node)
        self.recalculate()
        return node

    def _drop(self, node: xpath.Node) -> None:
        if node.parent is not None:
            node.parent.remove(node)
        for n in list(self.walk(node)):
            self._generic.pop(id(n), None)

    def remove_repeat(self, node: xpath.Node) -> None:
        self._drop(node)
        self.recalculate()

    # --- pages ------------------------------------------------------------------------------
    def pages(self) -> list[Page]:
        pages: list[Page] = []
        loose: list[Any] = []

        def flush() -> None:
            if loose:
                n = len([p for p in pages if p.key.startswith("loose")])
                page = Page(f"loose{n}", "", list(loose))
                loose.clear()
                if page.prompts:
                    pages.append(page)

        for item in self.form.body:
            if isinstance(item, Control):
                prompt = self._prompt(item, self.root)
                if prompt is not None:
                    loose.append(prompt)
                    if len(loose) >= LOOSE_PAGE:
                        flush()
            elif isinstance(item, Group):
                flush()
                self._group_pages(item, self.root, pages, "")
        flush()
        return pages

    def _group_pages(self, group: Group, context: xpath.Node, pages: list[Page], title: str):
        if group.repeat and group.ref:
            parent = self._resolve(group.ref.rsplit("/", 1)[0], context)
            if parent is None or not self.relevant(parent):
                return
            label = self.render(group.label, parent) or group.ref.rsplit("/", 1)[-1]
            name = f"{title} · {label}" if title else label
            items = self.instances(group.ref, parent)
            addable = not group.fixed and not group.count
            if not items:
                pages.append(
                    Page(
                        f"{_indexed(parent)}{group.ref}#0",
                        name,
                        repeat=group.ref,
                        instance=parent,
                        count=0,
                        can_add=addable,
                    )
                )
                return
            for i, inst in enumerate(items, start=1):
                if not self.relevant(inst):
                    continue
                page = Page(
                    _indexed(inst),
                    name,
                    repeat=group.ref,
                    instance=inst,
                    index=i,
                    count=len(items),
                    can_add=addable,
                    can_remove=addable,
                )
                pages.append(page)
                self._fill(group.children, inst, page, pages, name, 0)
            return
        node = self._resolve(group.ref, context) if group.ref else context
        if node is None or not self.relevant(node):
            return
        label = self.render(group.label, node)
        name = f"{title} · {label}" if title and label else (label or title)
        page = Page(_indexed(node) + "#g", name)
        pages.append(page)
        self._fill(group.children, node, page, pages, name, 0)
        if not page.items:
            pages.remove(page)

    def _fill(self, items, context, page: Page, pages: list[Page], title: str, depth: int):
        for item in items:
            if isinstance(item, Control):
                prompt = self._prompt(item, context)
                if prompt is not None:
                    page.items.append(prompt)
            elif isinstance(item, Group) and item.repeat:
                self._group_pages(item, context, pages, title)
            elif isinstance(item, Group):
                node = self._resolve(item.ref, context) if item.ref else context
                if node is None or not self.relevant(node):
                    continue
                label = self.render(item.label, node)
                if label:
                    page.items.append(Heading(label, depth + 1))
                self._fill(item.children, node, page, pages, title, depth + 1)

    def _resolve(self, path: str, context: xpath.Node) -> xpath.Node | None:
        """The node at generic ``path`` within the repeat instances ``context`` is in."""
        ctx_path = self.generic(context)
        if path == ctx_path:
            return context
        if ctx_path and path.startswith(ctx_path + "/"):
            node: xpath.Node | None = context
            for step in path[len(ctx_path) + 1 :].split("/"):
                node = next((c for c in node.children if c.name == step), None) if node else None
            return node
        # outside the context: walk from the root, through the context's own ancestors
        anc = {self.generic(a): a for a in _ancestors(context)}
        node = self.root
        steps = [s for s in path.split("/") if s][1:]
        acc = self.generic(self.root)
        for step in steps:
            acc = f"{acc}/{step}"
            node = anc.get(acc) or next((c for c in node.children if c.name == step), None)
            if node is None:
                return None
        return node

    def prompt_for(self, node: xpath.Node) -> Prompt | None:
        """The question that fills ``node``, relevant or not (None: no question does)."""
        control = self.form.controls.get(self.generic(node))
        return self._prompt(control, node, always=True) if control is not None else None

    def _prompt(
        self, control: Control, context: xpath.Node, *, always: bool = False
    ) -> Prompt | None:
        node = self._resolve(control.ref, context)
        if node is None or not (always or self.relevant(node)):
            return None
        bind = self.form.binds.get(control.ref, Bind(control.ref))
        kind, note = self._kind(control, bind)
        readonly = kind == "note" or (bool(bind.readonly) and self.truth(bind.readonly, node))
        if readonly and kind not in ("note", "skipped"):
            kind = "note"
        required = (
            kind not in ("note", "skipped")
            and bool(bind.required)
            and self.truth(bind.required, node)
        )
        choices = self.choices(control, node) if kind in ("select1", "select") else []
        return Prompt(
            _indexed(node),
            node,
            control,
            bind,
            kind,
            self.render(control.label, node),
            self.render(control.hint, node),
            required,
            readonly,
            choices,
            note,
        )

    def _kind(self, control: Control, bind: Bind) -> tuple[str, str]:
        app = control.appearance.lower()
        if control.kind == "upload":
            return "skipped", t("visits.form.skipped_media")
        if control.kind == "rank":
            return "skipped", t("visits.form.skipped_rank")
        if control.kind == "trigger":
            return "trigger", ""
        if control.kind == "select1":
            return "select1", ""
        if control.kind == "select":
            return "select", ""
        if control.kind == "range":
            return "range", ""
        if bind.readonly in ("true()", "true") and not bind.calculate:
            return "note", ""
        kind = {
            "int": "integer",
            "decimal": "decimal",
            "date": "date",
            "time": "time",
            "dateTime": "datetime",
            "geopoint": "geopoint",
            "barcode": "barcode",
        }.get(bind.type)
        if bind.type in ("geotrace", "geoshape"):
            return "skipped", t("visits.form.skipped_shape")
        if bind.type == "binary":
            return "skipped", t("visits.form.skipped_media")
        if kind is None:
            kind = "multiline" if "multiline" in app else "text"
        return kind, ""

    def choices(self, control: Control, node: xpath.Node) -> list[tuple[str, str]]:
        if control.itemset is None:
            return [(i.value, self.render(i.label, node) or i.value) for i in control.items]
        s = control.itemset
        try:
            found = self._eval(s.nodeset, node)
        except (xpath.XPathError, ValueError, TypeError, ArithmeticError, RecursionError):
            return []
        if not isinstance(found, list):
            return []
        out = []
        for item in found:
            value = self.text_of(s.value_ref, item)
            label = self.render(s.label, item) if not s.label.empty else value
            out.append((value, label or value))
        return out

    # --- answers ----------------------------------------------------------------------------
    def find(self, path: str) -> xpath.Node | None:
        """The node at an indexed path (a prompt's ``path``)."""
        node: xpath.Node | None = self.doc
        for step in [s for s in path.split("/") if s]:
            m = re.fullmatch(r"([^\[]+)(?:\[(\d+)\])?", step)
            if m is None or node is None:
                return None
            same = [c for c in node.children if c.name == m.group(1)]
            i = int(m.group(2) or 1)
            node = same[i - 1] if 0 < i <= len(same) else None
        return node

    def set_answer(self, prompt: Prompt, raw: Any) -> None:
        """Store an answer as typed; :class:`AnswerInvalid` when it is not one."""
        self.store(prompt, self.coerce(prompt, raw))

    def store(self, prompt: Prompt, value: str) -> None:
        """Store an answer already checked (:meth:`coerce`), then what follows it: the
        question's ``setvalue`` actions, every calculation and relevance."""
        prompt.node.value = value
        for path, expr in prompt.control.on_change:
            target = self._resolve(path, prompt.node)
            if target is not None:
                bind = self.form.binds.get(path, Bind(path))
                target.value = (
                    self._typed_text(bind, self._safe_value(expr, target)) if expr else ""
                )
        self.recalculate()

    def coerce(self, prompt: Prompt, raw: Any) -> str:
        kind, label = prompt.kind, prompt.label
        if raw is None or raw == "" or raw == []:
            return ""
        if kind == "select":
            picked = raw.split() if isinstance(raw, str) else [str(x) for x in raw]
            names = [v for v, _ in prompt.choices]
            if any(p not in names for p in picked):
                raise AnswerInvalid("visits.survey.answer.choice", field=prompt.path, label=label)
            return " ".join(n for n in names if n in picked)
        text = str(raw).strip()
        if kind == "select1":
            if text not in [v for v, _ in prompt.choices]:
                raise AnswerInvalid("visits.survey.answer.choice", field=prompt.path, label=label)
            return text
        if kind == "integer":
            if not _INT.fullmatch(text) or abs(int(text)) > 2**31 - 1:
                raise AnswerInvalid("visits.survey.answer.integer", field=prompt.path, label=label)
            return str(int(text))
        if kind in ("decimal", "range"):
            if not _DEC.fullmatch(text) or not math.isfinite(float(text)):
                raise AnswerInvalid("visits.survey.answer.decimal", field=prompt.path, label=label)
            if kind == "range" and prompt.control.range is not None:
                lo, hi, _ = prompt.control.range
                if not min(lo, hi) <= float(text) <= max(lo, hi):
                    raise AnswerInvalid(
                        "visits.form.answer.range",
                        field=prompt.path,
                        label=label,
                        low=xpath.to_string(float(lo)),
                        high=xpath.to_string(float(hi)),
                    )
            return xpath.to_string(float(text))
        if kind == "date":
            try:
                if not _DATE.fullmatch(text):
                    raise ValueError(text)
                return date.fromisoformat(text).isoformat()
            except ValueError:
                raise AnswerInvalid(
                    "visits.survey.answer.date", field=prompt.path, label=label
                ) from None
        if kind == "time":
            m = _TIME.fullmatch(text)
            if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59 or int(m.group(3) or 0) > 59:
                raise AnswerInvalid("visits.form.answer.time", field=prompt.path, label=label)
            return f"{int(m.group(1)):02d}:{m.group(2)}:{m.group(3) or '00'}.000"
        if kind == "datetime":
            m = _DATETIME.fullmatch(text)
            try:
                if not m:
                    raise ValueError(text)
                value = datetime.fromisoformat(f"{m.group(1)}T{m.group(2)}")
            except ValueError:
                raise AnswerInvalid(
                    "visits.form.answer.datetime", field=prompt.path, label=label
                ) from None
            return _iso_datetime(value.astimezone())
        if kind == "geopoint":
            parts = text.replace(",", " ").split()
            try:
                nums = [float(p) for p in parts]
                if not 2 <= len(nums) <= 4 or abs(nums[0]) > 90 or abs(nums[1]) > 180:
                    raise ValueError(text)
            except ValueError:
                raise AnswerInvalid(
                    "visits.form.answer.geopoint", field=prompt.path, label=label
                ) from None
            return " ".join(xpath.to_string(n) for n in nums)
        if kind == "trigger":
            return "OK"
        if len(text) > MAX_TEXT_ANSWER:
            raise AnswerInvalid(
                "visits.survey.answer.too_long", field=prompt.path, label=label, max=MAX_TEXT_ANSWER
            )
        return text

    def broken(self, *, only_given: bool = False) -> tuple[Prompt, str] | None:
        """The first relevant question that breaks its rule, with the form's message (or
        ours). ``only_given``: only constraints on answers already given (while typing)."""
        for page in self.pages():
            for prompt in page.prompts:
                message = self.broken_rule(prompt, only_given=only_given)
                if message is not None:
                    return prompt, message
        return None

    def broken_rule(self, prompt: Prompt, *, only_given: bool = False) -> str | None:
        node, bind = prompt.node, prompt.bind
        if prompt.kind in ("note", "skipped"):
            return None
        if node.value == "":
            if prompt.required and not only_given:
                return self.render(bind.required_msg, node) or t(
                    "visits.survey.answer.required", label=prompt.label
                )
            return None
        if bind.constraint and not self.truth(bind.constraint, node):
            return self.render(bind.constraint_msg, node) or t(
                "visits.survey.answer.constraint", label=prompt.label
            )
        return None

    def answers(self) -> dict[str, Any]:
        """What is stored: relevant answers as a nested object (a repeat is a list), typed
        (integers, decimals, multiple choices as lists), empty ones left out."""
        out = self._dump(self.root)
        return out if isinstance(out, dict) else {}

    def draft(self) -> dict[str, Any]:
        """Everything typed so far, relevant or not (a draft: an answer hidden by another
        comes back with it), in the shape :meth:`answers` has."""
        out = self._dump(self.root, everything=True)
        return out if isinstance(out, dict) else {}

    def _dump(self, node: xpath.Node, *, everything: bool = False) -> Any:
        if not node.children:
            bind = self.form.binds.get(self.generic(node))
            return _typed(bind, node.value)
        out: dict[str, Any] = {}
        for child in node.children:
            if not everything and not self.relevant(child):
                continue
            gp = self.generic(child)
            value = self._dump(child, everything=everything)
            if gp in self.form.repeats:
                out.setdefault(child.name, []).append(value if isinstance(value, dict) else {})
            elif value not in (None, "", {}, []):
                out[child.name] = value
        return out

    def _load(self, node: xpath.Node, data: dict[str, Any]) -> None:
        for child in list(node.children):
            gp = self.generic(child)
            if gp in self.form.repeats:
                self._drop(child)
        for key, value in data.items():
            gp = f"{self.generic(node)}/{key}"
            if gp in self.form.repeats:
                for entry in value if isinstance(value, list) else []:
                    inst = self._add_instance(gp, node)
                    if isinstance(entry, dict):
                        self._load(inst, entry)
                continue
            found = next((c for c in node.children if c.name == key), None)
            if found is None:
                continue  # a question of another version of the form
            child = found
            if isinstance(value, dict):
                self._load(child, value)
            elif isinstance(value, list):
                child.value = " ".join(str(v) for v in value)
            elif isinstance(value, float) and value.is_integer():
                child.value = str(int(value)) if child.datatype == "int" else repr(value)
            else:
                child.value = "" if value is None else str(value)


def _typed(bind: Bind | None, value: str) -> Any:
    if value == "":
        return None
    kind = bind.type if bind else "string"
    try:
        if kind == "int":
            return int(value)
        if kind == "decimal":
            return float(value)
    except ValueError:
        return value
    if kind in ("select", "odk:rank", "rank"):
        return value.split()
    return value


def _iso_datetime(value: datetime) -> str:
    stamp = value.isoformat(timespec="milliseconds")
    return stamp


def _index(node: xpath.Node) -> int:
    if node.parent is None:
        return 1
    same = [c for c in node.parent.children if c.name == node.name]
    return same.index(node) + 1


def _indexed(node: xpath.Node) -> str:
    steps = []
    n: xpath.Node | None = node
    while n is not None and n.parent is not None:
        steps.append(f"{n.name}[{_index(n)}]")
        n = n.parent
    return "/" + "/".join(reversed(steps))


def _ancestors(node: xpath.Node) -> Iterator[xpath.Node]:
    n: xpath.Node | None = node
    while n is not None and n.parent is not None:
        yield n
        n = n.parent


def _groups(items) -> Iterator[Group]:
    for item in items:
        if isinstance(item, Group):
            yield item
            yield from _groups(item.children)
