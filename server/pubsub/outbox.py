"""Where messages wait to be published: a bounded, in-order queue, so that publishing never
blocks the caller (a room's ordered path) and a broker outage costs memory only up to a bound.

When full, the oldest messages go first (and are counted): a receiver of fan-out sees the
sequence jump and catches up; events and revocations resynchronise on the next (re)connection.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Sequence

log = logging.getLogger("tandem.pubsub")

Message = tuple[str, bytes]  # (channel, data)


class Outbox:
    def __init__(self, limit: int, *, dropped: Callable[[int], None] | None = None) -> None:
        self.limit = limit
        self._on_drop = dropped
        self.dropped = 0  # messages dropped so far
        self._items: deque[Message] = deque()
        self._ready = asyncio.Event()

    def __len__(self) -> int:
        return len(self._items)

    def put(self, channel: str, data: bytes) -> None:
        self._items.append((channel, data))
        self._trim()
        self._ready.set()

    def take(self, most: int) -> list[Message]:
        """Up to `most` messages from the head, in order."""
        return [self._items.popleft() for _ in range(min(len(self._items), most))]

    def put_back(self, batch: Sequence[Message]) -> None:
        """Messages whose publish failed: first in line again, in their order."""
        self._items.extendleft(reversed(batch))
        self._trim()
        self._ready.set()

    async def wait(self) -> None:
        """Until something is waiting."""
        while not self._items:
            self._ready.clear()
            await self._ready.wait()

    def _trim(self) -> None:
        excess = len(self._items) - self.limit
        if excess <= 0:
            return
        for _ in range(excess):
            self._items.popleft()
        if self._on_drop is not None:
            self._on_drop(excess)
        before, self.dropped = self.dropped, self.dropped + excess
        if before == 0 or before // 1000 != self.dropped // 1000:  # not once per message
            log.warning(
                "event=broker_queue_overflow dropped=%d total=%d limit=%d",
                excess,
                self.dropped,
                self.limit,
            )
