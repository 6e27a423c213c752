"""What other parts of the hub (broker, history, events, metrics) hear about rooms.

Listeners are called synchronously on the room's ordered path, so they must not block: they
record or queue, and do their I/O in a background service of their own (see Hub.add_service).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from crdt.awareness import AwarenessEntry

if TYPE_CHECKING:
    from server.core.connection import Connection
    from server.core.identity import Identity
    from server.core.room import Room


@dataclass(frozen=True, slots=True)
class UpdateEvent:
    room: Room
    update: bytes
    # The connection that sent it; None for changes the server made itself (e.g. a restore).
    origin: Connection | None
    # True when it came from another hub instance (already persisted and published there).
    remote: bool = False
    # Who made it: the origin's identity, or the caller of the content API (None: the server).
    author: Identity | None = None


@dataclass(frozen=True, slots=True)
class AwarenessEvent:
    room: Room
    entries: list[AwarenessEntry]
    origin: Connection | None
    remote: bool = False


class HubListener:
    """Base class with no-op hooks; override the ones you need."""

    def room_opened(self, room: Room) -> None:
        pass

    def room_closed(self, room: Room) -> None:
        pass

    def deleted(self, doc: str, *, remote: bool = False) -> None:
        """The document was deleted (`remote`: on another instance): forget everything kept
        for it, and write nothing of it from now on."""

    async def quiesce(self, doc: str) -> None:
        """Return once writes of `doc` already under way are done (its data is deleted next).
        The one hook that may wait; it is awaited only by a deletion."""

    def joined(self, room: Room, conn: Connection) -> None:
        pass

    def left(self, room: Room, conn: Connection) -> None:
        pass

    def silent(self, room: Room, conn: Connection) -> None:
        """A connection went silent past its promised heartbeat: its presence was withdrawn
        (server/core/liveness.py); `left` still follows when its socket closes."""

    def returned(self, room: Room, conn: Connection) -> None:
        """A silent connection was heard from again."""

    def update(self, event: UpdateEvent) -> None:
        pass

    def awareness(self, event: AwarenessEvent) -> None:
        pass
