"""``kiosk demo``: fill a database with a synthetic district."""

from __future__ import annotations

import argparse
import random
import time
from datetime import date

from kiosk.core.i18n import t

#: Modules that add to the demo district (visits, cases, feedback...): each has
#: ``extend_demo(ctx, rng, today)``, run in this order after the roster is written.


def register(sub, common) -> None:
    p = sub.add_parser(
        "demo", parents=[common], help=t("cli.demo.help"), description=t("cli.demo.help")
    )
    p.add_argument(
        "--households", type=int, default=3000, metavar="N", help=t("cli.demo.households")
    )
    p.add_argument("--seed", type=int, default=1, metavar="S", help=t("cli.demo.seed"))
    p.add_argument("--json", action="store_true", help=t("cli.opt.json"))
    p.set_defaults(handler=run)


def build_demo(runtime, households: int, seed: int, progress=None) -> dict:
    """Write the district and run the registered extensions; returns a summary dict."""

    from db.bulk import fold_staged_terms, stage_search_keys, write_batch
    from kiosk.core.errors import UserError
    from kiosk.demo.district import DemoSummary, stream_district

    conn = runtime.conn
    if conn.execute("SELECT 1 FROM households LIMIT 1").fetchone():
        raise UserError("cli.demo.not_empty", path=str(runtime.db.path))
    summary = DemoSummary(0, 0, 0, 0, 0)
    for batch, summary in stream_district(conn, households, seed, runtime.ctx.device_id):
        stage_search_keys(batch)  # unless the generating process had time to do it
        write_batch(conn, batch)
        if progress:
            progress(summary.households, households)
    fold_staged_terms(conn)
    conn.execute("PRAGMA optimize")
    from db.workers import default_worker

    worker = default_worker(conn)
    if worker:
        runtime.worker = worker
        runtime.ctx.worker_id = worker.id
    rng = random.Random(seed * 7919 + 1)
    # Building the district is the laptop's set-up, not a worker's work: its few outbox writes
    # (the office's questionnaire, the demo accounts) are not held to a worker's scope.
    guard, runtime.ctx.guard = runtime.ctx.guard, None
    try:
        from kiosk.demo import cases as demo_cases
        from kiosk.demo import visits as demo_visits

        # cases in every state; 60 days of visits, feedback and questionnaires
        for part in (demo_cases, demo_visits):
            part.extend_demo(runtime.ctx, rng, date.today())
    finally:
        runtime.ctx.guard = guard
    counts = {
        "households": summary.households,
        "members": summary.members,
        "grids": summary.grids,
        "compounds": summary.compounds,
        "workers": summary.workers,
    }
    # The rows were written in bulk, without the outbox: one audit entry for all of them.
    runtime.ctx.audit("create", "demo", detail={**counts, "seed": seed})
    return counts


def run(args: argparse.Namespace) -> int:
    from kiosk.cli.output import emit_json, info
    from kiosk.runtime import load, open_runtime

    settings = load(getattr(args, "db", None), getattr(args, "lang", None))
    if args.households < 1 or args.households > 5_000_000:
        from kiosk.core.errors import UserError

        raise UserError("cli.demo.bad_count", exit_code=2)
    runtime = open_runtime(settings)
    started = time.perf_counter()
    last = [float("-inf")]  # the first committed batch is always reported

    def progress(done: int, total: int) -> None:
        now = time.perf_counter()
        if not args.json and now - last[0] > 2:
            last[0] = now
            info(t("cli.demo.progress", done=done, total=total))

    try:
        summary = build_demo(runtime, args.households, args.seed, progress)
    finally:
        runtime.close()
    summary["seconds"] = round(time.perf_counter() - started, 2)
    summary["db"] = str(runtime.db.path)
    if args.json:
        emit_json(summary)
    else:
        info(t("cli.demo.done", **summary))
    return 0
