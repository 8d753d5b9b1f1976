"""QR actions of the interface that are not tied to one screen: the case slip of the case on
screen (F7, command palette)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kiosk.core.i18n import t


def slip_folder() -> Path:
    import platformdirs

    folder = Path(platformdirs.user_documents_dir())
    return folder if folder.is_dir() else Path.home()


def print_slip(app: Any, folder: Path | None = None) -> None:
    """Write the slip of the case the current screen shows (any screen with a ``case_id``,
    such as the case ledger's case screen) to the documents folder, in a worker."""
    case_id = getattr(app.screen, "case_id", None)
    if not case_id:
        app.notify(t("qr.slip.no_case"), severity="warning")
        return

    def work() -> None:
        from kiosk.qr.fonts import font_for
        from kiosk.qr.printing import print_case_slip

        conn = app.read()
        row = conn.execute("SELECT number FROM cases WHERE id = ?", (case_id,)).fetchone()
        number = row[0] if row else case_id
        out = (folder or slip_folder()) / f"slip-{number}.pdf"
        font = font_for(app.runtime.settings)
        number, code = print_case_slip(conn, app.write, case_id, out, font)
        app.call_from_thread(
            app.notify, t("qr.slip.done", path=str(out), number=number, code=code), timeout=10
        )

    app.run_worker(
        work, thread=True, group="qr-slip", exclusive=True, exit_on_error=False, name="qr-slip"
    )
