"""Notices ("走访已保存。") are drawn whole on a line of their own above the footer's keys,
never as an overlay whose Chinese characters other widgets' redraws cut away."""

from __future__ import annotations

import pytest

from screens.households.household import HouseholdScreen
from screens.widgets.footer import KioskFooter
from tests.pilot_helpers import settle, signed_in_app, until


def _screen_lines(app) -> list[str]:
    return [strip.text for strip in app.screen._compositor.render_strips()]


@pytest.mark.parametrize("size", [(80, 24), (100, 30)])
async def test_a_notice_is_drawn_whole_above_the_keys_and_goes_in_its_time(runtime, size):
    hid = runtime.conn.execute("SELECT id FROM households LIMIT 1").fetchone()[0]
    app = signed_in_app(runtime)
    async with app.run_test(size=size, notifications=True) as pilot:
        await app.push_screen(HouseholdScreen(hid))
        await settle(app, pilot)
        footer = app.screen.query_one(KioskFooter)
        keys_row = footer.region.y
        app.notify("走访已保存。1 个问题已登记为事项", timeout=30)
        await settle(app, pilot)
        lines = _screen_lines(app)
        assert footer.region.height == 2 and footer.region.y == keys_row - 1
        assert "走访已保存。1 个问题已登记为事项" in lines[footer.region.y]
        assert "Esc" in lines[-1] or "esc" in lines[-1]  # the keys stay on the last line
        assert sum(line.count("走访已保存") for line in lines) == 1  # no toast over the screen
        # a newer notice replaces it and keeps its own time
        app.notify("已交办。", timeout=30)
        await settle(app, pilot)
        assert "已交办。" in _screen_lines(app)[footer.region.y]
        app.notify("同步失败：连不上服务器", severity="error", timeout=0.2)
        await until(pilot, lambda: app.notice is None)
        await settle(app, pilot)
        assert footer.region.height == 1
        assert not any("同步失败" in line for line in _screen_lines(app))


async def test_a_long_notice_wraps_and_clicking_the_keys_still_presses_them(runtime):
    hid = runtime.conn.execute("SELECT id FROM households LIMIT 1").fetchone()[0]
    app = signed_in_app(runtime)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await app.push_screen(HouseholdScreen(hid))
        await settle(app, pilot)
        app.notify("这条通知很长。" * 20, timeout=30)
        await settle(app, pilot)
        footer = app.screen.query_one(KioskFooter)
        assert footer.region.height == 4  # three lines of notice at most, then the keys
        start, end, key = footer._spans[0]
        assert key.key == "escape"
        await pilot.click(KioskFooter, offset=(start + 1, 3))  # esc on the keys' row
        await settle(app, pilot)
        assert not isinstance(app.screen, HouseholdScreen)


async def test_a_notice_shows_brackets_as_typed(runtime):
    app = signed_in_app(runtime)
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        await settle(app, pilot)
        app.notify("请安装摄像头组件：pip install 'grid-kiosk[camera]'")
        await settle(app, pilot)
        assert any("grid-kiosk[camera]" in line for line in _screen_lines(app))
