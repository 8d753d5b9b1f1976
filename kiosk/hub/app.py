"""The hub's HTTP interface (Starlette): enrol, push, pull, status. See docs/sync.md.

Every refusal is a JSON ``{"error": code, "message": text}`` with a 4xx status: 400 malformed,
401 no or bad token, 403 revoked or out of scope, 409 conflict of names, 413 too large,
422 invalid content, 426 device too old. A batch is stored whole or not at all.
"""

from __future__ import annotations

import functools
import logging
import re
from typing import Any

import msgspec
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from kiosk.core.i18n import t
from kiosk.hub.store.base import (
    DeviceRecord,
    HubError,
    HubStore,
    Refusal,
    ingest_raw,
    utcnow,
)
from kiosk.hub.store.blobs import BlobError
from kiosk.sync import protocol as p

log = logging.getLogger("kiosk.hub")


def _error(status: int, code: str, **params: Any) -> JSONResponse:
    return JSONResponse(
        {"error": code, "message": t(f"sync.hub_error.{code}", **params), "params": params},
        status_code=status,
    )


def wire_refusal(r: Refusal) -> p.Refusal:
    """A refused operation as the laptop is told (the hub's wording in its own language; the
    laptop words it in its own from the code and parameters)."""
    return p.Refusal(
        index=r.index,
        op_id=r.op_id,
        code=r.code,
        params=r.params,
        message=t(f"sync.hub_error.{r.code}", **r.params),
    )


def _ok(doc: Any) -> Response:
    return Response(p.encoder.encode(doc), media_type="application/json")


async def _body(request: Request, max_body: int, media_type: str = "application/json") -> bytes:
    """A request's bytes, of ``media_type`` (415 otherwise), at most ``max_body`` (413
    beyond: read no further)."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != media_type:
        raise HubError(415, "media_type")
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise HubError(400, "malformed")
        if int(declared) > max_body:
            raise HubError(413, "too_large", limit=max_body)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_body:
            raise HubError(413, "too_large", limit=max_body)
        chunks.append(chunk)
    return b"".join(chunks)


OCTETS = "application/octet-stream"
SHA256 = re.compile(r"[0-9a-f]{64}")


def _decode(body: bytes, kind: type[Any]) -> Any:
    try:
        return msgspec.json.decode(body, type=kind)
    except msgspec.ValidationError as exc:
        raise HubError(422, "invalid", detail=str(exc)[:200]) from None
    except (msgspec.DecodeError, RecursionError):
        # RecursionError: JSON nested deeper than msgspec follows ([[[[... by the thousand)
        raise HubError(400, "malformed") from None


def _check_schema(schema: int) -> None:
    if schema < p.MIN_DEVICE_SCHEMA:
        raise HubError(426, "too_old", schema=schema, minimum=p.MIN_DEVICE_SCHEMA)


def create_app(store: HubStore, *, max_body: int = p.MAX_BODY) -> Starlette:
    async def authenticate(request: Request) -> DeviceRecord:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise HubError(401, "unauthorized")
        return await run_in_threadpool(store.authenticate, token.strip())

    async def enrol(request: Request) -> Response:
        req = _decode(await _body(request, 64 * 1024), p.EnrolRequest)
        _check_schema(req.schema)
        addr = request.client.host if request.client else ""
        device, token = await run_in_threadpool(
            functools.partial(store.enrol, req.code, req.device_id, addr=addr)
        )
        log.info("device enrolled name_len=%s device=%s", len(device.name), req.device_id)
        return _ok(
            p.EnrolResponse(
                device_id=req.device_id,
                name=device.name,
                token=token,
                grids=device.grids,
                hlc=store.observe(None),
                role=device.role,
            )
        )

    async def push(request: Request) -> Response:
        device = await authenticate(request)
        req = _decode(await _body(request, max_body), p.PushRequest)
        _check_schema(req.schema)
        if req.device_id != device.device_id:
            raise HubError(403, "other_device")
        store.observe(req.hlc)
        result = await run_in_threadpool(ingest_raw, store, device, req.ops)
        log.info(
            "push device=%s ops=%s stored=%s refused=%s",
            device.device_id,
            len(req.ops),
            result.stored,
            len(result.refused),
        )
        return _ok(
            p.PushResponse(
                acked=result.acked,
                duplicates=result.duplicates,
                hlc=store.observe(None),
                refused=[wire_refusal(r) for r in result.refused],
            )
        )

    async def audit(request: Request) -> Response:
        device = await authenticate(request)
        req = _decode(await _body(request, max_body), p.AuditPush)
        _check_schema(req.schema)
        if req.device_id != device.device_id:
            raise HubError(403, "other_device")
        result = await run_in_threadpool(store.ingest_audit, device, req.entries)
        log.info(
            "audit device=%s entries=%s stored=%s",
            device.device_id,
            len(req.entries),
            result.stored,
        )
        return _ok(
            p.AuditAck(
                stored=result.stored, duplicates=result.duplicates, last_dseq=result.last_dseq
            )
        )

    async def pull(request: Request) -> Response:
        device = await authenticate(request)
        req = _decode(await _body(request, 64 * 1024), p.PullRequest)
        _check_schema(req.schema)
        store.observe(req.hlc)
        page = await run_in_threadpool(
            lambda: store.pull(device, req.cursor, req.limit, backfilled=req.backfilled)
        )
        return _ok(
            p.PullResponse(
                ops=page.ops,
                cursor=page.cursor,
                more=page.more,
                hlc=store.observe(None),
                backfill=page.backfill,
            )
        )

    async def blobs_wanted(request: Request) -> Response:
        device = await authenticate(request)
        req = _decode(await _body(request, 64 * 1024), p.BlobsWanted)
        _check_schema(req.schema)
        if req.device_id != device.device_id:
            raise HubError(403, "other_device")
        missing, unknown = await run_in_threadpool(store.blobs_wanted, device, req.hashes)
        return _ok(p.BlobsWantedResponse(missing=missing, unknown=unknown))

    def _sha(request: Request) -> str:
        sha = request.path_params["sha"]
        if not SHA256.fullmatch(sha):
            raise HubError(400, "malformed")
        return sha

    async def put_blob(request: Request) -> Response:
        device = await authenticate(request)
        sha = _sha(request)
        offset, total = (
            request.headers.get("x-blob-offset", ""),
            request.headers.get("x-blob-size", ""),
        )
        if not (offset.isdigit() and total.isdigit()) or len(offset) > 9 or len(total) > 9:
            raise HubError(400, "malformed")
        chunk = await _body(request, p.BLOB_CHUNK, OCTETS)
        try:
            received, stored = await run_in_threadpool(
                store.put_blob_chunk, device, sha, int(offset), int(total), chunk, utcnow()
            )
        except BlobError as exc:
            raise HubError(exc.status, exc.code, **exc.params) from None
        if stored:
            log.info("picture stored device=%s bytes=%s", device.device_id, received)
        return _ok(p.BlobReceived(received=received, stored=stored))

    async def put_blobs(request: Request) -> Response:
        """Whole pictures together: the body is their bytes one after another, ``X-Blobs``
        names them with their sizes (``sha:size,sha:size``), in the same order."""
        device = await authenticate(request)
        listed = request.headers.get("x-blobs", "")
        items = [part.partition(":") for part in listed.split(",") if part]
        if not items or len(items) > p.MAX_BLOBS_AT_ONCE:
            raise HubError(400, "malformed")
        sizes: list[tuple[str, int]] = []
        for sha, _, size in items:
            if not SHA256.fullmatch(sha) or not size.isdigit() or len(size) > 9:
                raise HubError(400, "malformed")
            sizes.append((sha, int(size)))
        total = sum(n for _, n in sizes)
        if total > p.MAX_BLOBS_BYTES:
            raise HubError(413, "too_large", limit=p.MAX_BLOBS_BYTES)
        body = await _body(request, p.MAX_BLOBS_BYTES, OCTETS)
        if len(body) != total:
            raise HubError(400, "malformed")
        pictures, at = [], 0
        for sha, n in sizes:
            pictures.append((sha, body[at : at + n]))
            at += n
        stored, unknown, mismatch = await run_in_threadpool(
            store.put_blobs, device, pictures, utcnow()
        )
        log.info("pictures device=%s stored=%s", device.device_id, len(stored))
        return _ok(p.BlobsStored(stored=stored, unknown=unknown, mismatch=mismatch))

    async def get_blob(request: Request) -> Response:
        device = await authenticate(request)
        data = await run_in_threadpool(store.get_blob, device, _sha(request))
        if data is None:
            raise HubError(404, "not_found")
        return Response(data, media_type="image/jpeg")

    async def status(request: Request) -> Response:
        device = await authenticate(request)
        return JSONResponse(
            {
                "name": device.name,
                "device_id": device.device_id,
                "grids": device.grids,
                "protocol": p.PROTOCOL,
            }
        )

    async def health(request: Request) -> Response:
        return JSONResponse({"ok": True, "protocol": p.PROTOCOL})

    async def hub_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HubError)
        response = _error(exc.status, exc.code, **exc.params)
        if exc.status == 429:
            response.headers["Retry-After"] = str(int(exc.params.get("minutes", 15)) * 60)
        return response

    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("hub error on %s", request.url.path, exc_info=exc)
        return _error(500, "internal")

    async def not_found(request: Request, exc: Exception) -> Response:
        code = getattr(exc, "status_code", 404)
        return _error(code, "not_found" if code == 404 else "method")

    return Starlette(
        routes=[
            Route("/v1/enrol", enrol, methods=["POST"]),
            Route("/v1/push", push, methods=["POST"]),
            Route("/v1/pull", pull, methods=["POST"]),
            Route("/v1/audit", audit, methods=["POST"]),
            Route("/v1/blobs/wanted", blobs_wanted, methods=["POST"]),
            Route("/v1/blobs/batch", put_blobs, methods=["POST"]),
            Route("/v1/blobs/{sha}", put_blob, methods=["PUT"]),
            Route("/v1/blobs/{sha}", get_blob, methods=["GET"]),
            Route("/v1/status", status, methods=["GET"]),
            Route("/health", health, methods=["GET"]),
        ],
        exception_handlers={
            HubError: hub_error,
            404: not_found,
            405: not_found,
            Exception: unexpected,
        },
    )


def make_server(store: HubStore, host: str, port: int, on_ready=None):  # type: ignore[no-untyped-def]
    """A uvicorn server for the hub; ``on_ready(url)`` runs once it accepts connections."""
    import uvicorn

    class Server(uvicorn.Server):
        async def startup(self, sockets=None):  # type: ignore[no-untyped-def]
            await super().startup(sockets=sockets)
            if self.started and on_ready is not None:
                on_ready(f"http://{host}:{port}")

    # Laptops pause between requests while they merge a page: keep their connections open.
    config = uvicorn.Config(
        create_app(store),
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=5,
        timeout_keep_alive=60,
        lifespan="off",
    )
    return Server(config)


def serve(store: HubStore, host: str, port: int, on_ready=None) -> None:  # type: ignore[no-untyped-def]
    make_server(store, host, port, on_ready).run()


def app_from_env() -> Starlette:
    """The hub of one worker process of ``kiosk hub serve --workers N``: its own store
    connection, from ``KIOSK_HUB_DB`` (and ``KIOSK_HUB_MAX_DRIFT_HOURS``). Nothing lives in
    one process only: devices, the log, refusals and the enrolment throttle are in the
    store; the clock is per process, and stamps nothing the hub stores (laptops stamp their
    operations; a laptop observes the stamps of the pages it pulls)."""
    import os

    from kiosk.hub.store.open import open_store

    store = open_store(os.environ["KIOSK_HUB_DB"])
    hours = os.environ.get("KIOSK_HUB_MAX_DRIFT_HOURS")
    if hours:
        store.set_max_drift(float(hours))
    return create_app(store)


def serve_workers(url: str, host: str, port: int, workers: int, on_ready=None) -> None:  # type: ignore[no-untyped-def]
    """Serve the hub at ``url`` (PostgreSQL) from ``workers`` processes sharing one socket.
    ``on_ready`` runs once the socket listens: a connection made then waits in its queue
    until a worker takes it."""
    import os

    import uvicorn
    from uvicorn.supervisors import Multiprocess

    os.environ["KIOSK_HUB_DB"] = url
    config = uvicorn.Config(
        "kiosk.hub.app:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=5,
        timeout_keep_alive=60,
        # uvicorn kills a worker that does not answer its health check within this many
        # seconds (5 by default), with the requests it holds: a busy office PC can be slower
        timeout_worker_healthcheck=30,
        lifespan="off",
    )
    sock = config.bind_socket()
    # bound is not listening: until a worker started serving, connections were refused.
    # Listening here, they wait in the kernel's queue for the first worker to take them.
    sock.listen(config.backlog)
    if on_ready is not None:
        on_ready(f"http://{host}:{port}")
    Multiprocess(config, sockets=[sock]).run()
