"""The Redis store: for several hub instances sharing one Redis (a single server or a Cluster).

The keys and the Lua scripts (one per operation, so each is atomic) are in
server/stores/redis_scripts.py; compaction checks the generation inside its script, so an
append that lands between the compactor's read and its write is kept, never lost.

`tail_end` is the number of tail entries a load saw: with the generation unchanged, those are
still the first entries of the list, because appends only ever add at the end.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any, TypeVar

from redis.asyncio import Redis
from redis.exceptions import RedisError

from server.errors import StoreError
from server.ops.redisconn import (
    INDEX_KEY,
    REVOCATIONS_KEY,
    RedisClient,
    close_quietly,
    connect,
    safe_url,
)
from server.stores.base import (
    EMPTY,
    DocInfo,
    Revocation,
    StoredDoc,
    StoredVersion,
    TailStats,
    VersionInfo,
)
from server.stores.redis_scripts import SCRIPTS, doc_keys, history_keys, tombstone_key
from server.stores.redis_threads import COMPARE_AND_SET, RedisThreads, threads_key

T = TypeVar("T")

log = logging.getLogger("tandem.store.redis")


def _revocation(user: bytes | str, value: bytes | str) -> Revocation:
    name = user.decode() if isinstance(user, bytes) else user
    before, keep = (value.decode() if isinstance(value, bytes) else value).split()
    return Revocation(name, float(before), float(keep))


def _doc_info(doc: str, raw: Sequence[Any]) -> DocInfo:
    """DocInfo from the info script's reply: created, updated, sizes, tail count, title."""
    created, updated, snapshot_size, tail_size, count, *title = raw
    name = title[0] if title else None
    return DocInfo(
        doc,
        float(created),
        float(updated),
        int(snapshot_size) + int(tail_size),
        int(count),
        name.decode() if isinstance(name, bytes) else name,
    )


class RedisStore(RedisThreads):
    def __init__(self, url: str) -> None:
        self.url = url
        self._client: RedisClient | None = None
        self._scripts: dict[str, Any] = {}

    def __repr__(self) -> str:
        return f"<RedisStore {safe_url(self.url)}>"

    @property
    def is_cluster(self) -> bool:
        return self._client is not None and not isinstance(self._client, Redis)

    async def _call(self, what: str, fn: Callable[[RedisClient], Awaitable[T]]) -> T:
        """Run one operation, translating Redis errors into StoreError at this boundary."""
        client = self._client
        if client is None:
            client = await self._connect()
        try:
            return await fn(client)
        except (RedisError, OSError) as exc:
            raise StoreError(f"redis {what} ({safe_url(self.url)}): {exc}") from exc

    async def _connect(self) -> RedisClient:
        try:
            client = await connect(self.url)
        except (RedisError, OSError) as exc:
            raise StoreError(f"cannot reach Redis at {safe_url(self.url)}: {exc}") from exc
        self._client = client
        scripts = {**SCRIPTS, "change_thread": COMPARE_AND_SET}
        self._scripts = {name: client.register_script(body) for name, body in scripts.items()}
        return client

    async def _script(self, name: str, keys: Sequence[str], args: Sequence[Any] = ()) -> Any:
        async def run(client: RedisClient) -> Any:
            return await self._scripts[name](keys=list(keys), args=list(args))

        return await self._call(name, run)

    # -- the Store protocol -----------------------------------------------------------------

    async def open(self) -> None:
        """Connect now if Redis is there; if not, the first call connects (the hub keeps up)."""
        try:
            await self._connect()
        except StoreError as exc:
            log.warning("event=store_unreachable error=%s", exc)

    async def close(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            await close_quietly(client)

    async def ping(self) -> None:
        await self._call("ping", lambda client: client.ping())  # type: ignore[arg-type]

    async def load(self, doc: str) -> StoredDoc:
        meta, tail_key, snapshot_key = doc_keys(doc)
        raw = await self._script("load", [meta, snapshot_key, tail_key])
        if raw is None:
            return EMPTY
        snapshot, generation, tail, has_snapshot = raw
        return StoredDoc(
            snapshot=bytes(snapshot) if has_snapshot else None,
            updates=[bytes(u) for u in tail],
            generation=int(generation),
            tail_end=str(len(tail)) if tail else "",
        )

    async def append(self, batch: Mapping[str, Sequence[bytes]]) -> dict[str, TailStats]:
        items = [(doc, list(updates)) for doc, updates in batch.items() if updates]
        if not items:
            return {}
        now = repr(time.time())

        async def write(client: RedisClient) -> list[Any]:
            await client.sadd(INDEX_KEY, *(doc for doc, _ in items))  # type: ignore[misc]
            script = self._scripts["append"]
            if isinstance(client, Redis):
                # One MULTI/EXEC: every document of the batch lands, or none does.
                async with client.pipeline(transaction=True) as pipe:
                    for doc, updates in items:
                        tail_keys = list(doc_keys(doc)[:2])
                        await script(keys=tail_keys, args=[now, *updates], client=pipe)
                    return list(await pipe.execute())
            # A cluster has no transaction across shards: each document's append is atomic, and
            # a batch retried after a partial failure only repeats updates (Yjs ignores those).
            return list(
                await asyncio.gather(
                    *(script(keys=list(doc_keys(doc)[:2]), args=[now, *u]) for doc, u in items)
                )
            )

        results = await self._call("append", write)
        return {
            doc: TailStats(int(count), int(size), int(snapshot))
            for (doc, _), (count, size, snapshot) in zip(items, results, strict=True)
        }

    async def compact(self, doc: str, snapshot: bytes, *, generation: int, tail_end: str) -> bool:
        folded = int(tail_end) if tail_end else 0
        done = await self._script("compact", doc_keys(doc), [str(generation), folded, snapshot])
        return bool(done)

    async def list_docs(self) -> list[DocInfo]:
        async def ids(client: RedisClient) -> list[str]:
            members = await client.smembers(INDEX_KEY)  # type: ignore[misc]
            return sorted(m.decode() if isinstance(m, bytes) else str(m) for m in members)

        docs = await self._call("list", ids)
        infos = await asyncio.gather(*(self.info(doc) for doc in docs))
        return [info for info in infos if info is not None]

    async def info(self, doc: str) -> DocInfo | None:
        raw = await self._script("info", doc_keys(doc)[:2])
        return None if raw is None else _doc_info(doc, raw)

    async def set_title(self, doc: str, title: str | None) -> DocInfo:
        # The index first, as append does: a record is never left out of the listing.
        await self._call("index", lambda client: client.sadd(INDEX_KEY, doc))  # type: ignore[arg-type]
        raw = await self._script("set_title", doc_keys(doc)[:2], [repr(time.time()), title or ""])
        return _doc_info(doc, raw)

    async def delete(self, doc: str) -> bool:
        """The live state, the history and the threads; the tombstone is set in the same
        script (one hash tag: one slot)."""
        meta, tail, snapshot = doc_keys(doc)
        keys = [tombstone_key(doc), meta, tail, snapshot, *history_keys(doc), threads_key(doc)]
        existed = await self._script("delete", keys, [repr(time.time())])
        await self._call("delete", lambda client: client.srem(INDEX_KEY, doc))  # type: ignore[arg-type]
        return bool(existed)

    async def deleted_at(self, doc: str) -> float | None:
        key = tombstone_key(doc)
        raw = await self._call("deleted_at", lambda client: client.get(key))
        return None if raw is None else float(raw)

    async def undelete(self, doc: str) -> None:
        key = tombstone_key(doc)
        await self._call("undelete", lambda client: client.delete(key))

    # -- history ----------------------------------------------------------------------------

    async def append_version(
        self,
        doc: str,
        info: VersionInfo,
        diff: bytes,
        state_vector: bytes,
        checkpoint: bytes | None = None,
    ) -> bool:
        args: list[Any] = [info.version, info.dumps(), diff, state_vector]
        if checkpoint is not None:
            args.append(checkpoint)
        return bool(await self._script("append_version", history_keys(doc), args))

    async def name_version(self, doc: str, info: VersionInfo, label: str) -> VersionInfo | None:
        named = replace(info, label=label)
        meta = history_keys(doc)[0]
        args = [info.version, info.dumps(), named.dumps()]
        return named if await self._script("name_version", [meta], args) else None

    async def list_versions(self, doc: str) -> list[VersionInfo]:
        key = history_keys(doc)[0]
        raw = await self._call("versions", lambda client: client.lrange(key, 0, -1))  # type: ignore[arg-type]
        return [VersionInfo.loads(meta) for meta in raw]

    async def last_version(self, doc: str) -> StoredVersion | None:
        meta, _, sv, _, _ = history_keys(doc)
        raw = await self._script("last_version", [meta, sv])
        if raw is None:
            return None
        return StoredVersion(VersionInfo.loads(raw[0]), bytes(raw[1]))

    async def version_diffs(self, doc: str, first: int, last: int) -> list[bytes]:
        first = max(first, 1)
        if last < first:
            return []
        key = history_keys(doc)[1]
        raw = await self._call(
            "versions",
            lambda client: client.lrange(key, first - 1, last - 1),  # type: ignore[arg-type]
        )
        return [diff if isinstance(diff, bytes) else diff.encode() for diff in raw]

    async def checkpoint(self, doc: str, at_most: int) -> tuple[int, bytes] | None:
        _, _, _, cp, cpi = history_keys(doc)
        raw = await self._script("checkpoint", [cp, cpi], [at_most])
        return None if raw is None else (int(raw[0]), bytes(raw[1]))

    # -- revocations ------------------------------------------------------------------------

    async def revoke(self, revocation: Revocation) -> Revocation:
        args = [revocation.user, repr(revocation.before), repr(revocation.until)]
        value = await self._script("revoke", [REVOCATIONS_KEY], args)
        return _revocation(revocation.user, value)

    async def revocations(self, now: float) -> list[Revocation]:
        raw = await self._script("revocations", [REVOCATIONS_KEY], [repr(now)])
        pairs = sorted(zip(raw[::2], raw[1::2], strict=True))
        return [_revocation(user, value) for user, value in pairs]
