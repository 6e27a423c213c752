"""Contract of the notification bus, over every implementation (memory, real Redis)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from server.events.bus import Bus, Message, open_bus
from server.pubsub.memory import MemoryBroker
from server.pubsub.urls import follow_store
from tests.support.redis import RedisServer
from tests.support.waiting import eventually, now


@pytest.fixture(params=["memory", "redis"])
def url(request: pytest.FixtureRequest) -> str:
    if request.param == "memory":
        return "memory://"
    return str(request.getfixturevalue("redis_url"))


class Running:
    def __init__(self, bus: Bus, tasks: asyncio.TaskGroup) -> None:
        self.bus = bus
        self.received: list[Message] = []
        self.connections = 0
        self.task = tasks.create_task(bus.run(self.received.append, self._connected))

    def _connected(self) -> None:
        self.connections += 1


async def test_a_bus_delivers_its_own_messages_in_order(url: str) -> None:
    async with asyncio.TaskGroup() as tasks:
        running = Running(open_bus(url), tasks)
        await eventually(now(lambda: running.connections), lambda n: n == 1)
        for n in range(100):
            running.bus.publish({"op": "n", "n": n})
        await eventually(now(lambda: len(running.received)), lambda n: n == 100)
        assert [m["n"] for m in running.received] == list(range(100))
        running.task.cancel()


async def test_messages_published_before_connecting_are_not_lost(url: str) -> None:
    bus = open_bus(url)
    bus.publish({"op": "early"})
    async with asyncio.TaskGroup() as tasks:
        running = Running(bus, tasks)
        await eventually(now(lambda: running.received), lambda r: r == [{"op": "early"}])
        running.task.cancel()


async def test_redis_buses_share_one_stream(redis_url: str) -> None:
    async with asyncio.TaskGroup() as tasks:
        one, two = Running(open_bus(redis_url), tasks), Running(open_bus(redis_url), tasks)
        await eventually(now(lambda: one.connections + two.connections), lambda n: n == 2)
        one.bus.publish({"op": "from-one"})
        two.bus.publish({"op": "from-two"})
        for running in (one, two):
            await eventually(
                now(lambda r=running: sorted(m["op"] for m in r.received)),
                lambda ops: ops == ["from-one", "from-two"],
            )
        one.task.cancel()
        two.task.cancel()


def test_the_bus_follows_the_store_unless_given() -> None:
    assert follow_store("", "sqlite:///x.db") is None
    assert follow_store("", "redis://h:1/0") == "redis://h:1/0"
    assert follow_store("redis://other:2/0", "sqlite:///x.db") == "redis://other:2/0"
    assert isinstance(open_bus("", "sqlite:///x.db").channel.broker, MemoryBroker)


async def test_a_redis_bus_reconnects_and_says_so(tmp_path: Path) -> None:
    with RedisServer(tmp_path) as server:
        async with asyncio.TaskGroup() as tasks:
            running = Running(open_bus(server.url), tasks)
            await eventually(now(lambda: running.connections), lambda n: n == 1)
            await asyncio.to_thread(server.stop)  # the bus sees its connection die meanwhile
            running.bus.publish({"op": "while-down"})
            await asyncio.to_thread(server.start)
            await eventually(now(lambda: running.connections), lambda n: n == 2, what="reconnect")
            await eventually(now(lambda: running.received), lambda r: r == [{"op": "while-down"}])
            running.task.cancel()
