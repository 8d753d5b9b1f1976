"""The one translation layer: every user-facing string goes through :func:`t`.

Catalogues are TOML files under ``kiosk/locale/<lang>/`` (one file per area of the product,
merged on load); keys are dotted (``search.placeholder``). Simplified Chinese is the default;
English on request. A key missing from the active language falls back to Chinese, then to the
key itself, so a forgotten string is visible but never a crash (a test checks both
catalogues carry the same keys).
"""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path
from typing import Any

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
    out: dict[str, str] = {}
    folder = _LOCALE / _DIRS[lang]
    for path in sorted(folder.glob("*.toml")):
        with path.open("rb") as fh:
            _flatten("", tomllib.load(fh), out)
    return out


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


def t(key: str, /, **params: Any) -> str:
    """The text for ``key`` in the active language, with ``{name}`` placeholders filled."""
    text = catalogue(_language).get(key)
    if text is None:
        text = catalogue(DEFAULT_LANGUAGE).get(key, key)
    if params:
        try:
            return text.format(**params)
        except (KeyError, IndexError, ValueError):
            return text
    return text


def has(key: str) -> bool:
    return key in catalogue(_language) or key in catalogue(DEFAULT_LANGUAGE)
