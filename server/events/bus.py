"""The notification bus: how presence and notifications travel between hub instances.

Every instance publishes what happens locally and handles everything it receives, its own
messages included, in the order the bus delivers them; because every instance sees the same
ordered stream, they all compute the same presence lists and counts. Messages are small JSON
objects (see `server.events.service` for the kinds).

`MemoryBus` loops messages back within one process; `RedisBus` (server/events/redis_bus.py)
uses Redis pub/sub on its own channel under `tandem:`. Both queue outgoing messages in a bounded
buffer so that publishing never blocks the caller (a room's ordered path).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol
from urllib.parse import urlparse

from server.errors import ConfigError

log = logging.getLogger("tandem.events.bus")

Message = dict[str, Any]
Deliver = Callable[[Message], None]

MAX_PENDING = 10_000


class Bus(Protocol):
    def publish(self, message: Message) -> None:
        """Queue a message for every instance (this one included); never blocks."""
        ...

    async def run(self, deliver: Deliver, connected: Callable[[], None]) -> None:
        """Deliver received messages in order until cancelled; call `connected` on every
        (re)connection, after which messages published by others are received again."""
        ...


class Outbox:
    """A bounded FIFO of outgoing messages: when full, the oldest is dropped (and counted)."""

    def __init__(self, limit: int = MAX_PENDING) -> None:
        self.limit = limit
        self.dropped = 0
        self._items: deque[Message] = deque()
        self._ready = asyncio.Event()

    def put(self, message: Message) -> None:
        if len(self._items) >= self.limit:
            self._items.popleft()
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 1000 == 0:
                log.warning("event=bus_outbox_full dropped=%d", self.dropped)
        self._items.append(message)
        self._ready.set()

    async def get(self) -> Message:
        while not self._items:
            self._ready.clear()
            await self._ready.wait()
        return self._items.popleft()

    def unget(self, message: Message) -> None:
        """Put a message back at the head (its send failed; it goes first after reconnecting)."""
        self._items.appendleft(message)
        self._ready.set()

    def __len__(self) -> int:
        return len(self._items)


class MemoryBus:
    """One process: what is published is delivered back, in order, from the bus's own task."""

    def __init__(self) -> None:
        self._outbox = Outbox()

    def publish(self, message: Message) -> None:
        self._outbox.put(message)

    async def run(self, deliver: Deliver, connected: Callable[[], None]) -> None:
        connected()
        while True:
            deliver(await self._outbox.get())


def open_bus(url: str, *, channel: str | None = None) -> Bus:
    """memory:// (this process only) or redis://HOST:PORT/DB (every instance on that Redis),
    on the notifications' channel or another one (`channel`, a Redis channel name)."""
    scheme = urlparse(url).scheme
    if scheme == "memory":
        return MemoryBus()
    if scheme in {"redis", "rediss"}:
        from server.events.redis_bus import CHANNEL, RedisBus

        return RedisBus(url, channel=channel or CHANNEL)
    raise ConfigError(f"unsupported events bus URL {url!r}: use memory:// or redis://HOST:PORT/DB")


def bus_url(events_bus: str, store: str) -> str:
    """The bus a deployment uses: the explicit one, else Redis when the store is Redis."""
    if events_bus:
        return events_bus
    if urlparse(store).scheme in {"redis", "rediss"}:
        return store
    return "memory://"
