"""Remote updates held back: an update whose clocks start past our state is never applied
(yrs would diverge, docs/pycrdt-pitfalls.md#out-of-order-updates), so it waits here, and is
re-tried after each update that did go in, until the gap is filled."""

from __future__ import annotations

from crdt.document import apply_held
from server.core.room import Room

MAX_HELD = 256  # remote updates held back per room while a gap is being filled


class HeldUpdates:
    def __init__(self, limit: int = MAX_HELD) -> None:
        self.limit = limit
        self._held: dict[str, list[bytes]] = {}

    def held(self, doc: str) -> list[bytes]:
        """What is held back for `doc`, oldest first."""
        return list(self._held.get(doc, ()))

    def hold(self, doc: str, update: bytes) -> int:
        """Keep `update` (unless `limit` are held already); returns how many are held."""
        held = self._held.setdefault(doc, [])
        if len(held) < self.limit:
            held.append(update)
        return len(held)

    def retry(self, room: Room) -> None:
        """Apply what the room can take now (updates that add nothing any more are dropped)."""
        held = self._held.get(room.name)
        if not held:
            return

        def apply(update: bytes) -> None:
            if room.document.adds_anything(update):
                room.apply_update(update, origin=None, remote=True)

        still = apply_held(held, apply)
        if still:
            self._held[room.name] = still
        else:
            del self._held[room.name]

    def forget(self, doc: str) -> None:
        self._held.pop(doc, None)
