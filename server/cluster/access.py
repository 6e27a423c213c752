"""What fan-out needs of the hub, and nothing more: `install` builds it from the Hub, so no
module of `server.cluster` knows the Hub itself."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from server.core.room import Room, RoomState


@dataclass(frozen=True, slots=True)
class RoomAccess:
    # The room loaded for a document, in whatever state, or None.
    room: Callable[[str], Room | None]
    # Queue a remote update for the store (the persister's batch of that document).
    persist: Callable[[str, bytes], None]
    # A document deleted on another instance: close its room and editors here (4404).
    forget: Callable[[str], object]
    # …then delete its data, once this instance's own writes of it have landed.
    erase: Callable[[str], Awaitable[object]]
    # What the store holds of a document beyond a state vector (None: nothing stored).
    stored_beyond: Callable[[str, bytes], Awaitable[bytes | None]]

    def open_room(self, doc: str) -> Room | None:
        """The document's room if it is open (not loading, not closing)."""
        room = self.room(doc)
        return room if room is not None and room.state is RoomState.OPEN else None
