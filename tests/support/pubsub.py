"""The in-memory broker with Redis's failures on demand: messages lost in flight (`lose`),
publishes refused (`fail_publish`), a subscription connection that drops (`reconnect()`)."""

from __future__ import annotations

from collections.abc import Sequence

from server.pubsub.base import BrokerError, BrokerSink
from server.pubsub.memory import MemoryBroker, MemoryBus


class FaultyBus(MemoryBus):
    def __init__(self) -> None:
        super().__init__()
        self.lose = False  # drop every message published while set

    def deliver(self, channel: str, data: bytes) -> None:
        if not self.lose:
            super().deliver(channel, data)


class FaultyBroker(MemoryBroker):
    def __init__(self, bus: MemoryBus | None = None) -> None:
        super().__init__(bus)
        self.fail_publish = False
        self.sink: BrokerSink | None = None  # the running sink

    def wants(self, channel: str) -> bool:
        """Whether `channel` is asked for (subscribed, or to be once connected)."""
        return channel in self._wanted

    async def publish(self, messages: Sequence[tuple[str, bytes]]) -> None:
        if self.fail_publish:
            raise BrokerError("publishing is switched off (fail_publish)")
        await super().publish(messages)

    async def run(self, sink: BrokerSink) -> None:
        self.sink = sink
        await super().run(sink)

    def reconnect(self) -> None:
        """Drop every subscription, as a broken connection would, and subscribe again."""
        wanted = set(self._wanted)
        for channel in wanted:
            self.unsubscribe(channel)
        if self.sink is not None:
            self.sink.disconnected("reconnect() was called")
        for channel in wanted:
            self.subscribe(channel)
