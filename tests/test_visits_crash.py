"""A draft survives the process dying: a real app process is killed with SIGKILL mid-form,
then a new app on the same database restores the draft exactly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

from screens.households.household import HouseholdScreen
from screens.visits.visit_form import VisitFormScreen
from tests.pilot_helpers import signed_in_app

CHILD = textwrap.dedent("""
    import asyncio, json, sys
    from db.drafts import load_draft
    from db.connection import connect
    from kiosk.runtime import load, open_runtime
    from kiosk.app.shell import KioskApp
    from screens.visits.visit_form import VisitFormScreen

    db, hid = sys.argv[1], sys.argv[2]
    rt = open_runtime(load(db=db))

    async def main():
        app = KioskApp(rt, signed_in=rt.worker)
        async with app.run_test(size=(100, 40)) as pilot:
            await app.push_screen(VisitFormScreen(hid))
            for _ in range(3):
                await pilot.pause()
                await app.workers.wait_for_complete()
            await pilot.press("space", "f4")
            await pilot.pause()
            await pilot.press("enter", "down", "enter", "tab", *"roof leaks again")
            await pilot.press("f5")
            await pilot.pause()
            await pilot.press(*"fix the gutter")
            other = connect(db)  # another connection: what is on disk, not in this process
            for _ in range(400):
                await pilot.pause(0.02)
                d = load_draft(other, "visit:" + hid)
                if d and d.payload["suggestions"] == [{"text": "fix the gutter"}]:
                    break
            print("READY " + json.dumps(d.payload, ensure_ascii=False), flush=True)
            # Mid-form, never saved: wait here until killed.
            await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)

    asyncio.run(main())
""")


async def test_kill_9_mid_form_then_restore(runtime, tmp_path):
    import json

    hid = runtime.conn.execute(
        "SELECT id FROM households WHERE member_count >= 2 ORDER BY rid LIMIT 1"
    ).fetchone()[0]
    db = str(runtime.db.path)
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    child = subprocess.Popen(
        [sys.executable, str(script), db, hid],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        line = child.stdout.readline()
        assert line.startswith("READY "), child.stderr.read()[-3000:]
        typed = json.loads(line[len("READY ") :])
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
        assert child.returncode == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert typed["problems"] == [{"category": "parking", "text": "roof leaks again"}]

    app = signed_in_app(runtime)
    async with app.run_test(size=(100, 40)) as pilot:
        await app.push_screen(HouseholdScreen(hid))
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.press("v")
        for _ in range(2):
            await pilot.pause()
            await app.workers.wait_for_complete()
        form = app.screen
        assert isinstance(form, VisitFormScreen)
        assert form.collect() == typed
        # and it saves from there: the restored draft is a working form
        await pilot.press("ctrl+s")
        for _ in range(2):
            await pilot.pause()
            await app.workers.wait_for_complete()
        assert isinstance(app.screen, HouseholdScreen)
    row = runtime.conn.execute(
        "SELECT count(*) FROM visit_items i JOIN visits v ON v.id = i.visit_id"
        " WHERE v.household_id = ? AND i.text IN ('roof leaks again', 'fix the gutter')",
        (hid,),
    ).fetchone()
    assert row[0] == 2
    assert runtime.conn.execute("SELECT count(*) FROM drafts").fetchone()[0] == 0
