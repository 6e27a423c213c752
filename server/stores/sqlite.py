"""The embedded default store: one SQLite file, WAL mode, every call on one worker thread.

Appends from all documents in a flush go in one transaction, so the write cost is per batch,
not per keystroke.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

from server.errors import StoreError
from server.stores.base import (
    EMPTY,
    DocInfo,
    Revocation,
    StoredDoc,
    StoredVersion,
    TailStats,
    VersionInfo,
)
from server.stores.sqlite_schema import create_schema
from server.stores.sqlite_threads import SQLiteThreads, delete_threads

T = TypeVar("T")


class SQLiteStore(SQLiteThreads):
    def __init__(self, path: str) -> None:
        self.path = path
        self._db: sqlite3.Connection | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tandem-sqlite")

    async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        db = self._db
        if db is None:
            raise StoreError("the SQLite store is not open")

        def call() -> T:
            try:
                return fn(db)
            except sqlite3.Error as exc:
                raise StoreError(f"sqlite ({self.path}): {exc}") from exc

        return await asyncio.get_running_loop().run_in_executor(self._executor, call)

    async def open(self) -> None:
        def connect() -> sqlite3.Connection:
            if self.path != ":memory:":
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
                _create_owner_only(self.path)
            db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            create_schema(db)
            return db

        try:
            self._db = await asyncio.get_running_loop().run_in_executor(self._executor, connect)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open SQLite store {self.path!r}: {exc}") from exc

    async def close(self) -> None:
        if self._db is not None:
            await self._run(lambda db: db.close())
            self._db = None
        self._executor.shutdown(wait=True)

    async def ping(self) -> None:
        await self._run(lambda db: db.execute("SELECT 1").fetchone())

    async def load(self, doc: str) -> StoredDoc:
        def read(db: sqlite3.Connection) -> StoredDoc:
            db.execute("BEGIN")
            try:
                row = db.execute(
                    "SELECT snapshot, generation FROM docs WHERE doc = ?", (doc,)
                ).fetchone()
                if row is None:
                    return EMPTY
                tail = db.execute(
                    "SELECT seq, data FROM updates WHERE doc = ? ORDER BY seq", (doc,)
                ).fetchall()
            finally:
                db.execute("COMMIT")
            return StoredDoc(
                snapshot=row[0],
                updates=[data for _, data in tail],
                generation=row[1],
                tail_end=str(tail[-1][0]) if tail else "",
            )

        return await self._run(read)

    async def append(self, batch: Mapping[str, Sequence[bytes]]) -> dict[str, TailStats]:
        items = [(doc, list(updates)) for doc, updates in batch.items() if updates]

        def write(db: sqlite3.Connection) -> dict[str, TailStats]:
            now = time.time()
            stats: dict[str, TailStats] = {}
            db.execute("BEGIN IMMEDIATE")
            try:
                for doc, updates in items:
                    db.executemany(
                        "INSERT INTO updates (doc, data) VALUES (?, ?)",
                        [(doc, update) for update in updates],
                    )
                    size = sum(len(u) for u in updates)
                    row = db.execute(
                        "INSERT INTO docs (doc, created_at, updated_at, tail_count, tail_size)"
                        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (doc) DO UPDATE SET"
                        " updated_at = excluded.updated_at,"
                        " tail_count = tail_count + excluded.tail_count,"
                        " tail_size = tail_size + excluded.tail_size"
                        " RETURNING tail_count, tail_size, snapshot_size",
                        (doc, now, now, len(updates), size),
                    ).fetchone()
                    stats[doc] = TailStats(row[0], row[1], row[2])
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
            return stats

        if not items:
            return {}
        return await self._run(write)

    async def compact(self, doc: str, snapshot: bytes, *, generation: int, tail_end: str) -> bool:
        end = int(tail_end) if tail_end else 0

        def write(db: sqlite3.Connection) -> bool:
            db.execute("BEGIN IMMEDIATE")
            try:
                row = db.execute("SELECT generation FROM docs WHERE doc = ?", (doc,)).fetchone()
                if row is None or row[0] != generation:
                    db.execute("ROLLBACK")
                    return False
                db.execute("DELETE FROM updates WHERE doc = ? AND seq <= ?", (doc, end))
                count, size = db.execute(
                    "SELECT count(*), coalesce(sum(length(data)), 0) FROM updates WHERE doc = ?",
                    (doc,),
                ).fetchone()
                db.execute(
                    "UPDATE docs SET snapshot = ?, generation = generation + 1,"
                    " snapshot_size = ?, tail_count = ?, tail_size = ? WHERE doc = ?",
                    (snapshot, len(snapshot), count, size, doc),
                )
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
            return True

        return await self._run(write)

    _INFO = (
        "SELECT doc, created_at, updated_at, snapshot_size + tail_size, tail_count, title FROM docs"
    )

    async def list_docs(self) -> list[DocInfo]:
        rows = await self._run(lambda db: db.execute(self._INFO + " ORDER BY doc").fetchall())
        return [DocInfo(*row) for row in rows]

    async def info(self, doc: str) -> DocInfo | None:
        row = await self._run(
            lambda db: db.execute(self._INFO + " WHERE doc = ?", (doc,)).fetchone()
        )
        return None if row is None else DocInfo(*row)

    async def delete(self, doc: str) -> bool:
        def write(db: sqlite3.Connection) -> bool:
            db.execute("BEGIN IMMEDIATE")
            db.execute("DELETE FROM updates WHERE doc = ?", (doc,))
            deleted = db.execute("DELETE FROM docs WHERE doc = ?", (doc,)).rowcount > 0
            deleted |= db.execute("DELETE FROM versions WHERE doc = ?", (doc,)).rowcount > 0
            db.execute("DELETE FROM checkpoints WHERE doc = ?", (doc,))
            delete_threads(db, doc)
            db.execute(
                "INSERT INTO tombstones (doc, deleted_at) VALUES (?, ?)"
                " ON CONFLICT (doc) DO UPDATE SET deleted_at = excluded.deleted_at",
                (doc, time.time()),
            )
            db.execute("COMMIT")
            return deleted

        return await self._run(write)

    async def deleted_at(self, doc: str) -> float | None:
        row = await self._run(
            lambda db: db.execute(
                "SELECT deleted_at FROM tombstones WHERE doc = ?", (doc,)
            ).fetchone()
        )
        return None if row is None else float(row[0])

    async def undelete(self, doc: str) -> None:
        await self._run(lambda db: db.execute("DELETE FROM tombstones WHERE doc = ?", (doc,)))

    async def set_title(self, doc: str, title: str | None) -> DocInfo:
        def write(db: sqlite3.Connection) -> DocInfo:
            now = time.time()
            row = db.execute(
                "INSERT INTO docs (doc, created_at, updated_at, title) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (doc) DO UPDATE SET title = excluded.title"
                " RETURNING doc, created_at, updated_at, snapshot_size + tail_size, tail_count,"
                " title",
                (doc, now, now, title),
            ).fetchone()
            return DocInfo(*row)

        return await self._run(write)

    # -- history ----------------------------------------------------------------------------

    async def append_version(
        self,
        doc: str,
        info: VersionInfo,
        diff: bytes,
        state_vector: bytes,
        checkpoint: bytes | None = None,
    ) -> bool:
        def write(db: sqlite3.Connection) -> bool:
            db.execute("BEGIN IMMEDIATE")
            try:
                (last,) = db.execute(
                    "SELECT coalesce(max(version), 0) FROM versions WHERE doc = ?", (doc,)
                ).fetchone()
                if last != info.version - 1:
                    db.execute("ROLLBACK")
                    return False
                db.execute(
                    "INSERT INTO versions (doc, version, meta, diff, state_vector)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (doc, info.version, info.dumps(), diff, state_vector),
                )
                if checkpoint is not None:
                    db.execute(
                        "INSERT INTO checkpoints (doc, version, state) VALUES (?, ?, ?)",
                        (doc, info.version, checkpoint),
                    )
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
            return True

        return await self._run(write)

    async def name_version(self, doc: str, info: VersionInfo, label: str) -> VersionInfo | None:
        named = replace(info, label=label)

        def write(db: sqlite3.Connection) -> bool:  # one statement: compare, then set
            cursor = db.execute(
                "UPDATE versions SET meta = ? WHERE doc = ? AND version = ? AND meta = ?"
                " AND version = (SELECT max(version) FROM versions WHERE doc = ?)",
                (named.dumps(), doc, info.version, info.dumps(), doc),
            )
            return cursor.rowcount == 1

        return named if await self._run(write) else None

    async def list_versions(self, doc: str) -> list[VersionInfo]:
        rows = await self._run(
            lambda db: db.execute(
                "SELECT meta FROM versions WHERE doc = ? ORDER BY version", (doc,)
            ).fetchall()
        )
        return [VersionInfo.loads(meta) for (meta,) in rows]

    async def last_version(self, doc: str) -> StoredVersion | None:
        row = await self._run(
            lambda db: db.execute(
                "SELECT meta, state_vector FROM versions WHERE doc = ?"
                " ORDER BY version DESC LIMIT 1",
                (doc,),
            ).fetchone()
        )
        return None if row is None else StoredVersion(VersionInfo.loads(row[0]), row[1])

    async def version_diffs(self, doc: str, first: int, last: int) -> list[bytes]:
        rows = await self._run(
            lambda db: db.execute(
                "SELECT diff FROM versions WHERE doc = ? AND version BETWEEN ? AND ?"
                " ORDER BY version",
                (doc, first, last),
            ).fetchall()
        )
        return [diff for (diff,) in rows]

    async def checkpoint(self, doc: str, at_most: int) -> tuple[int, bytes] | None:
        row = await self._run(
            lambda db: db.execute(
                "SELECT version, state FROM checkpoints WHERE doc = ? AND version <= ?"
                " ORDER BY version DESC LIMIT 1",
                (doc, at_most),
            ).fetchone()
        )
        return None if row is None else (int(row[0]), bytes(row[1]))

    # -- revocations ------------------------------------------------------------------------

    async def revoke(self, revocation: Revocation) -> Revocation:
        row = await self._run(
            lambda db: db.execute(
                "INSERT INTO revocations (user_id, issued_before, keep_until) VALUES (?, ?, ?)"
                " ON CONFLICT (user_id) DO UPDATE SET"
                " issued_before = max(issued_before, excluded.issued_before),"
                " keep_until = max(keep_until, excluded.keep_until)"
                " RETURNING issued_before, keep_until",
                (revocation.user, revocation.before, revocation.until),
            ).fetchall()[0]
        )
        return Revocation(revocation.user, float(row[0]), float(row[1]))

    async def revocations(self, now: float) -> list[Revocation]:
        def read(db: sqlite3.Connection) -> list[Any]:
            db.execute("DELETE FROM revocations WHERE keep_until <= ?", (now,))
            return db.execute(
                "SELECT user_id, issued_before, keep_until FROM revocations ORDER BY user_id"
            ).fetchall()

        return [Revocation(user, float(b), float(u)) for user, b, u in await self._run(read)]


def _create_owner_only(path: str) -> None:
    """Create the database file 0600 if it is new: documents are nobody else's business on
    this machine, and SQLite gives the -wal and -shm files it creates the same mode."""
    with contextlib.suppress(FileExistsError):  # an existing file keeps the mode it has
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
