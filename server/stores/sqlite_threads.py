"""Comment threads in the SQLite store (server/stores/sqlite.py): one row per thread, its JSON;
a change reads and rewrites the row in one write transaction on the store's worker thread."""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable
from typing import Any

from server.stores.threads import Thread


def delete_threads(db: sqlite3.Connection, doc: str) -> None:
    """Inside the document's delete transaction."""
    db.execute("DELETE FROM comment_threads WHERE doc = ?", (doc,))


class SQLiteThreads:
    """The Store protocol's comment threads, for SQLiteStore (which provides `_run`)."""

    _run: Callable[[Callable[[sqlite3.Connection], Any]], Awaitable[Any]]

    async def add_thread(self, doc: str, thread: Thread) -> None:
        await self._run(
            lambda db: db.execute(
                "INSERT INTO comment_threads (doc, id, created, data) VALUES (?, ?, ?, ?)",
                (doc, thread.id, thread.created, thread.dumps()),
            )
        )

    async def threads(self, doc: str) -> list[Thread]:
        rows = await self._run(
            lambda db: db.execute(
                "SELECT data FROM comment_threads WHERE doc = ? ORDER BY created, id", (doc,)
            ).fetchall()
        )
        return [Thread.loads(row[0]) for row in rows]

    async def thread(self, doc: str, thread: str) -> Thread | None:
        row = await self._run(
            lambda db: db.execute(
                "SELECT data FROM comment_threads WHERE doc = ? AND id = ?", (doc, thread)
            ).fetchone()
        )
        return None if row is None else Thread.loads(row[0])

    async def change_thread(
        self, doc: str, thread: str, change: Callable[[Thread], Thread]
    ) -> Thread | None:
        def write(db: sqlite3.Connection) -> Thread | None:
            db.execute("BEGIN IMMEDIATE")
            try:
                row = db.execute(
                    "SELECT data FROM comment_threads WHERE doc = ? AND id = ?", (doc, thread)
                ).fetchone()
                if row is None:
                    db.execute("ROLLBACK")
                    return None
                changed = change(Thread.loads(row[0]))
                db.execute(
                    "UPDATE comment_threads SET data = ? WHERE doc = ? AND id = ?",
                    (changed.dumps(), doc, thread),
                )
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
            return changed

        result: Thread | None = await self._run(write)
        return result

    async def delete_thread(self, doc: str, thread: str) -> bool:
        deleted: bool = await self._run(
            lambda db: (
                db.execute(
                    "DELETE FROM comment_threads WHERE doc = ? AND id = ?", (doc, thread)
                ).rowcount
                > 0
            )
        )
        return deleted
