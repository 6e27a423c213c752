"""Comment threads in the Redis store (server/stores/redis.py): the hash `tandem:{doc}:comments`
(thread id -> thread JSON), under the document's hash tag. A change is optimistic: read the
thread, compute the new one, and set it only if the stored JSON is still what was read (one
short script, so it works on a Redis Cluster too); otherwise read again."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from server.errors import StoreError
from server.ops.redisconn import RedisClient, doc_key
from server.stores.threads import Thread

# KEYS comments; ARGV id, JSON read, new JSON
COMPARE_AND_SET = """
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
return 1
"""
ATTEMPTS = 50


def threads_key(doc: str) -> str:
    return doc_key(doc, "comments")


class RedisThreads:
    """The Store protocol's comment threads, for RedisStore (which provides these two)."""

    _call: Callable[[str, Callable[[RedisClient], Awaitable[Any]]], Awaitable[Any]]
    _script: Callable[[str, Sequence[str], Sequence[Any]], Awaitable[Any]]

    async def add_thread(self, doc: str, thread: Thread) -> None:
        key, data = threads_key(doc), thread.dumps()
        await self._call("add_thread", lambda client: client.hset(key, thread.id, data))  # type: ignore[arg-type]

    async def threads(self, doc: str) -> list[Thread]:
        key = threads_key(doc)
        raw = await self._call("threads", lambda client: client.hvals(key))  # type: ignore[arg-type]
        return sorted((Thread.loads(v) for v in raw), key=lambda t: (t.created, t.id))

    async def thread(self, doc: str, thread: str) -> Thread | None:
        key = threads_key(doc)
        raw = await self._call("thread", lambda client: client.hget(key, thread))  # type: ignore[arg-type]
        return None if raw is None else Thread.loads(raw)

    async def change_thread(
        self, doc: str, thread: str, change: Callable[[Thread], Thread]
    ) -> Thread | None:
        key = threads_key(doc)
        for _ in range(ATTEMPTS):
            raw = await self._call("thread", lambda client: client.hget(key, thread))  # type: ignore[arg-type]
            if raw is None:
                return None
            changed = change(Thread.loads(raw))
            if await self._script("change_thread", [key], [thread, raw, changed.dumps()]):
                return changed
        raise StoreError(f"thread {thread!r} of {doc!r} kept changing: try again")

    async def delete_thread(self, doc: str, thread: str) -> bool:
        key = threads_key(doc)
        removed = await self._call("delete_thread", lambda client: client.hdel(key, thread))  # type: ignore[arg-type]
        return bool(removed)
