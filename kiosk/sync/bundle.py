"""Offline bundles: sync by a file carried on a USB stick where there is no network.

``kiosk sync export FILE`` writes the laptop's pending operations (an ``up`` bundle);
``kiosk hub import FILE`` stores them; ``kiosk hub export --device NAME FILE`` writes what that
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

import msgspec

from db import sync as dbsync
from db.connection import transaction
from db.context import WriteContext, get_meta, now_iso
from db.migrations import latest_version
from kiosk.core.errors import UserError
from kiosk.hub import devices as dv
from kiosk.sync import protocol as p


def _sign(bundle: p.Bundle, key: str) -> bytes:
    bundle.mac = ""
    bundle.mac = dv.bundle_mac(key, p.encoder.encode(bundle))
    return p.encoder.encode(bundle)


def read_bundle(path: str | Path) -> p.Bundle:
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise UserError("error.file_missing", exit_code=2, path=str(path)) from None
    try:
        bundle = msgspec.json.decode(data, type=p.Bundle)
    except msgspec.MsgspecError as exc:
        raise UserError("sync.error.bad_bundle", exit_code=2, path=str(path),
                        detail=str(exc)[:200]) from None
    if bundle.format != p.BUNDLE_FORMAT or bundle.direction not in ("up", "down"):
        raise UserError("sync.error.bad_bundle", exit_code=2, path=str(path), detail=bundle.format)
    return bundle


def verify(bundle: p.Bundle, key: str | None, path: str | Path) -> None:
    mac = bundle.mac
    if not key or not mac:
        raise UserError("sync.error.bundle_mac", exit_code=2, path=str(path))
    bundle.mac = ""
    expected = dv.bundle_mac(key, p.encoder.encode(bundle))
    bundle.mac = mac
    import hmac

    if not hmac.compare_digest(expected, mac):
        raise UserError("sync.error.bundle_mac", exit_code=2, path=str(path))


def _device_key(conn: Any) -> str:
    token = get_meta(conn, dbsync.META_TOKEN)
    parts = dv.split_token(token) if token else None
    if parts is None:
        raise UserError("sync.error.not_enrolled", exit_code=2)
    return dv.token_hash(parts[1])


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
    bundle = p.Bundle(format=p.BUNDLE_FORMAT, direction="up", device_id=ctx.device_id, ops=ops,
                      schema=latest_version(), hlc=ctx.clock.last, created_at=now_iso(),
                      audit=entries, cursor=get_meta(ctx.conn, dbsync.META_CURSOR))
    _write(path, _sign(bundle, key))
    return len(ops)


def import_down(ctx: WriteContext, path: str | Path) -> dict[str, int]:
    """Merge a hub bundle for this laptop (one transaction)."""
    bundle = read_bundle(path)
    if bundle.direction != "down" or bundle.device_id != ctx.device_id:
        raise UserError("sync.error.bundle_other_device", exit_code=2, path=str(path))
    verify(bundle, _device_key(ctx.conn), path)
    good, bad = p.decode_ops(bundle.ops)
    if bad:
        raise UserError("sync.error.bad_bundle", exit_code=2, path=str(path),
                        detail=bad[0].params.get("detail", ""))
    with transaction(ctx.conn):
        result = dbsync.apply_ops(ctx.conn, [p.op_to_dict(op) for _, op in good])
        acked = dbsync.acknowledge(ctx.conn, bundle.acked)
        held = dbsync.hold(ctx.conn, [(r.op_id, r.code, dict(r.params), r.message)
                                      for r in bundle.refused if r.op_id])
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
        counts = {"pushed": acked, "pulled": result.applied, "conflicts": result.conflicts,
                  "duplicates": result.duplicates, "acked": acked, "refused": held}
        dbsync.record_success(ctx.conn, counts)
    return counts


# --- on the hub --------------------------------------------------------------------------------

def hub_import(store: Any, path: str | Path) -> tuple[str, Any]:
    """Store a device's ``up`` bundle, with the same checks as a push, each operation on its
    own (the refused ones travel back in the device's next down bundle). Returns (device
    name, :class:`kiosk.hub.store.IngestResult`)."""
    from kiosk.hub.store import HubError, ingest_raw

    bundle = read_bundle(path)
    if bundle.direction != "up":
        raise UserError("sync.error.bad_bundle", exit_code=2, path=str(path), detail="direction")
    device = store.device_by_id(bundle.device_id)
    if device is None or device.revoked:
        raise UserError("sync.error.bundle_mac", exit_code=2, path=str(path))
    verify(bundle, device.token_hash, path)
    if bundle.schema < p.MIN_DEVICE_SCHEMA:
        raise UserError("sync.error.too_old", exit_code=4)
    result = ingest_raw(store, device, bundle.ops)
    if bundle.cursor:
        try:
            store.note_cursor(device, bundle.cursor)
        except HubError:
            raise UserError("sync.error.bad_bundle", exit_code=2, path=str(path),
                            detail="cursor") from None
    if bundle.audit:  # checked like a push: continuing the chain the hub holds, or refused
        store.ingest_audit(device, bundle.audit)
    return device.name, result


def hub_export(store: Any, name: str, path: str | Path, page: int = 2000) -> int:
    """Write what device ``name`` has not pulled yet (from the cursor it last reported)."""
    device = store.device_by_name(name)
    if device is None or device.device_id is None or device.token_hash is None:
        raise UserError("sync.error.unknown_device", exit_code=2, name=name)
    start = cursor = device.last_cursor
    backfill = device.backfilled
    ops: list[msgspec.Raw] = []
    while True:
        got = store.pull(device, cursor, page, record=False, backfilled=backfill)
        ops.extend(map(p.raw, got.ops))
        cursor, backfill = got.cursor, got.backfill
        if not got.more:
            break
    bundle = p.Bundle(format=p.BUNDLE_FORMAT, direction="down", device_id=device.device_id,
                      ops=ops, schema=latest_version(), hlc=store.observe(None),
                      cursor_from=start, cursor=cursor, acked=store.acked_since(device, start),
                      backfill=backfill, created_at=now_iso(),
                      audit_dseq=store.audit_tail(device.device_id),
                      refused=[p.Refusal(index=-1, op_id=r.op_id, code=r.code, params=r.params)
                               for r in store.refused_for(device.device_id)])
    _write(path, _sign(bundle, device.token_hash))
    return len(ops)


def _write(path: str | Path, data: bytes) -> None:
    target = Path(path)
    tmp = target.with_name(target.name + ".part")
    tmp.write_bytes(data)
    tmp.replace(target)
