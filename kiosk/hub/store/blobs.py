"""Pictures on the hub: photos' bytes, named by their SHA-256, apart from the operation log.

A picture is taken only when a photo record the hub holds names it and lies in the sending
device's reach, and given only to a device that may see such a record (the reach of
:mod:`kiosk.hub.scope`, as for the records themselves): the hub is nobody's file store, and
a laptop of another grid cannot fetch a picture by guessing its name (it is told "not
found", as for a name nobody uses). A picture arrives in chunks, each appended at the
offset the hub holds (a dropped connection resumes where it stopped); once whole it is
checked against its name and kept, else thrown away. Both stores keep the bytes in their
own database (SQLite: in the hub's file; PostgreSQL: ``bytea``): written in a transaction,
backed up with the log, erased with the household (kiosk/hub/forget.py).

SQL is written with ``?`` placeholders (the store adapts them) and runs in the store's own
transactions.
"""

from __future__ import annotations

import hashlib
from typing import Any

from kiosk.hub.scope import Reach
from kiosk.sync.protocol import MAX_BLOB, Op

#: the tables, as each store creates them (the blob column's type differs)
TABLES = {
    "refs": (
        "CREATE TABLE IF NOT EXISTS hub_photo_refs ("
        " sha256 TEXT NOT NULL, photo_id TEXT NOT NULL, PRIMARY KEY (sha256, photo_id))"
    ),
    "blobs": (
        "CREATE TABLE IF NOT EXISTS hub_blobs ("
        " sha256 TEXT PRIMARY KEY, data {blob} NOT NULL, bytes INTEGER NOT NULL,"
        " stored_at TEXT NOT NULL)"
    ),
    "parts": (
        "CREATE TABLE IF NOT EXISTS hub_blob_parts ("
        " device_id TEXT NOT NULL, sha256 TEXT NOT NULL, data {blob} NOT NULL,"
        " total INTEGER NOT NULL, updated_at TEXT NOT NULL, PRIMARY KEY (device_id, sha256))"
    ),
}


def schema(blob_type: str) -> list[str]:
    return [sql.format(blob=blob_type) for sql in TABLES.values()]


def photo_refs(ops: list[Op]) -> list[tuple[str, str]]:
    """(picture, photo id) for each photo record among ``ops`` that names a picture."""
    out = []
    for op in ops:
        if op.entity == "photo" and op.kind == "insert":
            sha = op.payload.get("sha256")
            if isinstance(sha, str) and len(sha) == 64:
                out.append((sha, op.entity_id))
    return out


class BlobError(Exception):
    """A chunk refused: ``code`` (the hub's error vocabulary) and its parameters."""

    def __init__(self, status: int, code: str, **params: Any) -> None:
        super().__init__(code)
        self.status, self.code, self.params = status, code, params


class BlobStoreMixin:
    """Pictures for :class:`~kiosk.hub.store.base.SqlHubStore` (which gives ``_tx``, ``_q``
    and ``_reach``)."""

    _tx: Any
    _q: Any
    _reach: Any

    def _note_photos(self, cur: Any, ops: list[Op]) -> None:
        refs = photo_refs(ops)
        if refs:
            cur.executemany(
                self._q(
                    "INSERT INTO hub_photo_refs(sha256, photo_id) VALUES (?, ?)"
                    " ON CONFLICT DO NOTHING"
                ),
                refs,
            )

    def _seen_by(self, cur: Any, reach: Reach, hashes: list[str]) -> set[str]:
        """Those of ``hashes`` named by a photo record in ``reach``."""
        out: set[str] = set()
        for i in range(0, len(hashes), 500):
            chunk = hashes[i : i + 500]
            cur.execute(
                self._q(
                    "SELECT r.sha256, s.grid FROM hub_photo_refs r JOIN hub_scope s"
                    " ON s.entity = 'photo' AND s.entity_id = r.photo_id"
                    f" WHERE r.sha256 IN ({','.join('?' * len(chunk))})"
                ),
                chunk,
            )
            out.update(sha for sha, grid in cur.fetchall() if reach.holds(grid))
        return out

    def _stored_blobs(self, cur: Any, hashes: list[str]) -> set[str]:
        out: set[str] = set()
        for i in range(0, len(hashes), 500):
            chunk = hashes[i : i + 500]
            cur.execute(
                self._q(
                    f"SELECT sha256 FROM hub_blobs WHERE sha256 IN ({','.join('?' * len(chunk))})"
                ),
                chunk,
            )
            out.update(r[0] for r in cur.fetchall())
        return out

    def blobs_wanted(self, device: Any, hashes: list[str]) -> tuple[list[str], list[str]]:
        """(missing, unknown): of ``hashes``, those the hub would take from ``device`` and
        lacks, and those no photo record in its reach names."""
        wanted = sorted(set(hashes))
        with self._tx(write=False) as cur:
            seen = self._seen_by(cur, self._reach(cur, device), wanted)
            held = self._stored_blobs(cur, sorted(seen))
        return sorted(seen - held), sorted(set(wanted) - seen)

    def put_blob_chunk(
        self, device: Any, sha: str, offset: int, total: int, chunk: bytes, now: str
    ) -> tuple[int, bool]:
        """Append ``chunk`` at ``offset`` of the picture ``sha`` (``total`` bytes in all) sent
        by ``device``; returns (bytes held, stored). Raises :class:`BlobError`."""
        if not 0 < total <= MAX_BLOB:
            raise BlobError(413, "too_large", limit=MAX_BLOB)
        with self._tx() as cur:
            if not self._seen_by(cur, self._reach(cur, device), [sha]):
                raise BlobError(404, "unknown_blob")
            if self._stored_blobs(cur, [sha]):
                return total, True
            cur.execute(
                self._q(
                    "SELECT data, total FROM hub_blob_parts WHERE device_id = ? AND sha256 = ?"
                ),
                (device.device_id, sha),
            )
            row = cur.fetchone()
            have = bytes(row[0]) if row is not None and row[1] == total else b""
            if offset != len(have):
                raise BlobError(409, "blob_offset", received=len(have))
            data = have + chunk
            if len(data) > total:
                raise BlobError(413, "too_large", limit=total)
            key = (device.device_id, sha)
            if len(data) < total:
                cur.execute(
                    self._q("DELETE FROM hub_blob_parts WHERE device_id = ? AND sha256 = ?"), key
                )
                cur.execute(
                    self._q(
                        "INSERT INTO hub_blob_parts(device_id, sha256, data, total, updated_at)"
                        " VALUES (?, ?, ?, ?, ?)"
                    ),
                    (*key, data, total, now),
                )
                return len(data), False
            cur.execute(
                self._q("DELETE FROM hub_blob_parts WHERE device_id = ? AND sha256 = ?"), key
            )
            whole = hashlib.sha256(data).hexdigest() == sha
            if whole:
                cur.execute(
                    self._q(
                        "INSERT INTO hub_blobs(sha256, data, bytes, stored_at) VALUES (?, ?, ?, ?)"
                        " ON CONFLICT DO NOTHING"
                    ),
                    (sha, data, len(data), now),
                )
        if not whole:  # not what its name says: thrown away (committed), sent again from 0
            raise BlobError(422, "blob_mismatch")
        return total, True

    def get_blob(self, device: Any, sha: str) -> bytes | None:
        """The picture ``sha`` if ``device`` may see a photo record naming it and the hub
        holds it; else None (the caller says "not found" either way)."""
        with self._tx(write=False) as cur:
            if not self._seen_by(cur, self._reach(cur, device), [sha]):
                return None
            cur.execute(self._q("SELECT data FROM hub_blobs WHERE sha256 = ?"), (sha,))
            row = cur.fetchone()
        return None if row is None else bytes(row[0])

    def _forget_photos(self, cur: Any, photo_ids: list[str]) -> None:
        """The pictures of erased photos go, with what names them (kiosk/hub/forget.py)."""
        for i in range(0, len(photo_ids), 500):
            chunk = photo_ids[i : i + 500]
            marks = ",".join("?" * len(chunk))
            cur.execute(
                self._q(f"SELECT DISTINCT sha256 FROM hub_photo_refs WHERE photo_id IN ({marks})"),
                chunk,
            )
            hashes = [r[0] for r in cur.fetchall()]
            cur.execute(self._q(f"DELETE FROM hub_photo_refs WHERE photo_id IN ({marks})"), chunk)
            for sha in hashes:
                cur.execute(self._q("DELETE FROM hub_blobs WHERE sha256 = ?"), (sha,))
                cur.execute(self._q("DELETE FROM hub_blob_parts WHERE sha256 = ?"), (sha,))
