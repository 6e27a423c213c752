"""One channel of a broker, for a service that speaks on it and hears it (events,
revocations): every instance publishes there and hears everything, its own messages included,
in the order the broker delivers them.

What is published waits in a bounded outbox and goes out only while the channel is subscribed,
so an instance's own messages come back to it; `connected` is called on every (re)subscription,
after which the caller resynchronises (what was said meanwhile may have been missed).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from server.pubsub.base import Broker
from server.pubsub.outbox import Outbox
from server.pubsub.publisher import Publisher

log = logging.getLogger("tandem.pubsub")

MAX_PENDING = 10_000


class Channel:
    def __init__(self, broker: Broker, name: str, *, limit: int = MAX_PENDING) -> None:
        self.broker = broker
        self.name = name
        self._publisher = Publisher(broker, Outbox(limit), name=name)
        self._subscribed = asyncio.Event()
        self._deliver: Callable[[bytes], None] = _nowhere
        self._connected: Callable[[], None] = _nothing

    def __repr__(self) -> str:
        return f"<Channel {self.name} via {self.broker!r}>"

    def publish(self, data: bytes) -> None:
        """Queue `data` for every instance (this one included); never blocks."""
        self._publisher.outbox.put(self.name, data)

    async def run(self, deliver: Callable[[bytes], None], connected: Callable[[], None]) -> None:
        """Deliver what the channel carries, in order, until cancelled."""
        self._deliver, self._connected = deliver, connected
        self.broker.subscribe(self.name)
        await self.broker.open()
        try:
            async with asyncio.TaskGroup() as tasks:
                tasks.create_task(self.broker.run(self))
                tasks.create_task(self._publisher.run(self._subscribed))
        finally:
            await self.broker.close()

    # -- the broker's sink ------------------------------------------------------------------

    def message(self, channel: str, data: bytes) -> None:
        if channel == self.name:
            self._deliver(data)

    def subscribed(self, channel: str) -> None:
        if channel == self.name:
            log.info("event=bus_connected channel=%s via=%r", channel, self.broker)
            self._subscribed.set()
            self._connected()

    def disconnected(self, error: str) -> None:
        if self._subscribed.is_set():
            log.warning("event=bus_disconnected channel=%s error=%s", self.name, error)
        self._subscribed.clear()


def _nowhere(data: bytes) -> None:
    """Nobody listens before `run`."""


def _nothing() -> None:
    """Nobody listens before `run`."""
