"""The one outbox and publisher of pub/sub: bounded, in order, retried while the broker fails."""

from __future__ import annotations

import asyncio

from server.pubsub.outbox import Outbox
from server.pubsub.publisher import Publisher
from tests.support.pubsub import FaultyBroker, FaultyBus
from tests.support.waiting import eventually, now


def test_a_full_outbox_drops_the_oldest_and_counts_them() -> None:
    drops: list[int] = []
    outbox = Outbox(3, dropped=drops.append)
    for n in range(5):
        outbox.put("c", bytes([n]))
    assert outbox.take(10) == [("c", bytes([2])), ("c", bytes([3])), ("c", bytes([4]))]
    assert drops == [1, 1] and outbox.dropped == 2


def test_a_batch_put_back_goes_first_in_its_order() -> None:
    outbox = Outbox(10)
    for n in range(4):
        outbox.put("c", bytes([n]))
    batch = outbox.take(2)
    outbox.put_back(batch)
    assert [data[0] for _, data in outbox.take(10)] == [0, 1, 2, 3]


async def test_refused_publishes_are_retried_in_order() -> None:
    bus = FaultyBus()
    sender, receiver = FaultyBroker(bus), FaultyBroker(bus)
    received: list[bytes] = []

    class Sink:
        def message(self, channel: str, data: bytes) -> None:
            received.append(data)

        def subscribed(self, channel: str) -> None: ...

        def disconnected(self, error: str) -> None: ...

    outbox = Outbox(100)
    publisher = Publisher(sender, outbox, name="test")
    receiver.subscribe("c")
    await receiver.open()
    async with asyncio.TaskGroup() as tasks:
        listening = tasks.create_task(receiver.run(Sink()))
        await eventually(now(lambda: receiver.is_subscribed("c")), what="subscribed")
        sender.fail_publish = True
        publishing = tasks.create_task(publisher.run())
        for n in range(3):
            outbox.put("c", bytes([n]))
        await eventually(now(lambda: publisher.error is not None), what="publish failed")
        sender.fail_publish = False
        await eventually(now(lambda: received == [b"\x00", b"\x01", b"\x02"]), what="all")
        assert publisher.error is None
        listening.cancel()
        publishing.cancel()


async def test_a_publisher_on_redis_stops_when_cancelled_however_busy(redis_url: str) -> None:
    """redis-py sometimes swallows a CancelledError and returns normally from a command
    cancelled at the wrong moment; the loop must still end (a hub stop once hung on it)."""
    from server.pubsub.redis import RedisBroker

    broker = RedisBroker(redis_url)
    outbox = Outbox(100_000)
    publisher = Publisher(broker, outbox, name="test")
    try:
        for attempt in range(150):
            for _ in range(2000):
                outbox.put("tandem:test-cancel", b"x" * 64)
            task = asyncio.create_task(publisher.run())
            await asyncio.sleep(0.001 + (attempt % 7) * 0.0005)  # mid-publish, most of the time
            task.cancel()
            done, _ = await asyncio.wait({task}, timeout=5)
            assert done, f"the publisher kept running after cancel (attempt {attempt})"
            outbox.take(len(outbox))
    finally:
        await broker.close()
