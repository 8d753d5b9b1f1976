"""Importing household rosters (.xlsx, .csv) kept by street offices. (Being built.)"""

from __future__ import annotations


def register_import(hs, common) -> None:
    """Register ``kiosk households import`` (filled in by the roster import work)."""
    return None
