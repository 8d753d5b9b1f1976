"""Textual screens (one Screen or ModalScreen per file) and their widgets."""
