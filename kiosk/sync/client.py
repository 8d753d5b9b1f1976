"""The laptop's side of sync: enrolment and one sync run (push the outbox, then pull until
empty), over HTTP with httpx. Every step is safe to retry: see docs/sync.md."""

from __future__ import annotations

import functools
import logging
import sqlite3
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
import msgspec

from db import sync as dbsync
from db.connection import transaction
from db.context import WriteContext, get_meta
from db.hlc import DEFAULT_MAX_DRIFT_MS, parse_stamp
from db.migrations import latest_version
from kiosk.core.errors import UserError
from kiosk.sync import protocol as p

log = logging.getLogger("kiosk.sync")
T = TypeVar("T")

#: progress(phase, done, total): phase is "push" or "pull"; total 0 when unknown.
Progress = Callable[[str, int, int], None]
Writer = Callable[[Callable[[WriteContext], Any]], Any]


class SyncError(UserError):
    """The hub could not be reached or refused: a message the worker can act on."""


@dataclass
class SyncReport:
    pushed: int = 0
    pulled: int = 0
    duplicates: int = 0
    conflicts: int = 0
    failed: int = 0
    audited: int = 0  # audit entries the hub stored
    refused: int = 0  # changes the hub refused in this run (held in the outbox)
    photos_sent: int = 0  # pictures the hub took from this laptop
    photos_received: int = 0  # pictures this laptop took from the hub
    cursor: str | None = None
    #: hours this laptop's clock is ahead of the hub's (negative: behind), when further apart
    #: than the drift bound; else 0
    clock_skew_hours: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "pushed": self.pushed,
            "pulled": self.pulled,
            "duplicates": self.duplicates,
            "conflicts": self.conflicts,
            "failed": self.failed,
            "audited": self.audited,
            "refused": self.refused,
            "photos_sent": self.photos_sent,
            "photos_received": self.photos_received,
            "clock_skew_hours": self.clock_skew_hours,
        }


def clock_skew_hours(
    hub_hlc: str, now_ms: int | None = None, drift_ms: int = DEFAULT_MAX_DRIFT_MS
) -> float:
    """How far this laptop's wall clock is from the hub's (its stamp's milliseconds), in
    hours, when further than ``drift_ms``: positive when the laptop is ahead. 0 otherwise."""
    local = int(time.time() * 1000) if now_ms is None else now_ms
    skew = local - parse_stamp(hub_hlc)[0]
    return round(skew / 3_600_000, 1) if abs(skew) > drift_ms else 0.0


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """httpx's default context (certifi's authorities, SSL_CERT_FILE / SSL_CERT_DIR when
    set), built once per process: loading the authorities took 27 ms of every sync."""
    return httpx.create_ssl_context()


class HubClient:
    """A thin client for the hub's endpoints; failures become :class:`SyncError`."""

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        *,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
        retries: int = 2,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.retries = retries
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.http = httpx.Client(
            base_url=self.base_url,
            headers=headers,
            timeout=timeout,
            transport=transport,
            verify=_tls_context(),
        )

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> HubClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        attempt = 0
        while True:
            try:
                resp = self.http.request(method, path, **kwargs)
                break
            except httpx.TimeoutException:
                raise SyncError("sync.error.timeout", exit_code=3, hub=self.base_url) from None
            except httpx.TransportError:
                # Every request is idempotent (pushes by op id, pulls by cursor, pictures by
                # name and offset), so a dropped connection (a kept-alive one the hub closed,
                # a blip) is simply tried again.
                attempt += 1
                if attempt > self.retries:
                    raise SyncError(
                        "sync.error.unreachable", exit_code=3, hub=self.base_url
                    ) from None
                time.sleep(0.2 * attempt)
        if resp.status_code >= 400:
            hub_params: dict[str, Any] = {}
            try:
                err = msgspec.json.decode(resp.content, type=p.ErrorResponse)
                code, message, hub_params = err.error, err.message, err.params
            except msgspec.MsgspecError:
                code, message = "http", resp.text[:200]
            log.warning("hub refused %s: %s %s", path, resp.status_code, code)
            key = f"sync.error.{code}" if code in REFUSALS else "sync.error.refused"
            raise SyncError(
                key,
                exit_code=4,
                status=resp.status_code,
                message=message,
                code=code,
                hub_params=hub_params,
            )
        return resp

    def _decode(self, resp: httpx.Response, kind: type[T]) -> T:
        try:
            return msgspec.json.decode(resp.content, type=kind)
        except msgspec.MsgspecError:
            raise SyncError("sync.error.bad_response", exit_code=4) from None

    def _post(self, path: str, body: Any, kind: type[T]) -> T:
        resp = self._send(
            "POST",
            path,
            content=p.encoder.encode(body),
            headers={"Content-Type": "application/json"},
        )
        return self._decode(resp, kind)

    def blobs_wanted(self, device_id: str, hashes: list[str]) -> p.BlobsWantedResponse:
        return self._post(
            "/v1/blobs/wanted",
            p.BlobsWanted(device_id=device_id, schema=latest_version(), hashes=hashes),
            p.BlobsWantedResponse,
        )

    def put_blob(self, sha: str, data: bytes) -> bool:
        """Send the picture ``data`` named ``sha`` in chunks, going on from what the hub
        holds when a chunk lands elsewhere (an earlier sync cut off); True once stored."""
        offset, tries = 0, 0
        while True:
            chunk = data[offset : offset + p.BLOB_CHUNK]
            try:
                resp = self._send(
                    "PUT",
                    f"/v1/blobs/{sha}",
                    content=chunk,
                    headers={
                        "Content-Type": "application/octet-stream",
                        "X-Blob-Offset": str(offset),
                        "X-Blob-Size": str(len(data)),
                    },
                )
            except SyncError as exc:
                tries += 1
                hub_params = exc.params.get("hub_params")
                received = hub_params.get("received") if isinstance(hub_params, dict) else None
                if exc.params.get("code") == "blob_offset" and tries < 5 and received is not None:
                    offset = int(received)
                    continue
                if exc.params.get("code") == "blob_mismatch" and tries < 2:
                    offset = 0  # spoiled on the way: the hub threw it away; once more
                    continue
                raise
            got = self._decode(resp, p.BlobReceived)
            if got.stored:
                return True
            if got.received <= offset:  # no progress: never loop
                raise SyncError("sync.error.bad_response", exit_code=4)
            offset = got.received

    def put_blobs(self, pictures: list[tuple[str, bytes]]) -> p.BlobsStored:
        """Whole pictures together, in one request (one commit on the hub)."""
        resp = self._send(
            "POST",
            "/v1/blobs/batch",
            content=b"".join(data for _, data in pictures),
            headers={
                "Content-Type": "application/octet-stream",
                "X-Blobs": ",".join(f"{sha}:{len(data)}" for sha, data in pictures),
            },
        )
        return self._decode(resp, p.BlobsStored)

    def get_blob(self, sha: str) -> bytes | None:
        """The picture ``sha`` from the hub, or None when it has none for this laptop."""
        try:
            resp = self._send("GET", f"/v1/blobs/{sha}")
        except SyncError as exc:
            if exc.params.get("status") == 404:
                return None
            raise
        return resp.content

    def enrol(self, code: str, device_id: str) -> p.EnrolResponse:
        return self._post(
            "/v1/enrol",
            p.EnrolRequest(code=code, device_id=device_id, schema=latest_version()),
            p.EnrolResponse,
        )

    def push(self, device_id: str, ops: list[p.OutOp], hlc: str | None) -> p.PushResponse:
        return self._post(
            "/v1/push",
            p.PushOut(device_id=device_id, schema=latest_version(), ops=ops, hlc=hlc),
            p.PushResponse,
        )

    def push_audit(self, device_id: str, entries: list[p.AuditEntry]) -> p.AuditAck:
        return self._post(
            "/v1/audit",
            p.AuditPush(device_id=device_id, schema=latest_version(), entries=entries),
            p.AuditAck,
        )

    def pull(
        self, cursor: str | None, limit: int, hlc: str | None, backfilled: int = 0
    ) -> p.PullResponse:
        return self._post(
            "/v1/pull",
            p.PullRequest(
                schema=latest_version(), cursor=cursor, limit=limit, hlc=hlc, backfilled=backfilled
            ),
            p.PullResponse,
        )


#: Pages in a row that bring only what the laptop holds already before a pull gives up.
MAX_IDLE_PAGES = 50

#: Refusal codes with their own message in the sync catalogue.
REFUSALS = frozenset(
    {
        "unauthorized",
        "revoked",
        "out_of_scope",
        "other_device",
        "too_old",
        "bad_code",
        "code_expired",
        "device_taken",
        "unknown_record",
        "too_large",
        "audit_chain",
        "audit_mismatch",
    }
)


def _out_op(r: sqlite3.Row) -> p.OutOp:
    fb = r["field_bases"]
    return p.OutOp(
        op_id=r["op_id"],
        hlc=r["hlc"],
        entity=r["entity"],
        entity_id=r["entity_id"],
        kind=r["kind"],
        payload=msgspec.Raw(r["payload"].encode()),
        schema_version=r["schema_version"],
        device_id=r["device_id"],
        base_version=r["base_version"],
        field_bases=msgspec.Raw(fb.encode()) if fb else None,
        worker_id=r["worker_id"],
        seq=r["seq"],
    )


def _refused_in(
    batch: list[sqlite3.Row], refusals: list[p.Refusal]
) -> list[tuple[str, str, dict[str, str], str]]:
    """The batch's operations the hub refused, as (op id, code, params, hub's message): found by
    their place in the batch (an operation too malformed for the hub to read has no id)."""
    out = []
    for r in refusals:
        if 0 <= r.index < len(batch) and r.op_id in ("", batch[r.index]["op_id"]):
            out.append((batch[r.index]["op_id"], r.code, dict(r.params), r.message))
    return out


def audit_entry(e: Any) -> p.AuditEntry:
    """A :class:`db.audit.Entry` as the wire carries it."""
    return p.AuditEntry(
        id=e.id,
        device_id=e.device_id,
        dseq=e.dseq,
        at=e.at,
        action=e.action,
        detail=e.detail,
        prev_hash=e.prev_hash,
        hash=e.hash,
        worker_id=e.worker_id,
        entity=e.entity,
        entity_id=e.entity_id,
        household_id=e.household_id,
    )


def push_audit(
    client: HubClient, ctx: WriteContext, conn: sqlite3.Connection, write: Writer, batch_size: int
) -> int:
    """Send this device's audit entries the hub does not hold yet, oldest first; returns how
    many the hub stored. The hub checks that they continue its copy of the chain and refuses
    the push otherwise (``audit_chain``): nothing is stored then."""
    from db import audit

    write(lambda c: c.catch_up_audit())  # changes still waiting in the outbox first
    stored = 0
    while True:
        after = int(get_meta(conn, audit.META_PUSHED) or 0)
        entries = audit.entries_after(conn, ctx.device_id, after, batch_size)
        if not entries:
            return stored
        resp = client.push_audit(ctx.device_id, [audit_entry(e) for e in entries])

        def held(c: WriteContext, last: int = resp.last_dseq) -> None:
            dbsync.set_meta(c.conn, audit.META_PUSHED, str(last))

        write(held)
        stored += resp.stored
        if resp.last_dseq <= after:  # the hub took nothing: stop rather than loop
            return stored


def _default_writer(ctx: WriteContext) -> Writer:
    def write(fn: Callable[[WriteContext], Any]) -> Any:
        with transaction(ctx.conn):
            return fn(ctx)

    return write


def enrol(
    ctx: WriteContext, hub_url: str, code: str, *, transport: httpx.BaseTransport | None = None
) -> p.EnrolResponse:
    """Exchange a one-time code for this device's token and remember the hub."""
    with HubClient(hub_url, transport=transport) as client:
        resp = client.enrol(code, ctx.device_id)

    def save(c: WriteContext) -> None:
        dbsync.save_enrolment(
            c.conn, hub_url.rstrip("/"), resp.token, resp.name, resp.grids, resp.role
        )
        dbsync.observe_hlc(c, resp.hlc)

    _default_writer(ctx)(save)
    return resp


def run_sync(
    ctx: WriteContext,
    *,
    hub_url: str | None = None,
    batch_size: int = 500,
    timeout: float = 30.0,
    progress: Progress | None = None,
    write: Writer | None = None,
    transport: httpx.BaseTransport | None = None,
    reader: sqlite3.Connection | None = None,
    retries: int = 2,
) -> SyncReport:
    """Push every pending operation, then pull until the hub has nothing more.

    ``write`` runs a function in one transaction on the writer connection (the app passes its
    own, so a sync never interleaves with a form being saved); ``reader`` is a connection of
    the calling thread for the reads (default: the writer's).
    """
    conn = reader or ctx.conn
    url = hub_url or get_meta(conn, dbsync.META_HUB)
    token = get_meta(conn, dbsync.META_TOKEN)
    if not url or not token:
        raise SyncError("sync.error.not_enrolled", exit_code=2)
    write = write or _default_writer(ctx)
    batch_size = max(1, min(batch_size, p.MAX_BATCH))
    report = SyncReport()
    with HubClient(url, token, timeout=timeout, transport=transport, retries=retries) as client:
        # 1. push: the outbox in order, a bounded batch at a time; rows leave the outbox only
        # once the hub has acknowledged them.
        # An operation the hub refuses is held back with its reason (dbsync.hold), never a
        # wall: the rest go on.
        total = dbsync.pending_count(conn)
        if progress:
            progress("push", 0, total)
        after = 0
        while True:
            batch = dbsync.outbox_page(conn, batch_size, after)
            if not batch:
                break
            ops = [_out_op(r) for r in batch]
            resp = client.push(ctx.device_id, ops, ctx.clock.last)
            refused = _refused_in(batch, resp.refused)

            def ack(
                c: WriteContext,
                resp: p.PushResponse = resp,
                refused: list[tuple[str, str, dict[str, str], str]] = refused,
            ) -> int:
                dbsync.observe_hlc(c, resp.hlc)
                dbsync.hold(c.conn, refused)
                return dbsync.acknowledge(c.conn, resp.acked)

            moved = write(ack)
            report.pushed += moved
            report.refused += len(refused)
            report.duplicates += resp.duplicates
            if progress:
                progress("push", report.pushed + report.refused, total)
            if moved == 0 and not refused:  # the hub took nothing we hold: stop, never loop
                break
            after = batch[-1]["seq"]
        # 1b. the audit trail: this device's entries after the last the hub holds.
        # (entries are small: the largest batch the hub takes, so fewer of its commits)
        report.audited = push_audit(client, ctx, conn, write, p.MAX_BATCH)
        # 2. pull until empty: each page is merged and its cursor saved in one transaction.
        if progress:
            progress("pull", 0, 0)
        seen: set[str | None] = set()
        idle = 0
        while True:
            cursor = get_meta(conn, dbsync.META_CURSOR)
            backfilled = int(get_meta(conn, dbsync.META_BACKFILL) or 0)
            page = client.pull(cursor, batch_size, ctx.clock.last, backfilled)
            ops_d = [p.op_to_dict(op) for op in page.ops]

            def apply(
                c: WriteContext, page: p.PullResponse = page, ops_d: list[dict[str, Any]] = ops_d
            ) -> dbsync.ApplyResult:
                result = dbsync.apply_ops(c.conn, ops_d)
                if page.cursor is not None:
                    dbsync.set_meta(c.conn, dbsync.META_CURSOR, page.cursor)
                if page.backfill:
                    dbsync.set_meta(c.conn, dbsync.META_BACKFILL, str(page.backfill))
                dbsync.observe_hlc(c, page.hlc)
                return result

            result = write(apply)
            report.clock_skew_hours = clock_skew_hours(page.hlc)
            report.pulled += result.applied
            report.duplicates += result.duplicates
            report.conflicts += result.conflicts
            report.failed += result.failed
            report.cursor = page.cursor
            if progress:
                progress("pull", report.pulled, 0)
            if not page.ops and not page.more:
                # Pull until empty: this last request also tells the hub the cursor this
                # laptop has saved (where an offline export for it would start).
                break
            # The pull ends: a hub whose cursor comes back to where it was, or that serves
            # only what this laptop holds already page after page, is answered with an
            # error naming it, never an endless loop.
            if page.more and page.cursor == cursor and page.backfill == backfilled:
                raise SyncError("sync.error.bad_response", exit_code=4)
            if page.ops and page.cursor in seen:
                raise SyncError("sync.error.no_progress", exit_code=4, pages=len(seen))
            seen.add(page.cursor)
            idle = idle + 1 if page.ops and not result.applied and not result.conflicts else 0
            if idle >= MAX_IDLE_PAGES:
                raise SyncError("sync.error.no_progress", exit_code=4, pages=len(seen))
        # 3. pictures, after the operations that name them (the hub takes only those)
        report.photos_sent, report.photos_received = sync_pictures(client, ctx, conn, write)
    write(lambda c: dbsync.record_success(c.conn, report.as_dict()))
    log.info("sync done %s", report.as_dict())
    return report


#: requests with pictures in flight at once: while the hub stores one batch (a disk flush
#: per commit), the next is read here and carried by the network
UPLOADS_AT_ONCE = 2


def _upload(client: HubClient, conn: sqlite3.Connection, hashes: list[str]) -> list[str]:
    """Send these pictures: whole ones together (up to 32 and 4 MB a request: one commit on
    the hub for all), a picture larger than a chunk on its own in chunks; a few requests in
    flight, each batch read here on the connection's own thread. Returns the names the hub
    holds now. The first failure is raised once the requests in flight have ended."""
    from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

    from db import photos as db_photos

    stored: list[str] = []
    inflight: set[Future[list[str]]] = set()

    def send_batch(batch: list[tuple[str, bytes]]) -> list[str]:
        return client.put_blobs(batch).stored

    def send_one(sha: str, data: bytes) -> list[str]:
        return [sha] if client.put_blob(sha, data) else []

    def settle(done: set[Future[list[str]]]) -> None:
        for f in done:
            inflight.discard(f)
            stored.extend(f.result())

    with ThreadPoolExecutor(UPLOADS_AT_ONCE) as pool:

        def submit(fn: Callable[..., list[str]], *args: Any) -> None:
            if len(inflight) >= UPLOADS_AT_ONCE:
                settle(wait(inflight, return_when=FIRST_COMPLETED)[0])
            inflight.add(pool.submit(fn, *args))

        try:
            batch: list[tuple[str, bytes]] = []
            size = 0
            for sha in hashes:
                data = db_photos.blob(conn, sha)
                if data is None:
                    continue
                if len(data) > p.BLOB_CHUNK:
                    submit(send_one, sha, data)
                    continue
                if batch and (
                    len(batch) >= p.MAX_BLOBS_AT_ONCE or size + len(data) > p.MAX_BLOBS_BYTES
                ):
                    submit(send_batch, batch)
                    batch, size = [], 0
                batch.append((sha, data))
                size += len(data)
            if batch:
                submit(send_batch, batch)
            settle(wait(inflight)[0])
        finally:
            for f in inflight:
                f.cancel()
    return stored


def sync_pictures(
    client: HubClient, ctx: WriteContext, conn: sqlite3.Connection, write: Writer
) -> tuple[int, int]:
    """Send the pictures the hub lacks, then fetch those this laptop's photo records name
    and it lacks; returns (sent, received). A picture is checked against its name before
    it is kept (db/photos.py), so one spoiled on the way is skipped, not stored."""
    from db import photos as db_photos

    sent = received = 0
    after = ""
    while True:
        hashes = db_photos.unsent_pictures(conn, p.MAX_BLOB_QUERY, after)
        if not hashes:
            break
        after = hashes[-1]
        try:
            answer = client.blobs_wanted(ctx.device_id, hashes)
        except SyncError as exc:
            if exc.params.get("status") != 404:
                raise
            # a hub of a version before photos: the records went, the pictures wait for its
            # upgrade (they stay unconfirmed here and are offered at every sync)
            log.warning("the hub takes no pictures yet: %s kept for a later sync", len(hashes))
            return sent, received
        waiting = set(answer.missing) | set(answer.unknown)
        held = [h for h in hashes if h not in waiting]  # the hub has them already
        stored = _upload(client, conn, answer.missing)
        held += stored
        sent += len(stored)
        if held:

            def confirm(c: WriteContext, held: list[str] = held) -> None:
                db_photos.mark_sent(c.conn, held)

            write(confirm)
    after = ""
    while True:
        hashes = db_photos.missing_pictures(conn, 200, after)
        if not hashes:
            break
        after = hashes[-1]
        for sha in hashes:
            data = client.get_blob(sha)
            if data is None:
                continue
            size = db_photos.picture_size(conn, sha) or (0, 0)

            def keep(
                c: WriteContext, sha: str = sha, data: bytes = data, size: tuple = size
            ) -> None:
                db_photos.store_blob(c.conn, sha, data, *size)
                db_photos.mark_sent(c.conn, [sha])

            try:
                write(keep)
            except UserError as exc:  # not what its name says: not kept
                log.warning("picture from the hub refused: %s", exc.key)
                continue
            received += 1
    return sent, received
