"""The error a person can act on, raised at any layer and worded at the top.

Storage refuses some writes (an unknown household, a case action its state does not allow)
with a catalogue key and its parameters; it never words the message itself. The translation
layer above registers how a key becomes text (:attr:`UserError.translate`), so the data layer
imports nothing from the layers above it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar


class Phrase(str):
    """A parameter that is itself a catalogue key (a case status, a role): worded in the
    language in use when the message is built, not when the error is raised."""


def _untranslated(key: str, /, **params: Any) -> str:
    return key


class UserError(Exception):
    """A problem the person can fix: bad input, a missing file, a refused action."""

    #: key + parameters → text; set by kiosk.core.i18n when it loads
    translate: ClassVar[Callable[..., str]] = staticmethod(_untranslated)

    def __init__(self, key: str, /, exit_code: int = 1, **params: object) -> None:
        super().__init__(key)
        self.key = key
        self.params = params
        self.exit_code = exit_code

    def message(self) -> str:
        words = {
            k: UserError.translate(v) if isinstance(v, Phrase) else v
            for k, v in self.params.items()
        }
        return UserError.translate(self.key, **words)
