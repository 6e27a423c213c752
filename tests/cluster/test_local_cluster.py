"""Several hubs on one Redis, for real: deploy/local-cluster.sh, stock Yjs clients, nginx.

Every scenario ends with the same check: every client holds the same document, every line any
client typed is in it exactly once, and the store in Redis has all of it too.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import websockets

from crdt.document import Document
from crdt.render import to_text
from server.stores.redis import RedisStore
from tests.support.cluster import LocalCluster
from tests.support.waiting import eventually
from tests.support.yjs import YjsClient

Connect = Callable[..., Awaitable[YjsClient]]


@pytest.fixture
async def cluster_factory(tmp_path: Path) -> AsyncIterator[Callable[..., Awaitable[LocalCluster]]]:
    started: list[LocalCluster] = []

    async def start(hubs: int = 3, *flags: str) -> LocalCluster:
        cluster = await LocalCluster(tmp_path / f"cluster{len(started)}", hubs, *flags).start()
        started.append(cluster)
        return cluster

    yield start
    for cluster in started:
        await cluster.stop()


class Typists:
    """Clients that append numbered lines; everything typed is remembered, to check at the end."""

    def __init__(self, clients: list[YjsClient]) -> None:
        self.clients = clients
        self.typed: list[str] = []
        self._rounds = itertools.count()

    async def round(self) -> None:
        n = next(self._rounds)
        lines = [f"client {i} line {n}" for i in range(len(self.clients))]
        await asyncio.gather(
            *(c.call("append", text=line) for c, line in zip(self.clients, lines, strict=True))
        )
        self.typed += lines

    async def rounds(self, count: int, pause: float = 0.02) -> None:
        for _ in range(count):
            await self.round()
            await asyncio.sleep(pause)  # a typing rhythm, not a wait for a condition

    async def states(self) -> list[str]:
        return [await c.xml() for c in self.clients]

    def complete(self, xml: str) -> bool:
        return xml.count("<paragraph>") == len(self.typed) and all(
            f"<paragraph>{line}</paragraph>" in xml for line in self.typed
        )

    async def converge(self, timeout: float = 30.0) -> str:
        states = await eventually(
            self.states,
            lambda xs: len(set(xs)) == 1 and self.complete(xs[0]),
            timeout=timeout,
            what=f"{len(self.clients)} clients converge on {len(self.typed)} lines",
        )
        return states[0]


async def stored_text(redis_url: str, doc: str) -> str:
    store = RedisStore(redis_url)
    await store.open()
    try:
        stored = await store.load(doc)
    finally:
        await store.close()
    return to_text(Document.load(stored.snapshot, stored.updates).content)


async def assert_stored(cluster: LocalCluster, doc: str, typists: Typists) -> None:
    text = await eventually(
        lambda: stored_text(cluster.redis_url, doc),
        lambda t: all(line in t.splitlines() for line in typists.typed),
        timeout=20,
        what="Redis holds every line",
    )
    assert sorted(text.split()) == sorted(" ".join(typists.typed).split())


@pytest.mark.parametrize("hubs", [2, 3])
async def test_clients_spread_over_hubs_converge(
    cluster_factory: Any, yjs_clients: Connect, hubs: int
) -> None:
    cluster = await cluster_factory(hubs)
    clients = [
        await yjs_clients(cluster.hub_ws_url(1 + i % hubs), "shared", awareness={"user": {"i": i}})
        for i in range(2 * hubs)
    ]
    typists = Typists(clients)
    await typists.rounds(10, pause=0)
    await typists.converge()
    await assert_stored(cluster, "shared", typists)
    # Presence crosses hubs too: the first client sees every other one.
    await eventually(
        lambda: clients[0].call("awareness"),
        lambda states: {str(c.client_id) for c in clients[1:]} <= set(states),
        what="presence from every hub",
    )


async def test_redis_restarted_mid_edit(cluster_factory: Any, yjs_clients: Connect) -> None:
    cluster = await cluster_factory(3)
    clients = [await yjs_clients(cluster.hub_ws_url(1 + i % 3), "restart") for i in range(6)]
    typists = Typists(clients)
    await typists.rounds(5)
    await cluster.stop_redis()
    await typists.rounds(10)  # hubs keep serving their own clients meanwhile
    await eventually(lambda: cluster.ready(1), lambda ok: not ok, what="hub 1 reports not ready")
    await typists.rounds(5)
    await cluster.start_redis()
    await typists.rounds(5)
    await typists.converge()
    for hub in (1, 2, 3):
        await eventually(lambda hub=hub: cluster.ready(hub), what=f"hub {hub} ready again")
    await assert_stored(cluster, "restart", typists)


async def test_a_hub_killed_mid_edit_behind_nginx(
    cluster_factory: Any, yjs_clients: Connect
) -> None:
    # A long flush interval: what hub 1 received in its last second is in no store when it dies.
    cluster = await cluster_factory(3, "--flush-interval", "1")
    clients = [await yjs_clients(cluster.ws_url, "kill") for _ in range(6)]
    (hub,) = (await cluster.placement())["kill"]  # nginx sent every editor to the same hub
    typists = Typists(clients)
    await typists.rounds(10)
    await cluster.kill_hub(hub)  # SIGKILL: no flush, no close frames
    await typists.rounds(10)
    await typists.converge()
    others = [i for i in (1, 2, 3) if i != hub]
    assert sum([await cluster.connections(i) for i in others]) == len(clients)
    placement = {i: (await cluster.editors(i)).get("kill", 0) for i in others}
    assert sorted(placement.values()) == [0, len(clients)], placement  # together again
    await assert_stored(cluster, "kill", typists)


async def test_a_graceful_stop_sends_1012_and_clients_move_on(
    cluster_factory: Any, yjs_clients: Connect
) -> None:
    cluster = await cluster_factory(3)
    clients = [await yjs_clients(cluster.ws_url, "graceful") for _ in range(6)]
    (hub,) = (await cluster.placement())["graceful"]
    typists = Typists(clients)
    await typists.rounds(10)
    await cluster.stop_hub(hub)  # SIGTERM
    await typists.rounds(5)
    await typists.converge()
    closes = [close for c in clients for close in (await c.call("status"))["closes"]]
    assert [close["code"] for close in closes] == [1012] * len(clients)
    await assert_stored(cluster, "graceful", typists)


async def test_a_documents_editors_meet_on_one_hub_and_events_are_spread(
    cluster_factory: Any, yjs_clients: Connect
) -> None:
    cluster = await cluster_factory(3)
    docs = [f"affine-{n}" for n in range(12)]
    for doc in docs:
        for _ in range(3):
            await yjs_clients(cluster.ws_url, doc)
    placement = await cluster.placement()
    assert {doc: len(hubs) for doc, hubs in placement.items()} == dict.fromkeys(docs, 1)
    assert len(set().union(*placement.values())) > 1, placement  # the documents are shared out
    # /events sockets (and plain HTTP) have no document to hash on: nginx takes turns.
    events = cluster.ws_url.removesuffix("/ws") + "/events?docs=*"
    async with contextlib.AsyncExitStack() as stack:
        for _ in range(6):
            await stack.enter_async_context(websockets.connect(events))
        subscribers = await eventually(
            lambda: asyncio.gather(
                *(metric(cluster, i, "tandem_events_subscribers") for i in (1, 2, 3))
            ),
            lambda counts: sum(counts) == 6,
            what="six subscribers",
        )
    assert all(count >= 1 for count in subscribers), subscribers


async def metric(cluster: LocalCluster, hub: int, name: str) -> float:
    text = (await cluster.get(cluster.hub_url(hub) + "/metrics")).text
    return next((float(x.split()[-1]) for x in text.splitlines() if x.startswith(name + " ")), 0)
