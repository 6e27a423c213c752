"""The notification bus: how presence and notifications travel between hub instances.

Every instance publishes what happens locally and handles everything it receives, its own
messages included, in the order the bus delivers them; because every instance sees the same
ordered stream, they all compute the same presence lists and counts. Messages are small JSON
objects (see `server.events.service` for the kinds), sent as text on one pub/sub channel,
`tandem:events` (`server.pubsub.channel`: in-process, or Redis for several instances).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from server.pubsub.base import Broker
from server.pubsub.channel import Channel
from server.pubsub.urls import follow_store, open_broker

log = logging.getLogger("tandem.events.bus")

CHANNEL = "tandem:events"

Message = dict[str, Any]
Deliver = Callable[[Message], None]


class Bus:
    """JSON messages on a pub/sub channel."""

    def __init__(self, channel: Channel) -> None:
        self.channel = channel

    def __repr__(self) -> str:
        return f"<Bus {self.channel!r}>"

    def publish(self, message: Message) -> None:
        """Queue a message for every instance (this one included); never blocks."""
        self.channel.publish(json.dumps(message, separators=(",", ":")).encode())

    async def run(self, deliver: Deliver, connected: Callable[[], None]) -> None:
        """Deliver received messages in order until cancelled; call `connected` on every
        (re)connection, after which messages published by others are received again."""

        def decode(data: bytes) -> None:
            try:
                message = json.loads(data)
            except ValueError:
                log.warning("event=bus_bad_message channel=%s", self.channel.name)
                return
            if isinstance(message, dict):
                deliver(message)

        await self.channel.run(decode, connected)


def open_bus(events_bus: str, store: str = "") -> Bus:
    """The notification bus on the deployment's events pub/sub (`events_broker`)."""
    return Bus(Channel(events_broker(events_bus, store), CHANNEL))


def events_broker(events_bus: str, store: str = "") -> Broker:
    """The pub/sub named by --events-bus (memory:// or redis://HOST:PORT/DB), else the store's
    Redis when the store is Redis, else this process only; raises ConfigError."""
    url = follow_store(events_bus, store) or "memory://"
    return open_broker(url, purpose="events bus")
