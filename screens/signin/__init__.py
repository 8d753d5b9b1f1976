"""Screens: signing in and the lock screen."""
