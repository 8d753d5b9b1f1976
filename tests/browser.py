"""The office in a real browser: ``kiosk office web`` as a subprocess, and Debian's Chromium
driven by Playwright through its own executable (never ``playwright install``).

The page draws the terminal on a canvas (xterm.js with its WebGL or canvas renderer), so there
is no text in the DOM to read. The screen's text is read from xterm.js's own buffer, through
its public API (``buffer.active.getLine(i).translateToString()``): an init script keeps the
``Terminal`` that textual-serve's page makes (it stores it as ``.terminal`` on its own object)
as ``window.__kioskTerminal``. Waiting is on that text, in the page, at every animation frame
(``wait_for_function``), never on the clock.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tests.conftest import ROOT
from tests.pg import free_port

CHROMIUM = Path("/usr/bin/chromium")
#: A Chromium that stays on loopback: no GPU, no QUIC, no first-run page, no background fetches.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

#: Keeps the page's xterm.js Terminal, and reads its screen as text (one line per row).
TERMINAL_HOOK = """
(() => {
  Object.defineProperty(Object.prototype, "terminal", {
    configurable: true,
    set(value) {
      Object.defineProperty(this, "terminal", {
        value, writable: true, configurable: true, enumerable: true,
      });
      if (value && value.buffer && value.buffer.active && value.rows) {
        window.__kioskTerminal = value;
      }
    },
  });
  window.__kioskScreenText = () => {
    const term = window.__kioskTerminal;
    if (!term) return "";
    const buffer = term.buffer.active;
    const lines = [];
    for (let i = 0; i < term.rows; i++) {
      const line = buffer.getLine(buffer.viewportY + i);
      lines.push(line ? line.translateToString(true) : "");
    }
    return lines.join("\\n");
  };
})();
"""


def chromium_missing_reason() -> str | None:
    """Why the browser tests cannot run here (None: they can). In CI they must: the caller
    fails instead of skipping there."""
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing (apt-get install chromium)"
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "the playwright package is missing (pip install -e '.[dev]')"
    return None


@contextlib.contextmanager
def office_web(db: Path, *, lang: str = "zh", timeout: float = 30) -> Iterator[tuple[str, list]]:
    """``kiosk office web`` on ``db`` on a free loopback port, as a subprocess of this tree's
    code; yields its URL (once it has said it is ready) and the lines it said on stderr."""
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kiosk.cli.main",
            "office",
            "web",
            "--db",
            str(db),
            "--port",
            str(port),
            "--lang",
            lang,
        ],
        cwd=ROOT,
        env=dict(os.environ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    said: list[str] = []
    ready = threading.Event()

    def read() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            said.append(line)
            if "http://" in line:
                ready.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        if not ready.wait(timeout):
            raise RuntimeError(f"kiosk office web did not start: {''.join(said)[-2000:]}")
        yield f"http://127.0.0.1:{port}/", said
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        reader.join(5)


@contextlib.contextmanager
def chromium(*, width: int = 1100, height: int = 700) -> Iterator[Any]:
    """A fresh Chromium (a new user-data-dir) with downloads accepted; yields its context."""
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="kiosk-chromium-") as profile, sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            profile,
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": width, "height": height},
            accept_downloads=True,
        )
        try:
            yield context
        finally:
            context.close()


class Tab:
    """One browser tab on the office's page: what a supervisor sees and types."""

    def __init__(self, context: Any) -> None:
        self.context = context
        self.page = context.new_page()
        self.page.add_init_script(TERMINAL_HOOK)
        self.downloads: list[Any] = []
        # textual-serve opens each download in a new window: catch it wherever it lands
        context.on("page", lambda page: page.on("download", self._downloaded))
        self.page.on("download", self._downloaded)

    def _downloaded(self, download: Any) -> None:
        self.downloads.append(download)

    def open(self, url: str) -> None:
        self.page.goto(url)

    def text(self) -> str:
        return str(self.page.evaluate("window.__kioskScreenText()"))

    def wait_for(self, *texts: str, timeout: float = 20) -> None:
        """Until every one of ``texts`` is on the screen (checked at every frame)."""
        try:
            self.page.wait_for_function(
                "texts => window.__kioskScreenText &&"
                " texts.every(t => window.__kioskScreenText().includes(t))",
                arg=list(texts),
                polling="raf",
                timeout=timeout * 1000,
            )
        except Exception as exc:
            raise AssertionError(f"not on screen: {texts!r}\n{self.text()}") from exc

    def wait_for_field(self, label: str, timeout: float = 20) -> None:
        """Until the field under ``label`` has the focus: Textual keeps the terminal's cursor
        in the focused field (for input methods), so the cursor is on the row below the label.
        Keys typed sooner could still go to the field that had it (the focus moves when the
        screen handles the key that moves it, after keys already on their way)."""
        try:
            self.page.wait_for_function(
                """label => {
                    const term = window.__kioskTerminal;
                    if (!term) return false;
                    const row = window.__kioskScreenText().split("\\n")
                        .findIndex(line => line.includes(label));
                    return row >= 0 && term.buffer.active.cursorY === row + 1;
                }""",
                arg=label,
                polling="raf",
                timeout=timeout * 1000,
            )
        except Exception as exc:
            raise AssertionError(f"the field under {label!r} has no focus\n{self.text()}") from exc

    def focus(self) -> None:
        self.page.focus("textarea.xterm-helper-textarea")

    def type(self, text: str) -> None:
        """Text as typed: ASCII key by key; Chinese as an input method commits it."""
        if text.isascii():
            self.page.keyboard.type(text)
        else:
            self.page.keyboard.insert_text(text)

    def press(self, *keys: str) -> None:
        for key in keys:
            self.page.keyboard.press(key)

    def wait_for_download(self, timeout: float = 20) -> Any:
        """The first download of this tab (textual-serve opens it in a new window). Playwright
        delivers events while the page waits, so this waits in short steps on the download
        itself, up to ``timeout``."""
        for _ in range(int(timeout * 1000 / 25)):
            if self.downloads:
                return self.downloads[0]
            self.page.wait_for_timeout(25)
        raise AssertionError("no download arrived")

    def screenshot(self, path: Path) -> None:
        """A small PNG of the page (docs/img)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(path))
