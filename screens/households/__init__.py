"""Screens: 住户: the home list, search, a household, its labels."""
