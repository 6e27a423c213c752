"""Presence of clients on other instances: each instance speaks only for its own clients, and
an awareness client id belongs to the instance that announced it first
(`Room.apply_remote_awareness`). What another instance announced expires here if it is not
renewed in time: its hub may have died without a word."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from crdt.awareness import AwarenessEntry
from server.core.room import Room

log = logging.getLogger("tandem.fanout")

# y-protocols' outdatedTimeout: clients renew their presence every 15 s.
AWARENESS_TIMEOUT = 30.0


class RemotePresence:
    def __init__(
        self, room: Callable[[str], Room | None], *, timeout: float = AWARENESS_TIMEOUT
    ) -> None:
        self.room = room
        self.timeout = timeout
        # doc -> awareness client id -> (clock, when heard, the instance (hex) it is on).
        self._heard: dict[str, dict[int, tuple[int, float, str]]] = {}

    def apply(self, room: Room, entries: list[AwarenessEntry], instance: str) -> None:
        """Awareness `instance` announced: into the room, and noted for expiry."""
        changed = room.apply_remote_awareness(entries, instance)
        if not changed:
            return
        now = time.monotonic()
        heard = self._heard.setdefault(room.name, {})
        for entry in changed:
            if entry.state is None:
                heard.pop(entry.client_id, None)
            else:
                heard[entry.client_id] = (entry.clock, now, instance)

    def forget(self, doc: str) -> None:
        self._heard.pop(doc, None)

    async def run(self) -> None:
        interval = max(min(self.timeout / 6, 5.0), 0.05)
        while True:
            await asyncio.sleep(interval)
            self.expire(time.monotonic())

    def expire(self, now: float) -> None:
        """Remove remote clients whose presence was not renewed in time (their hub may be gone)."""
        for doc, heard in list(self._heard.items()):
            room = self.room(doc)
            if room is None:
                continue
            stale: dict[str, list[AwarenessEntry]] = {}
            for cid, (clock, seen, instance) in list(heard.items()):
                if now - seen > self.timeout:
                    del heard[cid]
                    stale.setdefault(instance, []).append(AwarenessEntry(cid, clock, None))
            for instance, entries in stale.items():
                log.info(
                    "event=remote_presence_expired doc=%s peer=%s clients=%d",
                    doc,
                    instance[:8],
                    len(entries),
                )
                room.apply_remote_awareness(entries, instance)
