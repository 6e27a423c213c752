"""Two hubs on a Redis Cluster of three masters: sharded pub/sub, documents on every shard."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from crdt.document import Document
from crdt.render import to_text
from server.ops.redisconn import doc_key
from server.stores.redis import RedisStore
from tests.support.redis import RedisClusterServers
from tests.support.tandem import TandemProcess
from tests.support.waiting import eventually
from tests.support.yjs import YjsClient

DOCS = [f"sharded-{i}" for i in range(6)]


@pytest.fixture
async def two_hubs(redis_cluster_url: str) -> AsyncIterator[list[TandemProcess]]:
    hubs = [TandemProcess("--port", "0", "--store", redis_cluster_url) for _ in range(2)]
    await asyncio.gather(*(hub.start() for hub in hubs))
    yield hubs
    for hub in hubs:
        assert await hub.stop() == 0, hub.output()


async def test_two_hubs_on_a_redis_cluster_converge(
    two_hubs: list[TandemProcess],
    redis_cluster: RedisClusterServers,
    redis_cluster_url: str,
    yjs_clients: Callable[..., Awaitable[YjsClient]],
) -> None:
    connecting = [yjs_clients(hub.ws_url, doc) for doc in DOCS for hub in two_hubs for _ in "ab"]
    connected = await asyncio.gather(*connecting)
    clients = {doc: connected[4 * i : 4 * i + 4] for i, doc in enumerate(DOCS)}
    # Each document's channel is a shard channel on the master that owns its hash tag.
    owners: set[int] = set()
    for node in redis_cluster.nodes:
        with node.client() as client:
            channels = {c.decode() for c in client.execute_command("PUBSUB", "SHARDCHANNELS")}
        if any(doc_key(doc, "bus") in channels for doc in DOCS):
            owners.add(node.port)
    assert len(owners) >= 2, "six documents should use more than one shard"

    await asyncio.gather(
        *(
            client.call("append", text=f"{doc} client {i} line {n}")
            for doc, group in clients.items()
            for i, client in enumerate(group)
            for n in range(5)
        )
    )
    for doc, group in clients.items():
        expected = {f"{doc} client {i} line {n}" for i in range(4) for n in range(5)}

        async def states(group: list[YjsClient] = group) -> list[str]:
            return [await c.xml() for c in group]

        await eventually(
            states,
            lambda xs, expected=expected: (
                len(set(xs)) == 1
                and all(f"<paragraph>{line}</paragraph>" in xs[0] for line in expected)
            ),
            what=f"{doc} converges across hubs",
        )

    store = RedisStore(redis_cluster_url)
    await store.open()
    try:
        for doc in DOCS:

            async def text(doc: str = doc) -> str:
                stored = await store.load(doc)
                return to_text(Document.load(stored.snapshot, stored.updates).content)

            lines = await eventually(
                text, lambda t: t.count("\n") == 19, what=f"{doc} stored on its shard"
            )
            assert len(set(lines.splitlines())) == 20
    finally:
        await store.close()
