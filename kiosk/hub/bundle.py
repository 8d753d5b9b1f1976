"""Offline bundles at the hub: ``kiosk hub import FILE`` stores a laptop's ``up`` bundle with
the checks of a push; ``kiosk hub export --device NAME FILE`` writes what that device has not
received yet (a ``down`` bundle). The laptop's side is kiosk/sync/bundle.py; the envelope
both read and sign is kiosk/sync/protocol.py's.

Pictures travel under the rules of the network's picture endpoints, by the same store
methods: an up bundle's pictures are stored by ``put_blobs`` (kept only when a photo record in
the device's reach names them and their bytes match their name), a down bundle's are read
within the device's reach (``bundle_pictures``, the check of ``get_blob``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from db.context import now_iso
from db.migrations import latest_version
from kiosk.core.errors import UserError
from kiosk.hub.store.base import HubError, ingest_raw, utcnow
from kiosk.hub.store.blobs import photo_refs
from kiosk.sync import protocol as p


@dataclass
class PicturesIn:
    """What became of an up bundle's pictures: held by the hub now, named by no photo record
    in the device's reach, not matching their names."""

    stored: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    mismatch: list[str] = field(default_factory=list)


def hub_import(store: Any, path: str | Path) -> tuple[str, Any, PicturesIn]:
    """Store a device's ``up`` bundle, with the same checks as a push, each operation on its
    own (the refused ones travel back in the device's next down bundle), then its pictures
    with the checks of the picture endpoints, each on its own. Returns (device name,
    :class:`kiosk.hub.store.IngestResult`, :class:`PicturesIn`)."""
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
    pics = PicturesIn()
    carried = [(pic.sha256, pic.data) for pic in p.bundle_pictures(bundle)]
    if carried:  # after the operations: the photo records that name them are held now
        pics.stored, pics.unknown, pics.mismatch = store.put_blobs(device, carried, utcnow())
    if bundle.pictures is not msgspec.UNSET or bundle.lacks is not msgspec.UNSET:
        store.note_bundle_pictures(
            device, [sha for sha, _ in carried], p.bundle_names(bundle.lacks)
        )
    return device.name, result, pics


def hub_export(store: Any, name: str, path: str | Path, page: int = 2000) -> p.BundleCounts:
    """Write what device ``name`` has not pulled yet (from the cursor it last reported), with
    the pictures its records there name and those its last up bundle said it lacks (within
    its reach and the bundle's bounds), and which of the pictures that bundle carried the
    hub holds."""
    device = store.device_by_name(name)
    if device is None or device.device_id is None or device.token_hash is None:
        raise UserError("sync.error.unknown_device", exit_code=2, name=name)
    start = cursor = device.last_cursor
    backfill = device.backfilled
    ops: list[msgspec.Raw] = []
    named: list[str] = []
    while True:
        got = store.pull(device, cursor, page, record=False, backfilled=backfill)
        cursor, backfill = got.cursor, got.backfill
        ops.extend(map(p.raw, got.ops))
        named.extend(sha for sha, _id, _entity in photo_refs(got.ops))
        if not got.more:
            break
    pictures, left, held = store.bundle_pictures(
        device, named, p.MAX_BUNDLE_PICTURE_BYTES, p.MAX_BUNDLE_PICTURES
    )
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
    if pictures or held:
        bundle.pictures = [p.BundlePicture(sha256=sha, data=data) for sha, data in pictures]
        bundle.held = held
    p.write_bundle(path, p.sign_bundle(bundle, device.token_hash))
    return p.BundleCounts(ops=len(ops), pictures=len(pictures), pictures_left=left)
