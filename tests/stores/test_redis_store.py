"""What only the Redis store has: key layout, cluster sharding, outages (real redis-server)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import redis
from pycrdt import Text

from crdt.document import Document
from server.core.persistence import compact
from server.errors import StoreError
from server.ops.redisconn import doc_key
from server.stores.redis import RedisStore
from tests.support.redis import RedisClusterServers, RedisServer

PARTS = ("meta", "tail", "snapshot", "bus", "v:meta", "v:diff", "v:sv", "v:cp", "v:cpi")


def _updates(n: int) -> list[bytes]:
    doc = Document()
    text = doc.ydoc.get("notes", type=Text)
    out = []
    for i in range(n):
        before = doc.state_vector()
        text += f"<{i}>"
        out.append(doc.diff(before))
    return out


@pytest.mark.parametrize("doc", ["plain", "a}b", "x{y}z", "col:on", "sp ace", "{", "ü", "%7B"])
def test_keys_carry_exactly_one_hash_tag_whatever_the_id(doc: str) -> None:
    key = doc_key(doc, "tail")
    assert key.startswith("tandem:{") and key.endswith("}:tail")
    tag = key[len("tandem:{") : -len("}:tail")]
    assert "{" not in tag and "}" not in tag and ":" not in tag
    assert len({doc_key(d, "tail") for d in (doc, doc + "x")}) == 2  # distinct docs, distinct keys


def test_escaping_is_injective() -> None:
    ids = ["a%7Bb", "a{b", "a%257Bb", "a", "a%", "%"]
    assert len({doc_key(d, "meta") for d in ids}) == len(ids)


async def test_a_documents_keys_share_one_cluster_slot(redis_cluster_url: str) -> None:
    store = RedisStore(redis_cluster_url)
    await store.open()
    try:
        assert store.is_cluster
        docs = [f"doc-{i}" for i in range(24)]
        await store.append({doc: _updates(2) for doc in docs})
        for doc in docs[:3]:
            assert await compact(store, doc)
            await store.append({doc: _updates(1)})
        cluster = redis.RedisCluster.from_url(redis_cluster_url)
        try:
            slots = {doc: {cluster.keyslot(doc_key(doc, part)) for part in PARTS} for doc in docs}
            assert all(len(s) == 1 for s in slots.values())
            owners = {cluster.get_node_from_key(doc_key(doc, "meta")).name for doc in docs}
            assert len(owners) == 3, "24 documents should spread over all three masters"
        finally:
            cluster.close()
        assert {i.doc for i in await store.list_docs()} == set(docs)
    finally:
        await store.close()


async def test_appends_racing_compactions_lose_nothing(redis_url: str) -> None:
    store = RedisStore(redis_url)
    await store.open()
    updates = _updates(120)
    try:

        async def writer() -> None:
            for update in updates:
                await store.append({"race": [update]})

        async def compactor() -> None:
            for _ in range(30):
                await compact(store, "race")
                await asyncio.sleep(0)

        await asyncio.gather(writer(), compactor(), compactor())
        stored = await store.load("race")
        assert (
            Document.load(stored.snapshot, stored.updates).encode()
            == Document.load(None, updates).encode()
        )
        info = await store.info("race")
        assert info is not None and info.tail_count == len(stored.updates)
        assert info.size == len(stored.snapshot or b"") + sum(len(u) for u in stored.updates)
    finally:
        await store.close()


async def test_an_unreachable_redis_raises_store_errors_then_recovers(tmp_path: Path) -> None:
    server = RedisServer(tmp_path / "late")
    store = RedisStore(server.url)
    await store.open()  # Redis is not there yet: the hub still starts, and reports not ready
    with pytest.raises(StoreError):
        await store.ping()
    with pytest.raises(StoreError):
        await store.append({"d": _updates(1)})
    server.start()
    try:
        await store.ping()
        await store.append({"d": _updates(1)})
        assert len((await store.load("d")).updates) == 1
        server.stop()
        with pytest.raises(StoreError):
            await store.load("d")
    finally:
        server.stop()
        await store.close()


async def test_a_cluster_url_of_any_node_reaches_every_shard(
    redis_cluster: RedisClusterServers, redis_cluster_url: str
) -> None:
    writer = RedisStore(redis_cluster.nodes[2].url)
    await writer.open()
    reader = RedisStore(redis_cluster.nodes[1].url)
    await reader.open()
    try:
        await writer.append({f"n{i}": _updates(1) for i in range(10)})
        assert len(await reader.list_docs()) == 10
    finally:
        await writer.close()
        await reader.close()
