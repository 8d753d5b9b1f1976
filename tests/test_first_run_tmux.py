"""``make run`` on a fresh machine, in a real terminal: ``kiosk --ensure-demo`` builds the demo
district into an empty data folder and opens the sign-in screen, also when the worker to offer
is set (``KIOSK_WORKER``) and is one of the demo's, who does not exist until it is built. The
worker signs in with the demo PIN and the home screen shows their grid."""

from __future__ import annotations

import os
import shlex
import sys

from tests.conftest import DEMO_PINS, ROOT
from tests.test_resident_tmux import Tmux, pytestmark  # noqa: F401  (tmux or CI)

WORKER = "演示网格员"


def test_the_first_run_builds_the_demo_and_offers_the_named_worker(tmp_path):
    env = {
        "KIOSK_DATA_DIR": str(tmp_path / "data"),
        "KIOSK_CONFIG": str(tmp_path / "config.toml"),
        "KIOSK_WORKER": WORKER,
    }
    if "KIOSK_CACHE_DIR" in os.environ:
        env["KIOSK_CACHE_DIR"] = os.environ["KIOSK_CACHE_DIR"]
    command = (
        f"cd {shlex.quote(str(ROOT))} && "
        + " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
        + f" {shlex.quote(sys.executable)} -m kiosk.cli.main --ensure-demo"
    )
    term = Tmux(command, tmp_path)
    try:
        shown = term.until("网格通 · 登录", WORKER, timeout=120)
        assert "找不到" not in shown
        term.keys(DEMO_PINS[WORKER], literal=True)
        term.keys("Enter")
        term.until("我的网格", "今日走访清单")
        term.keys("C-q")
        assert term.ended(), term.screen()
    finally:
        term.close()
    assert (tmp_path / "data" / "kiosk.db").exists()
