"""The refusal of a questionnaire at import: shared by the reader (xlsform_read) and the
importer (survey), which must not import each other."""

from __future__ import annotations

from kiosk.core.errors import UserError


class SurveyFormError(UserError):
    """An XLSForm we cannot import; the message names the sheet, row and problem."""

    def __init__(self, key: str, /, **params: object) -> None:
        super().__init__(key, exit_code=2, **params)
