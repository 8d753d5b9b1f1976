"""Widgets shared by screens; each carries its own DEFAULT_CSS."""
