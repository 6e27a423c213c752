"""Document titles in every Store (server/stores/base.py): metadata of the live record, set on a
document that has none yet (which creates it, listed while empty), kept across a restart,
deleted with the document."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from server.stores import Store, open_store


async def test_a_document_has_no_title_at_first(store: Store) -> None:
    await store.append({"plain": [b"\x00\x00"]})
    info = await store.info("plain")
    assert info is not None and info.title is None
    assert [i.title for i in await store.list_docs() if i.doc == "plain"] == [None]


async def test_a_title_on_a_new_document_creates_its_record(store: Store) -> None:
    info = await store.set_title("fresh", "Plan for Q3 — ünïcode")
    assert info.doc == "fresh" and info.title == "Plan for Q3 — ünïcode"
    assert info.size == 0 and info.tail_count == 0 and info.updated_at >= info.created_at
    assert await store.info("fresh") == info
    assert {i.doc: i.title for i in await store.list_docs()}["fresh"] == "Plan for Q3 — ünïcode"
    assert (await store.load("fresh")).empty  # an empty document, that loads as one
    await store.append({"fresh": [b"\x00\x00"]})  # and takes its first update as any other
    after = await store.info("fresh")
    assert after is not None and after.title == "Plan for Q3 — ünïcode" and after.tail_count == 1


async def test_renaming_keeps_the_content_and_none_clears(store: Store) -> None:
    await store.append({"notes": [b"\x00\x00", b"\x00\x00"]})
    before = await store.info("notes")
    assert before is not None
    renamed = await store.set_title("notes", "Notes")
    assert renamed.title == "Notes"
    assert (renamed.created_at, renamed.size, renamed.tail_count) == (
        before.created_at,
        before.size,
        before.tail_count,
    )
    assert (await store.set_title("notes", "Other notes")).title == "Other notes"
    cleared = await store.set_title("notes", None)
    assert cleared.title is None
    info = await store.info("notes")
    assert info is not None and info.title is None
    assert len((await store.load("notes")).updates) == 2


async def test_a_title_is_deleted_with_its_document(store: Store) -> None:
    await store.set_title("gone", "Gone soon")
    assert await store.delete("gone")
    assert await store.info("gone") is None
    assert "gone" not in {i.doc for i in await store.list_docs()}
    await store.append({"gone": [b"\x00\x00"]})  # a new document by that name has no title
    info = await store.info("gone")
    assert info is not None and info.title is None


async def test_a_title_survives_a_restart(lasting_url: str) -> None:
    first = open_store(lasting_url)
    await first.open()
    await first.set_title("kept", "Kept across restarts")
    await first.close()
    second = open_store(lasting_url)
    await second.open()
    try:
        info = await second.info("kept")
        assert info is not None and info.title == "Kept across restarts"
    finally:
        await second.close()


async def test_a_sqlite_database_from_before_titles_gets_them(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    old = sqlite3.connect(path)
    old.executescript(
        "CREATE TABLE docs (doc TEXT PRIMARY KEY, created_at REAL NOT NULL,"
        " updated_at REAL NOT NULL, snapshot BLOB, generation INTEGER NOT NULL DEFAULT 0,"
        " snapshot_size INTEGER NOT NULL DEFAULT 0, tail_count INTEGER NOT NULL DEFAULT 0,"
        " tail_size INTEGER NOT NULL DEFAULT 0);"
        "INSERT INTO docs (doc, created_at, updated_at, snapshot_size) VALUES ('old', 1, 2, 7);"
    )
    old.close()
    store = open_store(f"sqlite:///{path}")
    await store.open()
    try:
        info = await store.info("old")
        assert info is not None and (info.title, info.size, info.updated_at) == (None, 7, 2.0)
        assert (await store.set_title("old", "Old notes")).title == "Old notes"
    finally:
        await store.close()
