"""Visit rules: what a visit form may hold, and turning a form (or its draft) into a visit.

The form's state is a plain dict (the same shape is autosaved as the draft, see
:func:`empty_form`), so the screen, the CLI and the tests share one validation path. Every
problem is reported as a :class:`VisitInvalid` naming the field it belongs to, in the
interface's language; nothing is written until the whole form is valid.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from db.visits import ITEM_KINDS, VISIT_TYPES, ItemInput, MetPerson, VisitInput
from kiosk.core.errors import UserError

MAX_NOTE = 2000
MAX_ITEM_TEXT = 500
MAX_NAME = 40
MAX_ITEMS = 30
MAX_MET_OTHER = 200
DRAFT_KIND = "visit"
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_SPLIT = re.compile(r"[,，、;；\s]+")


class VisitInvalid(UserError):
    """A visit form that cannot be saved; ``field`` names where (``note``,
    ``revisit_on``, ``problem.2.text``...)."""

    def __init__(self, key: str, /, field: str, **params: object) -> None:
        super().__init__(key, exit_code=2, **params)
        self.field = field


#: A revisit is planned within this many days (9999-12-31 is a typo, not a plan).
MAX_REVISIT_DAYS = 92


def draft_key(household_id: str) -> str:
    return f"visit:{household_id}"


def empty_form() -> dict[str, Any]:
    """A new visit form: a routine door-to-door visit, nobody picked yet."""
    return {
        "visit_type": "door",
        "met_members": [],  # member ids
        "met_other": "",  # names typed in, separated by 、 or commas
        "nobody_home": False,
        "revisit_on": "",
        "note": "",
        # [{"category": code, "text": str}], and "photos": the paths typed (only when some are)
        "problems": [],
        "suggestions": [],  # [{"text": str}]
    }


def normalise_form(raw: dict[str, Any] | None) -> dict[str, Any]:
    """A form dict with every key present and of the right type (drafts from older versions)."""
    form = empty_form()
    if not raw:
        return form
    for key, default in form.items():
        value = raw.get(key, default)
        if isinstance(default, bool):
            form[key] = bool(value)
        elif isinstance(default, str):
            form[key] = value if isinstance(value, str) else default
        elif isinstance(default, list):
            form[key] = list(value) if isinstance(value, list) else []
    form["problems"] = [
        problem(p.get("category"), p.get("text"), p.get("photos"))
        for p in form["problems"]
        if isinstance(p, dict)
    ]
    form["suggestions"] = [
        {"text": str(s.get("text", ""))} for s in form["suggestions"] if isinstance(s, dict)
    ]
    form["met_members"] = [str(m) for m in form["met_members"]]
    return form


def problem(category: object, text: object, photos: object = "") -> dict[str, str]:
    """One problem of a form as a draft keeps it: its category and text, and the photo paths
    typed for it when there are some (a draft of a problem without photos keeps its shape)."""
    out = {"category": str(category or ""), "text": str(text or "")}
    if isinstance(photos, str) and photos.strip():
        out["photos"] = photos
    return out


def _too_long(field: str, value: str, limit: int) -> None:
    if len(value) > limit:
        raise VisitInvalid(
            "visits.error.too_long",
            field=field,
            field_name=_field_name(field),
            n=len(value),
            max=limit,
        )


def _field_name(field: str) -> str:
    from kiosk.core.i18n import t

    head, _, rest = field.partition(".")
    if head in ("problem", "suggestion") and rest:
        index, _, part = rest.partition(".")
        return t(f"visits.field.{head}_{part or 'text'}", n=int(index) + 1)
    return t(f"visits.field.{head}")


def validate(
    conn: sqlite3.Connection,
    household_id: str,
    raw: dict[str, Any],
    *,
    today: date,
    categories: Any = None,
    photos: Mapping[int, Sequence[Any]] | None = None,
) -> VisitInput:
    """Check a visit form and turn it into a :class:`VisitInput`, or raise :class:`VisitInvalid`.

    ``photos``: the prepared pictures of each problem, by its index in ``raw["problems"]``
    (kiosk/photos/attach.py ``problem_photos`` reads and prepares the paths typed)."""
    from kiosk.domain.categories import load_categories

    cats = categories or load_categories()
    form = normalise_form(raw)
    if conn.execute("SELECT 1 FROM households WHERE id = ?", (household_id,)).fetchone() is None:
        raise VisitInvalid("visits.error.no_household", field="household", id=household_id[:40])
    if form["visit_type"] not in VISIT_TYPES:
        raise VisitInvalid("visits.error.type", field="visit_type")
    nobody = form["nobody_home"]
    revisit = form["revisit_on"].strip()
    if nobody:
        if not revisit:
            raise VisitInvalid("visits.error.revisit_missing", field="revisit_on")
        if not _DATE.match(revisit):
            raise VisitInvalid(
                "visits.error.revisit_format", field="revisit_on", value=revisit[:20]
            )
        try:
            when = date.fromisoformat(revisit)
        except ValueError:
            raise VisitInvalid(
                "visits.error.revisit_format", field="revisit_on", value=revisit[:20]
            ) from None
        if when < today:
            raise VisitInvalid(
                "visits.error.revisit_past",
                field="revisit_on",
                value=revisit,
                today=today.isoformat(),
            )
        if (when - today).days > MAX_REVISIT_DAYS:
            raise VisitInvalid(
                "visits.error.revisit_far",
                field="revisit_on",
                value=revisit,
                days=MAX_REVISIT_DAYS,
            )
    met: list[MetPerson] = []
    if not nobody:
        ids = list(dict.fromkeys(form["met_members"]))
        if ids:
            rows = {
                r["id"]: r["name"]
                for r in conn.execute(
                    f"SELECT id, name FROM members WHERE household_id = ? AND id IN"
                    f" ({','.join('?' * len(ids))})",
                    [household_id, *ids],
                )
            }
            for mid in ids:
                if mid not in rows:
                    raise VisitInvalid("visits.error.member", field="met_members")
                met.append(MetPerson(rows[mid], mid))
        _too_long("met_other", form["met_other"], MAX_MET_OTHER)
        for name in _SPLIT.split(form["met_other"].strip()):
            if name:
                _too_long("met_other", name, MAX_NAME)
                met.append(MetPerson(name, None))
        if not met and form["visit_type"] in ("door", "phone"):
            raise VisitInvalid("visits.error.met_missing", field="met_members")
    _too_long("note", form["note"], MAX_NOTE)
    items: list[ItemInput] = []
    if len(form["problems"]) + len(form["suggestions"]) > MAX_ITEMS:
        raise VisitInvalid("visits.error.too_many_items", field="problem", max=MAX_ITEMS)
    for i, p in enumerate(form["problems"]):
        text, code = p["text"].strip(), p["category"].strip()
        if not text and not code and not p.get("photos", "").strip():
            continue  # an empty row the worker added and left: not a problem
        if not code:
            raise VisitInvalid(
                "visits.error.category_missing", field=f"problem.{i}.category", n=i + 1
            )
        if cats.get(code) is None:
            raise VisitInvalid(
                "visits.error.category_unknown",
                field=f"problem.{i}.category",
                n=i + 1,
                category=code[:40],
            )
        if not text:
            raise VisitInvalid(
                "visits.error.text_missing",
                field=f"problem.{i}.text",
                field_name=_field_name(f"problem.{i}.text"),
            )
        _too_long(f"problem.{i}.text", text, MAX_ITEM_TEXT)
        items.append(ItemInput("problem", text, code, tuple((photos or {}).get(i, ()))))
    for i, s in enumerate(form["suggestions"]):
        text = s["text"].strip()
        if not text:
            continue
        _too_long(f"suggestion.{i}.text", text, MAX_ITEM_TEXT)
        items.append(ItemInput("suggestion", text, ""))
    assert all(it.kind in ITEM_KINDS for it in items)
    return VisitInput(
        household_id=household_id,
        visit_type=form["visit_type"],
        nobody_home=nobody,
        revisit_on=revisit if nobody else None,
        met=met,
        note=form["note"].strip(),
        items=items,
    )


def record_visit(
    ctx,
    household_id: str,
    raw: dict[str, Any],
    *,
    today: date,
    categories: Any = None,
    photos: Mapping[int, Sequence[Any]] | None = None,
) -> str:
    """Validate and save in one go (inside the caller's transaction); drops the draft.
    ``photos``: each problem's prepared pictures (see :func:`validate`)."""
    from db.visits import save_visit

    visit = validate(ctx.conn, household_id, raw, today=today, categories=categories, photos=photos)
    return save_visit(ctx, visit, draft_key=draft_key(household_id))


def format_visit(v) -> str:
    """A visit as the history shows it (CLI and household screen)."""
    from kiosk.core.i18n import t
    from kiosk.domain.categories import load_categories

    cats = load_categories()
    nobody = t("visits.history_nobody", revisit=v.revisit_on or "") if v.nobody_home else ""
    met = (t("visits.met_prefix") + "、".join(m.name for m in v.met)) if v.met else ""
    lines = [
        t(
            "visits.history_line",
            when=v.visited_at[:16].replace("T", " "),
            type=t(f"visits.type.{v.visit_type}"),
            nobody=nobody,
            met=met,
        ).rstrip()
    ]
    if v.note:
        lines.append("  " + v.note.replace("\n", " ")[:200])
    for it in v.items:
        kind = t(f"visits.kind_{it.kind}")
        cat = f"（{cats.label(it.category)}）" if it.category else ""
        lines.append(t("visits.history_item", kind=kind, category=cat, text=it.text))
    return "\n".join(lines)
