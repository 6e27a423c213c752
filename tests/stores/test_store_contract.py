"""Behaviour every Store must have (server/stores/base.py): snapshot + tail, atomic optimistic
compaction."""

from __future__ import annotations

import asyncio

from pycrdt import Text

from crdt.document import Document, merge_into_snapshot
from server.core.persistence import compact
from server.stores import Store


def _updates(n: int, start: int = 0) -> list[bytes]:
    """n real Yjs updates, each appending one paragraph-like text chunk."""
    doc = Document()
    out: list[bytes] = []
    text = doc.ydoc.get("notes", type=Text)
    for i in range(start, start + n):
        before = doc.state_vector()
        text += f"[{i}]"
        out.append(doc.diff(before))
    return out


async def test_unknown_document_loads_empty(store: Store) -> None:
    stored = await store.load("nobody")
    assert stored.empty and stored.updates == [] and stored.snapshot is None
    assert await store.info("nobody") is None


async def test_appended_updates_load_back_in_order(store: Store) -> None:
    updates = _updates(5)
    stats = await store.append({"a": updates[:2], "b": updates[:1]})
    assert stats["a"].count == 2 and stats["b"].count == 1
    await store.append({"a": updates[2:]})
    stored = await store.load("a")
    assert stored.updates == updates
    assert stored.tail_end != ""


async def test_listing_and_info(store: Store) -> None:
    await store.append({"x": _updates(2), "y": _updates(1)})
    docs = {info.doc: info for info in await store.list_docs()}
    assert set(docs) == {"x", "y"}
    assert docs["x"].tail_count == 2 and docs["x"].size > 0
    info = await store.info("y")
    assert info is not None and info.updated_at >= info.created_at


async def test_compaction_folds_the_tail_into_the_snapshot(store: Store) -> None:
    updates = _updates(10)
    await store.append({"doc": updates})
    assert await compact(store, "doc")
    stored = await store.load("doc")
    assert stored.updates == [] and stored.snapshot is not None
    assert Document.load(stored.snapshot, []).encode() == Document.load(None, updates).encode()


async def test_an_append_during_compaction_is_kept(store: Store) -> None:
    first = _updates(6)
    await store.append({"doc": first[:5]})
    stored = await store.load("doc")
    later = first[5:]
    await store.append({"doc": later})  # lands between the read and the compaction
    snapshot = merge_into_snapshot(stored.snapshot, stored.updates)
    assert await store.compact(
        "doc", snapshot, generation=stored.generation, tail_end=stored.tail_end
    )
    after = await store.load("doc")
    assert after.updates == later
    assert (
        Document.load(after.snapshot, after.updates).encode() == Document.load(None, first).encode()
    )


async def test_a_stale_compaction_is_refused(store: Store) -> None:
    updates = _updates(4)
    await store.append({"doc": updates[:2]})
    stale = await store.load("doc")
    await store.append({"doc": updates[2:]})
    assert await compact(store, "doc")  # someone else compacted everything first
    snapshot = merge_into_snapshot(stale.snapshot, stale.updates)
    assert not await store.compact(
        "doc", snapshot, generation=stale.generation, tail_end=stale.tail_end
    )
    after = await store.load("doc")
    assert (
        Document.load(after.snapshot, after.updates).encode()
        == Document.load(None, updates).encode()
    )


async def test_concurrent_appends_all_land(store: Store) -> None:
    updates = _updates(50)
    await asyncio.gather(*(store.append({"doc": [u]}) for u in updates))
    assert sorted((await store.load("doc")).updates) == sorted(updates)


async def test_delete_removes_everything(store: Store) -> None:
    await store.append({"gone": _updates(3)})
    assert await store.delete("gone")
    assert (await store.load("gone")).empty
    assert not await store.delete("gone")
    assert "gone" not in {i.doc for i in await store.list_docs()}


async def test_ping(store: Store) -> None:
    await store.ping()
