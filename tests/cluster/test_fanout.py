"""Cross-instance fan-out without a network: hubs in one process share an in-memory bus and store.

The bus plays Redis's failures on demand (tests/support/pubsub.py: messages lost, publishes
refused, a subscription dropped), so each catch-up path runs here deterministically;
tests/cluster runs the same over real Redis and real processes.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from pycrdt import Doc, Text

from crdt.awareness import AwarenessEntry, decode_awareness_update, encode_awareness_update
from crdt.protocol import AwarenessMessage, SyncUpdate, encode_awareness, encode_sync_update
from server.cluster import fanout_broker, install
from server.cluster.fanout import Fanout, channel_of
from server.config import Config
from server.core.connection import Connection
from server.core.hub import Hub
from server.errors import ConfigError
from server.pubsub.memory import MemoryBroker, MemoryBus
from server.pubsub.redis import RedisBroker
from server.stores.memory import MemoryStore
from tests.support.channels import RecordingChannel
from tests.support.pubsub import FaultyBroker, FaultyBus
from tests.support.rooms import edit, queued
from tests.support.waiting import eventually


@dataclass
class Instance:
    hub: Hub
    broker: FaultyBroker
    fanout: Fanout


class Instances:
    def __init__(self) -> None:
        self.bus = FaultyBus()
        self.store = MemoryStore()
        self.stack = contextlib.AsyncExitStack()
        self.all: list[Instance] = []

    async def start(self, **config: float) -> Instance:
        settings = {"flush_interval": 0.01, "unload_delay": 60.0, **config}
        hub = Hub(Config(**settings), self.store)  # type: ignore[arg-type]
        broker = FaultyBroker(self.bus)
        fanout = install(hub, broker)
        instance = Instance(hub, broker, fanout)
        await self.stack.enter_async_context(hub.running())
        self.all.append(instance)
        return instance


@pytest.fixture
async def instances() -> AsyncIterator[Instances]:
    group = Instances()
    async with group.stack:
        yield group


def text_of(hub: Hub, doc: str) -> str:
    room = hub.rooms[doc]
    return str(room.document.ydoc.get("t", type=Text))


async def same_text(a: Hub, b: Hub, doc: str, expected: str) -> None:
    async def probe() -> tuple[str, str]:
        return text_of(a, doc), text_of(b, doc)

    await eventually(probe, lambda pair: pair == (expected, expected), what=f"both hubs {expected}")


async def joined(instance: Instance, doc: str) -> Connection:
    """A connection on `doc`, once the instance subscribed and every instance went quiet."""
    conn = Connection(RecordingChannel())
    await instance.hub.join(doc, conn)
    await eventually(
        lambda: _return(
            instance.broker.connected and instance.broker.is_subscribed(channel_of(doc))
        ),
        what="subscribed",
    )
    await quiet(instance.broker.bus)
    return conn


async def quiet(bus: MemoryBus) -> None:
    """Nothing left to catch up, publish or deliver anywhere (twice in a row, to be sure)."""

    async def idle() -> bool:
        return all(
            broker.idle and fanout.idle
            for broker in bus.brokers
            if isinstance(broker, FaultyBroker)
            for fanout in [broker.sink]
            if isinstance(fanout, Fanout)
        )

    for _ in range(2):
        await eventually(idle, what="instances quiet")
        await asyncio.sleep(0.02)


async def _return(value: bool) -> bool:
    return value


def send_update(instance: Instance, doc: str, conn: Connection, update: bytes) -> None:
    instance.hub.rooms[doc].receive(conn, encode_sync_update(update))


async def test_an_update_reaches_the_other_instance_once(instances: Instances) -> None:
    a, b = await instances.start(), await instances.start()
    ca, cb = await joined(a, "doc"), await joined(b, "doc")
    ca.flush()
    cb.flush()
    _, update = edit(1, "hello")
    send_update(a, "doc", ca, update)
    await same_text(a.hub, b.hub, "doc", "hello")
    assert [m.update for m in queued(cb) if isinstance(m, SyncUpdate)] == [update]
    assert not [m for m in queued(ca) if isinstance(m, SyncUpdate)], "no echo to the sender"


async def test_only_instances_with_the_room_open_subscribe(instances: Instances) -> None:
    a, b = await instances.start(), await instances.start(unload_delay=0.05)
    await joined(a, "doc")
    assert not b.broker.is_subscribed(channel_of("doc"))
    cb = await joined(b, "doc")
    b.hub.leave(b.hub.rooms["doc"], cb)
    await eventually(lambda: _return("doc" not in b.hub.rooms), what="room unloaded on b")
    assert not b.broker.is_subscribed(channel_of("doc")) and not b.broker.wants(channel_of("doc"))


async def test_presence_and_its_removal_cross_instances(instances: Instances) -> None:
    a, b = await instances.start(), await instances.start()
    ca, cb = await joined(a, "doc"), await joined(b, "doc")
    state = encode_awareness_update([AwarenessEntry(7, 1, '{"user":{"name":"Ana"}}')])
    a.hub.rooms["doc"].receive(ca, encode_awareness(state))
    await eventually(lambda: _return(7 in b.hub.rooms["doc"].awareness), what="b sees Ana")
    cb.flush()
    a.hub.leave(a.hub.rooms["doc"], ca)
    await eventually(lambda: _return(7 not in b.hub.rooms["doc"].awareness), what="Ana gone on b")
    removals = [
        entry
        for m in queued(cb)
        if isinstance(m, AwarenessMessage)
        for entry in decode_awareness_update(m.update)
    ]
    assert [(e.client_id, e.state) for e in removals] == [(7, None)]


async def test_a_lost_message_is_detected_and_caught_up_from_the_peer(
    instances: Instances,
) -> None:
    a, b = await instances.start(), await instances.start()
    ca, _ = await joined(a, "doc"), await joined(b, "doc")
    _, first = edit(1, "one ")
    instances.bus.lose = True
    send_update(a, "doc", ca, first)
    await quiet(instances.bus)
    instances.bus.lose = False
    _, second = edit(2, "two")  # another client: no gap, only the sequence number jumps
    send_update(a, "doc", ca, second)
    await eventually(
        lambda: _return(text_of(b.hub, "doc") == text_of(a.hub, "doc") != ""),
        what="b catches up",
    )
    assert "one" in text_of(b.hub, "doc") and "two" in text_of(b.hub, "doc")


async def test_a_remote_update_with_a_gap_is_held_not_applied(instances: Instances) -> None:
    a, b = await instances.start(), await instances.start()
    ca, _ = await joined(a, "doc"), await joined(b, "doc")
    doc, first = edit(1, "abc")
    _, second = edit(1, "def", base=doc)
    room_b = b.hub.rooms["doc"]
    fanout_b = b.fanout
    # b receives the second update alone, as if the first were still in flight.
    fanout_b._apply(room_b, second, "test")
    assert text_of(b.hub, "doc") == "" and fanout_b.held.held("doc") == [second]
    send_update(a, "doc", ca, first)  # the first arrives: the held one follows it
    send_update(a, "doc", ca, second)
    await same_text(a.hub, b.hub, "doc", "abcdef")
    assert not fanout_b.held.held("doc")


async def test_a_dropped_subscription_catches_up_from_the_store(instances: Instances) -> None:
    a, b = await instances.start(), await instances.start()
    ca, _ = await joined(a, "doc"), await joined(b, "doc")
    instances.bus.lose = True  # b hears nothing of what a does now
    _, update = edit(1, "while you were away")
    send_update(a, "doc", ca, update)
    await quiet(instances.bus)
    await eventually(lambda: a.hub.persister.flush(), what="a flushed")
    instances.bus.brokers.discard(a.broker)  # a is gone: no peer can answer
    instances.bus.lose = False
    assert text_of(b.hub, "doc") == ""
    b.broker.reconnect()
    await eventually(
        lambda: _return(text_of(b.hub, "doc") == "while you were away"), what="b from store"
    )


async def test_refused_publishes_are_retried_in_order_and_reported(instances: Instances) -> None:
    a, b = await instances.start(), await instances.start()
    ca, _ = await joined(a, "doc"), await joined(b, "doc")
    a.broker.fail_publish = True
    doc = Doc(client_id=1)
    for word in ("a", "b", "c", "d"):
        doc, update = edit(1, word, base=doc)
        send_update(a, "doc", ca, update)
    await eventually(lambda: _return(a.fanout.problem() is not None), what="a not ready")
    assert text_of(b.hub, "doc") == ""
    a.broker.fail_publish = False
    await same_text(a.hub, b.hub, "doc", "abcd")
    await eventually(lambda: _return(a.fanout.problem() is None), what="a ready again")


async def test_presence_of_a_vanished_instance_expires(instances: Instances) -> None:
    a, b = await instances.start(), await instances.start()
    ca, cb = await joined(a, "doc"), await joined(b, "doc")
    state = encode_awareness_update([AwarenessEntry(9, 1, '{"user":{"name":"Gone"}}')])
    a.hub.rooms["doc"].receive(ca, encode_awareness(state))
    await eventually(lambda: _return(9 in b.hub.rooms["doc"].awareness), what="b sees 9")
    instances.bus.brokers.discard(a.broker)  # a dies without a word
    b.fanout.presence.expire(time.monotonic() + 1)
    assert 9 in b.hub.rooms["doc"].awareness, "still fresh"
    b.fanout.presence.expire(time.monotonic() + b.fanout.presence.timeout + 1)
    assert 9 not in b.hub.rooms["doc"].awareness
    assert any(isinstance(m, AwarenessMessage) for m in queued(cb))


async def test_a_late_instance_gets_unflushed_updates_from_its_peers(
    instances: Instances,
) -> None:
    a = await instances.start(flush_interval=60)  # nothing reaches the store in this test
    ca = await joined(a, "doc")
    _, update = edit(1, "only in a's memory")
    send_update(a, "doc", ca, update)
    b = await instances.start()
    await joined(b, "doc")
    await same_text(a.hub, b.hub, "doc", "only in a's memory")
    assert (await instances.store.load("doc")).empty


async def test_remote_updates_confirmed_as_stored_are_not_written_twice(
    instances: Instances,
) -> None:
    a, b = await instances.start(), await instances.start()
    ca, _ = await joined(a, "doc"), await joined(b, "doc")
    _, update = edit(1, "once")
    send_update(a, "doc", ca, update)
    await same_text(a.hub, b.hub, "doc", "once")
    await eventually(
        lambda: _return(not b.fanout.ledger.unconfirmed()), what="a confirmed its flush"
    )
    b.fanout.ledger.persist_unconfirmed(time.monotonic() + b.fanout.ledger.confirm_timeout + 1)
    await b.hub.persister.flush()
    assert (await instances.store.load("doc")).updates == [update]


async def test_updates_of_an_instance_that_died_unflushed_are_stored_by_the_others(
    instances: Instances,
) -> None:
    a = await instances.start(flush_interval=60)  # a never gets to write
    b = await instances.start()
    ca, _ = await joined(a, "doc"), await joined(b, "doc")
    _, update = edit(1, "only a had it")
    send_update(a, "doc", ca, update)
    await same_text(a.hub, b.hub, "doc", "only a had it")
    instances.bus.brokers.discard(a.broker)  # a dies
    b.fanout.ledger.persist_unconfirmed(time.monotonic() + 1)
    await b.hub.persister.flush()
    assert (await instances.store.load("doc")).empty, "not before the confirmation is overdue"
    b.fanout.ledger.persist_unconfirmed(time.monotonic() + b.fanout.ledger.confirm_timeout + 1)
    await b.hub.persister.flush()
    assert (await instances.store.load("doc")).updates == [update]


async def test_a_deletion_on_one_instance_leaves_nothing_to_write_on_the_other(
    instances: Instances,
) -> None:
    a = await instances.start(flush_interval=60)  # a's update stays unconfirmed on b
    b = await instances.start(flush_interval=60)  # b's stays pending in b's persister
    ca, cb = await joined(a, "doc"), await joined(b, "doc")
    send_update(a, "doc", ca, edit(1, "from a")[1])
    send_update(b, "doc", cb, edit(2, "from b")[1])
    await eventually(lambda: _return(bool(b.fanout.ledger.unconfirmed())), what="a's update on b")
    assert b.hub.persister.has_pending("doc")

    assert await a.hub.delete("doc")
    await eventually(lambda: _return("doc" not in b.hub.rooms), what="b forgets the room")
    assert not cb.is_open and cb.closed_with == (4404, "document deleted")
    await eventually(lambda: _return(not b.hub.persister.has_pending("doc")), what="b erases")
    assert not b.fanout.ledger.unconfirmed() and not b.broker.wants(channel_of("doc"))
    b.fanout.ledger.persist_unconfirmed(time.monotonic() + b.fanout.ledger.confirm_timeout + 1)
    await b.hub.persister.flush()
    assert (await instances.store.load("doc")).empty


def _present(instance: Instance, doc: str) -> dict[int, int]:
    """The clock of each client present in the document, on one instance."""
    return {e.client_id: e.clock for e in instance.hub.rooms[doc].awareness.states()}


async def test_presence_claimed_on_two_hubs_at_once_stays_with_its_owner(
    instances: Instances,
) -> None:
    a, b = await instances.start(), await instances.start()
    ca, cb = await joined(a, "doc"), await joined(b, "doc")
    instances.bus.lose = True  # b does not hear that Ana's client id is taken on a
    a.hub.rooms["doc"].receive(ca, encode_awareness(encode_awareness_update([ANA])))
    await quiet(instances.bus)
    instances.bus.lose = False
    eve = AwarenessEntry(ANA.client_id, 50, '{"user":{"name":"Eve"}}')
    b.hub.rooms["doc"].receive(cb, encode_awareness(encode_awareness_update([eve])))
    await quiet(instances.bus)  # b's claim reached a, and a's catch-up reply reached b
    assert _present(a, "doc") == {ANA.client_id: 1}, "a keeps its own client's state"
    assert not [
        e
        for m in queued(ca)
        if isinstance(m, AwarenessMessage)
        for e in decode_awareness_update(m.update)
        if e.clock == 50
    ], "Ana's own socket was never sent the claim"


async def test_each_instance_answers_a_late_one_for_its_own_clients_only(
    instances: Instances,
) -> None:
    a, b = await instances.start(), await instances.start()
    ca, cb = await joined(a, "doc"), await joined(b, "doc")
    a.hub.rooms["doc"].receive(ca, encode_awareness(encode_awareness_update([ANA])))
    ben = AwarenessEntry(8, 1, '{"user":{"name":"Ben"}}')
    b.hub.rooms["doc"].receive(cb, encode_awareness(encode_awareness_update([ben])))
    await quiet(instances.bus)
    c = await instances.start()
    await joined(c, "doc")
    assert set(_present(c, "doc")) == {ANA.client_id, 8}
    # c learnt each client from its own hub (not from the other's table): both hubs' next
    # changes are taken.
    for instance, conn, client_id in ((a, ca, ANA.client_id), (b, cb, 8)):
        entry = AwarenessEntry(client_id, 2, '{"user":{"name":"Someone"},"cursor":1}')
        instance.hub.rooms["doc"].receive(conn, encode_awareness(encode_awareness_update([entry])))
    await quiet(instances.bus)
    assert _present(c, "doc") == {ANA.client_id: 2, 8: 2}


ANA = AwarenessEntry(7, 1, '{"user":{"name":"Ana"}}')


def test_the_broker_follows_the_store_unless_given_or_none() -> None:
    assert fanout_broker("", "sqlite:///x.db") is None  # a single instance
    assert isinstance(fanout_broker("", "redis://h:1/0"), RedisBroker)
    assert fanout_broker("none", "redis://h:1/0") is None
    assert isinstance(fanout_broker("memory://", "sqlite:///x.db"), MemoryBroker)
    with pytest.raises(ConfigError, match="unsupported broker URL"):
        fanout_broker("kafka://x", "sqlite:///x.db")
