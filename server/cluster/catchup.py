"""Catching up on what pub/sub may have lost: a missed message, a held-back update, every
(re)subscription. Peers are asked with a SYNC_REQUEST carrying our state vector (every
instance with the room open answers with exactly what we lack, unflushed updates included);
after a reconnect the store is compared too, since a dead peer may have flushed what we missed.
Requests for one document are merged until the loop gets to them."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

from crdt import jobs
from server.cluster.access import RoomAccess
from server.core.offload import Offload, OffloadFailed
from server.core.room import Room
from server.errors import StoreError
from server.ops.metrics import Metrics
from server.stores.base import Store

log = logging.getLogger("tandem.fanout")

RETRY_AFTER = 1.0  # seconds before trying the store again when it failed


@dataclass(slots=True)
class _Want:
    peers: bool = False
    store: bool = False


class CatchUp:
    def __init__(
        self,
        access: RoomAccess,
        metrics: Metrics,
        *,
        ask_peers: Callable[[Room], None],
        apply: Callable[[Room, bytes, str], None],
    ) -> None:
        self.access = access
        self.metrics = metrics
        self.ask_peers = ask_peers  # publish a SYNC_REQUEST for the room
        self.apply = apply  # apply an update from `peer` as fan-out does (gaps held back)
        self._wants: dict[str, _Want] = {}
        self._ready = asyncio.Event()

    @property
    def idle(self) -> bool:
        """No catch-up waiting to be done."""
        return not self._wants

    def want(self, doc: str, *, peers: bool = False, store: bool = False, reason: str) -> None:
        want = self._wants.setdefault(doc, _Want())
        want.peers |= peers
        want.store |= store
        self.metrics.catchups.labels(reason=reason).inc()
        self._ready.set()

    def forget(self, doc: str) -> None:
        self._wants.pop(doc, None)

    async def run(self) -> None:
        while True:
            await self._ready.wait()
            self._ready.clear()
            wants, self._wants = self._wants, {}
            failed = False
            for doc, want in wants.items():
                room = self.access.open_room(doc)
                if room is None:
                    continue
                if want.peers:
                    self.ask_peers(room)
                if want.store:
                    try:
                        await self._from_store(room)
                    except (StoreError, OffloadFailed) as exc:
                        log.warning("event=catch_up_failed doc=%s error=%s", doc, exc)
                        self.want(doc, store=True, reason="retry")
                        failed = True
            if failed:
                await asyncio.sleep(RETRY_AFTER)

    async def _from_store(self, room: Room) -> None:
        missing = await self.access.stored_beyond(room.name, room.document.state_vector())
        if missing is None or self.access.open_room(room.name) is not room:
            return
        if room.document.adds_anything(missing):
            log.info("event=caught_up_from_store doc=%s bytes=%d", room.name, len(missing))
            self.apply(room, missing, "store")


async def stored_beyond(
    store: Store, offload: Offload, doc: str, state_vector: bytes
) -> bytes | None:
    """What the store holds of `doc` beyond `state_vector` (None: nothing stored), worked out
    in the worker for a large document."""
    stored = await store.load(doc)
    if stored.empty:
        return None
    return await offload.run(stored.nbytes, jobs.diff_since, stored.parts, state_vector)
