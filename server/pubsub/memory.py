"""The in-process broker: several hubs in one process share a `MemoryBus`.

A hub alone on its bus is the single-instance case (nothing to fan out to). Tests put two
hubs on one bus, and use `lose`, `fail_publish` and `reconnect()` to play the failures a real
Redis has: messages lost in flight, publishes refused, a subscription connection that drops.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from server.pubsub.base import BrokerError, BrokerSink


class MemoryBus:
    def __init__(self) -> None:
        self.brokers: set[MemoryBroker] = set()
        self.lose = False  # drop every message published while set
        self.published = 0

    def deliver(self, doc: str, data: bytes) -> None:
        self.published += 1
        if self.lose:
            return
        for broker in list(self.brokers):
            if doc in broker._active:
                broker._inbox.put_nowait(("message", doc, data))


class MemoryBroker:
    def __init__(self, bus: MemoryBus | None = None) -> None:
        self.bus = bus if bus is not None else MemoryBus()
        self.fail_publish = False
        self._wanted: set[str] = set()
        self._active: set[str] = set()
        self._inbox: asyncio.Queue[tuple[str, str, bytes]] = asyncio.Queue()
        self._running = False
        self.sink: Any = None  # the running sink (tests look at it)

    @property
    def connected(self) -> bool:
        return self._running

    async def open(self) -> None:
        self.bus.brokers.add(self)

    async def close(self) -> None:
        self.bus.brokers.discard(self)

    def subscribe(self, doc: str) -> None:
        self._wanted.add(doc)
        if self._running:
            self._inbox.put_nowait(("subscribe", doc, b""))

    def unsubscribe(self, doc: str) -> None:
        self._wanted.discard(doc)
        self._active.discard(doc)

    async def publish(self, messages: Sequence[tuple[str, bytes]]) -> None:
        if self.fail_publish:
            raise BrokerError("publishing is switched off (fail_publish)")
        for doc, data in messages:
            self.bus.deliver(doc, data)

    def reconnect(self) -> None:
        """Drop every subscription, as a broken connection would, and subscribe again."""
        self._active.clear()
        self._inbox.put_nowait(("disconnected", "", b""))
        for doc in self._wanted:
            self._inbox.put_nowait(("subscribe", doc, b""))

    async def run(self, sink: BrokerSink) -> None:
        self._running = True
        self.sink = sink
        try:
            for doc in self._wanted:
                self._inbox.put_nowait(("subscribe", doc, b""))
            while True:
                what, doc, data = await self._inbox.get()
                if what == "message":
                    sink.message(doc, data)
                elif what == "subscribe" and doc in self._wanted and doc not in self._active:
                    self._active.add(doc)
                    sink.subscribed(doc)
                elif what == "disconnected":
                    sink.disconnected("reconnect() was called")
        finally:
            self._running = False
