"""Offline bundles: sync by a file carried on a USB stick where there is no network.

``kiosk sync export FILE`` writes the laptop's pending operations (an ``up`` bundle);
``kiosk hub import FILE`` stores them (kiosk/hub/bundle.py); ``kiosk hub export --device NAME FILE`` writes what that
device has not received yet, with the ids of its own operations the hub now holds (a
``down`` bundle); ``kiosk sync import FILE`` merges it, drops the acknowledged operations
from the outbox and moves the pull cursor. The rules are those of the network protocol: by
op id, so importing a bundle twice changes nothing.

A bundle is JSON, authenticated with an HMAC keyed by the hash of the device's token (the
laptop knows the token, the hub its hash; nobody else knows either).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from db import sync as dbsync
from db.connection import transaction
from db.context import WriteContext, get_meta, now_iso
from db.migrations import latest_version
from kiosk.core.errors import UserError
from kiosk.sync import protocol as p


def _device_key(conn: Any) -> str:
    token = get_meta(conn, dbsync.META_TOKEN)
    parts = p.split_token(token) if token else None
    if parts is None:
        raise UserError("sync.error.not_enrolled", exit_code=2)
    return p.token_hash(parts[1])


# --- on the laptop ----------------------------------------------------------------------------


def export_pending(ctx: WriteContext, path: str | Path) -> int:
    """Write every pending operation to ``path`` (they stay in the outbox until the hub's
    bundle acknowledges them)."""
    from db import audit
    from kiosk.sync.client import audit_entry

    key = _device_key(ctx.conn)
    with transaction(ctx.conn):  # the pending operations' audit entries travel with them
        ctx.catch_up_audit()
    ops = [p.raw(p.op_from_dict(op)) for op in dbsync.outbox_batch(ctx.conn, 10**9)]
    after = int(get_meta(ctx.conn, audit.META_PUSHED) or 0)
    entries = [audit_entry(e) for e in audit.entries_after(ctx.conn, ctx.device_id, after, 10**9)]
    # The cursor this laptop has saved travels up: the hub's next bundle for it starts there
    # (a laptop that only ever syncs by USB never reports one otherwise).
    bundle = p.Bundle(
        format=p.BUNDLE_FORMAT,
        direction="up",
        device_id=ctx.device_id,
        ops=ops,
        schema=latest_version(),
        hlc=ctx.clock.last,
        created_at=now_iso(),
        audit=entries,
        cursor=get_meta(ctx.conn, dbsync.META_CURSOR),
    )
    p.write_bundle(path, p.sign_bundle(bundle, key))
    return len(ops)


def import_down(ctx: WriteContext, path: str | Path) -> dict[str, int]:
    """Merge a hub bundle for this laptop (one transaction)."""
    bundle = p.read_bundle(path)
    if bundle.direction != "down" or bundle.device_id != ctx.device_id:
        raise UserError("sync.error.bundle_other_device", exit_code=2, path=str(path))
    p.verify_bundle(bundle, _device_key(ctx.conn), path)
    good, bad = p.decode_ops(bundle.ops)
    if bad:
        raise UserError(
            "sync.error.bad_bundle",
            exit_code=2,
            path=str(path),
            detail=bad[0].params.get("detail", ""),
        )
    with transaction(ctx.conn):
        result = dbsync.apply_ops(ctx.conn, [p.op_to_dict(op) for _, op in good])
        acked = dbsync.acknowledge(ctx.conn, bundle.acked)
        held = dbsync.hold(
            ctx.conn,
            [(r.op_id, r.code, dict(r.params), r.message) for r in bundle.refused if r.op_id],
        )
        # Move the cursor only from where the bundle starts: an older bundle imported after a
        # newer sync must not send the cursor back (its operations are skipped as seen anyway).
        if get_meta(ctx.conn, dbsync.META_CURSOR) == bundle.cursor_from and bundle.cursor:
            dbsync.set_meta(ctx.conn, dbsync.META_CURSOR, bundle.cursor)
        if bundle.backfill > int(get_meta(ctx.conn, dbsync.META_BACKFILL) or 0):
            dbsync.set_meta(ctx.conn, dbsync.META_BACKFILL, str(bundle.backfill))
        from db.audit import META_PUSHED

        if bundle.audit_dseq > int(get_meta(ctx.conn, META_PUSHED) or 0):
            dbsync.set_meta(ctx.conn, META_PUSHED, str(bundle.audit_dseq))
        dbsync.observe_hlc(ctx, bundle.hlc)
        counts = {
            "pushed": acked,
            "pulled": result.applied,
            "conflicts": result.conflicts,
            "duplicates": result.duplicates,
            "acked": acked,
            "refused": held,
        }
        dbsync.record_success(ctx.conn, counts)
    return counts
