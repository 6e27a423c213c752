"""The in-process broker: several brokers in one process share a `MemoryBus`.

A broker alone on its bus is the single-instance case: it hears only its own messages (events
loop back; fan-out has nobody to fan out to). Tests put several hubs on one bus, and play
Redis's failures with the subclasses in tests/support/pubsub.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from server.pubsub.base import BrokerSink


class MemoryBus:
    def __init__(self) -> None:
        self.brokers: set[MemoryBroker] = set()

    def deliver(self, channel: str, data: bytes) -> None:
        for broker in list(self.brokers):
            broker.deliver(channel, data)


class MemoryBroker:
    def __init__(self, bus: MemoryBus | None = None) -> None:
        self.bus = bus if bus is not None else MemoryBus()
        self._wanted: set[str] = set()
        self._active: set[str] = set()
        # What `run` hands to the sink, in order: ("message" | "subscribe", channel, data).
        self._inbox: asyncio.Queue[tuple[str, str, bytes]] = asyncio.Queue()
        self._running = False

    @property
    def connected(self) -> bool:
        return self._running

    def is_subscribed(self, channel: str) -> bool:
        """Whether `channel` delivers right now (its subscription was confirmed)."""
        return channel in self._active

    @property
    def idle(self) -> bool:
        """Nothing received is waiting to be handed to the sink."""
        return self._inbox.empty()

    async def open(self) -> None:
        self.bus.brokers.add(self)

    async def close(self) -> None:
        self.bus.brokers.discard(self)

    def subscribe(self, channel: str) -> None:
        self._wanted.add(channel)
        if self._running:
            self._inbox.put_nowait(("subscribe", channel, b""))

    def unsubscribe(self, channel: str) -> None:
        self._wanted.discard(channel)
        self._active.discard(channel)

    async def publish(self, messages: Sequence[tuple[str, bytes]]) -> None:
        for channel, data in messages:
            self.bus.deliver(channel, data)

    def deliver(self, channel: str, data: bytes) -> None:
        """A message published on the bus: queued for the sink if `channel` is subscribed."""
        if channel in self._active:
            self._inbox.put_nowait(("message", channel, data))

    async def run(self, sink: BrokerSink) -> None:
        self._running = True
        try:
            for channel in self._wanted:
                self._inbox.put_nowait(("subscribe", channel, b""))
            while True:
                what, channel, data = await self._inbox.get()
                if what == "message":
                    sink.message(channel, data)
                elif channel in self._wanted and channel not in self._active:  # "subscribe"
                    self._active.add(channel)
                    sink.subscribed(channel)
        finally:
            self._running = False
