"""Comment threads (Store.add_thread … delete_thread) on every store: kept as given, oldest
first, changed atomically (concurrent replies all land), gone with their document."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from server.stores import Author, Reply, Store, Thread

ANA = Author("ana", "Ana Ünïcode")
BEN = Author("ben", "Ben")


def _thread(thread: str, created: float, body: str = "Is this right? 🤔\nSecond line") -> Thread:
    return Thread(id=thread, author=ANA, body=body, created=created, quote="the quick «fox»")


async def test_threads_are_kept_as_given_oldest_first(store: Store) -> None:
    assert await store.threads("doc") == []
    await store.add_thread("doc", _thread("b", 20.5))
    await store.add_thread("doc", _thread("a", 10.25))
    await store.add_thread("other", _thread("c", 5.0))
    listed = await store.threads("doc")
    assert [t.id for t in listed] == ["a", "b"]
    assert listed[0] == _thread("a", 10.25)
    assert await store.thread("doc", "b") == _thread("b", 20.5)
    assert await store.thread("doc", "c") is None
    assert await store.thread("nothing", "a") is None


async def test_a_change_replaces_the_thread(store: Store) -> None:
    await store.add_thread("doc", _thread("a", 1.0))
    reply = Reply("r1", BEN, "Yes.", 2.0)

    def answer(thread: Thread) -> Thread:
        return replace(thread, replies=(*thread.replies, reply), resolved=True)

    changed = await store.change_thread("doc", "a", answer)
    assert changed is not None and changed.replies == (reply,) and changed.resolved
    assert await store.thread("doc", "a") == changed
    assert await store.change_thread("doc", "missing", answer) is None


async def test_a_failing_change_changes_nothing(store: Store) -> None:
    await store.add_thread("doc", _thread("a", 1.0))

    def refuse(thread: Thread) -> Thread:
        raise PermissionError("not yours")

    with pytest.raises(PermissionError):
        await store.change_thread("doc", "a", refuse)
    assert await store.thread("doc", "a") == _thread("a", 1.0)


async def test_concurrent_replies_all_land(store: Store) -> None:
    await store.add_thread("doc", _thread("a", 1.0))

    async def reply(n: int) -> None:
        def add(thread: Thread) -> Thread:
            return replace(thread, replies=(*thread.replies, Reply(f"r{n}", BEN, str(n), n)))

        await store.change_thread("doc", "a", add)

    await asyncio.gather(*(reply(n) for n in range(12)))
    thread = await store.thread("doc", "a")
    assert thread is not None and sorted(r.id for r in thread.replies) == sorted(
        f"r{n}" for n in range(12)
    )


async def test_deleting_a_thread_or_its_document(store: Store) -> None:
    await store.append({"doc": [b"\x00\x00"]})
    await store.add_thread("doc", _thread("a", 1.0))
    await store.add_thread("doc", _thread("b", 2.0))
    await store.add_thread("kept", _thread("c", 3.0))
    assert await store.delete_thread("doc", "a")
    assert not await store.delete_thread("doc", "a")
    assert [t.id for t in await store.threads("doc")] == ["b"]
    await store.delete("doc")
    assert await store.threads("doc") == []
    assert [t.id for t in await store.threads("kept")] == ["c"]
