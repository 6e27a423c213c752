"""Deletion tombstones in every Store (server/stores/base.py): `delete` leaves the time of
deletion, kept across a restart and in the document's hash tag, until `undelete` (an intentional
creation) frees the name again."""

from __future__ import annotations

import time

from server.stores import Store, open_store


async def test_a_document_never_deleted_has_no_tombstone(store: Store) -> None:
    await store.append({"t-never": [b"\x00\x00"]})
    assert await store.deleted_at("t-never") is None


async def test_delete_records_the_time_of_deletion(store: Store) -> None:
    await store.append({"t-del": [b"\x00\x00"]})
    before = time.time()
    assert await store.delete("t-del")
    at = await store.deleted_at("t-del")
    assert at is not None and before - 1 <= at <= time.time() + 1
    assert await store.info("t-del") is None
    assert "t-del" not in [d.doc for d in await store.list_docs()]


async def test_deleting_an_absent_document_still_leaves_a_tombstone(store: Store) -> None:
    assert not await store.delete("t-absent")
    assert await store.deleted_at("t-absent") is not None


async def test_undelete_frees_the_name(store: Store) -> None:
    await store.append({"t-again": [b"\x00\x00"]})
    await store.delete("t-again")
    await store.undelete("t-again")
    assert await store.deleted_at("t-again") is None
    await store.undelete("t-again")  # nothing to remove: no error
    await store.append({"t-again": [b"\x00\x00"]})
    assert await store.info("t-again") is not None


async def test_tombstones_are_per_document(store: Store) -> None:
    await store.delete("t-one")
    assert await store.deleted_at("t-one") is not None
    assert await store.deleted_at("t-two") is None


async def test_a_tombstone_survives_a_restart(lasting_url: str) -> None:
    first = open_store(lasting_url)
    await first.open()
    await first.append({"t-kept": [b"\x00\x00"]})
    await first.delete("t-kept")
    await first.close()
    second = open_store(lasting_url)
    await second.open()
    try:
        assert await second.deleted_at("t-kept") is not None
    finally:
        await second.close()
