"""Coalesce awareness bursts: at most one relay per awareness client per interval.

A cursor that moves 200 times a second would otherwise cost every other client of the room 200
frames a second. The room still applies every change to its awareness table at once (a joiner or
a query sees the latest state); only the relay is held back, latest state wins, and the hub's
`awareness-throttle` service sends what is due. Removals are never held: a client that leaves
disappears for everyone at once, and whatever was held for it is dropped. A room whose relay
fails loses what was held for it; the other rooms are served on.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from crdt.awareness import AwarenessEntry
from server.core.connection import Connection

log = logging.getLogger("tandem.throttle")


class ThrottledRoom(Protocol):
    """What the throttle needs of a room (server/core/room.py): where to send what is due."""

    @property
    def name(self) -> str: ...

    @property
    def is_open(self) -> bool: ...

    def relay_awareness(self, entries: list[AwarenessEntry], origin: Connection) -> None: ...


@dataclass(slots=True)
class _RoomThrottle:
    # Awareness client id -> when its last state was relayed.
    last_sent: dict[int, float] = field(default_factory=dict)
    # Awareness client id -> the latest state not yet relayed, and who sent it.
    held: dict[int, tuple[AwarenessEntry, Connection]] = field(default_factory=dict)


class AwarenessThrottle:
    def __init__(self, interval: float, *, on_coalesced: Callable[[], None] | None = None) -> None:
        self.interval = interval
        self._rooms: dict[ThrottledRoom, _RoomThrottle] = {}
        self._on_coalesced = on_coalesced

    def admit(
        self, room: ThrottledRoom, entries: list[AwarenessEntry], origin: Connection, now: float
    ) -> list[AwarenessEntry]:
        """Return the entries to relay now; hold the others until their interval has passed."""
        if self.interval <= 0:
            return entries
        state = self._rooms.get(room)
        if state is None:
            state = self._rooms[room] = _RoomThrottle()
        now_entries: list[AwarenessEntry] = []
        for entry in entries:
            cid = entry.client_id
            if entry.state is None:
                state.held.pop(cid, None)
                state.last_sent.pop(cid, None)
                now_entries.append(entry)
            elif now - state.last_sent.get(cid, -self.interval) >= self.interval:
                state.held.pop(cid, None)
                state.last_sent[cid] = now
                now_entries.append(entry)
            else:
                if cid in state.held and self._on_coalesced is not None:
                    self._on_coalesced()
                state.held[cid] = (entry, origin)
        return now_entries

    def forget(self, room: ThrottledRoom, client_ids: list[int]) -> None:
        """The clients left (their removal was relayed): drop anything held for them."""
        state = self._rooms.get(room)
        if state is not None:
            for cid in client_ids:
                state.held.pop(cid, None)
                state.last_sent.pop(cid, None)

    def flush(self, now: float) -> None:
        """Relay every held state whose interval has passed; forget clients long quiet."""
        for room, state in list(self._rooms.items()):
            if not room.is_open:
                del self._rooms[room]
                continue
            try:
                self._flush_room(room, state, now)
            except Exception:  # a bug of ours in one room: the others are still served
                log.exception("event=awareness_relay_failed doc=%s", room.name)
                del self._rooms[room]
                continue
            if not state.held and not state.last_sent:
                del self._rooms[room]

    def _flush_room(self, room: ThrottledRoom, state: _RoomThrottle, now: float) -> None:
        due: dict[Connection, list[AwarenessEntry]] = {}
        for cid, (entry, origin) in list(state.held.items()):
            if now - state.last_sent.get(cid, -self.interval) >= self.interval:
                del state.held[cid]
                state.last_sent[cid] = now
                due.setdefault(origin, []).append(entry)
        for origin, entries in due.items():
            room.relay_awareness(entries, origin)
        for cid, sent in list(state.last_sent.items()):
            if cid not in state.held and now - sent >= self.interval:
                del state.last_sent[cid]

    @property
    def held_count(self) -> int:
        return sum(len(state.held) for state in self._rooms.values())

    async def run(self) -> None:
        """The hub service: flush twice per interval (a held state waits at most 1.5 of it)."""
        if self.interval <= 0:
            return
        while True:
            await asyncio.sleep(self.interval / 2)
            self.flush(time.monotonic())
