"""``kiosk office web``: what it refuses (clearly, not with a traceback), the page it serves,
and whose websockets it takes. The whole path in a browser is
tests/journeys/test_a_supervisor_in_the_browser.py."""

from __future__ import annotations

import asyncio
import re
import shlex
import socket
import sys

import httpx

from kiosk.app.web import same_origin, tab_command
from tests.browser import office_web
from tests.conftest import run_kiosk


def _said(out) -> str:
    text = out.stdout + out.stderr
    assert "Traceback" not in text, text
    return text


def test_a_database_that_does_not_exist_is_refused(tmp_path):
    missing = tmp_path / "nowhere" / "office.db"
    out = run_kiosk("office", "web", "--db", str(missing), "--port", "1")
    assert out.returncode != 0
    assert str(missing) in _said(out)
    assert not missing.exists()  # not created either


def test_a_database_nobody_can_sign_in_to_is_refused(tmp_path):
    from kiosk.runtime import load, open_runtime

    db = tmp_path / "new.db"
    open_runtime(load(db=str(db))).close()  # made, but no administrator yet
    out = run_kiosk("office", "web", "--db", str(db), "--lang", "en")
    assert out.returncode == 2
    assert "Nobody can sign in" in _said(out)  # the set-up screen is never offered on the LAN


def test_a_port_in_use_is_refused(demo_db):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        out = run_kiosk("office", "web", "--db", str(demo_db), "--port", str(port))
    assert out.returncode == 2
    said = _said(out)
    assert str(port) in said and "已被占用" in said


def test_a_bad_port_is_a_usage_error(demo_db):
    out = run_kiosk("office", "web", "--db", str(demo_db), "--port", "70000")
    assert out.returncode == 2 and "70000" in _said(out)


def test_each_tab_runs_this_interpreter_on_the_database():
    argv = shlex.split(tab_command(__import__("pathlib").Path("/srv/网格 通/office.db"), "en"))
    assert argv[:4] == [sys.executable, "-P", "-m", "kiosk.cli.main"]
    assert argv[4:] == ["--db", "/srv/网格 通/office.db", "--lang", "en"]


def test_only_the_pages_own_origin_may_open_a_session():
    assert same_origin("http://192.168.1.10:8420", "192.168.1.10:8420")
    assert same_origin("https://kiosk.office.lan", "KIOSK.office.lan")
    assert not same_origin("http://evil.example", "192.168.1.10:8420")
    assert not same_origin("http://192.168.1.10:8421", "192.168.1.10:8420")
    assert not same_origin("null", "192.168.1.10:8420")
    assert same_origin(None, "127.0.0.1:8420")  # not a browser: it still has to sign in


def test_the_page_fetches_nothing_from_outside_and_a_foreign_websocket_is_refused(demo_db):
    with office_web(demo_db) as (url, said):
        page = httpx.get(url, timeout=10)
        assert page.status_code == 200
        assert "<title>网格通</title>" in page.text
        # every address relative to the page: nothing from another host
        assert not re.search(r"""(src|href|url)\s*[=(]\s*["']?(https?:)?//""", page.text)
        assert page.headers["x-frame-options"] == "DENY"
        assert page.headers["cache-control"] == "no-store"
        assert httpx.get(url + "static/js/textual.js", timeout=10).status_code == 200
        host = url.split("//")[1].rstrip("/")
        upgrade = {
            "Connection": "Upgrade",
            "Upgrade": "websocket",
            "Sec-WebSocket-Version": "13",
            "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
        }
        foreign = httpx.get(url + "ws", headers={**upgrade, "Origin": "http://evil.example"})
        assert foreign.status_code == 403

        async def first_frame() -> bytes:
            import aiohttp

            async with (
                aiohttp.ClientSession() as session,
                session.ws_connect(
                    url.replace("http", "ws") + "ws?width=80&height=24",
                    headers={"Origin": f"http://{host}"},
                ) as ws,
            ):
                while True:
                    message = await asyncio.wait_for(ws.receive(), 30)
                    if message.type == aiohttp.WSMsgType.BINARY and len(message.data) > 10:
                        return bytes(message.data)

        assert asyncio.run(first_frame())  # the interface started for this tab, and drew
    assert "Traceback" not in "".join(said)


def test_stopping_the_server_ends_the_open_sessions_at_once(demo_db):
    import signal
    import subprocess
    import time

    from tests.conftest import ROOT
    from tests.pg import free_port

    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "kiosk.cli.main", "office", "web", "--db", str(demo_db)]
        + ["--port", str(port)],
        cwd=ROOT,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stderr is not None and "http://" in server.stderr.readline()

        async def a_tab_then_stop() -> tuple[float, int | None]:
            import aiohttp

            async with (
                aiohttp.ClientSession() as session,
                session.ws_connect(f"ws://127.0.0.1:{port}/ws?width=80&height=24") as ws,
            ):
                async for message in ws:  # the interface has drawn: a session is open
                    if message.type == aiohttp.WSMsgType.BINARY and len(message.data) > 10:
                        break
                started = time.monotonic()
                server.send_signal(signal.SIGTERM)
                async for _ in ws:  # the browser's side: until the server closes it
                    pass
                await asyncio.get_running_loop().run_in_executor(None, server.wait, 20)
                return time.monotonic() - started, ws.close_code

        took, code = asyncio.run(a_tab_then_stop())
    finally:
        server.kill()
        server.wait()
    assert server.returncode == 0 and code == 1000
    assert took < 8, took  # not aiohttp's 10 s wait for handlers
    assert "Traceback" not in server.stderr.read()
