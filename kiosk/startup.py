"""Python's cyclic garbage collector while ``kiosk`` starts.

Importing Textual and the app and building the first screen create tens of thousands of
objects, and the collector ran about a hundred times on the way (20-30 ms of a ~300 ms cold
start). ``kiosk`` holds it from the start of :func:`kiosk.cli.main`; a subcommand lets it go
before doing its work, the interface after its first frame, when it also freezes what
start-up built (modules, classes, styles: they live as long as the process) so later
collections skip them.
"""

from __future__ import annotations

import gc

_held = False


def hold() -> None:
    global _held
    if gc.isenabled():
        _held = True
        gc.disable()


def release(freeze: bool = False) -> None:
    """Let the collector go again, if :func:`hold` held it (again: nothing happens)."""
    global _held
    if _held:
        _held = False
        if freeze:
            gc.freeze()
        gc.enable()
