"""Pictures on the hub: photos' bytes, named by their SHA-256, apart from the operation log.

A picture is taken only when a photo record the hub holds names it and lies in the sending
device's reach, and given only to a device that may see such a record (the reach of
:mod:`kiosk.hub.scope`, as for the records themselves): the hub is nobody's file store, and
a laptop of another grid cannot fetch a picture by guessing its name (it is told "not
found", as for a name nobody uses). A picture arrives in chunks, each appended at the
offset the hub holds (a dropped connection resumes where it stopped); once whole it is
checked against its name and kept, else thrown away. Both stores keep the bytes in their
own way: PostgreSQL in ``hub_blobs.data`` (``bytea``), written in the transaction that
records it; the SQLite hub as files beside its database (:class:`PictureFiles`), each written
and flushed to disk before the row that names it commits, deleted only once the erasure that
drops the row has committed: SQLite's write-ahead log would write every picture twice
(the log, then the database), which made storing 500 pictures take 1.4 s instead of 0.5 s.

SQL is written with ``?`` placeholders (the store adapts them) and runs in the store's own
transactions.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from kiosk.hub.scope import Reach
from kiosk.sync.protocol import MAX_BLOB, Op

#: the tables, as each store creates them (the blob column's type differs)
TABLES = {
    "refs": (
        "CREATE TABLE IF NOT EXISTS hub_photo_refs ("
        " sha256 TEXT NOT NULL, photo_id TEXT NOT NULL, entity TEXT NOT NULL DEFAULT 'photo',"
        " PRIMARY KEY (sha256, photo_id))"
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
    # what a device's last up bundle said of pictures (kiosk/hub/bundle.py): ``carried``,
    # the pictures it brought (its next down bundle says which the hub holds), ``lacks``,
    # those its records name and it lacks (its next down bundle brings them)
    "bundles": (
        "CREATE TABLE IF NOT EXISTS hub_bundle_pictures ("
        " device_id TEXT NOT NULL, kind TEXT NOT NULL, sha256 TEXT NOT NULL,"
        " PRIMARY KEY (device_id, kind, sha256))"
    ),
}


#: Columns added since the tables were first created: (table, column, definition). A hub made
#: before feedback photos knew only case photos (``photo``).
ADDED_COLUMNS = (("hub_photo_refs", "entity", "TEXT NOT NULL DEFAULT 'photo'"),)

#: The records that name a picture: a case's photo, a feedback item's photo. Each belongs to
#: its owner's grid (``hub_scope``), which decides who may send and fetch the picture.
PHOTO_ENTITIES = ("photo", "feedback_photo")


def schema(blob_type: str) -> list[str]:
    return [sql.format(blob=blob_type) for sql in TABLES.values()]


def photo_refs(ops: list[Op]) -> list[tuple[str, str, str]]:
    """(picture, photo id, entity) for each photo record among ``ops`` that names a picture."""
    out = []
    for op in ops:
        if op.entity in PHOTO_ENTITIES and op.kind == "insert":
            sha = op.payload.get("sha256")
            if isinstance(sha, str) and len(sha) == 64:
                out.append((sha, op.entity_id, op.entity))
    return out


class BlobError(Exception):
    """A chunk refused: ``code`` (the hub's error vocabulary) and its parameters."""

    def __init__(self, status: int, code: str, **params: Any) -> None:
        super().__init__(code)
        self.status, self.code, self.params = status, code, params


class BlobStoreMixin:
    """Pictures for :class:`~kiosk.hub.store.base.SqlHubStore` (which gives ``_tx``, ``_q``
    and ``_reach``). Where the bytes live is the store's: these three methods keep them in
    ``hub_blobs.data`` (PostgreSQL); the SQLite hub overrides them with files."""

    _tx: Any
    _q: Any
    _reach: Any

    def _keep_bytes(self, cur: Any, rows: list[tuple[str, bytes, int, str]]) -> None:
        if not rows:
            return
        cur.executemany(
            self._q(
                "INSERT INTO hub_blobs(sha256, data, bytes, stored_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT DO NOTHING"
            ),
            rows,
        )

    def _read_bytes(self, cur: Any, sha: str) -> bytes | None:
        cur.execute(self._q("SELECT data FROM hub_blobs WHERE sha256 = ?"), (sha,))
        row = cur.fetchone()
        return None if row is None else bytes(row[0])

    def _drop_bytes(self, cur: Any, sha: str) -> None:
        cur.execute(self._q("DELETE FROM hub_blobs WHERE sha256 = ?"), (sha,))

    def _note_photos(self, cur: Any, ops: list[Op]) -> None:
        refs = photo_refs(ops)
        if refs:
            cur.executemany(
                self._q(
                    "INSERT INTO hub_photo_refs(sha256, photo_id, entity) VALUES (?, ?, ?)"
                    " ON CONFLICT DO NOTHING"
                ),
                refs,
            )

    def _seen_by(self, cur: Any, reach: Reach, hashes: list[str]) -> set[str]:
        """Those of ``hashes`` named by a photo record (of a case or of feedback) in ``reach``:
        the record's grid as the hub holds it (``hub_scope``, its owner's), matched by entity
        and id, so a record of one kind cannot lend its grid to another's id."""
        out: set[str] = set()
        for i in range(0, len(hashes), 500):
            chunk = hashes[i : i + 500]
            cur.execute(
                self._q(
                    "SELECT r.sha256, s.grid FROM hub_photo_refs r JOIN hub_scope s"
                    " ON s.entity = r.entity AND s.entity_id = r.photo_id"
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
                self._keep_bytes(cur, [(sha, data, len(data), now)])
        if not whole:  # not what its name says: thrown away (committed), sent again from 0
            raise BlobError(422, "blob_mismatch")
        return total, True

    def _stage_bytes(self, pictures: list[tuple[str, bytes]]) -> None:
        """Make pictures durable before the transaction that names them (nothing here:
        PostgreSQL writes them in that transaction)."""

    def put_blobs(
        self, device: Any, pictures: list[tuple[str, bytes]], now: str
    ) -> tuple[list[str], list[str], list[str]]:
        """Whole pictures sent together: (held now, unknown, mismatched). Checked as a
        chunked one is; hashed and staged outside the store's transactions (a disk flush
        per picture must not hold up other devices' requests), then recorded in one, which
        checks again that a record still names each (an erasure may have come between)."""
        names = sorted({sha for sha, _ in pictures})
        with self._tx(write=False) as cur:
            reach = self._reach(cur, device)
            seen = self._seen_by(cur, reach, names)
            held = self._stored_blobs(cur, sorted(seen))
        unknown = [sha for sha, _ in pictures if sha not in seen]
        mismatch: list[str] = []
        fresh: dict[str, bytes] = {}
        for sha, data in pictures:
            if sha in seen and sha not in held and sha not in fresh:
                if len(data) > MAX_BLOB or hashlib.sha256(data).hexdigest() != sha:
                    mismatch.append(sha)
                else:
                    fresh[sha] = data
        self._stage_bytes(list(fresh.items()))
        with self._tx() as cur:
            still = self._seen_by(cur, self._reach(cur, device), sorted(fresh))
            self._keep_bytes(
                cur, [(sha, data, len(data), now) for sha, data in fresh.items() if sha in still]
            )
            for sha in set(fresh) - still:
                self._drop_bytes(cur, sha)  # erased meanwhile: not kept after all
        stored = [sha for sha, _ in pictures if sha in held or sha in still]
        return stored, unknown, mismatch

    def get_blob(self, device: Any, sha: str) -> bytes | None:
        """The picture ``sha`` if ``device`` may see a photo record naming it and the hub
        holds it; else None (the caller says "not found" either way)."""
        with self._tx(write=False) as cur:
            if not self._seen_by(cur, self._reach(cur, device), [sha]):
                return None
            return self._read_bytes(cur, sha)

    # --- offline bundles (kiosk/hub/bundle.py) -----------------------------------------
    def note_bundle_pictures(self, device: Any, carried: list[str], lacks: list[str]) -> None:
        """Remember what ``device``'s up bundle said of pictures; the lists of its last up
        bundle replace those of the one before."""
        rows = [(device.device_id, "carried", sha) for sha in sorted(set(carried))]
        rows += [(device.device_id, "lacks", sha) for sha in sorted(set(lacks))]
        with self._tx() as cur:
            cur.execute(
                self._q("DELETE FROM hub_bundle_pictures WHERE device_id = ?"),
                (device.device_id,),
            )
            if rows:
                cur.executemany(
                    self._q(
                        "INSERT INTO hub_bundle_pictures(device_id, kind, sha256) VALUES (?, ?, ?)"
                    ),
                    rows,
                )

    def bundle_pictures(
        self, device: Any, named: list[str], budget: int, most: int
    ) -> tuple[list[tuple[str, bytes]], int, list[str]]:
        """For ``device``'s down bundle: (pictures, left, held). The pictures named by
        ``named`` (its bundle's photo records) or lacking in its last up bundle that it may
        see (the reach :meth:`get_blob` checks) and the hub holds, in name order, at most
        ``most`` and ``budget`` bytes; how many such were left for a later bundle; which
        pictures its last up bundle carried the hub holds now."""
        with self._tx(write=False) as cur:
            cur.execute(
                self._q("SELECT kind, sha256 FROM hub_bundle_pictures WHERE device_id = ?"),
                (device.device_id,),
            )
            said = cur.fetchall()
        carried = sorted({sha for kind, sha in said if kind == "carried"})
        missing, unknown = self.blobs_wanted(device, carried) if carried else ([], [])
        held = sorted(set(carried) - set(missing) - set(unknown))
        wanted = sorted(set(named) | {sha for kind, sha in said if kind == "lacks"})
        pictures: list[tuple[str, bytes]] = []
        size = left = 0
        with self._tx(write=False) as cur:
            seen = self._seen_by(cur, self._reach(cur, device), wanted)
            for sha, n in self._blob_sizes(cur, sorted(seen)):
                if len(pictures) >= most or size + n > budget:
                    left += 1
                    continue
                data = self._read_bytes(cur, sha)
                if data is not None:
                    pictures.append((sha, data))
                    size += len(data)
        return pictures, left, held

    def _blob_sizes(self, cur: Any, hashes: list[str]) -> list[tuple[str, int]]:
        out: list[tuple[str, int]] = []
        for i in range(0, len(hashes), 500):
            chunk = hashes[i : i + 500]
            cur.execute(
                self._q(
                    "SELECT sha256, bytes FROM hub_blobs"
                    f" WHERE sha256 IN ({','.join('?' * len(chunk))})"
                ),
                chunk,
            )
            out.extend((r[0], int(r[1])) for r in cur.fetchall())
        return sorted(out)

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
                self._drop_bytes(cur, sha)
                cur.execute(self._q("DELETE FROM hub_blob_parts WHERE sha256 = ?"), (sha,))
                cur.execute(self._q("DELETE FROM hub_bundle_pictures WHERE sha256 = ?"), (sha,))


class PictureFiles:
    """The SQLite hub's pictures: ``<hub db>.pictures/<2 hex>/<sha256>``, readable by the
    hub's owner only. A file is complete before its name appears (written under a temporary
    name, flushed to disk, renamed), so a crash leaves at most a stray temporary file."""

    def __init__(self, db_path: Path) -> None:
        self.root = db_path.with_name(db_path.name + ".pictures")

    def path(self, sha: str) -> Path:
        return self.root / sha[:2] / sha

    def write(self, sha: str, data: bytes) -> bool:
        """Write the picture unless it is there; whether it was written."""
        target = self.path(sha)
        if target.exists():
            return False
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(self.root, 0o700)
        tmp = target.with_name(f".{sha}.{os.getpid()}.part")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
        return True

    def sync_dirs(self, hashes: set[str]) -> None:
        """The renames themselves on disk: each directory that got a picture, once."""
        for prefix in {h[:2] for h in hashes}:
            fd = os.open(self.root / prefix, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)

    def read(self, sha: str) -> bytes | None:
        try:
            return self.path(sha).read_bytes()
        except FileNotFoundError:
            return None

    def delete(self, sha: str) -> None:
        self.path(sha).unlink(missing_ok=True)
