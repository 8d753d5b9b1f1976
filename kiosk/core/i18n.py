"""The one translation layer: every user-facing string goes through :func:`t`.

Catalogues are TOML files under ``kiosk/core/locale/<lang>/`` (one file per area of the product,
merged on load); keys are dotted (``search.placeholder``). Simplified Chinese is the default;
English on request. A key missing from the active language falls back to Chinese, then to the
key itself, so a forgotten string is visible but never a crash (a test checks both
catalogues carry the same keys).
"""

from __future__ import annotations

import hashlib
import marshal
import os
import re
import tomllib
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import platformdirs

from db.errors import UserError

LANGUAGES = ("zh", "en")
DEFAULT_LANGUAGE = "zh"
_DIRS = {"zh": "zh_CN", "en": "en"}
_LOCALE = Path(__file__).parent / "locale"

_language = DEFAULT_LANGUAGE


def _flatten(prefix: str, table: dict[str, Any], out: dict[str, str]) -> None:
    for key, value in table.items():
        full = f"{prefix}.{key}" if prefix else key
        if isinstance(value, dict):
            _flatten(full, value, out)
        else:
            out[full] = str(value)


@cache
def catalogue(lang: str) -> dict[str, str]:
    """Every key of ``lang``: from the compiled copy if it is as new as the TOML files,
    else read from them (and the compiled copy written for the next start)."""
    paths = sorted((_LOCALE / _DIRS[lang]).glob("*.toml"))
    compiled = _compiled_path(lang, paths)
    try:
        out = marshal.loads(compiled.read_bytes())
        if isinstance(out, dict):
            return out
    except (OSError, ValueError, EOFError, TypeError):
        pass
    out = {}
    for path in paths:
        with path.open("rb") as fh:
            _flatten("", tomllib.load(fh), out)
    _write_compiled(compiled, out)
    return out


# Reading the catalogue's TOML files takes 12-19 ms (tomllib is pure Python), a twentieth of
# the app's cold start; a marshal copy loads in under 1 ms. It lives in the user cache folder
# (the package folder may be read-only), named after the files' sizes and times, so an
# edited catalogue is read afresh.
def _compiled_path(lang: str, paths: list[Path]) -> Path:
    stats = [(p.name, p.stat()) for p in paths]
    stamp = hashlib.sha1(
        repr([(name, st.st_mtime_ns, st.st_size) for name, st in stats]).encode()
    ).hexdigest()[:16]
    folder = os.environ.get("KIOSK_CACHE_DIR") or platformdirs.user_cache_dir("grid-kiosk")
    return Path(folder) / f"locale-{lang}-{stamp}.marshal"


def _write_compiled(path: Path, table: dict[str, str]) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_bytes(marshal.dumps(table))
        os.replace(tmp, path)  # whole or not at all, even with two starts at once
    except OSError:
        pass  # a read-only or full disk: the TOML files are read each time instead


def normalise_language(lang: str | None) -> str:
    if not lang:
        return DEFAULT_LANGUAGE
    lang = lang.lower().replace("-", "_")
    if lang.startswith("en"):
        return "en"
    if lang.startswith("zh"):
        return "zh"
    raise ValueError(lang)


def set_language(lang: str | None) -> str:
    global _language
    _language = normalise_language(lang)
    return _language


def language() -> str:
    return _language


#: ``{n:change|changes}``: the first form when ``n`` is 1, else the second (English needs it;
#: Chinese has no plural)
_PLURAL = re.compile(r"\{(\w+):([^{}|]*)\|([^{}]*)\}")


def t(key: str, /, **params: Any) -> str:
    """The text for ``key`` in the active language, with ``{name}`` placeholders filled and
    ``{n:one|other}`` forms chosen by the count."""
    text = catalogue(_language).get(key)
    if text is None:
        text = catalogue(DEFAULT_LANGUAGE).get(key, key)
    if params and "|" in text:
        text = _PLURAL.sub(
            lambda m: m.group(2) if params.get(m.group(1)) == 1 else m.group(3), text
        )
    if params:
        try:
            return text.format(**params)
        except (KeyError, IndexError, ValueError):
            return text
    return text


# Errors raised below this layer carry keys; they are worded here.
UserError.translate = t


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def when(iso: str | None) -> str:
    """A stored ISO date-time as a person reads it, in this machine's local time and the
    interface's language: ``2026年12月3日 15:39`` / ``3 Dec 2026 15:39`` (text that is not a
    date-time is shown as it is)."""
    if not iso:
        return ""
    try:
        moment = datetime.fromisoformat(iso)
    except ValueError:
        return iso
    if moment.tzinfo is not None:
        moment = moment.astimezone()
    if _language == "en":
        return f"{moment.day} {_MONTHS[moment.month - 1]} {moment.year} {moment:%H:%M}"
    return f"{moment.year}年{moment.month}月{moment.day}日 {moment:%H:%M}"


class Term(str):
    """Text that remembers the catalogue keys it came from, so it can be drawn again in
    another language: key bindings are built once, at import, and Textual keeps their
    description as given; the footer draws a Term with :meth:`render` (F12 switches)."""

    keys: tuple[str, ...]

    def render(self) -> str:
        return "/".join(t(k) for k in self.keys)


def term(*keys: str) -> Term:
    """A :class:`Term` for ``keys`` (several: joined with "/", as "keep mine/keep theirs")."""
    text = Term("/".join(t(k) for k in keys))
    text.keys = keys
    return text


def now_text(text: str) -> str:
    """``text`` in the active language, if it is a :class:`Term`; else as it is."""
    return text.render() if isinstance(text, Term) else text


def has(key: str) -> bool:
    return key in catalogue(_language) or key in catalogue(DEFAULT_LANGUAGE)
