"""Screens: 同步: the sync screen and conflicts."""
