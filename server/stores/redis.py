"""The Redis store: for several hub instances sharing one Redis (a single server or a Cluster).

Per document, all under one hash tag (see `server.ops.redisconn.doc_key`):
- `tandem:{doc}:snapshot`  the compacted snapshot (a Yjs update), absent until a compaction;
- `tandem:{doc}:tail`      a list of updates appended since, oldest first;
- `tandem:{doc}:meta`      a hash: created_at, updated_at, generation, snapshot_size, tail_size.
History (versions) is kept apart, so compaction never touches it:
- `tandem:{doc}:v:meta`, `:v:diff`, `:v:sv`  lists, entry n-1 is version n (metadata JSON, the
  update from version n-1, the state vector at n);
- `tandem:{doc}:v:cp` (hash version -> full state) and `:v:cpi` (sorted set of those versions).
`tandem:docs` is the set of document ids; `tandem:revocations` a hash of revoked users (user ->
"issued_before keep_until"). Every read and write of a document is one Lua script,
so it is atomic; compaction checks the generation inside its script, so an append that lands
between the compactor's read and its write is kept, never lost.

`tail_end` is the number of tail entries a load saw: with the generation unchanged, those are
still the first entries of the list, because appends only ever add at the end.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
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
    doc_key,
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

T = TypeVar("T")

log = logging.getLogger("tandem.store.redis")

_LOAD = """
local meta = redis.call('HGET', KEYS[1], 'generation')
if not meta then return false end
return {redis.call('GET', KEYS[2]) or '', meta, redis.call('LRANGE', KEYS[3], 0, -1),
        redis.call('EXISTS', KEYS[2])}
"""

# KEYS meta, tail; ARGV now, update...
_APPEND = """
local size = 0
for i = 2, #ARGV, 1000 do
  local last = math.min(i + 999, #ARGV)
  for j = i, last do size = size + string.len(ARGV[j]) end
  redis.call('RPUSH', KEYS[2], unpack(ARGV, i, last))
end
if redis.call('HSETNX', KEYS[1], 'created_at', ARGV[1]) == 1 then
  redis.call('HSET', KEYS[1], 'generation', 0, 'snapshot_size', 0, 'tail_size', 0)
end
redis.call('HSET', KEYS[1], 'updated_at', ARGV[1])
local total = redis.call('HINCRBY', KEYS[1], 'tail_size', size)
return {redis.call('LLEN', KEYS[2]), total, redis.call('HGET', KEYS[1], 'snapshot_size')}
"""

# KEYS meta, tail, snapshot; ARGV generation, folded count, snapshot
_COMPACT = """
local gen = redis.call('HGET', KEYS[1], 'generation')
if not gen or gen ~= ARGV[1] then return 0 end
local n = tonumber(ARGV[2])
local removed = 0
if n > 0 then
  for _, v in ipairs(redis.call('LRANGE', KEYS[2], 0, n - 1)) do
    removed = removed + string.len(v)
  end
  redis.call('LTRIM', KEYS[2], n, -1)
end
redis.call('SET', KEYS[3], ARGV[3])
redis.call('HINCRBY', KEYS[1], 'generation', 1)
redis.call('HINCRBY', KEYS[1], 'tail_size', -removed)
redis.call('HSET', KEYS[1], 'snapshot_size', string.len(ARGV[3]))
return 1
"""

_INFO = """
local m = redis.call('HMGET', KEYS[1], 'created_at', 'updated_at', 'snapshot_size', 'tail_size')
if not m[1] then return false end
return {m[1], m[2], m[3], m[4], redis.call('LLEN', KEYS[2])}
"""

_DELETE = """
local existed = redis.call('EXISTS', KEYS[1], KEYS[4])
redis.call('DEL', unpack(KEYS))
return existed
"""

# KEYS meta, diff, sv, cp, cpi; ARGV version, meta, diff, sv[, checkpoint]
_APPEND_VERSION = """
if redis.call('LLEN', KEYS[1]) ~= tonumber(ARGV[1]) - 1 then return 0 end
redis.call('RPUSH', KEYS[1], ARGV[2])
redis.call('RPUSH', KEYS[2], ARGV[3])
redis.call('RPUSH', KEYS[3], ARGV[4])
if #ARGV >= 5 then
  redis.call('HSET', KEYS[4], ARGV[1], ARGV[5])
  redis.call('ZADD', KEYS[5], ARGV[1], ARGV[1])
end
return 1
"""

_LAST_VERSION = """
local meta = redis.call('LINDEX', KEYS[1], -1)
if not meta then return false end
return {meta, redis.call('LINDEX', KEYS[2], -1)}
"""

# KEYS cp, cpi; ARGV at_most
_CHECKPOINT = """
local found = redis.call('ZREVRANGEBYSCORE', KEYS[2], ARGV[1], '-inf', 'LIMIT', 0, 1)
if #found == 0 then return false end
return {found[1], redis.call('HGET', KEYS[1], found[1])}
"""

# KEYS revocations; ARGV user, issued_before, keep_until: the later of each time is kept
_REVOKE = """
local before, keep = tonumber(ARGV[2]), tonumber(ARGV[3])
local old = redis.call('HGET', KEYS[1], ARGV[1])
if old then
  local space = string.find(old, ' ', 1, true)
  before = math.max(before, tonumber(string.sub(old, 1, space - 1)))
  keep = math.max(keep, tonumber(string.sub(old, space + 1)))
end
local value = string.format('%.17g %.17g', before, keep)
redis.call('HSET', KEYS[1], ARGV[1], value)
return value
"""

# KEYS revocations; ARGV now: drops the lapsed ones, returns the others as user, value pairs
_REVOCATIONS = """
local all = redis.call('HGETALL', KEYS[1])
local kept = {}
for i = 1, #all, 2 do
  local value = all[i + 1]
  local space = string.find(value, ' ', 1, true)
  if tonumber(string.sub(value, space + 1)) <= tonumber(ARGV[1]) then
    redis.call('HDEL', KEYS[1], all[i])
  else
    table.insert(kept, all[i])
    table.insert(kept, value)
  end
end
return kept
"""


def _revocation(user: bytes | str, value: bytes | str) -> Revocation:
    name = user.decode() if isinstance(user, bytes) else user
    before, keep = (value.decode() if isinstance(value, bytes) else value).split()
    return Revocation(name, float(before), float(keep))


def _keys(doc: str) -> tuple[str, str, str]:
    return doc_key(doc, "meta"), doc_key(doc, "tail"), doc_key(doc, "snapshot")


def _version_keys(doc: str) -> tuple[str, str, str, str, str]:
    meta, diff, sv, cp, cpi = (doc_key(doc, "v:" + p) for p in ("meta", "diff", "sv", "cp", "cpi"))
    return meta, diff, sv, cp, cpi


class RedisStore:
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
        self._scripts = {
            name: client.register_script(body)
            for name, body in (
                ("load", _LOAD),
                ("append", _APPEND),
                ("compact", _COMPACT),
                ("info", _INFO),
                ("delete", _DELETE),
                ("append_version", _APPEND_VERSION),
                ("last_version", _LAST_VERSION),
                ("checkpoint", _CHECKPOINT),
                ("revoke", _REVOKE),
                ("revocations", _REVOCATIONS),
            )
        }
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
        meta, tail_key, snapshot_key = _keys(doc)
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
                        await script(keys=list(_keys(doc)[:2]), args=[now, *updates], client=pipe)
                    return list(await pipe.execute())
            # A cluster has no transaction across shards: each document's append is atomic, and
            # a batch retried after a partial failure only repeats updates (Yjs ignores those).
            return list(
                await asyncio.gather(
                    *(script(keys=list(_keys(doc)[:2]), args=[now, *u]) for doc, u in items)
                )
            )

        results = await self._call("append", write)
        return {
            doc: TailStats(int(count), int(size), int(snapshot))
            for (doc, _), (count, size, snapshot) in zip(items, results, strict=True)
        }

    async def compact(self, doc: str, snapshot: bytes, *, generation: int, tail_end: str) -> bool:
        folded = int(tail_end) if tail_end else 0
        done = await self._script("compact", _keys(doc), [str(generation), folded, snapshot])
        return bool(done)

    async def list_docs(self) -> list[DocInfo]:
        async def ids(client: RedisClient) -> list[str]:
            members = await client.smembers(INDEX_KEY)  # type: ignore[misc]
            return sorted(m.decode() if isinstance(m, bytes) else str(m) for m in members)

        docs = await self._call("list", ids)
        infos = await asyncio.gather(*(self.info(doc) for doc in docs))
        return [info for info in infos if info is not None]

    async def info(self, doc: str) -> DocInfo | None:
        raw = await self._script("info", _keys(doc)[:2])
        if raw is None:
            return None
        created, updated, snapshot_size, tail_size, count = raw
        return DocInfo(
            doc, float(created), float(updated), int(snapshot_size) + int(tail_size), int(count)
        )

    async def delete(self, doc: str) -> bool:
        """The live state and the history."""
        meta, tail, snapshot = _keys(doc)
        existed = await self._script("delete", [meta, tail, snapshot, *_version_keys(doc)])
        await self._call("delete", lambda client: client.srem(INDEX_KEY, doc))  # type: ignore[arg-type]
        return bool(existed)

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
        return bool(await self._script("append_version", _version_keys(doc), args))

    async def list_versions(self, doc: str) -> list[VersionInfo]:
        key = _version_keys(doc)[0]
        raw = await self._call("versions", lambda client: client.lrange(key, 0, -1))  # type: ignore[arg-type]
        return [VersionInfo.loads(meta) for meta in raw]

    async def last_version(self, doc: str) -> StoredVersion | None:
        meta, _, sv, _, _ = _version_keys(doc)
        raw = await self._script("last_version", [meta, sv])
        if raw is None:
            return None
        return StoredVersion(VersionInfo.loads(raw[0]), bytes(raw[1]))

    async def version_diffs(self, doc: str, first: int, last: int) -> list[bytes]:
        first = max(first, 1)
        if last < first:
            return []
        key = _version_keys(doc)[1]
        raw = await self._call(
            "versions",
            lambda client: client.lrange(key, first - 1, last - 1),  # type: ignore[arg-type]
        )
        return [diff if isinstance(diff, bytes) else diff.encode() for diff in raw]

    async def checkpoint(self, doc: str, at_most: int) -> tuple[int, bytes] | None:
        _, _, _, cp, cpi = _version_keys(doc)
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
