"""Attaching photos to a case's event or to a feedback item, from files: every file prepared
first (slow, and where a bad file is refused before anything is written), then all of them
stored with the event or the feedback in the caller's transaction."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from db.context import WriteContext
from db.errors import UserError
from db.photos import MAX_PER_EVENT, attach_feedback_photo, attach_photo
from kiosk.core.config import Settings
from kiosk.photos.prepare import Prepared, prepare_file


def prepare_files(paths: Iterable[str | Path], settings: Settings) -> list[Prepared]:
    """Each file made fit to store (kiosk/photos/prepare.py), in the order given; the same
    picture given twice is kept once."""
    wanted = [Path(p).expanduser() for p in paths]
    if len(wanted) > MAX_PER_EVENT:
        raise UserError("photos.error.too_many", exit_code=2, limit=MAX_PER_EVENT)
    out: dict[str, Prepared] = {}
    for path in wanted:
        p = prepare_file(path, long_edge=settings.photo_long_edge, quality=settings.photo_quality)
        out.setdefault(p.sha256, p)
    return list(out.values())


def attach_prepared(
    ctx: WriteContext, case_id: str, event_id: str, photos: Sequence[Prepared]
) -> list[str]:
    """Store ``photos`` on the event ``event_id`` of ``case_id``; their ids, in order."""
    return [
        attach_photo(
            ctx, case_id, event_id, sha256=p.sha256, data=p.data, width=p.width, height=p.height
        )
        for p in photos
    ]


def attach_prepared_to_feedback(
    ctx: WriteContext, feedback_id: str, photos: Sequence[Prepared]
) -> list[str]:
    """Store ``photos`` on the feedback item ``feedback_id``; their ids, in order."""
    return [
        attach_feedback_photo(
            ctx, feedback_id, sha256=p.sha256, data=p.data, width=p.width, height=p.height
        )
        for p in photos
    ]


#: the files a folder gives, by their ending (case does not matter)
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".gif", ".heic", ".heif"})


def photo_paths(text: str) -> list[Path]:
    """The files named in a form's photo field: paths separated by ``;`` or line breaks
    (quotes around one are dropped), a folder standing for the images in it (by name).
    Checked at once, before anything is prepared: :class:`PhotoRefused` names the first
    path that is missing, and more than :data:`MAX_PER_EVENT` files are refused."""
    from kiosk.photos.prepare import PhotoRefused

    out: list[Path] = []
    for part in text.replace("\n", ";").split(";"):
        raw = part.strip().strip("'\"").strip()
        if not raw:
            continue
        path = Path(raw).expanduser()
        if path.is_dir():
            found = sorted(
                f for f in path.iterdir() if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES
            )
            if not found:
                raise PhotoRefused("photos.error.empty_folder", exit_code=2, path=str(path))
            out += found
        elif path.is_file():
            out.append(path)
        else:
            raise PhotoRefused("photos.error.not_found", exit_code=2, path=str(path))
    if len(out) > MAX_PER_EVENT:
        raise UserError("photos.error.too_many", exit_code=2, limit=MAX_PER_EVENT)
    return out


def problem_photos(
    form: dict, settings: Settings | None = None, *, prepare: bool = True
) -> dict[int, list[Prepared]]:
    """The photos of each problem of a visit form (kiosk/domain/visits.py: its ``photos``
    text, paths as :func:`photo_paths` reads them), by the problem's index: checked, and
    prepared unless ``prepare`` is false (then every list is empty: the paths were only
    checked). A path that is not there or a file that is no photo raises
    :class:`~kiosk.domain.visits.VisitInvalid` naming that problem's photos field, before
    anything is written."""
    from kiosk.domain.visits import VisitInvalid

    out: dict[int, list[Prepared]] = {}
    for i, p in enumerate(form.get("problems") or []):
        text = p.get("photos") if isinstance(p, dict) else None
        if not isinstance(text, str) or not text.strip():
            continue
        try:
            paths = photo_paths(text)
            if not prepare or settings is None:
                out[i] = []
                continue
            out[i] = prepare_files(paths, settings)
        except UserError as exc:
            raise VisitInvalid(
                "visits.error.problem_photo",
                field=f"problem.{i}.photos",
                n=i + 1,
                detail=exc.message(),
            ) from None
    return out
