"""The interface in a browser (``kiosk office web``): textual-serve on the office LAN.

textual-serve answers a page that holds xterm.js, and for each websocket (each browser tab)
starts one process of a command whose Textual driver talks to that tab. The command here is
the interface itself, ``kiosk --db PATH`` on the office's database: each tab is a worker's
own process, so its own sign-in (name and PIN), idle lock and audit, exactly as on the PC.

What this module adds to textual-serve's :class:`~textual_serve.server.Server`:

* a page without the Google Fonts link of textual-serve's own (an office LAN is often offline,
  and a supervisor's browser has no reason to tell a third party it opened the kiosk);
* one line on standard error once the port is bound, with the address (scripts and tests
  wait on it), instead of textual-serve's banner;
* the tab's command runs this interpreter on this copy of the code (``-P``: not whatever
  ``kiosk`` package the working folder holds), with the same settings, language and database;
* a websocket only from a page of the server's own address, and headers that keep the page out
  of caches and other sites' frames;
* stopping (Ctrl+C, SIGTERM) ends the open tabs' sessions at once.

The server itself imports no Textual: only the processes the tabs start do.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import shlex
import signal
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kiosk.core.errors import UserError
from kiosk.core.i18n import language, t

log = logging.getLogger("kiosk.app.web")

#: The page the browser loads: textual-serve's, without the web font fetched from the internet.
TEMPLATES = Path(__file__).with_name("web_templates")
DEFAULT_PORT = 8420


def tab_command(db: Path, lang: str | None) -> str:
    """The shell command each browser tab runs: the interface on ``db`` (as ``kiosk --db``)."""
    argv = [sys.executable, "-P", "-m", "kiosk.cli.main", "--db", str(db)]
    if lang:
        argv += ["--lang", lang]
    # textual-serve runs it through the system's shell: cmd.exe's quoting on Windows
    return subprocess.list2cmdline(argv) if os.name == "nt" else shlex.join(argv)


def code_root() -> str:
    """The folder holding the ``kiosk`` package this server runs: the tabs import the same."""
    import kiosk

    return str(Path(kiosk.__file__).resolve().parent.parent)


def check_port(host: str, port: int) -> None:
    """Refuse a port already taken (a clear sentence, not aiohttp's traceback). The server
    binds it again a moment later; a race with another program is still reported the same
    way by :func:`serve`."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        raise UserError("office.web.bad_host", exit_code=2, host=host[:80]) from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        # as aiohttp binds it: a port in TIME_WAIT (a server just stopped) is free
        if os.name != "nt":
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            raise _bind_error(exc, host, port) from None


def _bind_error(exc: OSError, host: str, port: int) -> UserError:
    if exc.errno == errno.EADDRINUSE:
        return UserError("office.web.port_in_use", exit_code=2, host=host, port=port)
    if exc.errno == errno.EADDRNOTAVAIL:
        return UserError("office.web.bad_host", exit_code=2, host=host[:80])
    return UserError("office.web.cannot_listen", exit_code=2, host=host, port=port, why=str(exc))


def serve(
    db: Path,
    *,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    lang: str | None = None,
    ready: Callable[[str], None] | None = None,
) -> None:
    """Serve the interface on ``db`` at ``host:port`` until interrupted (Ctrl+C, SIGTERM);
    ``ready(url)`` is called once the port is bound."""
    check_port(host, port)
    # the tabs' processes import the code this server runs, with its settings (KIOSK_*)
    paths = [code_root(), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    os.environ["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    server = _server_class()(
        tab_command(db, lang),
        host=host,
        port=port,
        title=t("app.title"),
        templates_path=TEMPLATES,
    )
    server.ready = ready
    server.sessions = set()
    server.serve()


def _server_class() -> type:
    """textual-serve's server, quiet, with the office's page and a check of where a session's
    websocket comes from (aiohttp and textual-serve are imported only by ``office web``)."""
    import aiohttp_jinja2
    from aiohttp import web
    from aiohttp.web_runner import GracefulExit
    from textual_serve.server import Server

    class OfficeServer(Server):
        ready: Callable[[str], None] | None = None
        #: the handlers of the open tabs' websockets
        sessions: set[asyncio.Task[Any]]

        def initialize_logging(self) -> None:
            logging.getLogger("textual-serve").setLevel(logging.WARNING)

        async def on_startup(self, app: web.Application) -> None:
            pass  # no banner: the ready line says where to go

        async def _make_app(self) -> web.Application:
            app = await super()._make_app()
            app.on_response_prepare.append(_headers)
            return app

        @aiohttp_jinja2.template("app_index.html")
        async def handle_index(self, request: web.Request) -> dict[str, Any]:
            font = request.query.get("fontsize", "16")
            return {
                "font_size": int(font) if font.isdigit() and 8 <= int(font) <= 40 else 16,
                "title": self.title,
                "lang": "en" if language() == "en" else "zh-CN",
                "start": t("office.web.start"),
                "ended": t("office.web.ended"),
                "restart": t("office.web.restart"),
            }

        async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
            # A page of another site open in the same browser must not start a session here
            # (cross-site websocket): browsers always send Origin, and it must be this host.
            if not same_origin(request.headers.get("Origin"), request.host):
                log.warning("refused a websocket from another origin")
                raise web.HTTPForbidden(text="forbidden")
            task = asyncio.current_task()
            if task is not None:
                self.sessions.add(task)
            try:
                return await super().handle_websocket(request)
            finally:
                self.sessions.discard(task)  # type: ignore[arg-type]

        async def on_shutdown(self, app: web.Application) -> None:
            # Stopping: each open tab's session ends now (textual-serve then asks its process
            # to quit and closes its websocket), rather than when aiohttp's wait runs out.
            for task in list(self.sessions):
                task.cancel()

        def serve(self, debug: bool = False) -> None:
            self.initialize_logging()
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)

            def leave() -> None:
                raise GracefulExit()

            for sig in (signal.SIGINT, signal.SIGTERM):
                try:
                    loop.add_signal_handler(sig, leave)
                except (NotImplementedError, RuntimeError):  # Windows
                    pass
            ready = self.ready
            try:
                web.run_app(
                    self._make_app(),
                    host=self.host,
                    port=self.port,
                    handle_signals=False,
                    loop=loop,
                    # aiohttp prints its line once its sites are started: the port is bound
                    print=lambda *_: ready(listen_url(self.host, self.port)) if ready else None,
                    access_log=None,
                    shutdown_timeout=10,
                )
            except OSError as exc:
                raise _bind_error(exc, self.host, self.port) from None
            finally:
                loop.close()

    return OfficeServer


async def _headers(request: Any, response: Any) -> None:
    """Nothing of a session is cached, framed by another page or named to another site."""
    response.headers.setdefault("Cache-Control", "no-store")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")


def same_origin(origin: str | None, host: str) -> bool:
    """Is a websocket's ``Origin`` header the page's own address (``host``: the request's Host)?
    A client that sends none (not a browser) is let through: it still has to sign in."""
    if origin is None:
        return True
    from urllib.parse import urlsplit

    return urlsplit(origin).netloc.lower() == host.lower()


def listen_url(host: str, port: int) -> str:
    """``http://host:port`` as a browser would type it (an IPv6 address in brackets)."""
    shown = f"[{host}]" if ":" in host and not host.startswith("[") else host
    return f"http://{shown}:{port}"


def wildcard(host: str) -> bool:
    """Does ``host`` mean every address of the PC (then the page cannot name itself)?"""
    return host in ("0.0.0.0", "::", "[::]", "")
