"""Community feedback rules: what a feedback record must hold, checked before it is stored."""

from __future__ import annotations

from typing import Any

from db.feedback import SOURCES, FeedbackInput
from kiosk.core.errors import UserError
from kiosk.core.i18n import t

MAX_TEXT = 2000
MAX_PLACE = 100
MAX_NAME = 40


class FeedbackInvalid(UserError):
    """Feedback that cannot be saved; ``field`` names the field."""

    def __init__(self, key: str, /, field: str, **params: object) -> None:
        super().__init__(key, exit_code=2, **params)
        self.field = field


def _length(field: str, value: str, limit: int) -> None:
    if len(value) > limit:
        raise FeedbackInvalid(
            "visits.feedback.too_long",
            field=field,
            field_name=t(f"visits.feedback.{field}"),
            n=len(value),
            max=limit,
        )


def validate_feedback(
    form: dict[str, Any], *, categories: Any = None, grid_id: str | None = None
) -> FeedbackInput:
    """Check a feedback form (category code or name, text, place, anonymity, source)."""
    from kiosk.domain.categories import load_categories

    cats = categories or load_categories()
    text = str(form.get("text") or "").strip()
    place = str(form.get("place") or "").strip()
    raised_by = str(form.get("raised_by") or "").strip()
    source = str(form.get("source") or "other").strip()
    code = str(form.get("category") or "").strip()
    if not code:
        raise FeedbackInvalid("visits.feedback.category_missing", field="category")
    category = cats.get(code)
    if category is None:
        try:
            category = cats.resolve(code)
        except UserError:
            raise FeedbackInvalid(
                "visits.feedback.category_unknown", field="category", category=code[:40]
            ) from None
    if not text:
        raise FeedbackInvalid("visits.feedback.text_missing", field="text")
    _length("text", text, MAX_TEXT)
    _length("place", place, MAX_PLACE)
    _length("raised_by", raised_by, MAX_NAME)
    if source not in SOURCES:
        raise FeedbackInvalid("visits.feedback.source_unknown", field="source", source=source[:20])
    anonymous = bool(form.get("anonymous"))
    return FeedbackInput(
        category=category.code,
        text=text,
        anonymous=anonymous,
        raised_by="" if anonymous else raised_by,
        place=place,
        source=source,
        grid_id=grid_id,
    )
