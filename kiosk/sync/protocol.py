"""The sync wire format (JSON over HTTP; see docs/sync.md for the exchange).

Requests and responses are msgspec structs: decoding validates types, lengths and formats
in one pass, so a malformed request is refused before anything is applied.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import msgspec

from kiosk.core.errors import UserError

#: Version of the protocol itself (the URL prefix ``/v1``).
PROTOCOL = 1
#: The oldest laptop database schema the hub accepts: m0005 (sync) added the per-field base
#: versions the merge needs. A device below it is refused with 426 and told to upgrade.
MIN_DEVICE_SCHEMA = 5
#: Operations per push or pull request, at most.
MAX_BATCH = 2000
#: Largest request body the hub reads (bytes).
MAX_BODY = 16 * 1024 * 1024
#: A pull page stops once its operations' payloads pass this size (it holds at least one).
MAX_PAGE_BYTES = 4 * 1024 * 1024

Id = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:\-]+$")]
Hlc = Annotated[str, msgspec.Meta(pattern=r"^\d{15}\.\d{5}$")]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_]*$")]
Kind = Annotated[str, msgspec.Meta(pattern=r"^(insert|update|append|delete)$")]
Cursor = Annotated[str, msgspec.Meta(max_length=64, pattern=r"^[0-9:]*$")]


class Op(msgspec.Struct, kw_only=True, omit_defaults=True):
    """One operation: a change to one row, as written to the laptop's outbox."""

    op_id: Id
    hlc: Hlc
    entity: Name
    entity_id: Id
    kind: Kind
    payload: dict[str, Any]
    schema_version: Annotated[int, msgspec.Meta(ge=1)]
    device_id: Id
    base_version: Hlc | None = None
    field_bases: dict[str, str] | None = None
    worker_id: Id | None = None
    seq: int | None = None


class OutOp(msgspec.Struct, kw_only=True, omit_defaults=True):
    """An :class:`Op` as the laptop sends it: payload and field bases are the JSON text
    stored in the outbox, passed through unparsed (the hub decodes them as :class:`Op`)."""

    op_id: str
    hlc: str
    entity: str
    entity_id: str
    kind: str
    payload: msgspec.Raw
    schema_version: int
    device_id: str
    base_version: str | None = None
    field_bases: msgspec.Raw | None = None
    worker_id: str | None = None
    seq: int | None = None


class PushOut(msgspec.Struct, kw_only=True):
    """A :class:`PushRequest` as the laptop encodes it."""

    device_id: str
    schema: int
    ops: list[OutOp]
    hlc: str | None = None


class EnrolRequest(msgspec.Struct, kw_only=True):
    code: Annotated[str, msgspec.Meta(min_length=4, max_length=32)]
    device_id: Id
    schema: int


class EnrolResponse(msgspec.Struct, kw_only=True):
    device_id: str
    name: str
    token: str
    grids: list[str] | None
    hlc: str
    #: field | office | admin (kiosk/hub/scope.py): what the laptop may change
    role: str = "field"


class PushRequest(msgspec.Struct, kw_only=True):
    device_id: Id
    schema: int
    #: each operation is decoded on its own (:func:`decode_ops`): one that is malformed is
    #: refused alone, never the batch
    ops: Annotated[list[msgspec.Raw], msgspec.Meta(max_length=MAX_BATCH)]
    hlc: Hlc | None = None


class Refusal(msgspec.Struct, kw_only=True, omit_defaults=True):
    """One operation the hub refused: its place in the batch and its id (empty when the
    operation was too malformed to have one), a stable code (``sync.hub_error.<code>``), the
    code's parameters and the hub's own wording."""

    index: int
    op_id: str
    code: str
    message: str = ""
    params: dict[str, str] = {}


class PushResponse(msgspec.Struct, kw_only=True):
    acked: list[str]
    duplicates: int
    hlc: str
    refused: list[Refusal] = []


class PullRequest(msgspec.Struct, kw_only=True):
    schema: int
    cursor: Cursor | None = None
    limit: Annotated[int, msgspec.Meta(ge=1, le=MAX_BATCH)] = 500
    hlc: Hlc | None = None
    #: The last entry of this device's backfill (operations of cases newly assigned to its
    #: worker) it has applied; the hub then drops the entries up to it.
    backfilled: Annotated[int, msgspec.Meta(ge=0)] = 0


class PullResponse(msgspec.Struct, kw_only=True):
    ops: list[Op]
    cursor: str | None
    more: bool
    hlc: str
    backfill: int = 0


#: Audit entries are checked by their hashes (the hub recomputes each one, and the chain
#: links them), so their fields need only bounds here, not patterns (a third of the cost of
#: decoding thousands of entries).
Text64 = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
Hash = Annotated[str, msgspec.Meta(min_length=64, max_length=64)]


class AuditEntry(msgspec.Struct, kw_only=True, omit_defaults=True):
    """One entry of a device's audit trail, as stored (db/audit.py): the hub checks that the
    entries continue the chain it holds for the device and recomputes every hash."""

    id: Text64
    device_id: Text64
    dseq: Annotated[int, msgspec.Meta(ge=1)]
    at: Annotated[str, msgspec.Meta(min_length=1, max_length=40)]
    action: Text64
    detail: Annotated[str, msgspec.Meta(max_length=8192)]
    prev_hash: Hash
    hash: Hash
    worker_id: Text64 | None = None
    entity: Text64 | None = None
    entity_id: Text64 | None = None
    household_id: Text64 | None = None


class AuditPush(msgspec.Struct, kw_only=True):
    """``POST /v1/audit``: the pushing device's entries after the last one the hub holds,
    in chain order."""

    device_id: Id
    schema: int
    entries: Annotated[list[AuditEntry], msgspec.Meta(max_length=MAX_BATCH)]


class AuditAck(msgspec.Struct, kw_only=True):
    stored: int
    duplicates: int
    #: the last entry of the device's chain the hub now holds
    last_dseq: int


#: A picture's name: the SHA-256 of its bytes, in lower-case hex.
Sha256 = Annotated[str, msgspec.Meta(pattern=r"^[0-9a-f]{64}$")]
#: The largest picture the hub takes (db/photos.py MAX_BLOB_BYTES: a prepared photo is far
#: smaller), and the most sent in one request: a picture goes in chunks, resumable.
MAX_BLOB = 4 * 1024 * 1024
BLOB_CHUNK = 512 * 1024
#: pictures asked about in one request, at most
MAX_BLOB_QUERY = 500
#: whole pictures sent together in one request (one commit on the hub for all of them), at
#: most this many and this many bytes; a picture larger than a chunk goes on its own
MAX_BLOBS_AT_ONCE = 32
MAX_BLOBS_BYTES = 4 * 1024 * 1024


class BlobsWanted(msgspec.Struct, kw_only=True):
    """Which of these pictures should I send? (the laptop, after its push)"""

    device_id: Id
    schema: int
    hashes: Annotated[list[Sha256], msgspec.Meta(max_length=MAX_BLOB_QUERY)]


class BlobsWantedResponse(msgspec.Struct, kw_only=True):
    #: named by a photo record this device may see, and not held yet: send them
    missing: list[str]
    #: named by no photo record this device may see: the hub would refuse them
    unknown: list[str]


class BlobReceived(msgspec.Struct, kw_only=True):
    """After a chunk: how many bytes of the picture the hub holds, and whether it is whole
    (checked against its name) and stored."""

    received: int
    stored: bool


class BlobsStored(msgspec.Struct, kw_only=True):
    """After whole pictures sent together: those the hub holds now (stored, or held already),
    those no photo record in the device's reach names, and those not matching their name."""

    stored: list[str]
    unknown: list[str]
    mismatch: list[str]


class ErrorResponse(msgspec.Struct, kw_only=True):
    error: str
    message: str
    #: the refusal's parameters (where a picture's upload stands: ``received``)
    params: dict[str, Any] = {}


#: An offline bundle carries pictures in its signed JSON (base64): at most this many bytes of
#: pictures in one bundle (about 200 prepared photos), and this many pictures; what does not
#: fit goes in the next bundle (docs/sync.md, Offline bundles).
MAX_BUNDLE_PICTURE_BYTES = 64 * 1024 * 1024
MAX_BUNDLE_PICTURES = 2000
#: names in a bundle's lists of pictures (an up bundle's ``lacks``, a down bundle's ``held``)
MAX_BUNDLE_NAMES = 20_000
#: the largest bundle file read at all, checked before anything is parsed: the pictures'
#: bound in base64, and room for the operations
MAX_BUNDLE_BYTES = 256 * 1024 * 1024


class BundlePicture(msgspec.Struct, kw_only=True):
    """A picture inside a bundle: its name and its bytes (base64 in the JSON), covered by the
    bundle's HMAC like everything else in it."""

    sha256: Sha256
    data: Annotated[bytes, msgspec.Meta(max_length=MAX_BLOB)]


Pictures = Annotated[list[BundlePicture], msgspec.Meta(max_length=MAX_BUNDLE_PICTURES)]
Names = Annotated[list[Sha256], msgspec.Meta(max_length=MAX_BUNDLE_NAMES)]


class Bundle(msgspec.Struct, kw_only=True):
    """An offline bundle (a file carried by USB): ``direction`` is ``up`` (a device's
    pending operations for the hub) or ``down`` (the hub's operations for one device)."""

    format: str
    direction: str
    device_id: Id
    #: each operation decoded on its own, like a push's (:func:`decode_ops`)
    ops: list[msgspec.Raw]
    schema: int
    hlc: str | None = None
    cursor_from: str | None = None
    cursor: str | None = None
    acked: list[str] = []
    backfill: int = 0
    created_at: str = ""
    #: up: the device's audit entries after the last the hub acknowledged; down: the last
    #: entry of the device's chain the hub holds.
    audit: list[AuditEntry] = []
    audit_dseq: int = 0
    #: down: the device's operations the hub has refused (the laptop quarantines them)
    refused: list[Refusal] = []
    #: Pictures (format 2). Unset fields are left out of the JSON, so a bundle without
    #: pictures encodes, and is signed, exactly as before them. up: pictures the hub has not
    #: confirmed (``pictures``) and the names this laptop's records give and it lacks
    #: (``lacks``); down: pictures for this laptop (``pictures``) and those of its last up
    #: bundle the hub holds (``held``: the laptop marks them sent).
    pictures: Pictures | msgspec.UnsetType = msgspec.UNSET
    lacks: Names | msgspec.UnsetType = msgspec.UNSET
    held: Names | msgspec.UnsetType = msgspec.UNSET
    mac: str = ""


BUNDLE_FORMAT = "grid-kiosk-bundle/1"
#: a bundle with pictures: a reader of format 1 refuses it by its format (it would drop the
#: fields it does not know and then find the signature wrong)
BUNDLE_FORMAT_PICTURES = "grid-kiosk-bundle/2"
BUNDLE_FORMATS = (BUNDLE_FORMAT, BUNDLE_FORMAT_PICTURES)


def bundle_format(bundle: Bundle) -> str:
    """The format a bundle is written in: 2 when it says anything about pictures."""
    unset = msgspec.UNSET
    plain = bundle.pictures is unset and bundle.lacks is unset and bundle.held is unset
    return BUNDLE_FORMAT if plain else BUNDLE_FORMAT_PICTURES


@dataclass(frozen=True)
class BundleCounts:
    """What a bundle written holds: operations, pictures, and pictures left for the next
    bundle (over the bundle's bounds)."""

    ops: int
    pictures: int = 0
    pictures_left: int = 0


def bundle_pictures(bundle: Bundle) -> list[BundlePicture]:
    return [] if bundle.pictures is msgspec.UNSET else bundle.pictures


def bundle_names(names: list[str] | msgspec.UnsetType) -> list[str]:
    return [] if names is msgspec.UNSET else names


encoder = msgspec.json.Encoder()


class _Named(msgspec.Struct):
    op_id: Any = ""


def raw(op: Op) -> msgspec.Raw:
    """An operation as a batch carries it."""
    return msgspec.Raw(encoder.encode(op))


def decode_ops(raws: list[msgspec.Raw]) -> tuple[list[tuple[int, Op]], list[Refusal]]:
    """The operations of a batch that are well formed (with their place in it), and a
    refusal (``invalid``) for each one that is not."""
    good: list[tuple[int, Op]] = []
    bad: list[Refusal] = []
    for i, item in enumerate(raws):
        try:
            good.append((i, msgspec.json.decode(item, type=Op)))
        except (msgspec.ValidationError, msgspec.DecodeError, RecursionError) as exc:
            try:
                named = msgspec.json.decode(item, type=_Named).op_id
            except (msgspec.MsgspecError, RecursionError):
                named = ""
            op_id = named if isinstance(named, str) and len(named) <= 64 else ""
            bad.append(
                Refusal(index=i, op_id=op_id, code="invalid", params={"detail": str(exc)[:160]})
            )
    return good, bad


def decode(data: bytes, kind: type[Any]) -> Any:
    return msgspec.json.decode(data, type=kind)


def op_from_dict(d: dict[str, Any]) -> Op:
    return msgspec.convert({k: v for k, v in d.items() if v is not None}, Op)


def op_to_dict(op: Op) -> dict[str, Any]:
    return {
        "op_id": op.op_id,
        "hlc": op.hlc,
        "entity": op.entity,
        "entity_id": op.entity_id,
        "kind": op.kind,
        "payload": op.payload,
        "base_version": op.base_version,
        "field_bases": op.field_bases,
        "schema_version": op.schema_version,
        "worker_id": op.worker_id,
        "device_id": op.device_id,
    }


# --- tokens and offline bundles: what both ends compute the same way --------------------------
# A device token is ``<device id>.<secret>``; the hub keeps only token_hash(secret). A bundle
# is authenticated with an HMAC keyed by that hash (the laptop knows the token, the hub its
# hash; nobody else knows either).


def token_hash(secret: str) -> str:
    return hashlib.sha256(("token:" + secret).encode()).hexdigest()


def split_token(token: str) -> tuple[str, str] | None:
    device_id, dot, secret = token.partition(".")
    if not dot or not device_id or not secret or len(token) > 200:
        return None
    return device_id, secret


def bundle_mac(key_hash: str, body: bytes) -> str:
    """HMAC of an offline bundle, keyed by the token hash both ends can compute."""
    return hmac.new(key_hash.encode(), body, hashlib.sha256).hexdigest()


def sign_bundle(bundle: Bundle, key: str) -> bytes:
    bundle.format = bundle_format(bundle)
    bundle.mac = ""
    bundle.mac = bundle_mac(key, encoder.encode(bundle))
    return encoder.encode(bundle)


def read_bundle(path: str | Path) -> Bundle:
    """Read and decode a bundle file, bounded: the file's size before anything is parsed,
    each picture's while decoding, the pictures' total before anything is stored."""
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_BUNDLE_BYTES + 1)
    except (FileNotFoundError, IsADirectoryError):
        raise UserError("error.file_missing", exit_code=2, path=str(path)) from None
    if len(data) > MAX_BUNDLE_BYTES:
        raise UserError(
            "sync.error.bundle_too_big", exit_code=2, path=str(path), mb=MAX_BUNDLE_BYTES >> 20
        )
    try:
        bundle = msgspec.json.decode(data, type=Bundle)
    except (msgspec.MsgspecError, RecursionError) as exc:
        raise UserError(
            "sync.error.bad_bundle", exit_code=2, path=str(path), detail=str(exc)[:200]
        ) from None
    if bundle.format not in BUNDLE_FORMATS or bundle.direction not in ("up", "down"):
        raise UserError("sync.error.bad_bundle", exit_code=2, path=str(path), detail=bundle.format)
    if sum(len(pic.data) for pic in bundle_pictures(bundle)) > MAX_BUNDLE_PICTURE_BYTES:
        raise UserError(
            "sync.error.bundle_pictures_too_big",
            exit_code=2,
            path=str(path),
            mb=MAX_BUNDLE_PICTURE_BYTES >> 20,
        )
    return bundle


def verify_bundle(bundle: Bundle, key: str | None, path: str | Path) -> None:
    mac = bundle.mac
    if not key or not mac:
        raise UserError("sync.error.bundle_mac", exit_code=2, path=str(path))
    bundle.mac = ""
    expected = bundle_mac(key, encoder.encode(bundle))
    bundle.mac = mac
    if not hmac.compare_digest(expected, mac):
        raise UserError("sync.error.bundle_mac", exit_code=2, path=str(path))


def write_bundle(path: str | Path, data: bytes) -> None:
    if len(data) > MAX_BUNDLE_BYTES:  # no reader would take it: sync online instead
        raise UserError(
            "sync.error.bundle_too_big", exit_code=2, path=str(path), mb=MAX_BUNDLE_BYTES >> 20
        )
    target = Path(path)
    tmp = target.with_name(target.name + ".part")
    tmp.write_bytes(data)
    tmp.replace(target)
