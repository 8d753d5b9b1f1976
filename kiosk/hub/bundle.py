"""Offline bundles at the hub: ``kiosk hub import FILE`` stores a laptop's ``up`` bundle with
the checks of a push; ``kiosk hub export --device NAME FILE`` writes what that device has not
received yet (a ``down`` bundle). The laptop's side is kiosk/sync/bundle.py; the envelope
both read and sign is kiosk/sync/protocol.py's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec

from db.context import now_iso
from db.migrations import latest_version
from kiosk.core.errors import UserError
from kiosk.hub.store.base import HubError, ingest_raw
from kiosk.sync import protocol as p


def hub_import(store: Any, path: str | Path) -> tuple[str, Any]:
    """Store a device's ``up`` bundle, with the same checks as a push, each operation on its
    own (the refused ones travel back in the device's next down bundle). Returns (device
    name, :class:`kiosk.hub.store.IngestResult`)."""
    bundle = p.read_bundle(path)
    if bundle.direction != "up":
        raise UserError("sync.error.bad_bundle", exit_code=2, path=str(path), detail="direction")
    device = store.device_by_id(bundle.device_id)
    if device is None or device.revoked:
        raise UserError("sync.error.bundle_mac", exit_code=2, path=str(path))
    p.verify_bundle(bundle, device.token_hash, path)
    if bundle.schema < p.MIN_DEVICE_SCHEMA:
        raise UserError("sync.error.too_old", exit_code=4)
    result = ingest_raw(store, device, bundle.ops)
    if bundle.cursor:
        try:
            store.note_cursor(device, bundle.cursor)
        except HubError:
            raise UserError(
                "sync.error.bad_bundle", exit_code=2, path=str(path), detail="cursor"
            ) from None
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
    bundle = p.Bundle(
        format=p.BUNDLE_FORMAT,
        direction="down",
        device_id=device.device_id,
        ops=ops,
        schema=latest_version(),
        hlc=store.observe(None),
        cursor_from=start,
        cursor=cursor,
        acked=store.acked_since(device, start),
        backfill=backfill,
        created_at=now_iso(),
        audit_dseq=store.audit_tail(device.device_id),
        refused=[
            p.Refusal(index=-1, op_id=r.op_id, code=r.code, params=r.params)
            for r in store.refused_for(device.device_id)
        ],
    )
    p.write_bundle(path, p.sign_bundle(bundle, device.token_hash))
    return len(ops)
