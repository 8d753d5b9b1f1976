"""Offline bundles: sync by a file carried on a USB stick where there is no network.

``kiosk sync export FILE`` writes the laptop's pending operations (an ``up`` bundle);
``kiosk hub import FILE`` stores them (kiosk/hub/bundle.py); ``kiosk hub export --device NAME FILE`` writes what that
device has not received yet, with the ids of its own operations the hub now holds (a
``down`` bundle); ``kiosk sync import FILE`` merges it, drops the acknowledged operations
from the outbox and moves the pull cursor. The rules are those of the network protocol: by
op id, so importing a bundle twice changes nothing.

A bundle is JSON, authenticated with an HMAC keyed by the hash of the device's token (the
laptop knows the token, the hub its hash; nobody else knows either). Pictures travel inside
it (base64, under the same HMAC): an up bundle carries those the hub has not confirmed and
names those this laptop lacks; a down bundle carries pictures for this laptop and names those
of its last up bundle the hub holds, which only then count as sent (docs/sync.md).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from db import photos as db_photos
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


def _pictures_to_carry(conn: Any) -> tuple[list[p.BundlePicture], int]:
    """The pictures the hub has not confirmed, in name order, within a bundle's bounds; and
    how many are left for a later bundle (they stay unsent here until the hub confirms)."""
    out: list[p.BundlePicture] = []
    size = left = 0
    after = ""
    while names := db_photos.unsent_pictures(conn, 500, after):
        after = names[-1]
        for sha in names:
            if left:  # the bundle is full: the rest are counted, not read
                left += 1
                continue
            data = db_photos.blob(conn, sha)
            if data is None:
                continue
            if len(out) >= p.MAX_BUNDLE_PICTURES or size + len(data) > p.MAX_BUNDLE_PICTURE_BYTES:
                left += 1
                continue
            out.append(p.BundlePicture(sha256=sha, data=data))
            size += len(data)
    return out, left


def export_pending(ctx: WriteContext, path: str | Path) -> p.BundleCounts:
    """Write every pending operation to ``path`` (they stay in the outbox until the hub's
    bundle acknowledges them), the pictures the hub has not confirmed (as many as a bundle
    holds: they too count as sent only once the hub's bundle says it holds them) and the
    names of the pictures this laptop's records give and it lacks."""
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
    pictures, left = _pictures_to_carry(ctx.conn)
    lacks = db_photos.missing_pictures(ctx.conn, p.MAX_BUNDLE_NAMES)
    if pictures or lacks:  # else format 1, as before pictures travelled
        bundle.pictures, bundle.lacks = pictures, lacks
    p.write_bundle(path, p.sign_bundle(bundle, key))
    return p.BundleCounts(ops=len(ops), pictures=len(pictures), pictures_left=left)


def _keep_pictures(ctx: WriteContext, bundle: p.Bundle) -> tuple[int, int]:
    """Store the bundle's pictures that a photo record here names (after its operations are
    applied), each checked against its name (db/photos.py); (kept, refused)."""
    kept = refused = 0
    for pic in p.bundle_pictures(bundle):
        size = db_photos.picture_size(ctx.conn, pic.sha256)
        if size is None:  # no record here names it: not this laptop's to keep
            refused += 1
            continue
        try:
            kept += int(db_photos.store_blob(ctx.conn, pic.sha256, pic.data, *size))
        except UserError:  # not what its name says (checked before anything is written)
            refused += 1
            continue
        db_photos.mark_sent(ctx.conn, [pic.sha256])  # the hub holds it: never sent back
    return kept, refused


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
        received, refused = _keep_pictures(ctx, bundle)
        confirmed = db_photos.mark_sent(ctx.conn, p.bundle_names(bundle.held))
        counts = {
            "pushed": acked,
            "pulled": result.applied,
            "conflicts": result.conflicts,
            "duplicates": result.duplicates,
            "acked": acked,
            "refused": held,
            "photos_sent": confirmed,
            "photos_received": received,
            "photos_refused": refused,
        }
        dbsync.record_success(ctx.conn, counts)
    return counts
